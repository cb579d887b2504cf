"""The analytics of the daily run with in-memory lake and stores: each segment's profile
and revenue months as the day-run computes and stores them (``seglift.dayrun.compute``,
``segments.dayrun.store_segment_day``), the shop's analytics (``metrics.analytics``):
what is stored, under which keys, and that one failing part does not hide the others."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from metrics import analytics
from seglift import keys
from seglift.analytics.profile import ProfileBase
from seglift.analytics.revenue import period_label
from seglift.dayrun.compute import compute_day
from seglift.segments.tables import LakeTables
from segments.dayrun import DayStores, store_segment_day
from segments.logic import Storage
from tests.metrics.analytics_store import (
    CUSTOMER_IDS,
    REPEATERS,
    RUN_DATE,
    TablesReader,
    shop_store,
)
from tests.metrics.store import members

SHOP = "demo-shop.myshopify.com"


@dataclass
class FakeAnalytics:
    items: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)

    def put(self, shop: str, subject: str, kind: str, sort_key: str, payload: Any) -> None:
        json.dumps(payload)  # what DynamoDB's JSON attribute needs
        self.items[(shop, subject, kind, sort_key)] = dict(payload)

    def stored_sort_keys(self, shop: str, kind: str, wanted: Any) -> dict[str, set[str]]:
        return {subject: {key for key in keys if (shop, subject, kind, key) in self.items}
                for subject, keys in wanted.items()}

    def put_items(self, shop: str, items: Any) -> None:
        for subject, kind, sort_key, payload in items:
            self.put(shop, subject, kind, sort_key, payload)


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **kwargs: Any) -> None:
        self.objects[Key] = Body


class FakeMetrics:
    def __init__(self) -> None:
        self.days: dict[tuple[str, str, date], dict[str, Any]] = {}

    def put_days(self, shop: str, day: date, values_by_segment: dict[str, Any]) -> None:
        for segment_id, values in values_by_segment.items():
            self.days[(shop, segment_id, day)] = values


def store_segment_analytics(store: Any, segment_id: str, ids: list[int], out: FakeAnalytics
                            ) -> dict[str, Any]:
    """The day-run's part for one segment: its figures computed by the day-run, stored."""
    tables = LakeTables.from_reader(TablesReader(store))
    result = compute_day(tables, RUN_DATE, {}, members={segment_id: pa.array(ids, pa.int64())}
                         ).segments[segment_id]
    metrics = FakeMetrics()
    written = store_segment_day(SHOP, RUN_DATE, segment_id, result,
                                DayStores(Storage(FakeS3(), "bucket"), None, metrics, out))
    return {"revenue_months_written": written, "metrics": metrics.days,
            "analytics_error": result.analytics_error}


@dataclass
class FakeSnapshots:
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def add(self, segment_id: str, day: date, ids: list[int]) -> None:
        self.tables[keys.members_key(SHOP, segment_id, day)] = members(*ids)

    def read(self, key: str) -> pa.Table | None:
        return self.tables.get(key)


@dataclass
class FakeWriter:
    written: dict[str, pa.Table] = field(default_factory=dict)
    fail: bool = False

    def write_parquet(self, key: str, table: pa.Table) -> None:
        if self.fail:
            raise OSError("S3 is unreachable")
        self.written[key] = table


@dataclass
class Journey:
    journey_id: str
    stages: list[str]


class FakeJourneys:
    def __init__(self, *journeys: Journey) -> None:
        self.journeys = list(journeys)

    def all(self, shop: str) -> list[Journey]:
        return self.journeys


def brute_force_months(store: Any, ids: set[int], months: list[str]) -> dict[str, dict]:
    """New/returning order counts and net sales per month, by walking every order."""
    result = {m: {"new_orders": 0, "returning_orders": 0, "new": Decimal(0),
                  "returning": Decimal(0)} for m in months}
    seen: set[int] = set()
    for order in sorted(store.orders, key=lambda o: (o["created_at"], o["order_id"])):
        customer = order["customer_id"]
        if customer not in ids:
            continue
        label = period_label(order["created_at"].date(), "month")
        kind = "returning" if customer in seen else "new"
        seen.add(customer)
        if label in result:
            result[label][f"{kind}_orders"] += 1
            result[label][kind] += order["total_price"]
    return result


def test_a_segments_profile_and_revenue_months_are_stored_for_the_run_day():
    store, out = shop_store(), FakeAnalytics()
    summary = store_segment_analytics(store, "repeaters", REPEATERS, out)

    profile = out.items[(SHOP, "repeaters", "profile", "2025-06-30")]
    assert profile["member_count"] == len(REPEATERS)
    # Product 300 is only in repeat orders: every repeater bought it, 10 of 30 customers.
    product = next(r for r in profile["traits"]["products"] if r["value"] == "300")
    assert (product["segment_customers"], product["all_customers"]) == (10, 10)
    assert product["title"] == "Product 300"
    assert product["lift"] == pytest.approx(1.0 / (10 / 30))

    # The whole history: every month from the shop's first order to the run date's.
    first = min(o["created_at"] for o in store.orders).date().replace(day=1)
    months = sorted({period_label(first + timedelta(days=d), "month")
                     for d in range((RUN_DATE - first).days + 1)})
    assert months[0] == period_label(first, "month") and months[-1] == "2025-06"
    assert summary["revenue_months_written"] == months
    expected = brute_force_months(store, set(REPEATERS), months)
    for month in months:
        stored = out.items[(SHOP, "repeaters", "revenue_month", month)]
        assert stored["new_orders"] == expected[month]["new_orders"]
        assert stored["returning_orders"] == expected[month]["returning_orders"]
        assert Decimal(stored["new_net_sales"]) == expected[month]["new"]
        assert Decimal(stored["returning_net_sales"]) == expected[month]["returning"]
        assert stored["as_of"] == "2025-06-30"
    assert sum(out.items[(SHOP, "repeaters", "revenue_month", m)]["orders"]
               for m in months) == len([o for o in store.orders
                                        if o["customer_id"] in REPEATERS])


def test_past_months_are_written_once_and_the_current_month_every_day():
    out = FakeAnalytics()
    kept = {"new_orders": 99, "as_of": "2025-03-31"}
    out.items[(SHOP, "seg", "revenue_month", "2025-03")] = kept
    out.items[(SHOP, "seg", "revenue_month", "2025-06")] = {"new_orders": 99}
    summary = store_segment_analytics(shop_store(), "seg", [3, 6], out)
    assert "2025-03" not in summary["revenue_months_written"]
    assert "2025-06" in summary["revenue_months_written"]
    assert out.items[(SHOP, "seg", "revenue_month", "2025-03")] == kept
    assert out.items[(SHOP, "seg", "revenue_month", "2025-06")]["new_orders"] == 0


def test_a_profile_that_cannot_be_built_leaves_the_members_and_metrics_standing(monkeypatch):
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("profile exploded")

    monkeypatch.setattr(ProfileBase, "build", explode)
    out = FakeAnalytics()
    summary = store_segment_analytics(shop_store(), "repeaters", REPEATERS, out)
    assert summary["analytics_error"] == "RuntimeError: profile exploded"
    assert summary["metrics"][(SHOP, "repeaters", RUN_DATE)]["member_count"] == 10
    assert out.items == {}


def _shop_run(writer: FakeWriter | None = None, journeys: FakeJourneys | None = None,
              snapshots: FakeSnapshots | None = None, store: Any = None) -> tuple[dict, Any]:
    out = FakeAnalytics()
    errors: list[str] = []
    if snapshots is None:
        snapshots = FakeSnapshots()
        snapshots.add("everyone", RUN_DATE, CUSTOMER_IDS)
        snapshots.add("repeaters", RUN_DATE, REPEATERS)
    summary = analytics.compute_shop_analytics(
        SHOP, RUN_DATE, ["everyone", "repeaters", "never-evaluated"],
        reader=TablesReader(store or shop_store(regulars=True)), snapshots=snapshots,
        store=out,
        journeys=journeys or FakeJourneys(Journey("jrn-1", ["everyone", "repeaters"])),
        writer=writer or FakeWriter(), on_error=lambda part, error: errors.append(part),
    )
    summary["errors"] = errors
    return summary, out


def order_days(store: Any) -> dict[int, list[date]]:
    days: dict[int, list[date]] = {}
    for order in store.orders:
        days.setdefault(order["customer_id"], []).append(order["created_at"].date())
    return {c: sorted(d) for c, d in days.items()}


def test_the_shop_step_stores_cohorts_curve_clv_overlap_and_funnels():
    writer = FakeWriter()
    summary, out = _shop_run(writer=writer)
    assert summary["failed"] == {} and summary["segments"] == 2
    days = order_days(shop_store(regulars=True))
    day = "2025-06-30"
    cohorts = out.items[(SHOP, "shop", "cohorts", day)]["cohorts"]
    assert [c["cohort"] for c in cohorts] == ["2025-01"]  # every first order is in January
    repeat = sum(len(d) >= 2 for d in days.values())
    assert cohorts[0]["customers"] == len(days) == 90
    assert Decimal(cohorts[0]["repeat_rate"]) == (Decimal(repeat) / 90).quantize(
        Decimal("0.0001"))
    curve = {p["days"]: p for p in out.items[(SHOP, "shop", "time_to_next_order", day)]["curve"]}
    for n in (7, 30):
        within = sum(len(d) >= 2 and (d[1] - d[0]).days <= n for d in days.values())
        assert (curve[n]["customers"], curve[n]["reordered"]) == (90, within)

    clv = out.items[(SHOP, "shop", "clv", day)]
    key = keys.clv_predictions_key(SHOP, RUN_DATE)
    assert clv["status"] == "fitted" and clv["predictions_key"] == key
    assert set(clv["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert writer.written[key].num_rows == clv["summary"]["customers"] == 90
    horizons = clv["summary"]["horizons"]
    assert [h["days"] for h in horizons] == [90, 365]
    assert Decimal(horizons[0]["total_clv"]) == sum(
        (v for v in writer.written[key]["clv_90d"].to_pylist() if v is not None), Decimal(0))
    assert 0 < Decimal(horizons[0]["total_clv"]) < Decimal(horizons[1]["total_clv"])
    # The calibration-holdout check is stored beside the model (checked or why not).
    holdout = clv["holdout"]
    assert holdout["holdout_days"] == 90 and holdout["calibration_end"] == "2025-04-01"
    assert holdout["status"] in ("checked", "not_checked")
    if holdout["status"] == "checked":
        assert sum(g["customers"] for g in holdout["groups"]) == holdout["customers"]

    overlap = out.items[(SHOP, "shop", "overlap", day)]
    assert overlap["segment_ids"] == ["everyone", "repeaters"]  # no snapshot: left out
    assert overlap["overlap"] == [[30, 10], [10, 10]]

    funnel = out.items[(SHOP, "jrn-1", "funnel", day)]
    assert [(s["segment_id"], s["reached"]) for s in funnel["stages"]] == [
        ("everyone", 30), ("repeaters", 10)]
    assert funnel["stages"][1]["conversion"] == pytest.approx(1 / 3)


def test_the_shop_step_stores_the_whole_stores_revenue_by_month():
    """The home page's store-wide revenue: every month from the first order, each equal
    to walking every order of every customer."""
    store = shop_store(regulars=True)
    summary, out = _shop_run(store=store)
    assert "revenue" in summary["stored"]
    months = sorted(k[3] for k in out.items if k[:3] == (SHOP, "shop", "revenue_month"))
    first = min(o["created_at"] for o in store.orders).date()
    assert months[0] == period_label(first, "month") and months[-1] == "2025-06"
    everyone = {o["customer_id"] for o in store.orders}
    expected = brute_force_months(store, everyone, months)
    for month in months:
        stored = out.items[(SHOP, "shop", "revenue_month", month)]
        assert stored["new_orders"] == expected[month]["new_orders"]
        assert stored["returning_orders"] == expected[month]["returning_orders"]
        assert Decimal(stored["new_net_sales"]) == expected[month]["new"]
        assert Decimal(stored["returning_net_sales"]) == expected[month]["returning"]


def test_a_failing_part_is_recorded_and_the_others_are_still_stored():
    summary, out = _shop_run(writer=FakeWriter(fail=True))
    assert set(summary["failed"]) == {"clv"} and "S3 is unreachable" in summary["failed"]["clv"]
    assert summary["errors"] == ["clv"]
    assert {"cohorts", "time_to_next_order", "overlap", "funnels"} <= set(summary["stored"])
    assert (SHOP, "shop", "clv", "2025-06-30") not in out.items


def test_too_little_history_stores_an_unfitted_clv_that_says_why():
    from tests.metrics.store import Store

    store = Store().order(1, 1, "2025-01-01", "10.00").order(2, 2, "2025-01-02", "10.00")
    summary, out = _shop_run(store=store, snapshots=FakeSnapshots(), journeys=FakeJourneys())
    clv = out.items[(SHOP, "shop", "clv", "2025-06-30")]
    assert summary["failed"] == {}
    assert clv["status"] == "insufficient_data" and "at least" in clv["reason"]
    # Orders only in the first days of January, the run on 30 June: stale and thin.
    stale, thin = clv["warnings"]
    assert "latest order in the shop's history is 179 days before 2025-06-30" in stale
    assert "Only 0 customers bought more than once in 180 days of history" in thin


def test_history_warnings_name_a_stale_or_thin_history_and_stay_quiet_otherwise():
    from seglift.analytics.reports import history_warnings

    def table(frequency, recency, age):
        return pa.table({"frequency": pa.array(frequency, pa.int64()),
                         "recency": pa.array(recency, pa.int64()),
                         "age": pa.array(age, pa.int64())})

    day = date(2025, 6, 30)
    healthy = table([1] * 150 + [0] * 50, [300] * 150 + [0] * 50, [330] * 150 + [20] * 50)
    assert history_warnings(healthy, day) == []
    # Bought until 91 days before the run date, nothing since.
    stale = table([1] * 150, [300] * 150, [391] * 150)
    (warning,) = history_warnings(stale, day)
    assert "91 days before 2025-06-30" in warning
    thin = table([1] * 99 + [0], [300] * 100, [330] * 100)
    (warning,) = history_warnings(thin, day)
    assert warning.startswith("Only 99 customers bought more than once in 330 days")
    assert history_warnings(table([], [], []), day) == []


def test_a_journey_whose_stage_was_not_evaluated_gets_no_funnel_that_day():
    _, out = _shop_run(journeys=FakeJourneys(Journey("jrn-2", ["everyone", "never-evaluated"])))
    assert not [k for k in out.items if k[1] == "jrn-2"]


def test_transitions_between_two_days_count_customers_and_their_net_sales():
    snapshots = FakeSnapshots()
    snapshots.add("buyers", date(2025, 1, 15), list(range(1, 16)))
    snapshots.add("repeaters", date(2025, 1, 15), [3, 6, 9])
    snapshots.add("buyers", date(2025, 1, 31), list(range(1, 31)))
    snapshots.add("repeaters", date(2025, 1, 31), [3, 6, 9])
    result = analytics.journey_transitions(
        SHOP, ["buyers", "repeaters"], date(2025, 1, 15), date(2025, 1, 31),
        reader=TablesReader(shop_store()), snapshots=snapshots)
    cells = {(c["from_stage"], c["to_stage"]): c for c in result["cells"]}
    # 16..30 entered "buyers" from outside; their first orders (26+c each) fall in the window.
    entered = cells[("(outside)", "buyers")]
    assert entered["customers"] == 15
    assert Decimal(entered["net_sales"]) == sum(Decimal(10 + c) for c in range(16, 31))
    assert cells[("repeaters", "repeaters")]["customers"] == 3
    assert cells[("buyers", "buyers")]["customers"] == 12


def test_transitions_name_the_stage_and_day_without_a_snapshot():
    snapshots = FakeSnapshots()
    snapshots.add("buyers", date(2025, 1, 15), [1])
    with pytest.raises(analytics.SnapshotMissing, match="'buyers' has no membership snapshot on "
                                                        "2025-01-31") as error:
        analytics.journey_transitions(SHOP, ["buyers"], date(2025, 1, 15), date(2025, 1, 31),
                                      reader=TablesReader(shop_store()), snapshots=snapshots)
    assert (error.value.segment_id, error.value.day) == ("buyers", date(2025, 1, 31))
    with pytest.raises(ValueError, match="before"):
        analytics.journey_transitions(SHOP, ["buyers"], date(2025, 1, 31), date(2025, 1, 15),
                                      reader=TablesReader(shop_store()), snapshots=snapshots)


class _MissingShard:
    """A run whose shard could not compute its part of the shop's analytics."""

    def load(self) -> list[Any]:
        from metrics.logic import ShardPartMissing

        raise ShardPartMissing("shard 2 has no part of the shop's analytics: "
                               "MemoryError: out of memory")

    def write_predictions(self, key: str) -> None:
        raise AssertionError("no predictions without the shards' parts")


def test_a_shard_without_its_part_fails_the_shop_analytics_by_its_error():
    out, errors = FakeAnalytics(), []
    summary = analytics.store_shop_analytics(
        SHOP, RUN_DATE, ["everyone"], _MissingShard(), None, store=out,
        journeys=FakeJourneys(Journey("jrn-1", ["everyone"])),
        on_error=lambda part, error: errors.append(part))
    assert summary["stored"] == [] and out.items == {}
    assert set(summary["failed"]) == {"cohorts", "time_to_next_order", "clv", "overlap",
                                      "funnels", "revenue"}
    assert "shard 2" in summary["failed"]["cohorts"]
    assert "stored no purchase model" in summary["failed"]["clv"]


def test_the_sharded_shop_step_stores_what_the_whole_shop_step_stores():
    """The same shop in 3 shards' parts (as SegmentShards leaves them) and read whole:
    every stored item and the predictions' rows are the same."""
    from seglift.analytics.shop import shop_shard
    from seglift.dayrun.shards import shard_ids, shard_tables
    from seglift.segments.tables import LakeTables

    store = shop_store(regulars=True)
    whole_writer = FakeWriter()
    _, whole = _shop_run(writer=whole_writer, store=store)
    # The model the whole-shop run fitted, as the day's model of the sharded run.
    model = analytics.fit_clv_model(*analytics.summary_numbers(analytics.rfm_summary(
        store.orders_table(), store.refunds_table(), RUN_DATE)))
    tables = LakeTables.of(orders=store.orders_table(), refunds=store.refunds_table())
    members = {"everyone": pa.array(CUSTOMER_IDS, pa.int64()),
               "repeaters": pa.array(REPEATERS, pa.int64())}
    parts = []
    for k in range(3):
        part = shard_tables(tables, k, 3)
        parts.append(shop_shard(part.orders, part.refunds,
                                {s: shard_ids(m, k, 3) for s, m in members.items()},
                                RUN_DATE, model=model))
    sharded_writer = FakeWriter()

    class Parts:
        def load(self) -> list[Any]:
            return parts

        def write_predictions(self, key: str) -> None:
            sharded_writer.write_parquet(key, pa.concat_tables([p.predictions for p in parts]))

    out = FakeAnalytics()
    summary = analytics.store_shop_analytics(
        SHOP, RUN_DATE, ["everyone", "repeaters"], Parts(), model, store=out,
        journeys=FakeJourneys(Journey("jrn-1", ["everyone", "repeaters"])))
    assert summary["failed"] == {}
    assert out.items == whole.items
    key = keys.clv_predictions_key(SHOP, RUN_DATE)
    assert sharded_writer.written[key].sort_by("customer_id").equals(
        whole_writer.written[key].sort_by("customer_id"))
