"""The sharded day-run's states (segments.shards) store the same day as the in-process
day-run: same members, same metrics, same profiles, same features file (moto S3/DynamoDB).
"""

from __future__ import annotations

import io
from datetime import date
from unittest.mock import patch

import pyarrow as pa
import pyarrow.parquet as pq

from seglift import keys
from seglift.dayrun.contracts import DaySegments
from seglift.storage.analytics_repository import AnalyticsRepository
from seglift.storage.metrics_repository import MetricsRepository
from tests.segments.test_handler import BUCKET, RUN_DATE, SHOP, _invoke, _run_day, cloud

__all__ = ["cloud"]
DAY = date.fromisoformat(RUN_DATE)


def _sharded_day(per_shard: int, run_date: str = RUN_DATE) -> tuple[dict, dict]:
    base = {"shop": SHOP, "run_date": run_date, "execution_id": "arn:exec:test"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": per_shard})
    items = [{"shop": SHOP, "run_date": run_date, "prefix": plan["prefix"], "shard": k,
              "shards": plan["shards"]} for k in range(plan["shards"])]
    for item in items:
        _invoke({**base, "action": "shard_features", "item": item})
    _invoke({**base, "action": "day_context", "plan": plan})
    for item in items:
        _invoke({**base, "action": "shard_day", "item": item})
    return plan, _invoke({**base, "action": "reduce_day", "plan": plan})


def _stored(s3, segment_ids):
    metrics, analytics = MetricsRepository(_table("metrics")), AnalyticsRepository(
        _table("analytics"))
    out = {}
    for sid in segment_ids:
        members = pq.read_table(io.BytesIO(s3.get_object(
            Bucket=BUCKET, Key=keys.members_key(SHOP, sid, DAY))["Body"].read()))
        latest = metrics.latest(SHOP, sid)
        profile = analytics.get(SHOP, sid, "profile", RUN_DATE)
        out[sid] = (members["customer_id"].to_pylist(), latest and latest.values,
                    profile and profile.payload)
    features = pq.read_table(io.BytesIO(s3.get_object(
        Bucket=BUCKET, Key=keys.features_key(SHOP, DAY))["Body"].read())).to_pylist()
    return out, sorted(features, key=lambda r: r["customer_id"])


def _table(kind: str) -> str:
    import os

    return os.environ[f"{kind.upper()}_TABLE"]


def test_four_shards_store_the_day_the_in_process_run_stores(cloud):
    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="VIP buyers", segment_id="vip-buyers",
                condition={"and": [{"member_of": "buyers"}, {"has_tag": "vip"}]})
    repo.create(SHOP, name="Champions", segment_id="rfm",
                condition={"feature": "recency_score", "op": ">=", "value": 3})
    repo.create(SHOP, name="Broken", segment_id="broken",
                condition={"feature": "order_count", "op": ">=", "value": "many"})
    whole = _run_day()
    expected = _stored(s3, ["buyers", "vip-buyers", "rfm"])

    plan, sharded = _sharded_day(per_shard=1)

    assert plan["shards"] == 4 and plan["customers"] == 3  # a power of two
    assert sharded == whole
    assert _stored(s3, ["buyers", "vip-buyers", "rfm"]) == expected
    assert {o["segment_id"]: o["status"] for o in sharded["segments"]}["broken"] == "failed"


def test_intermediate_files_are_tagged_for_the_lifecycle_rule_and_forgotten(cloud):
    """Every file of a run is tagged as template.yaml's lifecycle rule expects (it expires
    what a crashed run leaves, and the versions deletes leave); forget_shards deletes them
    all and nothing the day stored."""
    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    plan, _ = _sharded_day(per_shard=1)
    base = {"shop": SHOP, "run_date": RUN_DATE, "execution_id": "arn:exec:test"}
    _invoke({**base, "action": "record_shard_failure", "phase": "segments",
             "item": {"shop": SHOP, "run_date": RUN_DATE, "prefix": plan["prefix"], "shard": 0,
                      "shards": plan["shards"]},
             "failure": {"Error": "States.Timeout", "Cause": ""}})
    files = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=plan["prefix"])[
        "Contents"]]
    assert len(files) > 3 * plan["shards"] and plan["manifest_key"] in files
    rule = _lifecycle_rule("expire-day-run-intermediates")
    tag = {rule["TagFilters"][0]["Key"]: rule["TagFilters"][0]["Value"]}
    assert rule["ExpirationInDays"] <= 7 and rule["NoncurrentVersionExpiration"]
    for key in files:
        tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tags} == tag, key

    kept = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=keys.shop_prefix(SHOP))[
        "Contents"] if o["Key"] not in files]
    assert keys.features_key(SHOP, DAY) in kept
    for key in kept:  # what the day keeps (features, snapshots, prediction model) never expires
        assert s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"] == [], key

    assert _invoke({**base, "action": "forget_shards", "plan": plan}) == {"deleted": len(files)}
    assert not s3.list_objects_v2(Bucket=BUCKET, Prefix=plan["prefix"]).get("Contents")
    assert _stored(s3, ["buyers"])[0]["buyers"][0] == [1, 2]  # the day itself stays


def _snapshot(s3, segment_id: str, day: str) -> list[int]:
    key = keys.members_key(SHOP, segment_id, date.fromisoformat(day))
    return sorted(pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))[
        "customer_id"].to_pylist())


def test_a_segment_naming_another_sees_that_days_snapshot_of_it_in_every_shard(cloud):
    """Sharded, a segment that depends on another is evaluated after it in each shard and
    sees that day's members of it: never yesterday's snapshot, never "has no snapshot"
    on the first day. Customer 1 (tagged vip) becomes a repeat buyer on 2024-06-20."""
    s3, repo = cloud
    repo.create(SHOP, name="VIP repeat buyers", segment_id="a-vip-repeat",
                condition={"and": [{"member_of": "z-repeat"}, {"has_tag": "vip"}]})
    repo.create(SHOP, name="Repeat buyers", segment_id="z-repeat",
                condition={"feature": "order_count", "op": ">=", "value": 2})
    days = {"2024-06-19": [], "2024-06-20": [1]}  # consecutive: 06-19 is "yesterday"
    for day, repeat in days.items():
        plan, result = _sharded_day(per_shard=1, run_date=day)
        assert plan["shards"] == 4  # 3 customers: a power of two
        outcomes = {o["segment_id"]: o for o in result["segments"]}
        assert [o["segment_id"] for o in result["segments"]] == ["z-repeat", "a-vip-repeat"]
        assert {o["status"] for o in outcomes.values()} == {"succeeded"}, outcomes
        assert _snapshot(s3, "z-repeat", day) == repeat
        # Yesterday's snapshot of z-repeat (06-19: empty) would leave this empty.
        assert _snapshot(s3, "a-vip-repeat", day) == repeat
        assert outcomes["a-vip-repeat"]["member_count"] == len(repeat)


def _lifecycle_rule(rule_id: str) -> dict:
    from devkit.local_cloud.cloud import PROJECT_ROOT
    from devkit.local_cloud.template import load_sam_template

    bucket = load_sam_template(PROJECT_ROOT / "template.yaml")["Resources"]["DataBucket"]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    return next(r for r in rules if r["Id"] == rule_id)


def test_a_small_shop_is_one_shard(cloud):
    plan, result = _sharded_day(per_shard=100_000)
    assert plan["shards"] == 1 and result["customers"] == 3


def test_shards_reading_their_buckets_of_the_lake_store_the_same_day(cloud, monkeypatch):
    """The lake in S3, compacted into customer-hash buckets: each shard invocation reads
    its buckets only (LakeReader.read_shard) and the day stored is the in-process one's."""
    from seglift.lake.reader import LakeReader
    from seglift.lake.writer import LakeWriter
    from segments import wiring
    from tests.segments.test_handler import _store

    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="Champions", segment_id="rfm",
                condition={"feature": "recency_score", "op": ">=", "value": 3})
    whole = _run_day()
    expected = _stored(s3, ["buyers", "rfm"])
    writer = LakeWriter(s3, BUCKET, SHOP)
    tables = _store().tables()
    for name in ("customers", "orders", "line_items", "refunds", "products"):
        writer.replace_table(name, [getattr(tables, name)])
        writer.compact(name, 8)
    read: list[str] = []

    class Recording(LakeReader):
        def _read_file(self, data_file, columns, schema):
            read.append(data_file.key)
            return super()._read_file(data_file, columns, schema)

    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: Recording(
        s3, bucket, shop))
    plan, sharded = _sharded_day(per_shard=1)
    assert plan["shards"] == 4
    assert sharded == whole
    assert _stored(s3, ["buyers", "rfm"]) == expected
    # Each customers file was read once by PlanDay (the count) and once per shard phase
    # by its own shard only: reading the whole table in every shard would be 1 + 2 * 4.
    files = LakeReader(s3, BUCKET, SHOP).manifest("customers").files
    assert len(files) >= 2
    assert sorted(k for k in read if "/customers/" in k) == sorted(
        [f.key for f in files] * 3)


def test_a_list_segment_keeps_its_members_and_gets_the_days_figures_every_day(cloud):
    """A list's members are fixed, but what they buy is not: every daily run (sharded or
    in process) stores the list's snapshot with the same ids, even one no longer in the
    lake (customer 99), and its metrics of the day, so its trend grows after creation; a
    condition naming the list sees those members."""
    from seglift.segments.snapshots import write_members

    s3, repo = cloud
    made = repo.create(SHOP, name="Newsletter winners", condition=None, kind="list")
    write_members(s3, BUCKET, SHOP, made.segment_id, date(2024, 6, 1),
                  pa.array([1, 2, 99], pa.int64()))
    repo.record_evaluation(SHOP, made.segment_id, date(2024, 6, 1), 3)
    repo.create(SHOP, name="Tagged winners", segment_id="tagged-winners",
                condition={"and": [{"member_of": made.segment_id}, {"has_tag": "vip"}]})
    whole = _run_day()
    expected = _stored(s3, [made.segment_id, "tagged-winners"])

    _, sharded = _sharded_day(per_shard=1)

    assert sharded == whole
    assert _stored(s3, [made.segment_id, "tagged-winners"]) == expected
    stored, _ = expected
    members, metrics, profile = stored[made.segment_id]
    assert members == [1, 2, 99]
    assert metrics is not None and metrics["member_count"] == 3 and profile is not None
    assert stored["tagged-winners"][0] == [1]  # of the list, customer 1 is tagged vip
    outcomes = {o["segment_id"]: o for o in sharded["segments"]}
    assert outcomes[made.segment_id]["status"] == "succeeded"
    assert repo.get(SHOP, made.segment_id).last_evaluated_on == RUN_DATE


def test_reduce_day_holds_a_few_segments_members_at_a_time(cloud, monkeypatch):
    """ReduceDay reads a window of segments' members from every shard as it merges them
    (the next window read ahead, concurrently) and writes each snapshot while the next
    segment is merged, a bounded few behind (at 10,000,000 customers every segment's
    members at once are about 0.9 GB a copy). With windows of one segment: no
    segment's parts are read before the snapshot of the segment ``STAGING_AHEAD + 2``
    places before it was written, every snapshot is written in the segments' order,
    and each part is read once, by one ranged GET of its shard's members file."""
    from segments import dayrun, shards

    s3, repo = cloud
    names = [f"s{value}" for value in range(1, 9)]
    for value, sid in enumerate(names, start=1):
        repo.create(SHOP, name=sid, segment_id=sid,
                    condition={"feature": "order_count", "op": ">=", "value": value % 4})
    whole = _run_day()
    expected = _stored(s3, names)
    events: list[tuple[str, str]] = []
    real_read, real_write = shards._MemberReads._read, dayrun.write_members

    def read(self, shard, start, end):
        window = [w for w, run in enumerate(self._windows)
                  if self._indexes[shard].span(run) == (start, end)]
        events.append(("read", (shard, self._windows[window[0]])))
        return real_read(self, shard, start, end)

    def write(s3_client, bucket, shop, segment_id, as_of, ids):
        events.append(("write", segment_id))
        return real_write(s3_client, bucket, shop, segment_id, as_of, ids)

    monkeypatch.setattr(shards, "MEMBERS_WINDOW_BYTES", 1)  # a window a segment
    monkeypatch.setattr(shards._MemberReads, "_read", read)
    monkeypatch.setattr(dayrun, "write_members", write)
    plan, sharded = _sharded_day(per_shard=1)

    assert plan["shards"] == 4
    assert sharded == whole
    assert _stored(s3, names) == expected
    written = [name for kind, name in events if kind == "write"]
    order = [o["segment_id"] for o in sharded["segments"]]
    assert written == order and sorted(written) == sorted(names)
    reads = [(shard, tuple(run)) for kind, (shard, run) in
             [(k, v) for k, v in events if k == "read"]]
    assert len(set(reads)) == len(reads) == 4 * len(names)
    assert all(len(run) == 1 for _, run in reads)
    lag = dayrun.STAGING_AHEAD + 2
    for at, (kind, value) in enumerate(events):
        if kind == "read":
            place = order.index(value[1][0])
            done = sum(1 for k, _ in events[:at] if k == "write")
            assert done >= place - lag + 1, (value, events[:at])


def test_a_shards_members_are_one_file_read_by_one_ranged_get_a_window(cloud, monkeypatch):
    """Each shard writes one members file (not one a segment) and ReduceDay reads every
    segment of a window from it with one ranged GET: with the default window, the
    whole day's members are one GET a shard."""
    from segments import shards

    s3, repo = cloud
    names = [f"s{value}" for value in range(1, 7)]
    for value, sid in enumerate(names, start=1):
        repo.create(SHOP, name=sid, segment_id=sid,
                    condition={"feature": "order_count", "op": ">=", "value": value % 3})
    whole = _run_day()
    expected = _stored(s3, names)
    gets: list[str] = []
    real_read = shards._MemberReads._read

    def read(self, shard, start, end):
        gets.append(f"{shard}:{start}-{end}")
        return real_read(self, shard, start, end)

    monkeypatch.setattr(shards._MemberReads, "_read", read)
    plan, sharded = _sharded_day(per_shard=1)

    assert sharded == whole and _stored(s3, names) == expected
    assert sorted(g.split(":")[0] for g in gets) == ["0", "1", "2", "3"]
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=plan["prefix"] + "shard-0/")
    files = sorted(o["Key"].rsplit("/shard-0/", 1)[1] for o in listed["Contents"])
    assert "members.bin" in files and not [f for f in files if f.startswith("members/")]


def test_a_shard_run_again_overwrites_its_members_file_and_the_day_converges(cloud):
    """A retried SegmentShards writes its members file and partials again (the same
    keys): ReduceDay then stores the same day. A members file changed behind its
    partials (a shard re-run whose partials were not written) is refused, not mixed."""
    import json

    import pytest

    from segments import shards

    s3, repo = cloud
    for value, sid in enumerate(["a", "b", "c"], start=1):
        repo.create(SHOP, name=sid, segment_id=sid,
                    condition={"feature": "order_count", "op": ">=", "value": value - 1})
    whole = _run_day()
    expected = _stored(s3, ["a", "b", "c"])
    base = {"shop": SHOP, "run_date": RUN_DATE, "execution_id": "arn:exec:test"}
    plan, first = _sharded_day(per_shard=1)
    item = {"shop": SHOP, "run_date": RUN_DATE, "prefix": plan["prefix"], "shard": 2,
            "shards": plan["shards"]}

    _invoke({**base, "action": "shard_day", "item": item})  # the retry
    again = _invoke({**base, "action": "reduce_day", "plan": plan})

    assert first == again == whole
    assert _stored(s3, ["a", "b", "c"]) == expected
    # The members file replaced by other bytes of the same length: its ETag changed.
    key = f"{plan['prefix']}shard-2/members.bin"
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(reversed(body)))
    partials = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{plan['prefix']}shard-2/"
                                        "partials.json")["Body"].read())
    assert sum(partials["member_sizes"]) == len(body)
    from seglift.dayrun.contracts import ShardPlan
    from seglift.lake.reader import LakeReader
    from seglift.storage.segment_repository import SegmentRepository
    from segments.dayrun import DayStores
    from segments.logic import Storage

    stores = DayStores(Storage(s3, BUCKET), SegmentRepository(_table("segments")),
                       MetricsRepository(_table("metrics")),
                       AnalyticsRepository(_table("analytics")))
    with pytest.raises(shards.MembersFileChanged, match="run the day again"):
        shards.reduce_shards(ShardPlan.model_validate(plan),
                             reader=LakeReader(s3, BUCKET, SHOP), stores=stores)


def test_entered_and_left_are_counted_against_yesterdays_snapshot_once_merged(cloud):
    """SegmentShards reads no snapshot: ReduceDay counts who entered and left on the
    merged members, the same counts the in-process run gives."""
    from datetime import timedelta

    from seglift.segments.snapshots import write_members

    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="Everyone", segment_id="everyone",
                condition={"feature": "order_count", "op": ">=", "value": 0})
    yesterday = DAY - timedelta(days=1)
    # Yesterday: customer 1 and a customer gone since (99); "everyone" had no snapshot.
    write_members(s3, BUCKET, SHOP, "buyers", yesterday, pa.array([1, 99], pa.int64()))
    whole = _run_day()
    expected = _stored(s3, ["buyers", "everyone"])
    members = expected[0]["buyers"][0]
    metrics = expected[0]["buyers"][1]
    assert (metrics["entered"], metrics["left"]) == (len(set(members) - {1}), 1)
    assert expected[0]["everyone"][1]["entered"] is None

    plan, sharded = _sharded_day(per_shard=1)

    assert plan["shards"] == 4
    assert sharded == whole
    assert _stored(s3, ["buyers", "everyone"]) == expected


def test_which_revenue_months_are_stored_is_read_for_every_segment_at_once(cloud):
    """ReduceDay writes a segment's months before the day's only when missing: which are
    stored is read with BatchGetItem for every segment together (more than 100 keys:
    several calls), exactly the stored ones."""
    analytics = AnalyticsRepository(_table("analytics"))
    months = [f"{y}-{m:02d}" for y in range(2019, 2026) for m in range(1, 13)]  # 84
    stored = {"a": set(months[::3]), "b": set(), "c": set(months[:5])}
    analytics.put_items(SHOP, [(sid, "revenue_month", label, {"orders": 1})
                               for sid, labels in stored.items() for label in labels])
    analytics.put_items(SHOP, [("a", "profile", months[0], {"traits": []})])

    found = analytics.stored_sort_keys(SHOP, "revenue_month",
                                       {sid: months for sid in ["a", "b", "c", "d"]})

    assert found == {**stored, "d": set()}
    assert analytics.stored_sort_keys(SHOP, "revenue_month", {}) == {}


def test_every_shard_evaluates_the_segments_planday_found_whatever_is_edited_meanwhile(
        cloud):
    """PlanDay lists and checks the shop's segments once and writes them under the run's
    prefix; every SegmentShards invocation and ReduceDay read them from there (no shard
    lists the segments table). A segment edited while the day runs is computed as
    planned in every shard (never half one way, half the other), one created meanwhile
    waits for the next day, and one deleted meanwhile is not stored."""
    from segments import shards

    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="Everyone", segment_id="gone",
                condition={"feature": "order_count", "op": ">=", "value": 0})
    repo.create(SHOP, name="Broken", segment_id="broken",
                condition={"feature": "order_count", "op": ">=", "value": "many"})
    base = {"shop": SHOP, "run_date": RUN_DATE, "execution_id": "arn:exec:planned"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": 1})
    planned = DaySegments.model_validate_json(s3.get_object(
        Bucket=BUCKET, Key=shards.segments_plan_key(plan["prefix"]))["Body"].read())
    assert list(planned.conditions) == ["buyers", "gone"]
    assert set(planned.problems) == {"broken"}
    # Meanwhile, the merchant edits, creates and deletes.
    repo.update(SHOP, "buyers", condition={"feature": "order_count", "op": ">=", "value": 5})
    repo.create(SHOP, name="Late", segment_id="late",
                condition={"feature": "order_count", "op": ">=", "value": 0})
    repo.delete(SHOP, "gone")
    items = [{"shop": SHOP, "run_date": RUN_DATE, "prefix": plan["prefix"], "shard": k,
              "shards": plan["shards"]} for k in range(plan["shards"])]
    for item in items:
        _invoke({**base, "action": "shard_features", "item": item})
    _invoke({**base, "action": "day_context", "plan": plan})
    listed: list[str] = []
    with patch.object(type(repo), "list", lambda self, shop: listed.append(shop) or []):
        for item in items:
            assert _invoke({**base, "action": "shard_day", "item": item})["segments"] == 2
    assert listed == []  # no shard listed the segments
    result = _invoke({**base, "action": "reduce_day", "plan": plan})

    outcomes = {o["segment_id"]: o for o in result["segments"]}
    assert set(outcomes) == {"buyers", "broken"}
    assert outcomes["buyers"]["status"] == "succeeded"
    assert _snapshot(s3, "buyers", RUN_DATE) == [1, 2]  # the planned condition, everywhere
    assert outcomes["broken"]["status"] == "failed"
    assert not s3.list_objects_v2(Bucket=BUCKET, Prefix=keys.members_key(
        SHOP, "gone", DAY)).get("Contents")
    assert repo.get(SHOP, "late").last_evaluated_on is None


def test_a_run_planned_without_the_segments_file_lists_the_segments_itself(cloud):
    """A run whose PlanDay predates the segments file (a deployment while it ran)."""
    from segments import shards

    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    base = {"shop": SHOP, "run_date": RUN_DATE, "execution_id": "arn:exec:old"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": 100_000})
    s3.delete_object(Bucket=BUCKET, Key=shards.segments_plan_key(plan["prefix"]))
    item = {"shop": SHOP, "run_date": RUN_DATE, "prefix": plan["prefix"], "shard": 0,
            "shards": 1}
    _invoke({**base, "action": "shard_features", "item": item})
    _invoke({**base, "action": "day_context", "plan": plan})
    _invoke({**base, "action": "shard_day", "item": item})
    result = _invoke({**base, "action": "reduce_day", "plan": plan})
    assert [(o["segment_id"], o["member_count"]) for o in result["segments"]] == [
        ("buyers", 2)]
