"""What sets a segment apart: its most common traits, with share and lift against all
customers.

For each trait value: ``segment_customers`` (members having it), ``segment_share``
(that count over the segment's denominator), the same two figures for **all customers**
(every customer existing at the end of ``as_of``), and ``lift`` = segment_share /
all_share (> 1: over-represented in the segment; null when no customer at all has it).
Customers are counted once per value, however many orders show it. Orders are the
counted orders of ``seglift.metrics.orders``.

Traits and their denominators:

- ``products``: products the customer ever bought; out of all customers of the group.
- ``first_visit_sources`` / ``first_visit_campaigns``: first-visit source and UTM campaign
  of the customer's first order (``(none)`` when absent); out of the group's buyers.
- ``first_purchase_products``: products of the first order; out of the group's buyers.
- ``locations``: ``country`` or ``country-province`` of the customer's address (``(none)``
  when unknown); out of all customers of the group.
- ``order_counts``: buckets ``0``, ``1``, ``2``, ``3``, ``4+`` of counted orders; out of all
  customers of the group; every bucket is listed, in that order.
- ``product_journeys`` (popular second purchase given the first): pairs (first-order
  product, second-order product); the share is out of the group's customers who had that
  first-order product *and* placed a second order, i.e. P(B in 2nd order | A in 1st).

Lists other than ``order_counts`` keep the ``top`` values by segment customers (ties by
value), so the answer stays small whatever the catalogue.

Everything that does not depend on the segment (who exists, the counted orders, every
trait's (customer, value) pairs and their all-customer counts) is a ``ProfileBase``, built
once per shop and day; a segment's profile is then a membership filter and a count per
trait. ``segment_profile`` builds the base and profiles one segment; a caller profiling
many segments of the same day builds the base once and calls ``profile_of`` for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from seglift.metrics.orders import counted_orders, member_ids
from seglift.segments.timeutil import cutoff_scalar

NONE_LABEL = "(none)"
ORDER_COUNT_BUCKETS = ("0", "1", "2", "3", "4+")


# Traits counted the same way: distinct (customer, value) pairs over a universe.
SHARE_TRAITS = ("products", "first_visit_sources", "first_visit_campaigns",
                "first_purchase_products", "locations")


@dataclass(frozen=True)
class _Trait:
    """One trait's pairs within its universe, and how many of everyone have each value."""

    pairs: pa.Table  # distinct (customer_id, value), customers within ``universe``
    universe: pa.Array
    all_counts: pa.Table  # value, customer_id_count


@dataclass(frozen=True)
class _Journeys:
    """The product-journey pairs of everyone and their all-customer counts."""

    eligible: pa.Table  # (customer_id, first_product_id): 1st-order product, has a 2nd order
    pairs: pa.Table  # (customer_id, first_product_id, product_id)
    all_pairs: pa.Table  # first_product_id, product_id, customer_id_count
    all_base: pa.Table  # first_product_id, customer_id_count


@dataclass(frozen=True)
class ProfileBase:
    """The segment-independent part of every profile of one shop and day."""

    everyone: pa.Array
    traits: dict[str, _Trait]
    order_buckets: pa.Table  # (customer_id, value) for everyone: "0", "1", "2", "3", "4+"
    journeys: _Journeys

    @classmethod
    def build(cls, customers: pa.Table, orders: pa.Table, line_items: pa.Table,
              refunds: pa.Table, as_of: date, tz: str = "UTC") -> ProfileBase:
        existing = customers.filter(pc.less(customers["created_at"], cutoff_scalar(as_of, tz)))
        everyone = pc.unique(existing["customer_id"].combine_chunks())
        counted = counted_orders(None, orders, refunds, as_of, tz)
        counted = counted.filter(pc.is_in(counted["customer_id"], value_set=everyone))
        buyers = pc.unique(counted["customer_id"].combine_chunks())

        firsts = counted.filter(pc.equal(counted["order_index"], 1))
        first_order_rows = pc.index_in(firsts["order_id"],
                                       value_set=orders["order_id"].combine_chunks())
        items = line_items.select(["order_id", "product_id"]).filter(
            pc.is_valid(line_items["product_id"])
        ).join(counted.select(["order_id", "customer_id", "order_index"]), "order_id",
               join_type="inner")

        def first_order_column(name: str) -> pa.Table:
            values = pc.take(orders[name].combine_chunks(), first_order_rows)
            return _pairs(firsts["customer_id"], pc.fill_null(values, NONE_LABEL))

        pairs_and_universe = {
            "products": (_pairs(items["customer_id"], items["product_id"]), everyone),
            "first_visit_sources": (first_order_column("first_visit_source"), buyers),
            "first_visit_campaigns": (first_order_column("utm_campaign"), buyers),
            "first_purchase_products": (
                _pairs(*_columns(items.filter(pc.equal(items["order_index"], 1)))), buyers),
            "locations": (_locations(existing), everyone),
        }
        traits = {}
        for name, (pairs, universe) in pairs_and_universe.items():
            pairs = pairs.filter(pc.is_in(pairs["customer_id"], value_set=universe))
            traits[name] = _Trait(pairs, universe, _count_by_value(pairs))
        return cls(everyone, traits, _order_buckets(counted, everyone),
                   _journeys(items, everyone))


def segment_profile(
    members: pa.Table,
    customers: pa.Table,
    orders: pa.Table,
    line_items: pa.Table,
    refunds: pa.Table,
    as_of: date,
    tz: str = "UTC",
    top: int = 10,
) -> dict[str, pa.Table]:
    """Every trait table of one segment (see the module docstring)."""
    base = ProfileBase.build(customers, orders, line_items, refunds, as_of, tz)
    return profile_of(base, members, top)


def profile_of(base: ProfileBase, members: pa.Table, top: int = 10) -> dict[str, pa.Table]:
    """Every trait table of the segment ``members``, from a day's shared ``base``."""
    segment = member_ids(members)
    tables = {name: _shares(base.traits[name], segment, top) for name in SHARE_TRAITS}
    tables["order_counts"] = _order_counts(base.order_buckets, segment)
    tables["product_journeys"] = _product_journeys(base.journeys, segment, top)
    return tables


def _columns(items: pa.Table) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    return items["customer_id"], items["product_id"]


def _pairs(customer_ids: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray
           ) -> pa.Table:
    """Distinct (customer_id, value) pairs."""
    table = pa.table({"customer_id": customer_ids, "value": values})
    return table.group_by(["customer_id", "value"]).aggregate([])


def _count_by_value(pairs: pa.Table) -> pa.Table:
    return pairs.group_by("value").aggregate([("customer_id", "count")])


def _shares(trait: _Trait, segment: pa.Array, top: int) -> pa.Table:
    seg_universe = pc.sum(pc.cast(pc.is_in(segment, value_set=trait.universe),
                                  pa.int64())).as_py()
    in_segment = trait.pairs.filter(pc.is_in(trait.pairs["customer_id"], value_set=segment))
    seg_counts = _count_by_value(in_segment)
    ordered = seg_counts.sort_by([("customer_id_count", "descending"), ("value", "ascending")])
    ordered = ordered.slice(0, top)
    values = ordered["value"].combine_chunks()
    all_counts = trait.all_counts
    all_at = pc.take(all_counts["customer_id_count"].combine_chunks(),
                     pc.index_in(values, value_set=all_counts["value"].combine_chunks()))
    return _share_table(values, ordered["customer_id_count"], seg_universe or 0, all_at,
                        len(trait.universe))
def _share_table(values: pa.Array, seg_counts: pa.Array | pa.ChunkedArray, seg_total: int
                 | pa.Array, all_counts: pa.Array, all_total: int | pa.Array) -> pa.Table:
    seg_counts = pc.cast(seg_counts, pa.int64())
    all_counts = pc.cast(pc.fill_null(all_counts, 0), pa.int64())
    seg_share = _divide(seg_counts, seg_total)
    all_share = _divide(all_counts, all_total)
    lift = pc.divide(seg_share, pc.if_else(pc.greater(all_share, 0.0), all_share, None))
    return pa.table({
        "value": values,
        "segment_customers": seg_counts,
        "segment_share": seg_share,
        "all_customers": all_counts,
        "all_share": all_share,
        "lift": lift,
    })


def _divide(counts: pa.Array, total: int | pa.Array) -> pa.Array:
    denominator = pc.cast(total if isinstance(total, pa.Array) else pa.scalar(total), pa.float64())
    safe = pc.if_else(pc.greater(denominator, 0.0), denominator, None)
    return pc.divide(pc.cast(counts, pa.float64()), safe)


def _locations(customers: pa.Table) -> pa.Table:
    country = customers["country_code"]
    province = customers["province_code"]
    joined = pc.binary_join_element_wise(country, province, "-")
    label = pc.coalesce(joined, country, pa.scalar(NONE_LABEL))
    return _pairs(customers["customer_id"], label)


def _order_buckets(counted: pa.Table, everyone: pa.Array) -> pa.Table:
    per = counted.group_by("customer_id").aggregate([("order_id", "count")])
    counts = pc.fill_null(pc.take(per["order_id_count"].combine_chunks(), pc.index_in(
        everyone, value_set=per["customer_id"].combine_chunks())), 0)
    bucket = pc.if_else(pc.greater_equal(counts, 4), "4+", pc.cast(counts, pa.string()))
    return pa.table({"customer_id": everyone, "value": bucket})


def _order_counts(pairs: pa.Table, segment: pa.Array) -> pa.Table:
    in_segment = pairs.filter(pc.is_in(pairs["customer_id"], value_set=segment))
    labels = pa.array(ORDER_COUNT_BUCKETS)

    def per_bucket(table: pa.Table) -> pa.Array:
        c = _count_by_value(table)
        return pc.fill_null(pc.take(c["customer_id_count"].combine_chunks(), pc.index_in(
            labels, value_set=c["value"].combine_chunks())), 0)

    return _share_table(labels, per_bucket(in_segment), in_segment.num_rows,
                        per_bucket(pairs), pairs.num_rows)


def _counts(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.group_by(keys).aggregate([("customer_id", "count")])


def _journeys(items: pa.Table, everyone: pa.Array) -> _Journeys:
    items = items.filter(pc.is_in(items["customer_id"], value_set=everyone))
    first = _pairs(*_columns(items.filter(pc.equal(items["order_index"], 1))))
    second = _pairs(*_columns(items.filter(pc.equal(items["order_index"], 2))))
    second_buyers = pc.unique(second["customer_id"].combine_chunks())
    # Denominator per first product: customers with it in their 1st order and a 2nd order.
    eligible = first.filter(pc.is_in(first["customer_id"], value_set=second_buyers))
    eligible = eligible.rename_columns(["customer_id", "first_product_id"])
    pairs = eligible.join(second.rename_columns(["customer_id", "product_id"]), "customer_id")
    return _Journeys(eligible, pairs, _counts(pairs, ["first_product_id", "product_id"]),
                     _counts(eligible, ["first_product_id"]))


def _product_journeys(journeys: _Journeys, segment: pa.Array, top: int) -> pa.Table:
    pairs, eligible = journeys.pairs, journeys.eligible
    seg_pairs = _counts(pairs.filter(pc.is_in(pairs["customer_id"], value_set=segment)),
                        ["first_product_id", "product_id"])
    seg_base = _counts(eligible.filter(pc.is_in(eligible["customer_id"], value_set=segment)),
                       ["first_product_id"])
    ordered = seg_pairs.sort_by([("customer_id_count", "descending"),
                                 ("first_product_id", "ascending"),
                                 ("product_id", "ascending")]).slice(0, top)
    joined = ordered.join(journeys.all_pairs, ["first_product_id", "product_id"],
                          right_suffix="_all").join(
        seg_base.rename_columns(["first_product_id", "seg_base"]), "first_product_id").join(
        journeys.all_base.rename_columns(["first_product_id", "all_base"]), "first_product_id")
    joined = joined.sort_by([("customer_id_count", "descending"),
                             ("first_product_id", "ascending"), ("product_id", "ascending")])
    table = _share_table(joined["product_id"].combine_chunks(), joined["customer_id_count"],
                         joined["seg_base"].combine_chunks(), joined["customer_id_count_all"]
                         .combine_chunks(), joined["all_base"].combine_chunks())
    return table.add_column(0, "first_product_id", joined["first_product_id"]).rename_columns(
        ["first_product_id", "product_id", *table.column_names[1:]])
