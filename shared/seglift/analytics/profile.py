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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.metrics.orders import counted_orders, member_ids
from seglift.segments.timeutil import cutoff_scalar

NONE_LABEL = "(none)"
ORDER_COUNT_BUCKETS = ("0", "1", "2", "3", "4+")


# Traits counted the same way: distinct (customer, value) pairs over a universe.
SHARE_TRAITS = ("products", "first_visit_sources", "first_visit_campaigns",
                "first_purchase_products", "locations")


@dataclass(frozen=True)
class _ByRow:
    """Values of (customer row, value) pairs grouped by customer row: the values of row
    i are ``values[starts[i]:starts[i + 1]]``. A segment's values are then gathered from
    its members' runs, in time proportional to its members' pairs rather than every
    customer's (most segments hold a small part of the shop)."""

    starts: np.ndarray  # one more than the rows of ``everyone``
    rows: np.ndarray  # each value's row (ascending)
    values: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, values: np.ndarray, customers: int) -> _ByRow:
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        return cls(np.searchsorted(rows, np.arange(customers + 1)), rows, values[order])

    def of_members(self, member: np.ndarray) -> np.ndarray:
        """The values of the rows flagged in ``member`` (in row order)."""
        chosen = np.flatnonzero(member)
        if len(chosen) * 3 > len(member):  # a large segment: one pass over every pair
            return self.values[member[self.rows]]
        begin = self.starts[chosen]
        lengths = self.starts[chosen + 1] - begin
        ends = np.cumsum(lengths)
        return self.values[np.repeat(begin - ends + lengths, lengths)
                           + np.arange(ends[-1] if len(ends) else 0)]


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
    by_row: _ByRow  # the codes grouped by customer row


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
    eligible_by_row: _ByRow  # ``eligible_firsts`` grouped by customer row
    pairs_by_row: _ByRow  # each pair's place in ``all_pair_codes``, by customer row


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
    return profile_tables(profile_partial(base, member), profile_partial(base), top)


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
    return _Trait(rows, codes, values, np.bincount(codes, minlength=len(values)), universe,
                  _ByRow.of(rows, codes, len(everyone)))


def _columns(items: pa.Table) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    return items["customer_id"], items["product_id"]


def _pairs(customer_ids: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray
           ) -> pa.Table:
    """Distinct (customer_id, value) pairs."""
    table = pa.table({"customer_id": customer_ids, "value": values})
    return table.group_by(["customer_id", "value"]).aggregate([])






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
    eligible_rows = _rows(everyone, eligible["customer_id"])
    pair_rows = _rows(everyone, pairs["customer_id"])
    return _Journeys(
        eligible_rows=eligible_rows,
        eligible_firsts=eligible_firsts,
        pair_rows=pair_rows,
        pair_codes=pair_codes,
        products=products,
        all_pair_codes=all_pair_codes,
        all_pair_counts=all_pair_counts,
        all_base=np.bincount(eligible_firsts, minlength=n),
        eligible_by_row=_ByRow.of(eligible_rows, eligible_firsts, len(everyone)),
        pairs_by_row=_ByRow.of(pair_rows, np.searchsorted(all_pair_codes, pair_codes),
                               len(everyone)),
    )




# ------------------------------------------------------------ partials over shards
#
# A profile is counts: customers having each value (in the segment, and in everyone),
# and the size of each universe. Counts add across customer shards, so a shard reports
# every value's count (not only its top ones), the reduce adds them, and the top N,
# shares and lifts are taken once from the merged counts: the same tables a single
# ``profile_of`` over the whole shop gives.


class TraitCounts(BaseModel):
    """Customers having each value of one trait (nonzero counts only), and the size of
    the trait's universe (its denominator)."""

    type: str  # the values' Arrow type (``str(pa.DataType)``)
    values: list[int | str]
    counts: list[int]
    universe: int


class JourneyCounts(BaseModel):
    """Customers per (first-order product, second-order product) pair, and per
    first-order product the customers eligible for a journey (with a second order)."""

    type: str
    firsts: list[int | str]
    seconds: list[int | str]
    counts: list[int]
    base_firsts: list[int | str]
    base_counts: list[int]


class ProfilePartial(BaseModel):
    """One shard's counts behind a profile (a segment's, or everyone's)."""

    traits: dict[str, TraitCounts]
    order_buckets: list[int]  # customers per ``ORDER_COUNT_BUCKETS``
    journeys: JourneyCounts


def profile_partial(base: ProfileBase, member: np.ndarray | None = None) -> ProfilePartial:
    """The counts of the customers flagged in ``member`` (one bool per row of
    ``base.everyone``; None: everyone)."""
    if member is None:
        member = np.ones(len(base.everyone), dtype=bool)
    traits = {}
    for name in SHARE_TRAITS:
        trait = base.traits[name]
        counts = np.bincount(trait.by_row.of_members(member), minlength=len(trait.values))
        present = np.flatnonzero(counts)
        traits[name] = TraitCounts(
            type=str(trait.values.type),
            values=pc.take(trait.values, pa.array(present, pa.int64())).to_pylist(),
            counts=counts[present].tolist(),
            universe=int(np.count_nonzero(member & trait.universe)))
    journeys = base.journeys
    n = len(journeys.products)
    # Customers per pair: a count per distinct pair (``np.unique``'s, without sorting).
    per_pair = np.bincount(journeys.pairs_by_row.of_members(member),
                           minlength=len(journeys.all_pair_codes))
    held = np.flatnonzero(per_pair)
    codes, counts = journeys.all_pair_codes[held], per_pair[held]
    base_counts = np.bincount(journeys.eligible_by_row.of_members(member), minlength=n)
    present = np.flatnonzero(base_counts)

    def ids(product_codes: np.ndarray) -> list[Any]:
        return pc.take(journeys.products, pa.array(product_codes, pa.int64())).to_pylist()

    return ProfilePartial(
        traits=traits,
        order_buckets=np.bincount(base.order_buckets[member],
                                  minlength=len(ORDER_COUNT_BUCKETS)).tolist(),
        journeys=JourneyCounts(type=str(journeys.products.type), firsts=ids(codes // n)
                               if n else [], seconds=ids(codes % n) if n else [],
                               counts=counts.tolist(), base_firsts=ids(present),
                               base_counts=base_counts[present].tolist()),
    )


def _arrow_type(name: str) -> pa.DataType:
    return pa.type_for_alias(name)


def _summed(keys: dict[str, pa.Array], counts: list[pa.Array]) -> pa.Table:
    """Counts added per key (the keys' columns, then ``count``)."""
    table = pa.table({**keys, "count": pa.concat_arrays(counts) if counts
                      else pa.array([], pa.int64())})
    if table.num_rows == 0:  # nothing to add (ReduceDay's journeys travel apart)
        return table
    return table.group_by(list(keys)).aggregate([("count", "sum")]).rename_columns(
        [*keys, "count"])


def merge_profile_partials(parts: Sequence[ProfilePartial]) -> ProfilePartial:
    """Every shard's counts added up: the whole shop's counts."""
    if len(parts) == 1:
        return parts[0]
    traits = {}
    for name in SHARE_TRAITS:
        kind = _arrow_type(parts[0].traits[name].type)
        merged = _summed(
            {"value": pa.array([v for p in parts for v in p.traits[name].values], kind)},
            [pa.array(p.traits[name].counts, pa.int64()) for p in parts])
        traits[name] = TraitCounts(type=str(kind), values=merged["value"].to_pylist(),
                                   counts=merged["count"].to_pylist(),
                                   universe=sum(p.traits[name].universe for p in parts))
    kind = _arrow_type(parts[0].journeys.type)
    pairs = _summed({"first": pa.array([v for p in parts for v in p.journeys.firsts], kind),
                     "second": pa.array([v for p in parts for v in p.journeys.seconds], kind)},
                    [pa.array(p.journeys.counts, pa.int64()) for p in parts])
    bases = _summed({"first": pa.array([v for p in parts for v in p.journeys.base_firsts],
                                       kind)},
                    [pa.array(p.journeys.base_counts, pa.int64()) for p in parts])
    return ProfilePartial(
        traits=traits,
        order_buckets=np.sum([p.order_buckets for p in parts], axis=0).tolist(),
        journeys=JourneyCounts(type=str(kind), firsts=pairs["first"].to_pylist(),
                               seconds=pairs["second"].to_pylist(),
                               counts=pairs["count"].to_pylist(),
                               base_firsts=bases["first"].to_pylist(),
                               base_counts=bases["count"].to_pylist()),
    )


def _lookup(keys: pa.Array, values: pa.Array, counts: pa.Array) -> pa.Array:
    """The count of each of ``keys`` among (``values``, ``counts``); 0 when absent."""
    found = pc.take(counts, pc.index_in(keys, value_set=values))
    return pc.fill_null(found, 0)


def profile_tables(segment: ProfilePartial, everyone: ProfilePartial, top: int = 10
                   ) -> dict[str, pa.Table]:
    """Every trait table of a segment from its merged counts and everyone's: top values
    by segment customers (ties by value), with share and lift."""
    tables: dict[str, pa.Table] = {}
    for name in SHARE_TRAITS:
        seg, all_ = segment.traits[name], everyone.traits[name]
        kind = _arrow_type(seg.type)
        counts = pa.table({"value": pa.array(seg.values, kind),
                           "count": pa.array(seg.counts, pa.int64())})
        chosen = counts.sort_by([("count", "descending"), ("value", "ascending")]).slice(0, top)
        values = chosen["value"].combine_chunks()
        all_counts = _lookup(values, pa.array(all_.values, kind),
                             pa.array(all_.counts, pa.int64()))
        tables[name] = _share_table(values, chosen["count"], seg.universe, all_counts,
                                    all_.universe)
    labels = pa.array(ORDER_COUNT_BUCKETS)
    tables["order_counts"] = _share_table(
        labels, pa.array(segment.order_buckets, pa.int64()), sum(segment.order_buckets),
        pa.array(everyone.order_buckets, pa.int64()), sum(everyone.order_buckets))
    tables["product_journeys"] = _journey_table(segment.journeys, everyone.journeys, top)
    return tables


def _journey_table(seg: JourneyCounts, all_: JourneyCounts, top: int) -> pa.Table:
    """Top (first, second) product pairs; ties by first, then second product."""
    kind = _arrow_type(seg.type)
    pairs = pa.table({"first_product_id": pa.array(seg.firsts, kind),
                      "product_id": pa.array(seg.seconds, kind),
                      "count": pa.array(seg.counts, pa.int64())})
    chosen = pairs.sort_by([("count", "descending"), ("first_product_id", "ascending"),
                            ("product_id", "ascending")]).slice(0, top)
    firsts = chosen["first_product_id"].combine_chunks()
    seconds = chosen["product_id"].combine_chunks()
    seg_base = _lookup(firsts, pa.array(seg.base_firsts, kind),
                       pa.array(seg.base_counts, pa.int64()))
    all_base = _lookup(firsts, pa.array(all_.base_firsts, kind),
                       pa.array(all_.base_counts, pa.int64()))
    # Everyone's count of each chosen pair: the pairs are few (``top``), so look them up
    # among everyone's pairs with those first products only.
    all_pairs = pa.table({"first_product_id": pa.array(all_.firsts, kind),
                          "product_id": pa.array(all_.seconds, kind),
                          "count": pa.array(all_.counts, pa.int64())})
    near = all_pairs.filter(pc.is_in(all_pairs["first_product_id"], value_set=firsts))
    found = {(f, s): c for f, s, c in zip(near["first_product_id"].to_pylist(),
                                          near["product_id"].to_pylist(),
                                          near["count"].to_pylist(), strict=True)}
    all_counts = pa.array([found.get(pair, 0) for pair in zip(
        firsts.to_pylist(), seconds.to_pylist(), strict=True)], pa.int64())
    table = _share_table(seconds, chosen["count"], seg_base, all_counts, all_base)
    return table.add_column(0, "first_product_id", firsts).rename_columns(
        ["first_product_id", "product_id", *table.column_names[1:]])
