"""Customer-hash shards: which part of a shop one day-run invocation computes.

A customer's shard is a fixed hash of their id modulo the shard count, so every
customer's own rows (the customer, their orders, the line items and refunds of those
orders) are in one shard and per-customer work (features, memberships, a segment's sums)
needs nothing from another. The count is chosen from the shop's size
(``shard_count``) so one invocation holds at most ``CUSTOMERS_PER_SHARD`` customers,
whatever the shop.

Orders without a customer go with customer id 0's shard: they count for nothing but the
shop's first order day, which is a minimum over shards.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.segments.tables import LakeTables

# Customers per shard. The day-run's peak memory grows about linearly with customers
# (README, pipeline benchmark: max invocation peak RSS per shard size); this keeps a
# shard's invocation well under 2 GB and 5 minutes.
CUSTOMERS_PER_SHARD = 100_000
MAX_SHARDS = 1_000  # a Distributed Map handles far more; this bounds a typo'd setting


def shard_count(customers: int, per_shard: int = CUSTOMERS_PER_SHARD) -> int:
    """How many shards a shop of ``customers`` customers is computed in (at least 1)."""
    if per_shard < 1:
        raise ValueError(f"customers per shard must be positive, got {per_shard}")
    return max(1, min(MAX_SHARDS, math.ceil(customers / per_shard)))


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def shard_of(ids: pa.Array | pa.ChunkedArray, count: int) -> np.ndarray:
    """Each id's shard (0..count-1), by the splitmix64 finaliser (ids of one shop are
    often sequential; the mix spreads them evenly). Null ids are id 0."""
    values = pc.fill_null(pc.cast(ids, pa.int64()), 0)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    x = values.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX_1
        x = (x ^ (x >> np.uint64(27))) * _MIX_2
        x = x ^ (x >> np.uint64(31))
    return (x % np.uint64(count)).astype(np.int64)


def in_shard(ids: pa.Array | pa.ChunkedArray, shard: int, count: int) -> pa.Array:
    """A bool per id: is it in ``shard`` of ``count``."""
    if count == 1:
        return pa.array(np.ones(len(ids), dtype=bool))
    return pa.array(shard_of(ids, count) == shard)


def shard_tables(tables: LakeTables, shard: int, count: int) -> LakeTables:
    """The rows of ``tables`` belonging to ``shard`` of ``count`` (products and collections:
    all)."""
    if count == 1:
        return tables
    orders = tables.orders.filter(in_shard(tables.orders["customer_id"], shard, count))
    order_ids = orders["order_id"].combine_chunks()
    return dataclasses.replace(
        tables,
        customers=tables.customers.filter(
            in_shard(tables.customers["customer_id"], shard, count)),
        orders=orders,
        line_items=tables.line_items.filter(
            pc.is_in(tables.line_items["order_id"], value_set=order_ids)),
        refunds=tables.refunds.filter(pc.is_in(tables.refunds["order_id"], value_set=order_ids)),
    )


def shard_ids(ids: pa.Array | None, shard: int, count: int) -> pa.Array | None:
    """The part of an id array in ``shard`` (None stays None)."""
    if ids is None or count == 1:
        return ids
    return pc.filter(ids, in_shard(ids, shard, count))
