"""Customer-hash shards: which part of a shop one day-run invocation computes.

A customer's shard is a fixed hash of their id modulo the shard count (the lake's bucket
hash, ``seglift.lake.buckets``), so every customer's own rows (the customer, their
orders, the line items and refunds of those orders) are in one shard and per-customer
work (features, memberships, a segment's sums) needs nothing from another. The count is
a power of two chosen from the shop's size (``shard_count``) so one invocation holds at
most ``CUSTOMERS_PER_SHARD`` customers, whatever the shop, and divides the lake's bucket
count: a shard reads only its buckets' files (``read_shard_tables``).

Orders without a customer go with customer id 0's shard: they count for nothing but the
shop's first order day, which is a minimum over shards.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.concurrency import IoPool
from seglift.lake.buckets import BUCKET_COLUMNS, bucket_of, next_power_of_two
from seglift.segments.tables import TABLE_NAMES, LakeTables, conform

# Customers per shard at most. The day-run's peak memory grows about linearly with
# customers (README, pipeline benchmark: max invocation peak RSS per shard size); this
# keeps a shard's invocation well under 2 GB and 5 minutes.
CUSTOMERS_PER_SHARD = 100_000
MAX_SHARDS = 1_024  # a Distributed Map handles far more; this bounds a typo'd setting


def shard_count(customers: int, per_shard: int = CUSTOMERS_PER_SHARD) -> int:
    """How many shards a shop of ``customers`` customers is computed in: the smallest
    power of two giving at most ``per_shard`` customers a shard (at least 1)."""
    if per_shard < 1:
        raise ValueError(f"customers per shard must be positive, got {per_shard}")
    return max(1, min(MAX_SHARDS, next_power_of_two(math.ceil(customers / per_shard))))


def shard_of(ids: pa.Array | pa.ChunkedArray, count: int) -> np.ndarray:
    """Each id's shard (0..count-1): its lake bucket among ``count``. Null ids are id 0."""
    return bucket_of(ids, count)


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


def read_shard_tables(reader: Any, shard: int, count: int,
                      columns: Mapping[str, Sequence[str]] | None = None) -> LakeTables:
    """Shard ``shard`` of ``count`` read from the lake: ``shard_tables`` of the whole
    lake, reading only the shard's buckets (``LakeReader.read_shard``). A reader without
    ``read_shard`` (a test's fake) is read whole and cut. The tables are read at once
    (``IoPool``: each is S3 GETs and Parquet decoding, which runs outside the GIL).

    ``columns``: table -> the columns a phase reads (``seglift.dayrun.columns``; every
    table named), only those decoded; a table of none is not read (a table without
    columns; customers, orders, line items and refunds are always read, with their
    ids, to cut the shard). None: every column of every table."""
    read_shard = getattr(reader, "read_shard", None)
    wanted = {name: None if columns is None else list(columns[name]) for name in TABLE_NAMES}
    names = [name for name in TABLE_NAMES if wanted[name] != []]

    def read(name: str) -> pa.Table:
        chosen = wanted[name]
        if (count == 1 or read_shard is None) or name not in BUCKET_COLUMNS:
            return conform(reader.read_table(name, columns=chosen), name, chosen)
        return conform(read_shard(name, shard, count, columns=chosen), name, chosen)

    with IoPool(len(names)) as pool:
        read_tables = dict(zip(names, pool.ordered(read, names), strict=True))
    tables = LakeTables(**{name: read_tables.get(name, pa.table({})) for name in TABLE_NAMES})
    if count == 1 or read_shard is None:
        return shard_tables(tables, shard, count)
    order_ids = tables.orders["order_id"].combine_chunks()
    # As ``shard_tables``: a shard's line items and refunds are those of its orders.
    return dataclasses.replace(
        tables,
        line_items=tables.line_items.filter(
            pc.is_in(tables.line_items["order_id"], value_set=order_ids)),
        refunds=tables.refunds.filter(pc.is_in(tables.refunds["order_id"], value_set=order_ids)))


def shard_ids(ids: pa.Array | None, shard: int, count: int) -> pa.Array | None:
    """The part of an id array in ``shard`` (None stays None)."""
    if ids is None or count == 1:
        return ids
    return pc.filter(ids, in_shard(ids, shard, count))
