"""Customer journeys: an ordered list of segments (stages) and how customers move along it.

A customer's **stage** on a day is the *furthest* stage whose snapshot contains them
(journeys progress: a VIP who is also a repeat buyer is at the VIP stage), or ``OUTSIDE``
when no stage contains them. Segments may overlap; only the furthest one counts.

- ``transition_matrix``: customers per (stage on ``start``, stage on ``end``), with the
  net sales of their counted orders placed after ``start`` up to ``end`` (as of ``end``).
  Customers outside every stage on both days are only counted when a ``population``
  (every customer) is given; otherwise the outside->outside cell is absent.
- ``funnel``: per day, how many customers reached each stage (furthest stage >= it) and
  the conversion between consecutive stages, reached(i+1) / reached(i).
- ``overlap_matrix``: for any set of segments, |A and B| and |A and B| / |A| per ordered pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.metrics.orders import NET, counted_orders, member_ids

OUTSIDE = "(outside)"
_NO_STAGE = -1
_OVERLAP_BLOCK = 1 << 16  # customers per block of the overlap's Gram matrix


def stage_of(customers: pa.Array, snapshots: Sequence[pa.Table]) -> pa.Array:
    """Index of each customer's furthest stage (-1 outside every stage)."""
    stage = pa.array([_NO_STAGE] * len(customers), pa.int32()) if len(customers) else \
        pa.array([], pa.int32())
    for index, snapshot in enumerate(snapshots):  # a loop over stages, never customers
        inside = pc.is_in(customers, value_set=member_ids(snapshot))
        stage = pc.if_else(inside, pa.scalar(index, pa.int32()), stage)
    return stage


def _labels(stage: pa.Array, names: Sequence[str]) -> pa.Array:
    lookup = pa.array([OUTSIDE, *names], pa.string())
    return pc.take(lookup, pc.add(pc.cast(stage, pa.int32()), 1))


def transition_matrix(
    stages: Sequence[str],
    start_snapshots: Sequence[pa.Table],
    end_snapshots: Sequence[pa.Table],
    orders: pa.Table,
    refunds: pa.Table,
    start: date,
    end: date,
    tz: str = "UTC",
    population: pa.Table | None = None,
) -> pa.Table:
    """Rows (from_stage, to_stage, customers, net_sales) for every non-empty cell."""
    if not (len(stages) == len(start_snapshots) == len(end_snapshots)):
        raise ValueError("give one snapshot per stage for both days, in stage order")
    if start >= end:
        raise ValueError(f"start {start} must be before end {end}")
    parts = [member_ids(s) for s in (*start_snapshots, *end_snapshots)]
    if population is not None:
        parts.append(member_ids(population))
    customers = pc.unique(pa.concat_arrays([p.cast(pa.int64()) for p in parts])
                          if parts else pa.array([], pa.int64()))
    before = stage_of(customers, start_snapshots)
    after = stage_of(customers, end_snapshots)

    counted = counted_orders(customers, orders, refunds, end, tz)
    in_period = pc.greater(counted["order_day"], pa.scalar(start, pa.date32()))
    spent = counted.filter(in_period).group_by("customer_id").aggregate([("net", "sum")])
    revenue = pc.fill_null(
        pc.take(pc.cast(spent["net_sum"], NET).combine_chunks(),
                pc.index_in(customers, value_set=spent["customer_id"].combine_chunks())),
        pa.scalar(0, NET),
    )
    cells = pa.table({
        "from_index": before, "to_index": after, "customer_id": customers, "net": revenue,
    }).group_by(["from_index", "to_index"]).aggregate([("customer_id", "count"),
                                                       ("net", "sum")])
    cells = cells.sort_by([("from_index", "ascending"), ("to_index", "ascending")])
    return pa.table({
        "from_stage": _labels(cells["from_index"].combine_chunks(), stages),
        "to_stage": _labels(cells["to_index"].combine_chunks(), stages),
        "customers": cells["customer_id_count"],
        "net_sales": pc.cast(pc.round(cells["net_sum"], ndigits=2,
                                      round_mode="half_to_even"), pa.decimal128(38, 2)),
    })


def funnel(stages: Sequence[str], snapshots_by_day: Mapping[date, Sequence[pa.Table]]
           ) -> pa.Table:
    """Rows (day, stage, reached, conversion_from_previous) for each day and stage."""
    rows: dict[str, list] = {"day": [], "stage": [], "reached": [], "conversion": []}
    for day in sorted(snapshots_by_day):  # a loop over days and stages, not customers
        snapshots = snapshots_by_day[day]
        if len(snapshots) != len(stages):
            raise ValueError(f"{day}: give one snapshot per stage ({len(stages)})")
        ids = [member_ids(s) for s in snapshots]
        everyone = pc.unique(pa.concat_arrays(ids)) if ids else pa.array([], pa.int64())
        furthest = stage_of(everyone, snapshots)
        previous = None
        for index, name in enumerate(stages):
            reached = pc.sum(pc.cast(pc.greater_equal(furthest, index), pa.int64())).as_py()
            reached = int(reached or 0)
            rows["day"].append(day)
            rows["stage"].append(name)
            rows["reached"].append(reached)
            rows["conversion"].append(
                None if previous is None or previous == 0 else reached / previous
            )
            previous = reached
    return pa.table({
        "day": pa.array(rows["day"], pa.date32()),
        "stage": pa.array(rows["stage"], pa.string()),
        "reached": pa.array(rows["reached"], pa.int64()),
        "conversion": pa.array(rows["conversion"], pa.float64()),
    })


def overlap_matrix(segments: Mapping[str, pa.Table]) -> pa.Table:
    """Rows (segment_a, segment_b, overlap, share_of_a) for every ordered pair.

    Every pair at once: each segment is a 0/1 column over the customers in any segment,
    and the overlaps are that matrix's Gram matrix, built a block of customers at a time
    (so memory stays a few MB at any shop size). Exact: each block's counts are integers
    far below 2**53, summed as int64."""
    names = list(segments)
    ids = [np.asarray(member_ids(segments[name]).to_numpy(zero_copy_only=False), np.int64)
           for name in names]
    everyone = np.unique(np.concatenate(ids)) if ids else np.array([], np.int64)
    positions = [np.sort(np.searchsorted(everyone, members)) for members in ids]
    counts = np.zeros((len(names), len(names)), np.int64)
    for low in range(0, len(everyone), _OVERLAP_BLOCK):
        high = min(low + _OVERLAP_BLOCK, len(everyone))
        block = np.zeros((high - low, len(names)), np.float64)
        for column, at in enumerate(positions):  # a loop over segments, never customers
            inside = at[np.searchsorted(at, low):np.searchsorted(at, high)]
            block[inside - low, column] = 1.0
        # numpy's own loops, not BLAS: on a busy 2-core machine BLAS threads made this
        # product ten times slower; the sums are small integers, exact either way.
        counts += np.rint(np.einsum("ij,ik->jk", block, block, optimize=False)
                          ).astype(np.int64)
    rows: dict[str, list] = {"segment_a": [], "segment_b": [], "overlap": [], "share_of_a": []}
    for i, a in enumerate(names):  # pairs of segments: a handful, never customers
        size = len(ids[i])
        for j, b in enumerate(names):
            both = int(counts[i, j])
            rows["segment_a"].append(a)
            rows["segment_b"].append(b)
            rows["overlap"].append(both)
            rows["share_of_a"].append(both / size if size else None)
    return pa.table({
        "segment_a": pa.array(rows["segment_a"], pa.string()),
        "segment_b": pa.array(rows["segment_b"], pa.string()),
        "overlap": pa.array(rows["overlap"], pa.int64()),
        "share_of_a": pa.array(rows["share_of_a"], pa.float64()),
    })
