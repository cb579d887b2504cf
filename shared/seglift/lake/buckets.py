"""Customer-hash buckets: how a compacted base is split so a shard reads only its rows.

Every table with customers' rows (customers, orders, line items, refunds) is compacted
into ``buckets`` files-per-bucket (a power of two chosen from the shop's size,
``bucket_count``): a row goes to bucket ``bucket_of(customer_id, buckets)``. Orders,
line items and refunds are bucketed by their own ``customer_id`` column, which the sync
writes as the *order's* customer on all three (``seglift.lake.convert``: line items and
refunds take it from their order in the same export, and an updated order is exported
again with its line items and refunds), so an order and everything of it share its
customer's bucket. Orders without a customer (null) go with id 0.

The day-run's shard ``k`` of ``n`` is ``bucket_of(id, n) == k`` (the same hash), so a
bucket ``b`` of ``B`` holds rows of shard ``k`` only when ``b ≡ k (mod gcd(B, n))``
(``bucket_may_hold``): with ``n`` dividing ``B`` a shard reads ``B / n`` buckets and
nothing else, exactly its customers.

The hash is the splitmix64 finaliser: a shop's ids are often sequential, and the mix
spreads them evenly. It is fixed forever: changing it would silently misplace every
bucketed row already in S3.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The column a table's rows are bucketed by; tables not named here (products) are not
# bucketed: every shard reads them whole.
BUCKET_COLUMNS: dict[str, str] = {
    "customers": "customer_id",
    "orders": "customer_id",
    "line_items": "customer_id",
    "refunds": "customer_id",
}

# Customers per bucket the bucket count aims at: a bucket of 50,000 customers (with
# their ~150,000 orders and line items) is a few MB of Parquet; the day-run's shards
# hold at most twice that (``seglift.dayrun.shards``), so a shard reads whole buckets.
CUSTOMERS_PER_BUCKET = 50_000
MAX_BUCKETS = 512  # 25.6 million customers at 50,000 a bucket; compaction keeps one open
# file per bucket, well inside a Lambda's 1,024 file descriptors

_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def next_power_of_two(value: int) -> int:
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def bucket_count(customers: int, customers_per_shard: int | None = None) -> int:
    """How many buckets a shop of ``customers`` customers is compacted into: a power of
    two, so any power-of-two shard count up to it divides it. Buckets hold
    ``CUSTOMERS_PER_BUCKET`` customers, or the day-run's ``customers_per_shard`` when that
    is smaller, so a shard is always whole buckets."""
    per_bucket = min(CUSTOMERS_PER_BUCKET, customers_per_shard or CUSTOMERS_PER_BUCKET)
    if per_bucket < 1:
        raise ValueError(f"customers per bucket must be positive, got {per_bucket}")
    return min(MAX_BUCKETS, next_power_of_two(math.ceil(max(customers, 1) / per_bucket)))


def bucket_of(ids: pa.Array | pa.ChunkedArray, count: int) -> np.ndarray:
    """Each id's bucket (0..count-1) among ``count``. Null ids are id 0."""
    values = pc.fill_null(pc.cast(ids, pa.int64()), 0)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    x = values.to_numpy(zero_copy_only=False).astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX_1
        x = (x ^ (x >> np.uint64(27))) * _MIX_2
        x = x ^ (x >> np.uint64(31))
    return (x % np.uint64(count)).astype(np.int64)


def bucket_may_hold(bucket: int, buckets: int, shard: int, shards: int) -> bool:
    """Can bucket ``bucket`` of ``buckets`` hold rows of shard ``shard`` of ``shards``?
    (Some h has h % buckets == bucket and h % shards == shard: by the Chinese remainder
    theorem, exactly when they agree modulo the gcd.)"""
    common = math.gcd(buckets, shards)
    return bucket % common == shard % common


def bucket_is_within(buckets: int, shards: int) -> bool:
    """Does every bucket of ``buckets`` hold rows of one shard only (``shards`` divides
    ``buckets``)?"""
    return buckets % shards == 0


def in_bucket(ids: pa.Array | pa.ChunkedArray, bucket: int, count: int) -> pa.Array:
    """A bool per id: is it in ``bucket`` of ``count``."""
    if count == 1:
        return pa.array(np.ones(len(ids), dtype=bool))
    return pa.array(bucket_of(ids, count) == bucket)
