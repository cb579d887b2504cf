"""GET /predictions: every customer with predictions exactly once across the pages, in
the asked order (checked against a plain sort of the day's features), the model's status
and warnings beside them, and bad tokens, other shops and missing days refused in words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from seglift.dayrun.compute import day_features
from seglift.storage.job_repository import JobRepository
from tests.api.conftest import SHOP_A, moto_jobs
from tests.api.segment_editor_fakes import FakeSegmentEngine
from tests.api.test_analytics_routes import FakeAnalytics
from tests.segments.prediction_store import AS_OF, modelled_store

DAY = AS_OF.isoformat()
WARNING = "Only 90 customers bought more than once in 700 days of history."


@pytest.fixture(scope="module")
def day_tables():
    tables = modelled_store().tables()
    return day_features(tables, AS_OF), tables.customers


@pytest.fixture
def engine(api, day_tables) -> FakeSegmentEngine:
    fake = FakeSegmentEngine(api.segments, prediction_days={AS_OF: day_tables})
    api.segment_engine = fake
    api.analytics = FakeAnalytics()
    api.analytics.put(SHOP_A, "shop", "clv", DAY, {
        "as_of": DAY, "status": "fitted", "reason": None, "warnings": [WARNING]})
    return fake


def _get(client, query=None):
    return client.get("/predictions" + ("?" + urlencode(query) if query else ""))


def _all_pages(client, **query):
    seen, token, pages = [], None, 0
    while True:
        params = {**query, **({"next_token": token} if token else {})}
        reply = _get(client, params)
        assert reply.status == 200, reply.json
        body = reply.json
        seen.extend(body["items"])
        pages += 1
        token = body["next_token"]
        if token is None:
            return body, seen, pages


def _expected_order(features, sort, descending):
    rows = [r for r in features.to_pylist() if r["chance_active"] is not None]
    known = [r for r in rows if r[sort] is not None]
    unknown = [r for r in rows if r[sort] is None]
    known.sort(key=lambda r: r["customer_id"])
    known.sort(key=lambda r: r[sort], reverse=descending)  # stable: ties by id
    unknown.sort(key=lambda r: r["customer_id"])
    return [str(r["customer_id"]) for r in known + unknown]


@pytest.mark.parametrize(("sort", "order"), [
    ("predicted_value_365d", "desc"), ("chance_active", "asc"),
    ("days_to_expected_order", "asc"), ("predicted_purchases_90d", "desc")])
def test_pages_list_every_customer_with_predictions_once_in_order(
        client, engine, day_tables, sort, order):
    features, _ = day_tables
    body, items, pages = _all_pages(client, sort=sort, order=order, limit=40)
    expected = _expected_order(features, sort, order == "desc")
    assert [i["customer_id"] for i in items] == expected
    assert body["total"] == len(expected) and pages == -(-len(expected) // 40)
    assert body["status"] == "fitted" and body["warnings"] == [WARNING]
    assert body["as_of"] == DAY


def test_a_row_carries_the_customers_name_and_money_in_the_shops_currency(
        client, engine, day_tables):
    features, _ = day_tables
    first = _get(client, {"limit": 1}).json["items"][0]
    row = next(r for r in features.to_pylist() if str(r["customer_id"]) == first["customer_id"])
    assert first["name"] == f"First{row['customer_id']} Last"
    assert first["email"] == f"c{row['customer_id']}@example.com"
    assert first["predicted_value_365d"]["currency"] == client.api.shops.get(SHOP_A).currency
    assert Decimal(first["predicted_value_365d"]["amount"]) == row["predicted_value_365d"]
    assert first["chance_active"] == row["chance_active"]
    assert first["expected_next_order_date"] == row["expected_next_order_date"].isoformat()
    assert first["order_count"] == row["order_count"]


def test_a_token_continues_its_day_and_refuses_another_order(client, engine):
    page = _get(client, {"limit": 5, "sort": "chance_active"}).json
    token = page["next_token"]
    # The next daily run stored a new day: the token still continues its own day.
    engine.prediction_days[date(2026, 1, 1)] = engine.prediction_days[AS_OF]
    client.api.analytics.put(SHOP_A, "shop", "clv", "2026-01-01", {
        "as_of": "2026-01-01", "status": "fitted", "warnings": []})
    again = _get(client, {"limit": 5, "sort": "chance_active",
                                              "next_token": token}).json
    assert again["as_of"] == DAY
    assert not {i["customer_id"] for i in again["items"]} & {
        i["customer_id"] for i in page["items"]}
    other = _get(client, {"next_token": token})
    assert other.status == 400 and other.json["error"]["code"] == "invalid_page_token"
    assert "same sort and order" in other.json["error"]["message"]
    junk = _get(client, {"next_token": "not-a-token"})
    assert junk.status == 400 and junk.json["error"]["field"] == "next_token"


def test_a_shop_without_a_model_is_told_why_and_the_engine_is_not_asked(client, engine):
    client.api.analytics.put(SHOP_A, "shop", "clv", "2026-02-01", {
        "as_of": "2026-02-01", "status": "insufficient_data",
        "reason": "only 12 customers have ordered on two different days", "warnings": []})
    body = _get(client).json
    assert body["status"] == "insufficient_data" and body["items"] == []
    assert "only 12 customers" in body["reason"]
    assert not [c for c in engine.calls if c[1]["run_date"] == date(2026, 2, 1)]


def test_missing_days_other_shops_and_bad_sorts_are_refused(client, client_b, engine):
    assert _get(client_b).status == 404  # shop B has no model stored
    assert engine.calls == []
    client.api.analytics.put(SHOP_A, "shop", "clv", "2026-03-01", {
        "as_of": "2026-03-01", "status": "fitted", "warnings": []})
    gone = _get(client)  # the model is stored, the features file is not
    assert gone.status == 404 and gone.json["error"]["code"] == "not_computed"
    bad = _get(client, {"sort": "email"})
    assert bad.status == 400 and bad.json["error"]["field"] == "sort"
    assert engine.calls and all(c[1]["shop"] == SHOP_A for c in engine.calls)


def test_a_preview_on_predictions_passes_the_models_warnings_on(client, api):
    note = ("Predictions are not available for this shop yet, so rules on them select "
            "nobody: only 3 customer(s) have ordered.")
    api.segment_engine = FakeSegmentEngine(api.segments, preview_result={
        "member_count": 0, "customer_count": 40, "sample": [], "warnings": [note]})
    reply = client.post("/segments/preview", {"template": {
        "id": "predicted-likely-to-churn", "params": {}}, "sample_size": 0})
    assert reply.status == 200, reply.json
    assert reply.json["warnings"] == [note] and reply.json["member_count"] == 0
    sent = api.segment_engine.calls[-1][1]["condition"]
    assert {"feature": "chance_active", "op": "<", "value": 30} in sent["and"]


PAST = date(2025, 6, 30)


@pytest.fixture
def jobs(api, engine) -> Iterator[JobRepository]:
    with moto_jobs(api) as repository:
        engine.jobs = repository
        yield repository


def test_a_past_day_no_run_stored_is_a_job_then_paged_as_of_that_day(client, engine, jobs):
    """Asked for a day without a stored run, the route does not fall back on an earlier
    or later run's predictions: it starts a job of the segments function computing that
    day's (its model fitted on the history up to it), then pages what the job stored,
    token included."""
    tables = modelled_store().tables()
    past = day_features(tables, PAST)
    engine.computable_days[PAST] = (past, tables.customers)
    started = _get(client, {"day": PAST.isoformat(), "sort": "chance_active",
                            "order": "asc", "limit": 60})
    assert started.status == 202, started.text
    assert (started.json["kind"], started.json["status"]) == ("predictions", "queued")
    assert engine.started_predictions == [(SHOP_A, PAST, started.json["id"])]
    job = client.get(started.headers["Location"]).json
    assert job["status"] == "succeeded" and job["result"] == {"as_of": PAST.isoformat()}
    assert job["progress"] == f"Done: predictions for {past.num_rows} customers"
    body, items, _ = _all_pages(client, day=PAST.isoformat(), sort="chance_active",
                                order="asc", limit=60)
    assert body["as_of"] == PAST.isoformat() and body["status"] == "fitted"
    assert [i["customer_id"] for i in items] == _expected_order(past, "chance_active", False)
    assert len(engine.started_predictions) == 1          # stored: no second job
    asked = [c[1] for c in engine.calls if c[0] == "predictions"]
    assert asked and all(c["run_date"] == PAST and c["computed"] for c in asked)
    # The stored day is still read from the run, not computed again.
    stored = _get(client, {"day": DAY}).json
    assert stored["as_of"] == DAY and engine.calls[-1][1]["computed"] is False
    # Fewer customers had ordered by then, and their chances differ from the later day's.
    later = {i["customer_id"]: i for i in _all_pages(client, day=DAY, limit=100)[1]}
    assert len(items) < len(later)
    assert any(i["chance_active"] != later[i["customer_id"]]["chance_active"] for i in items)
    future = _get(client, {"day": "2099-01-01"})
    assert (future.status, future.json["error"]["field"]) == (400, "day")


def test_a_predictions_job_another_shop_cannot_see(client, client_b, engine, jobs):
    started = _get(client, {"day": PAST.isoformat()})
    assert started.status == 202
    assert client_b.get(started.headers["Location"]).status == 404
