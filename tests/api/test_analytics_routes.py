"""Analytics and journey routes over in-memory stores: stored payloads served with the
API's conventions (ISO dates, money with the shop's currency, pages, one error shape,
404 across tenants), and journey transitions delegated to the metrics function."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any, NamedTuple

import pytest

from api.fair_use import BUDGETS
from api.ports import SnapshotNotFound
from seglift.storage.analytics_repository import CLV_OF_DAY, COHORTS_OF_DAY, CURVE_OF_DAY
from seglift.storage.job_repository import JobRepository
from tests.api.conftest import SHOP_A, SHOP_B, Client, evaluated
from tests.api.fakes import NOW


class Item(NamedTuple):
    sort_key: str
    payload: dict[str, Any]
    computed_at: Any = NOW


class FakeAnalytics:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, dict]] = {}

    def put(self, shop: str, subject: str, kind: str, sort_key: str, payload: dict) -> None:
        self.items.setdefault((shop, subject, kind), {})[sort_key] = payload

    def latest(self, shop: str, subject: str, kind: str,
               at_or_before: str | None = None) -> Item | None:
        series = self.items.get((shop, subject, kind), {})
        keys = sorted(k for k in series if at_or_before is None or k <= at_or_before)
        return Item(keys[-1], series[keys[-1]]) if keys else None

    def between(self, shop: str, subject: str, kind: str, first: str, last: str) -> list[Item]:
        series = self.items.get((shop, subject, kind), {})
        return [Item(k, series[k]) for k in sorted(series) if first <= k <= last]


class Journey(NamedTuple):
    journey_id: str
    name: str
    stages: list[str]
    created_at: Any


class FakeJourneys:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Journey] = {}
        self._ids = itertools.count(1)

    def create(self, shop: str, *, name: str, stages: list[str]) -> Journey:
        journey = Journey(f"jrn-{next(self._ids):04x}", name, stages, NOW)
        self.records[(shop, journey.journey_id)] = journey
        return journey

    def get(self, shop: str, journey_id: str) -> Journey | None:
        return self.records.get((shop, journey_id))

    def list_page(self, shop: str, *, limit: int, after: str | None):
        ids = sorted(j for (s, j) in self.records if s == shop and (after is None or j > after))
        page = [self.records[(shop, j)] for j in ids[:limit]]
        return page, (page[-1].journey_id if len(ids) > limit else None)


class FakeTransitions:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.missing: tuple[str, date] | None = None

    def transitions(self, shop: str, stages, start: date, end: date) -> dict:
        self.calls.append((shop, list(stages), start, end))
        if self.missing:
            segment_id, day = self.missing
            raise SnapshotNotFound(f"segment {segment_id!r} has no membership snapshot on "
                                   f"{day}", segment_id, day)
        return {"cells": [
            {"from_stage": "(outside)", "to_stage": stages[0], "customers": 4,
             "net_sales": "120.50"},
            {"from_stage": stages[0], "to_stage": stages[-1], "customers": 2,
             "net_sales": "0.00"},
        ]}


@pytest.fixture
def stores(api):
    api.analytics, api.journeys, api.journey_transitions = (FakeAnalytics(), FakeJourneys(),
                                                            FakeTransitions())
    return api


PROFILE = {"as_of": "2026-11-19", "member_count": 12, "top": 10, "traits": {
    "products": [{"value": "300", "title": "Mug", "segment_customers": 10,
                  "segment_share": 0.8333, "all_customers": 10, "all_share": 0.3333,
                  "lift": 2.5}],
    "product_journeys": [{"first_product_id": "100", "first_title": "Tea",
                          "product_id": "300", "title": "Mug", "segment_customers": 3,
                          "segment_share": 0.5, "all_customers": 3, "all_share": 0.5,
                          "lift": 1.0}],
}}


def revenue(month: str, new: int, net: str) -> dict:
    return {"period": month, "new_orders": new, "new_net_sales": net, "returning_orders": 1,
            "returning_net_sales": "5.00", "orders": new + 1, "net_sales": net,
            "as_of": "2026-11-19"}


def test_a_segments_profile_is_the_latest_on_or_before_the_day(client: Client, stores):
    segment = evaluated(stores, SHOP_A)
    stores.analytics.put(SHOP_A, segment.segment_id, "profile", "2026-11-18",
                         {**PROFILE, "member_count": 11})
    stores.analytics.put(SHOP_A, segment.segment_id, "profile", "2026-11-19", PROFILE)
    latest = client.get(f"/segments/{segment.segment_id}/profile")
    assert latest.status == 200
    body = latest.json
    assert (body["day"], body["member_count"]) == ("2026-11-19", 12)
    assert body["traits"]["products"][0] == {
        "value": "300", "title": "Mug", "first_product_id": None, "first_title": None,
        "segment_customers": 10, "segment_share": 0.8333, "all_customers": 10,
        "all_share": 0.3333, "lift": 2.5}
    journey = body["traits"]["product_journeys"][0]
    assert (journey["first_product_id"], journey["value"], journey["title"]) == (
        "100", "300", "Mug")
    older = client.get(f"/segments/{segment.segment_id}/profile?day=2026-11-18").json
    assert older["member_count"] == 11
    none = client.get(f"/segments/{segment.segment_id}/profile?day=2026-11-01")
    assert (none.status, none.error["code"]) == (404, "not_computed")


def test_monthly_revenue_is_split_new_and_returning_with_the_shops_currency(client, stores):
    segment = evaluated(stores, SHOP_A)
    for month, new, net in (("2025-12", 1, "10.00"), ("2026-10", 3, "30.00"),
                            ("2026-11", 2, "20.50")):
        stores.analytics.put(SHOP_A, segment.segment_id, "revenue_month", month,
                             revenue(month, new, net))
    body = client.get(f"/segments/{segment.segment_id}/revenue?period=month").json
    assert (body["start"], body["end"]) == ("2025-12-01", "2026-11-20")  # 12 months
    assert [p["period"] for p in body["points"]] == ["2025-12", "2026-10", "2026-11"]
    last = body["points"][-1]
    assert last["new"] == {"orders": 2, "net_sales": {"amount": "20.50", "currency": "EUR"}}
    assert last["returning"]["orders"] == 1 and last["total"]["orders"] == 3
    window = client.get(f"/segments/{segment.segment_id}/revenue?start=2026-10-15"
                        "&end=2026-10-16").json
    assert [p["period"] for p in window["points"]] == ["2026-10"]
    assert window["missing_months"] == [] and window["note"] is None
    # Months without a stored point are named, never silently left out.
    assert body["missing_months"] == [f"2026-{m:02d}" for m in range(1, 10)]
    assert "9 of the months asked for have no revenue stored (2026-01..2026-09)" in body["note"]


def test_a_long_range_serves_every_stored_month(client, stores):
    segment = evaluated(stores, SHOP_A)
    months = [f"{2022 + i // 12}-{i % 12 + 1:02d}" for i in range(59)]
    for month in months:
        stores.analytics.put(SHOP_A, segment.segment_id, "revenue_month", month,
                             revenue(month, 1, "1.00"))
    body = client.get(f"/segments/{segment.segment_id}/revenue?start=2022-01-01"
                      "&end=2026-11-20").json
    assert [p["period"] for p in body["points"]] == months
    assert body["missing_months"] == [] and body["note"] is None


def test_the_whole_stores_revenue_by_month_is_served_for_its_own_shop_only(client, stores):
    for month, new, net in (("2022-03", 4, "40.00"), ("2026-11", 2, "20.50")):
        stores.analytics.put(SHOP_A, "shop", "revenue_month", month, revenue(month, new, net))
    stores.analytics.put(SHOP_B, "shop", "revenue_month", "2026-10", revenue("2026-10", 9, "9"))
    body = client.get("/revenue?start=2022-01-01&end=2026-11-20").json
    assert [p["period"] for p in body["points"]] == ["2022-03", "2026-11"]  # any year
    assert body["points"][0]["new"] == {"orders": 4,
                                        "net_sales": {"amount": "40.00", "currency": "EUR"}}
    assert "2026-10" in body["missing_months"]  # shop B's month is not shop A's
    assert client.get("/revenue?start=2026-11-02&end=2026-11-01").error["field"] == "start"


@pytest.mark.parametrize(("query", "field"), [
    ("period=week", "period"), ("start=2026-11-02&end=2026-11-01", "start"),
    ("start=2020-01-01&end=2026-11-01", "start"), ("start=yesterday", "start"),
])
def test_bad_revenue_requests_name_the_field(client, stores, query, field):
    segment = evaluated(stores, SHOP_A)
    reply = client.get(f"/segments/{segment.segment_id}/revenue?{query}")
    assert reply.status == 400 and reply.error["field"] == field


def test_overlap_serves_the_pairs_asked_for(client, stores):
    a, b, c = (evaluated(stores, SHOP_A, name=n) for n in ("A", "B", "C"))
    stores.analytics.put(SHOP_A, "shop", "overlap", "2026-11-19", {
        "segment_ids": [a.segment_id, b.segment_id, c.segment_id], "sizes": [10, 4, 0],
        "overlap": [[10, 3, 0], [3, 4, 0], [0, 0, 0]]})
    body = client.get(f"/segments/overlap?ids={b.segment_id},{a.segment_id}").json
    assert body["segment_ids"] == [b.segment_id, a.segment_id]
    assert body["sizes"] == {b.segment_id: 4, a.segment_id: 10}
    pairs = {(p["segment_a"], p["segment_b"]): p for p in body["pairs"]}
    assert pairs[(b.segment_id, a.segment_id)]["overlap"] == 3
    assert pairs[(b.segment_id, a.segment_id)]["share_of_a"] == pytest.approx(0.75)
    assert pairs[(a.segment_id, b.segment_id)]["share_of_a"] == pytest.approx(0.3)
    empty = client.get(f"/segments/overlap?ids={c.segment_id}").json
    assert empty["pairs"][0]["share_of_a"] is None


def test_overlap_of_another_shops_or_a_new_segment_is_404(client, client_b, stores):
    a = evaluated(stores, SHOP_A)
    fresh = evaluated(stores, SHOP_A, name="Fresh")
    stores.analytics.put(SHOP_A, "shop", "overlap", "2026-11-19", {
        "segment_ids": [a.segment_id], "sizes": [1], "overlap": [[1]]})
    assert client_b.get(f"/segments/overlap?ids={a.segment_id}").status == 404
    reply = client.get(f"/segments/overlap?ids={a.segment_id},{fresh.segment_id}")
    assert (reply.status, reply.error["field"]) == (404, "ids")
    assert client.get("/segments/overlap?ids=,").error["field"] == "ids"


COHORTS = {"as_of": "2026-11-19", "cohorts": [
    {"cohort": f"2026-{m:02d}", "customers": 10 * m, "net_sales": f"{100 * m}.00",
     "ltv": "10.00", "repeat_rate": "0.2500"} for m in range(1, 6)
], "ltv_by_month": [{"cohort": "2026-05", "months_since_first": 0, "cumulative_ltv": "10.00"}]}
CURVE = {"as_of": "2026-11-19", "curve": [{"days": 30, "customers": 50, "reordered": 5,
                                          "share": "0.1000"}]}


def test_cohorts_are_paged_with_money_rates_and_the_reorder_curve(client, stores):
    stores.analytics.put(SHOP_A, "shop", "cohorts", "2026-11-19", COHORTS)
    stores.analytics.put(SHOP_A, "shop", "time_to_next_order", "2026-11-19", CURVE)
    first = client.get("/cohorts?limit=2").json
    assert [c["cohort"] for c in first["items"]] == ["2026-01", "2026-02"]
    assert first["items"][1]["net_sales"] == {"amount": "200.00", "currency": "EUR"}
    assert first["items"][0]["repeat_rate"] == "0.2500"
    assert first["time_to_next_order"] == [{"days": 30, "customers": 50, "reordered": 5,
                                            "share": "0.1000"}]
    assert first["ltv_by_month"][0]["cumulative_ltv"]["amount"] == "10.00"
    rest = client.get(f"/cohorts?limit=2&next_token={first['next_token']}").json
    last = client.get(f"/cohorts?limit=2&next_token={rest['next_token']}").json
    assert [c["cohort"] for c in rest["items"] + last["items"]] == [
        "2026-03", "2026-04", "2026-05"]
    assert last["next_token"] is None


def test_analytics_of_another_shop_are_never_served(client_b, stores):
    stores.analytics.put(SHOP_A, "shop", "cohorts", "2026-11-19", COHORTS)
    reply = client_b.get("/cohorts")
    assert (reply.status, reply.error["code"]) == (404, "not_computed")
    assert client_b.get("/clv").status == 404


def test_clv_serves_the_model_and_its_summary_or_why_it_is_not_fitted(client, client_b, stores):
    stores.analytics.put(SHOP_A, "shop", "clv", "2026-11-19", {
        "as_of": "2026-11-19", "status": "fitted",
        "bgnbd": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43, "log_likelihood": -9582.4},
        "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44, "log_likelihood": -4000.0},
        "summary": {"customers": 100, "mean_p_alive": 0.6, "likely_alive": 70,
                    "mean_expected_order_value": "35.10",
                    "horizons": [{"days": 90, "mean_expected_purchases": 0.4,
                                  "total_clv": "1404.00", "mean_clv": "14.04"}]},
        "predictions_key": "shops/x/analytics/clv/2026-11-19.parquet",
        "warnings": ["The latest order in the shop's history is 400 days before 2026-11-19"],
        "holdout": {"status": "checked", "calibration_end": "2026-08-21", "holdout_days": 90,
                    "customers": 100, "total_predicted": 41.5, "total_actual": 44.0,
                    "error_share": 0.0568, "groups": [
                        {"frequency": "0", "customers": 60, "mean_predicted": 0.2,
                         "mean_actual": 0.25}]}})
    body = client.get("/clv").json
    assert body["holdout"]["groups"] == [{"frequency": "0", "customers": 60,
                                          "mean_predicted": 0.2, "mean_actual": 0.25}]
    assert body["holdout"]["error_share"] == 0.0568
    assert body["warnings"] == [
        "The latest order in the shop's history is 400 days before 2026-11-19"]
    assert body["status"] == "fitted" and body["bgnbd"]["r"] == 0.24
    assert body["summary"]["horizons"][0]["total_clv"] == {"amount": "1404.00",
                                                           "currency": "EUR"}
    assert "predictions_key" not in body  # an S3 key is internal
    stores.analytics.put(SHOP_B, "shop", "clv", "2026-11-19", {
        "as_of": "2026-11-19", "status": "insufficient_data",
        "reason": "BG/NBD needs at least 10 customers with orders, got 3",
        "bgnbd": None, "gamma_gamma": None, "summary": None, "predictions_key": None})
    unfitted = client_b.get("/clv").json
    assert unfitted["status"] == "insufficient_data" and "at least 10" in unfitted["reason"]
    assert unfitted["warnings"] == []  # stored before warnings existed: none, not an error
    assert unfitted["holdout"] is None


def test_journeys_are_created_from_the_shops_segments_and_listed(client, client_b, stores):
    a, b = evaluated(stores, SHOP_A, name="A"), evaluated(stores, SHOP_A, name="B")
    created = client.post("/journeys", {"name": "Loyalty",
                                        "stages": [a.segment_id, b.segment_id]})
    assert created.status == 201
    assert created.json["stages"] == [a.segment_id, b.segment_id]
    assert client.get(f"/journeys/{created.json['id']}").json == created.json
    assert client.get("/journeys").json["items"] == [created.json]
    assert client_b.get(f"/journeys/{created.json['id']}").status == 404
    assert client_b.get("/journeys").json["items"] == []


@pytest.mark.parametrize(("body", "code"), [
    ({"name": "X", "stages": []}, "invalid_request"),
    ({"name": "X", "stages": ["seg-0001", "seg-0001"]}, "invalid_request"),
    ({"name": "X", "stages": ["not-mine"]}, "segment_not_found"),
    ({"name": "X", "stages": ["a"], "colour": "red"}, "invalid_request"),
])
def test_bad_journeys_are_refused_naming_what_to_fix(client, stores, body, code):
    evaluated(stores, SHOP_A)
    reply = client.post("/journeys", body)
    assert reply.status == 400 and reply.error["code"] == code


def test_another_shops_segment_cannot_be_a_stage(client, client_b, stores):
    theirs = evaluated(stores, SHOP_B)
    reply = client.post("/journeys", {"name": "X", "stages": [theirs.segment_id]})
    assert (reply.status, reply.error["field"]) == (400, "stages")


def test_transitions_are_computed_for_the_journeys_stages_and_days(client, client_b, stores):
    a, b = evaluated(stores, SHOP_A, name="A"), evaluated(stores, SHOP_A, name="B")
    journey = client.post("/journeys", {"name": "J", "stages": [a.segment_id, b.segment_id]})
    url = f"/journeys/{journey.json['id']}/transitions"
    body = client.get(f"{url}?from=2026-11-01&to=2026-11-19").json
    assert stores.journey_transitions.calls == [
        (SHOP_A, [a.segment_id, b.segment_id], date(2026, 11, 1), date(2026, 11, 19))]
    assert (body["start"], body["end"]) == ("2026-11-01", "2026-11-19")
    assert body["cells"][0] == {"from_stage": "(outside)", "to_stage": a.segment_id,
                                "customers": 4,
                                "net_sales": {"amount": "120.50", "currency": "EUR"}}
    default = client.get(url).json
    assert (default["start"], default["end"]) == ("2026-11-19", "2026-11-20")
    assert client_b.get(url).status == 404
    assert client.get(f"{url}?from=2026-11-19&to=2026-11-19").error["field"] == "from"

    stores.journey_transitions.missing = (b.segment_id, date(2026, 11, 1))
    missing = client.get(f"{url}?from=2026-11-01&to=2026-11-19")
    assert (missing.status, missing.error["code"], missing.error["field"]) == (
        404, "snapshot_not_found", "from")
    assert b.segment_id in missing.error["message"]


def test_the_funnel_lists_the_stored_days(client, stores):
    a = evaluated(stores, SHOP_A)
    journey = client.post("/journeys", {"name": "J", "stages": [a.segment_id]}).json
    for day, reached in (("2026-11-18", 5), ("2026-11-19", 7)):
        stores.analytics.put(SHOP_A, journey["id"], "funnel", day, {"day": day, "stages": [
            {"segment_id": a.segment_id, "reached": reached, "conversion": None}]})
    body = client.get(f"/journeys/{journey['id']}/funnel?start=2026-11-19").json
    assert body["points"] == [{"day": "2026-11-19", "stages": [
        {"segment_id": a.segment_id, "reached": 7, "conversion": None}]}]
    assert len(client.get(f"/journeys/{journey['id']}/funnel").json["points"]) == 2


def test_routes_without_configured_stores_answer_500_in_the_error_shape(client):
    reply = client.get("/cohorts")
    assert (reply.status, reply.error["code"]) == (500, "internal_error")


def test_default_days_are_the_shops_own_today_not_utcs(api, client, stores):
    """The daily run evaluates the shop's calendar day: at 12:00 UTC on 20 November it is
    already 21 November in Auckland (UTC+13), so that is the default last day."""
    api.shops.records[SHOP_A].timezone = "Pacific/Auckland"
    a, b = evaluated(stores, SHOP_A, name="A"), evaluated(stores, SHOP_A, name="B")
    journey = client.post("/journeys", {"name": "J", "stages": [a.segment_id, b.segment_id]})
    default = client.get(f"/journeys/{journey.json['id']}/transitions").json
    assert (default["start"], default["end"]) == ("2026-11-20", "2026-11-21")


def test_without_the_on_demand_service_a_past_day_serves_the_latest_stored_before(
        client, stores):
    stores.analytics.put(SHOP_A, "shop", "cohorts", "2026-11-01", COHORTS)
    assert client.get("/cohorts?day=2026-11-10").json["as_of"] == "2026-11-01"
    assert client.get("/cohorts?day=2026-10-10").status == 404


PAST_CLV = {"as_of": "2025-03-02", "status": "insufficient_data",
            "reason": "only 4 customers had ordered by then", "bgnbd": None,
            "gamma_gamma": None, "summary": None, "predictions_key": None, "warnings": [],
            "holdout": None}
PAST_COHORTS = {"as_of": "2025-03-02", "cohorts": COHORTS["cohorts"][:2], "ltv_by_month": []}


class FakePastDays:
    """The metrics function's past-day jobs: each start is recorded; ``run`` does what its
    asynchronous invocation does (the figures stored apart, then the job succeeded)."""

    def __init__(self, analytics: FakeAnalytics, jobs: JobRepository) -> None:
        self.analytics, self.jobs = analytics, jobs
        self.started: list[tuple[str, str, date, str]] = []
        self.broken = False

    def start_clv(self, shop: str, day: date, job_id: str) -> None:
        self._start("clv", shop, day, job_id)

    def start_cohorts(self, shop: str, day: date, job_id: str) -> None:
        self._start("cohorts", shop, day, job_id)

    def _start(self, kind: str, shop: str, day: date, job_id: str) -> None:
        if self.broken:
            raise RuntimeError("lambda unreachable")
        self.started.append((kind, shop, day, job_id))

    def run(self) -> None:
        for kind, shop, day, job_id in self.started:
            self.jobs.start(shop, job_id, progress="Working", now=NOW)
            if kind == "clv":
                self.analytics.put(shop, "shop", CLV_OF_DAY, day.isoformat(),
                                   {**PAST_CLV, "as_of": day.isoformat()})
            else:
                self.analytics.put(shop, "shop", CURVE_OF_DAY, day.isoformat(), CURVE)
                self.analytics.put(shop, "shop", COHORTS_OF_DAY, day.isoformat(),
                                   {**PAST_COHORTS, "as_of": day.isoformat()})
            self.jobs.succeed(shop, job_id, {"as_of": day.isoformat()}, progress="Done",
                              now=NOW)


@pytest.fixture
def past_days(stores, jobs) -> FakePastDays:
    stores.past_days = FakePastDays(stores.analytics, jobs)
    return stores.past_days


def _job_then_figures(client: Client, past_days: FakePastDays, url: str, kind: str) -> Any:
    """A past day as the dashboard asks for it: 202 with the job, the job followed to its
    end, then the same request answered from what the job stored."""
    started = client.get(url)
    assert started.status == 202, started.text
    job = started.json
    assert (job["kind"], job["status"]) == (kind, "queued")
    assert started.headers["Location"] == f"/jobs/{job['id']}"
    past_days.run()
    done = client.get(started.headers["Location"]).json
    assert done["status"] == "succeeded" and done["result"] == {"as_of": "2025-03-02"}
    served = client.get(url)
    assert served.status == 200, served.text
    return served.json


def test_cohorts_of_a_day_the_run_did_not_store_are_a_job_then_served(client, stores,
                                                                    past_days):
    stores.analytics.put(SHOP_A, "shop", "cohorts", "2026-11-19", COHORTS)
    stored = client.get("/cohorts?day=2026-11-19").json
    assert stored["as_of"] == "2026-11-19" and len(stored["items"]) == 5
    assert past_days.started == []                       # a stored day is read, not computed
    past = _job_then_figures(client, past_days, "/cohorts?day=2025-03-02&limit=1", "cohorts")
    assert past["as_of"] == "2025-03-02"
    assert [c["cohort"] for c in past["items"]] == ["2026-01"]
    assert past["time_to_next_order"][0]["days"] == 30
    assert client.get(f"/cohorts?day=2025-03-02&next_token={past['next_token']}").json[
        "items"][0]["cohort"] == "2026-02"
    assert [(k, d) for k, _, d, _ in past_days.started] == [("cohorts", date(2025, 3, 2))]
    latest = client.get("/cohorts").json                 # no day: the latest daily run's
    assert latest["as_of"] == "2026-11-19"
    future = client.get("/cohorts?day=2099-01-01")
    assert (future.status, future.error["field"]) == (400, "day")


def test_the_clv_model_of_a_day_the_run_did_not_store_is_a_job_then_served(client, stores,
                                                                         past_days):
    """A past day never shows a later run's model: without a run stored that day, a job
    of the metrics function fits it on the history up to the day and stores it."""
    stores.analytics.put(SHOP_A, "shop", "clv", "2026-11-19", {
        "as_of": "2026-11-19", "status": "fitted", "reason": None, "summary": None,
        "bgnbd": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43, "log_likelihood": -9.5},
        "gamma_gamma": None})
    assert client.get("/clv?day=2026-11-19").json["bgnbd"]["r"] == 0.24
    assert client.get("/clv").json["as_of"] == "2026-11-19"
    assert past_days.started == []                       # stored days are read
    past = _job_then_figures(client, past_days, "/clv?day=2025-03-02", "clv")
    assert (past["as_of"], past["status"]) == ("2025-03-02", "insufficient_data")
    assert "only 4 customers" in past["reason"] and past["bgnbd"] is None
    assert len(past_days.started) == 1                   # served stored from now on
    assert client.get("/clv").json["as_of"] == "2026-11-19"  # the latest run's, still
    later = client.get("/clv?day=2026-11-20")            # after the last run, up to today
    assert (later.status, later.json["kind"]) == (202, "clv")
    assert past_days.started[-1][1:3] == (SHOP_A, date(2026, 11, 20))
    future = client.get("/clv?day=2099-01-01")
    assert (future.status, future.error["field"]) == (400, "day")


def test_a_past_day_job_of_another_shop_is_not_found_and_one_not_started_fails(
        client, client_b, stores, past_days):
    started = client.get("/clv?day=2025-03-02").json
    assert client_b.get(f"/jobs/{started['id']}").status == 404
    assert client_b.get("/clv?day=2025-03-02").json["id"] != started["id"]
    past_days.broken = True
    reply = client.get("/cohorts?day=2025-03-03")
    assert reply.status == 500                           # never a job queued for ever:
    items = stores.jobs._dynamodb.scan(TableName="idem")["Items"]
    (failed,) = [i for i in items if i["kind"]["S"] == "cohorts"]
    assert failed["status"]["S"] == "failed"
    assert "try again in a minute" in failed["error_message"]["S"]


def test_past_days_are_counted_against_the_shops_budget(client, stores, past_days):
    for n in range(BUDGETS["past_day"].limit):
        assert client.get(f"/clv?day=2025-01-{n % 28 + 1:02d}").status == 202
    refused = client.get("/cohorts?day=2025-03-02")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
