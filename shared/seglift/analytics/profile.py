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

import numpy as np
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
    """One trait's distinct (customer, value) pairs within its universe, encoded densely:
    customers as rows of ``everyone``, values as codes into ``values`` (sorted
    ascending, so ties broken by code are ties broken by value)."""

    rows: np.ndarray  # customer row in ``everyone``, one per pair
    codes: np.ndarray  # value code, one per pair
    values: pa.Array  # code -> value
    all_counts: np.ndarray  # customers of the universe having each value
    universe: np.ndarray  # bool per row of ``everyone``


@dataclass(frozen=True)
class _Journeys:
    """The product-journey pairs of everyone, encoded like ``_Trait``."""

    eligible_rows: np.ndarray  # (customer, first-order product) with a 2nd order ...
    eligible_firsts: np.ndarray  # ... as customer rows and product codes
    pair_rows: np.ndarray  # (customer, first-order product, second-order product) ...
    pair_codes: np.ndarray  # ... as customer rows and first * len(products) + second
    products: pa.Array  # product code -> product id (ascending)
    all_pair_codes: np.ndarray  # distinct pair codes, ascending ...
    all_pair_counts: np.ndarray  # ... and how many customers have each
    all_base: np.ndarray  # per first-product code: eligible customers


@dataclass(frozen=True)
class ProfileBase:
    """The segment-independent part of every profile of one shop and day."""

    everyone: pa.Array  # every existing customer id (a row per customer)
    traits: dict[str, _Trait]
    order_buckets: np.ndarray  # per row of everyone: index into ORDER_COUNT_BUCKETS
    journeys: _Journeys

    @classmethod
    def build(cls, customers: pa.Table, orders: pa.Table, line_items: pa.Table,
              refunds: pa.Table, as_of: date, tz: str = "UTC",
              counted: pa.Table | None = None) -> ProfileBase:
        """``counted``: the day's ``counted_orders(None, ...)`` if the caller has them."""
        existing = customers.filter(pc.less(customers["created_at"], cutoff_scalar(as_of, tz)))
        everyone = pc.unique(existing["customer_id"].combine_chunks())
        if counted is None:
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

        everyone_flag = np.ones(len(everyone), dtype=bool)
        buyer_flag = _flags(everyone, buyers)
        pairs_and_universe = {
            "products": (_pairs(items["customer_id"], items["product_id"]), everyone_flag),
            "first_visit_sources": (first_order_column("first_visit_source"), buyer_flag),
            "first_visit_campaigns": (first_order_column("utm_campaign"), buyer_flag),
            "first_purchase_products": (
                _pairs(*_columns(items.filter(pc.equal(items["order_index"], 1)))), buyer_flag),
            "locations": (_locations(existing), everyone_flag),
        }
        traits = {name: _trait(pairs, everyone, universe)
                  for name, (pairs, universe) in pairs_and_universe.items()}
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
    """Every trait table of the segment ``members``, from a day's shared ``base``.

    Membership becomes one flag per row of ``everyone`` (a single hash probe); every
    trait is then a gather of those flags and a bincount of value codes.
    """
    member = _flags(base.everyone, member_ids(members))
    tables = {name: _shares(base.traits[name], member, top) for name in SHARE_TRAITS}
    tables["order_counts"] = _order_counts(base.order_buckets, member)
    tables["product_journeys"] = _product_journeys(base.journeys, member, top)
    return tables


def _flags(everyone: pa.Array, ids: pa.Array) -> np.ndarray:
    """One bool per row of ``everyone``: is that customer among ``ids``."""
    return pc.is_in(everyone, value_set=ids).to_numpy(zero_copy_only=False)


def _rows(everyone: pa.Array, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each id's row in ``everyone`` (every id must be there)."""
    return pc.index_in(ids, value_set=everyone).to_numpy(zero_copy_only=False).astype(np.int64)


def _encode(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Dense codes for ``values`` and the code -> value array, sorted ascending."""
    distinct = pc.unique(values)
    distinct = pc.take(distinct, pc.sort_indices(distinct))
    codes = pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64), distinct


def _trait(pairs: pa.Table, everyone: pa.Array, universe: np.ndarray) -> _Trait:
    rows = _rows(everyone, pairs["customer_id"])
    keep = universe[rows]
    rows = rows[keep]
    codes, values = _encode(pairs["value"].filter(pa.array(keep)))
    return _Trait(rows, codes, values, np.bincount(codes, minlength=len(values)), universe)


def _columns(items: pa.Table) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    return items["customer_id"], items["product_id"]


def _pairs(customer_ids: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray
           ) -> pa.Table:
    """Distinct (customer_id, value) pairs."""
    table = pa.table({"customer_id": customer_ids, "value": values})
    return table.group_by(["customer_id", "value"]).aggregate([])


def _top(counts: np.ndarray, top: int) -> np.ndarray:
    """Codes of the ``top`` largest non-zero counts, ties by code (= by value)."""
    present = np.flatnonzero(counts)
    order = np.lexsort((present, -counts[present]))
    return present[order[:top]]


def _shares(trait: _Trait, member: np.ndarray, top: int) -> pa.Table:
    seg_universe = int(np.count_nonzero(member & trait.universe))
    seg_counts = np.bincount(trait.codes[member[trait.rows]], minlength=len(trait.values))
    chosen = _top(seg_counts, top)
    return _share_table(pc.take(trait.values, pa.array(chosen, pa.int64())),
                        pa.array(seg_counts[chosen], pa.int64()), seg_universe,
                        pa.array(trait.all_counts[chosen], pa.int64()),
                        int(np.count_nonzero(trait.universe)))


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


def _order_buckets(counted: pa.Table, everyone: pa.Array) -> np.ndarray:
    per = counted.group_by("customer_id").aggregate([("order_id", "count")])
    counts = np.zeros(len(everyone), dtype=np.int64)
    counts[_rows(everyone, per["customer_id"])] = per["order_id_count"].to_numpy()
    return np.minimum(counts, len(ORDER_COUNT_BUCKETS) - 1)


def _order_counts(buckets: np.ndarray, member: np.ndarray) -> pa.Table:
    labels = pa.array(ORDER_COUNT_BUCKETS)
    size = len(ORDER_COUNT_BUCKETS)
    in_segment = buckets[member]
    return _share_table(labels, pa.array(np.bincount(in_segment, minlength=size), pa.int64()),
                        len(in_segment),
                        pa.array(np.bincount(buckets, minlength=size), pa.int64()),
                        len(buckets))


def _journeys(items: pa.Table, everyone: pa.Array) -> _Journeys:
    items = items.filter(pc.is_in(items["customer_id"], value_set=everyone))
    first = _pairs(*_columns(items.filter(pc.equal(items["order_index"], 1))))
    second = _pairs(*_columns(items.filter(pc.equal(items["order_index"], 2))))
    second_buyers = pc.unique(second["customer_id"].combine_chunks())
    # Denominator per first product: customers with it in their 1st order and a 2nd order.
    eligible = first.filter(pc.is_in(first["customer_id"], value_set=second_buyers))
    eligible = eligible.rename_columns(["customer_id", "first_product_id"])
    pairs = eligible.join(second.rename_columns(["customer_id", "product_id"]), "customer_id")
    _, products = _encode(pa.concat_arrays([
        pairs["first_product_id"].combine_chunks(), pairs["product_id"].combine_chunks(),
        eligible["first_product_id"].combine_chunks()]))
    n = len(products)

    def codes(column: pa.ChunkedArray) -> np.ndarray:
        return pc.index_in(column, value_set=products).to_numpy(
            zero_copy_only=False).astype(np.int64)

    eligible_firsts = codes(eligible["first_product_id"])
    pair_codes = codes(pairs["first_product_id"]) * n + codes(pairs["product_id"])
    all_pair_codes, all_pair_counts = np.unique(pair_codes, return_counts=True)
    return _Journeys(
        eligible_rows=_rows(everyone, eligible["customer_id"]),
        eligible_firsts=eligible_firsts,
        pair_rows=_rows(everyone, pairs["customer_id"]),
        pair_codes=pair_codes,
        products=products,
        all_pair_codes=all_pair_codes,
        all_pair_counts=all_pair_counts,
        all_base=np.bincount(eligible_firsts, minlength=n),
    )


def _product_journeys(journeys: _Journeys, member: np.ndarray, top: int) -> pa.Table:
    """Top (first, second) product pairs of the segment; ties by first, then second
    product (pair codes are first * n + second over ascending product codes)."""
    n = len(journeys.products)
    seg_codes, seg_counts = np.unique(journeys.pair_codes[member[journeys.pair_rows]],
                                      return_counts=True)
    order = np.lexsort((seg_codes, -seg_counts))[:top]
    chosen, counts = seg_codes[order], seg_counts[order]
    first, second = chosen // n, chosen % n
    seg_base = np.bincount(journeys.eligible_firsts[member[journeys.eligible_rows]],
                           minlength=n)
    all_counts = journeys.all_pair_counts[np.searchsorted(journeys.all_pair_codes, chosen)]
    table = _share_table(pc.take(journeys.products, pa.array(second, pa.int64())),
                         pa.array(counts, pa.int64()), pa.array(seg_base[first], pa.int64()),
                         pa.array(all_counts, pa.int64()),
                         pa.array(journeys.all_base[first], pa.int64()))
    first_ids = pc.take(journeys.products, pa.array(first, pa.int64()))
    return table.add_column(0, "first_product_id", first_ids).rename_columns(
        ["first_product_id", "product_id", *table.column_names[1:]])
