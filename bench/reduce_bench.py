"""ReduceDay's memory against the shop's size: one segment at a time (``ReducedDay``, what
the workflow's ReduceDay runs) against every segment kept (``reduce_day``, the in-process
day-run's merge, which is how ReduceDay held them before).

Synthetic memberships, members only (no partial figures): 16 shards, 50 segments with
about 11.15 memberships a customer (the 50 template segments measured 55,675 on the
5,000-customer bench store's 4,991 customers), the broadest segment 83% of the customers
as the broadest template is. Each shard's part of a segment is made when it is asked for,
as ReduceDay reads it from S3. Records ``reduce day N customers memberships peak RSS``
(MB, one at a time; the peer: every segment kept), each side in a fresh process.
At 4,000,000 customers the two sides take about a minute here; the growth per million
customers is what the 10,000,000-customer projection in README scales.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

import numpy as np
import pyarrow as pa

from bench.records import BenchRecord, run_isolated

SIZES = (2_000_000, 4_000_000)
QUICK_SIZES = (100_000,)
SHARDS = 16
SEGMENTS = 50
MEMBERSHIPS_PER_CUSTOMER = 11.15
BROADEST = 0.83


def _shares() -> np.ndarray:
    shares = np.clip(np.random.default_rng(1).beta(0.5, 1.5, SEGMENTS), 0.01, BROADEST)
    return np.clip(shares * MEMBERSHIPS_PER_CUSTOMER / shares.sum(), 0, BROADEST)


def _part(customers: int, shares: np.ndarray, segment: int, shard: int) -> pa.Array:
    ids = np.arange(shard, customers, SHARDS, dtype=np.int64)
    keep = np.random.default_rng(segment * 1000 + shard).random(len(ids)) < shares[segment]
    return pa.array(ids[keep])


class _Parts(Mapping[str, pa.Array]):
    """One shard's part of each segment, made when asked for (ReduceDay reads it)."""

    def __init__(self, customers: int, shares: np.ndarray, shard: int) -> None:
        self.customers, self.shares, self.shard = customers, shares, shard

    def __getitem__(self, segment_id: str) -> pa.Array:
        return _part(self.customers, self.shares, int(segment_id), self.shard)

    def __contains__(self, segment_id: object) -> bool:
        return segment_id in {str(s) for s in range(SEGMENTS)}

    def __iter__(self) -> Iterator[str]:
        return iter(str(s) for s in range(SEGMENTS))

    def __len__(self) -> int:
        return SEGMENTS


def reduce_members(customers: int, streamed: bool) -> int:
    """Every segment merged from the shards' parts; the memberships merged."""
    from seglift.dayrun.compute import ReducedDay, ShardDay, reduce_day

    shares = _shares()
    order = [str(s) for s in range(SEGMENTS)]
    as_of, products = date(2026, 1, 1), pa.table({})
    if not streamed:  # every shard's parts loaded, every segment merged and kept
        days = [ShardDay({sid: _part(customers, shares, int(sid), k) for sid in order}, {}, {},
                         None, pa.table({})) for k in range(SHARDS)]
        results, _ = reduce_day(days, order, as_of, products)
        return sum(len(r.members) for r in results.values())
    days = [ShardDay(_Parts(customers, shares, k), {}, {}, None, pa.table({}))
            for k in range(SHARDS)]
    reduced = ReducedDay(days, order, as_of, products)
    total = 0
    for segment_id in order:  # as store_day does: store it, let it go
        day = reduced.get(segment_id)
        total += len(day.members) if day is not None else 0
        del day
    return total


def benchmarks(quick: bool) -> list[BenchRecord]:
    records = []
    for customers in QUICK_SIZES if quick else SIZES:
        _, streamed_mb, streamed = run_isolated(reduce_members, customers, True)
        _, kept_mb, kept = run_isolated(reduce_members, customers, False)
        if streamed != kept:
            raise RuntimeError(f"the two merges disagree: {streamed} != {kept} memberships")
        records.append(BenchRecord.against(
            f"reduce day {customers} customers memberships peak RSS", round(streamed_mb), "MB",
            "every segment kept", round(kept_mb)))
        records.append(BenchRecord(f"reduce day {customers} customers memberships",
                                   streamed, "memberships"))
    return records
