"""One shop's sync against the Shopify emulator into moto S3: full, incremental, resumable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.model import ShopStore, gid
from seglift.keys import sync_state_key
from seglift.lake.reader import LakeReader
from seglift.shopify.bulk import BulkOperationError
from sync.checkpoint import FULL, INCREMENTAL, CorruptCheckpoint, iso

from .conftest import BUCKET, SHOP, day_after_latest, lake_snapshot, synchronizer


def run(emulator: ShopifyEmulator, s3: Any, when: Any, bucket: str = BUCKET, **kwargs: Any):
    return synchronizer(emulator, s3, bucket, **kwargs).run(when.date().isoformat(), when)


def test_first_sync_copies_the_whole_store(emulator: ShopifyEmulator, store: ShopStore,
                                           s3: Any) -> None:
    when = day_after_latest(store)
    outcome = run(emulator, s3, when)
    lake = LakeReader(s3, BUCKET, SHOP)
    customers = lake.read_table("customers")
    orders = lake.read_table("orders")
    assert outcome.mode == FULL
    assert sorted(customers["customer_id"].to_pylist()) == sorted(
        int(r["legacyResourceId"]) for r in store.customers.values())
    assert orders.num_rows == len(store.orders)
    assert lake.read_table("line_items").num_rows == sum(
        len(o["lineItems"]) for o in store.orders.values())
    assert lake.read_table("refunds").num_rows == sum(
        len(o["refunds"]) for o in store.orders.values())
    assert lake.read_table("products").num_rows == len(store.products)
    assert outcome.records == sum(outcome.rows_by_table.values())
    # Each line item keeps the variant's title as Shopify gave it (null for a default one).
    items = lake.read_table("line_items", ["line_item_id", "variant_title"])
    titles = dict(zip(items["line_item_id"].to_pylist(), items["variant_title"].to_pylist(),
                      strict=True))
    expected = {int(line["id"].rsplit("/", 1)[1]): line.get("variantTitle")
                for o in store.orders.values() for line in o["lineItems"]}
    assert titles == expected and any(expected.values())
    # Collections by title, and which products each holds.
    collections = lake.read_table("collections")
    assert sorted(collections["title"].to_pylist()) == sorted(
        c["title"] for c in store.collections.values()) and collections.num_rows
    members = lake.read_table("collection_products")
    assert members.num_rows == sum(len(c["products"]) for c in store.collections.values())
    totals = dict(zip(orders["order_id"].to_pylist(), orders["total_price"].to_pylist(),
                      strict=True))
    for order in list(store.orders.values())[:20]:
        expected = Decimal(order["totalPriceSet"]["shopMoney"]["amount"])
        assert totals[int(order["legacyResourceId"])] == expected


def _touch(emulator: ShopifyEmulator, record: dict, when: Any, **changes: Any) -> None:
    record.update(changes, updatedAt=iso(when))
    emulator.shop_state(SHOP).bump()


def test_incremental_sync_merges_updates_and_drops_deleted_customers(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    day1 = day_after_latest(store)
    run(emulator, s3, day1)
    customers = list(store.customers.values())
    renamed, gone = customers[0], customers[-1]
    _touch(emulator, renamed, day1 + timedelta(hours=3), firstName="Interim")
    _touch(emulator, renamed, day1 + timedelta(hours=5), firstName="Final")
    store.delete_customer(gone["id"], iso(day1 + timedelta(hours=6)))
    order = next(iter(store.orders.values()))
    _touch(emulator, order, day1 + timedelta(hours=4), name="#EDITED")
    day2 = day1 + timedelta(days=1)
    outcome = run(emulator, s3, day2)
    lake = LakeReader(s3, BUCKET, SHOP)
    table = lake.read_table("customers")
    ids = table["customer_id"].to_pylist()
    assert outcome.mode == INCREMENTAL
    assert ids.count(int(renamed["legacyResourceId"])) == 1
    assert int(gone["legacyResourceId"]) not in ids
    assert len(ids) == len(store.customers)
    names = dict(zip(ids, table["first_name"].to_pylist(), strict=True))
    assert names[int(renamed["legacyResourceId"])] == "Final"
    assert outcome.deleted == {"customers": 1}
    orders = lake.read_table("orders")
    assert orders.num_rows == len(store.orders)
    assert "#EDITED" in orders["name"].to_pylist()
    # The edited order's line items were re-fetched, not duplicated.
    assert lake.read_table("line_items").num_rows == sum(
        len(o["lineItems"]) for o in store.orders.values())
    # Only the changed records travelled.
    assert outcome.rows_by_table["customers"] == 1


def test_collections_are_synced_whole_so_membership_changes_are_never_missed(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    day1 = day_after_latest(store)
    run(emulator, s3, day1)
    collection = next(iter(store.collections.values()))
    # A smart collection's membership changes without its updatedAt moving.
    dropped = collection["products"].pop()
    gone = store.collections.pop(list(store.collections)[-1])
    emulator.shop_state(SHOP).bump()
    outcome = run(emulator, s3, day1 + timedelta(days=1))
    assert outcome.mode == INCREMENTAL
    lake = LakeReader(s3, BUCKET, SHOP)
    ids = lake.read_table("collections")["collection_id"].to_pylist()
    assert int(gone["legacyResourceId"]) not in ids and len(ids) == len(store.collections)
    members = lake.read_table("collection_products").to_pylist()
    assert {"collection_id": int(collection["legacyResourceId"]),
            "product_id": int(dropped["id"].rsplit("/", 1)[1])} not in members
    assert len(members) == sum(len(c["products"]) for c in store.collections.values())


def test_running_the_same_day_twice_gives_the_same_lake(emulator: ShopifyEmulator,
                                                        store: ShopStore, s3: Any) -> None:
    day1 = day_after_latest(store)
    run(emulator, s3, day1)
    first = lake_snapshot(s3)
    rerun = run(emulator, s3, day1 + timedelta(hours=1))
    assert lake_snapshot(s3) == first
    assert rerun.run_number == 2  # names the day's second pipeline execution
    _touch(emulator, next(iter(store.customers.values())), day1 + timedelta(hours=2),
           lastName="Changed")
    day2 = day1 + timedelta(days=1)
    run(emulator, s3, day2)
    second = lake_snapshot(s3)
    run(emulator, s3, day2 + timedelta(hours=1))
    assert lake_snapshot(s3) == second
    assert second != first


class Killed(BaseException):
    """Simulates the Lambda being killed (not an Exception: nothing may catch it)."""


class KillingS3:
    """Delegates to a real client, dying at the n-th put_object whose key contains ``part``."""

    def __init__(self, s3: Any, part: str, nth: int) -> None:
        self._s3, self._part, self._left = s3, part, nth

    def put_object(self, **kwargs: Any) -> Any:
        if self._part in kwargs["Key"]:
            self._left -= 1
            if self._left == 0:
                raise Killed(kwargs["Key"])
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


KILL_POINTS = [
    ("customers/manifest.json", 1),   # while committing the first table
    ("sync/state.json", 2),           # customers committed, checkpoint not yet saved
    ("line_items/manifest.json", 1),  # orders committed, its line items not
    ("sync/state.json", 5),           # everything committed, run not marked complete
]


# Every kill point on a first sync; the two riskiest on a daily (delta) sync.
KILL_CASES = [(False, *point) for point in KILL_POINTS] + [
    (True, "sync/state.json", 2), (True, "line_items/manifest.json", 1)]


@pytest.mark.parametrize(("incremental", "key_part", "nth"), KILL_CASES,
                         ids=[f"{'daily' if i else 'first'}-{p}#{n}" for i, p, n in KILL_CASES])
def test_a_sync_killed_at_any_point_resumes_to_the_same_lake(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any, key_part: str, nth: int,
        incremental: bool) -> None:
    s3.create_bucket(Bucket="reference")
    day1 = day_after_latest(store)
    when = day1
    if incremental:
        for bucket in (BUCKET, "reference"):
            run(emulator, s3, day1, bucket)
        _touch(emulator, next(iter(store.customers.values())), day1 + timedelta(hours=1),
               firstName="Changed")
        when = day1 + timedelta(days=1)
    run(emulator, s3, when, "reference")
    with pytest.raises(Killed):
        run(emulator, KillingS3(s3, key_part, nth), when)
    outcome = run(emulator, s3, when)
    assert outcome.resumed
    assert lake_snapshot(s3) == lake_snapshot(s3, "reference")


def test_a_kill_mid_download_resumes(emulator: ShopifyEmulator, store: ShopStore,
                                     s3: Any) -> None:
    from seglift.shopify.bulk import iter_jsonl_blocks

    def dying(url: str, **kwargs: Any):
        for index, block in enumerate(iter_jsonl_blocks(url, block_bytes=4096, **kwargs)):
            if index == 2:
                raise Killed("mid download")
            yield block

    when = day_after_latest(store)
    with pytest.raises(Killed):
        run(emulator, s3, when, downloader=dying)
    run(emulator, s3, when)
    assert len(lake_snapshot(s3)["customers"]) == len(store.customers)


def test_a_shop_with_zero_orders_syncs(emulator: ShopifyEmulator, store: ShopStore,
                                       s3: Any) -> None:
    store.orders.clear()
    emulator.shop_state(SHOP).bump()
    outcome = run(emulator, s3, day_after_latest(store))
    snapshot = lake_snapshot(s3)
    assert snapshot["orders"] == snapshot["line_items"] == snapshot["refunds"] == []
    assert len(snapshot["customers"]) == len(store.customers)
    assert outcome.rows_by_table["orders"] == 0


def test_failed_and_expired_bulk_operations_are_restarted(emulator: ShopifyEmulator,
                                                          store: ShopStore, s3: Any) -> None:
    emulator.faults.fail_next_bulk(shop=SHOP)
    emulator.faults.expire_next_bulk(shop=SHOP)
    run(emulator, s3, day_after_latest(store))
    assert len(lake_snapshot(s3)["customers"]) == len(store.customers)


def test_a_bulk_export_failing_every_time_fails_the_sync_and_keeps_the_checkpoint(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    for _ in range(3):
        emulator.faults.fail_next_bulk(shop=SHOP)
    with pytest.raises(BulkOperationError, match="INTERNAL_SERVER_ERROR"):
        run(emulator, s3, day_after_latest(store))
    state = s3.get_object(Bucket=BUCKET, Key=sync_state_key(SHOP))["Body"].read()
    assert b'"running"' in state and b'"done": []' in state


def test_a_corrupt_checkpoint_starts_a_full_sync_that_rebuilds_the_same_lake(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    """Nothing the checkpoint knew is lost with it: a full sync reads the whole store, so
    the lake it leaves is the one an unbroken incremental sync leaves."""
    day1 = day_after_latest(store)
    run(emulator, s3, day1)
    expected = lake_snapshot(s3)
    s3.put_object(Bucket=BUCKET, Key=sync_state_key(SHOP), Body=b"{not json")
    outcome = run(emulator, s3, day1 + timedelta(days=1))
    assert outcome.mode == FULL
    assert lake_snapshot(s3) == expected
    state = s3.get_object(Bucket=BUCKET, Key=sync_state_key(SHOP))["Body"].read()
    assert b'"watermark"' in state  # a readable checkpoint again


def test_a_corrupt_checkpoint_read_mid_run_says_so_in_merchant_words(
        emulator: ShopifyEmulator, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=sync_state_key(SHOP), Body=b"[1, 2")
    with pytest.raises(CorruptCheckpoint) as raised:
        synchronizer(emulator, s3).checkpoints.load()
    assert "s3://" not in str(raised.value) and "the whole store" in str(raised.value)
    assert raised.value.location.startswith("s3://") and raised.value.detail


def test_a_corrupt_line_is_reexported_and_recorded_in_quarantine(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    emulator.faults.corrupt_next_bulk(shop=SHOP)
    outcome = run(emulator, s3, day_after_latest(store))
    assert outcome.quarantined_lines == 1
    body = s3.get_object(Bucket=BUCKET, Key=outcome.quarantine_keys[0])["Body"].read()
    assert b"unparseable JSONL line" in body
    # The second export was clean, so nothing is missing from the lake.
    assert len(lake_snapshot(s3)["customers"]) == len(store.customers)


def test_shopify_faults_during_a_sync_are_ridden_out(emulator: ShopifyEmulator,
                                                     store: ShopStore, s3: Any) -> None:
    emulator.faults.fail_next(2, status=502, shop=SHOP)
    emulator.faults.rate_limit_next(1, retry_after=0.01, shop=SHOP)
    emulator.faults.malformed_next(1, shop=SHOP)
    emulator.faults.throttle_next(1, shop=SHOP)
    run(emulator, s3, day_after_latest(store))
    assert len(lake_snapshot(s3)["orders"]) == len(store.orders)


def test_two_shops_in_one_process_land_in_their_own_lakes(s3: Any) -> None:
    from devkit.store.generator import StoreSpec, generate_store

    stores = [generate_store(StoreSpec(domain=f"twin-{i}.myshopify.com", customers=40 + i * 10,
                                       seed=i, products=5)) for i in range(2)]
    with ShopifyEmulator(stores) as emulator:
        for shop_store in stores:
            synchronizer(emulator, s3, shop=shop_store.domain).run(
                "2026-12-01", day_after_latest(shop_store))
    for shop_store in stores:
        snapshot = lake_snapshot(s3, shop=shop_store.domain)
        assert len(snapshot["customers"]) == len(shop_store.customers)


def test_gid_helper_matches_the_lake_ids(store: ShopStore) -> None:
    customer = next(iter(store.customers.values()))
    assert customer["id"] == gid("Customer", int(customer["legacyResourceId"]))


_ = boto3  # moto's clients come from the fixtures


def test_an_export_converted_a_small_piece_per_step_gives_the_same_lake(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    """Each step converts at most ``step_bytes`` (plus the block that crosses it), resuming
    at a byte offset with the converter's carry-over, so an export of any size is split
    across invocations; the lake is the one a single pass writes."""
    from seglift.shopify.bulk import iter_jsonl_blocks

    s3.create_bucket(Bucket="reference")
    when = day_after_latest(store)
    run(emulator, s3, when, "reference")
    starts: list[int] = []

    def small_blocks(url: str, start: int = 0):
        starts.append(start)
        return iter_jsonl_blocks(url, start=start, block_bytes=700)

    sync = synchronizer(emulator, s3, downloader=small_blocks, step_bytes=1500,
                        step_seconds=0.0)
    sync.begin(when.date().isoformat(), when)
    phases = []
    for _ in range(2000):
        result = sync.step()
        phases.append(result.next)
        if result.outcome is not None:
            break
    assert result.outcome is not None and not result.outcome.resumed
    assert len([s for s in starts if s > 0]) >= 10  # many resumed byte ranges
    assert "wait" in phases  # the export was started, then checked on in later steps
    assert lake_snapshot(s3) == lake_snapshot(s3, "reference")


def starts_after_first_piece(sync: Any) -> bool:
    export = sync.checkpoints.load().running.export
    return export is not None and export.offset > 0


def test_a_step_killed_mid_conversion_resumes_from_its_checkpoint(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    from seglift.shopify.bulk import iter_jsonl_blocks

    s3.create_bucket(Bucket="reference")
    when = day_after_latest(store)
    run(emulator, s3, when, "reference")
    calls = {"n": 0}

    def dying(url: str, start: int = 0):
        calls["n"] += 1
        for index, block in enumerate(iter_jsonl_blocks(url, start=start, block_bytes=700)):
            if calls["n"] >= 3 and index == 0:
                raise Killed("mid conversion")
            yield block

    # step_seconds=0: every step converts one block and returns.
    sync = synchronizer(emulator, s3, downloader=dying, step_bytes=1500, step_seconds=0.0)
    sync.begin(when.date().isoformat(), when)
    with pytest.raises(Killed):
        for _ in range(2000):
            sync.step()
    assert starts_after_first_piece(sync)
    outcome = synchronizer(emulator, s3).run(when.date().isoformat(), when)
    assert outcome.resumed
    assert lake_snapshot(s3) == lake_snapshot(s3, "reference")


def test_the_sync_leaves_the_lake_in_customer_buckets_a_shard_can_read(
        emulator: ShopifyEmulator, store: ShopStore, s3: Any) -> None:
    """The first sync's base is split into the buckets the shop's size asks for (here a
    deployment of 8 customers a shard), an incremental sync's delta is read by every
    shard, and the buckets read together are the same lake as an unbucketed one."""
    from seglift.dayrun.shards import read_shard_tables, shard_count, shard_tables
    from seglift.lake.buckets import bucket_count
    from seglift.segments.tables import LakeTables

    day1 = day_after_latest(store)
    s3.create_bucket(Bucket="plain")
    run(emulator, s3, day1, bucket="plain")  # the reference: default buckets (one)
    run(emulator, s3, day1, customers_per_shard=8)
    lake = LakeReader(s3, BUCKET, SHOP)
    buckets = bucket_count(len(store.customers), 8)
    assert buckets > 2
    for name in ("customers", "orders", "line_items", "refunds"):
        manifest = lake.manifest(name)
        assert manifest is not None and manifest.base_buckets == buckets, name
    assert lake_snapshot(s3) == lake_snapshot(s3, "plain")
    # A changed order moves nothing: the delta is read by every shard, merged, cut.
    order = next(iter(store.orders.values()))
    _touch(emulator, order, day1 + timedelta(hours=4), name="#EDITED")
    day2 = day1 + timedelta(days=1)
    run(emulator, s3, day2, bucket="plain")
    run(emulator, s3, day2, customers_per_shard=8)
    assert lake.manifest("orders").delta_files  # type: ignore[union-attr]
    assert lake_snapshot(s3) == lake_snapshot(s3, "plain")
    whole = LakeTables.from_reader(lake)
    shards = shard_count(len(store.customers), 8)
    for k in range(shards):
        got, want = read_shard_tables(lake, k, shards), shard_tables(whole, k, shards)
        for name in ("customers", "orders", "line_items", "refunds"):
            key = {"customers": "customer_id", "orders": "order_id",
                   "line_items": "line_item_id", "refunds": "refund_id"}[name]
            assert sorted(getattr(got, name)[key].to_pylist()) == sorted(
                getattr(want, name)[key].to_pylist()), (k, name)
