"""The measurement and experiment routes, with fake storage and the real computation."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from seglift.measurements.compute import measurement_results  # noqa: F401 (the real thing)
from tests.api.conftest import SHOP_A, SHOP_B, moto_jobs
from tests.api.measurement_fakes import install_measurements
from tests.measurements.lake import Lake

PERIOD = {"start": "2026-03-01", "end": "2026-03-07"}


class LakeReader:
    def __init__(self, lake: Lake) -> None:
        self.tables = dict(zip(("orders", "refunds", "line_items"), lake.tables(), strict=True))

    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table:
        data = self.tables[table]
        return data.select(columns) if columns else data


@pytest.fixture
def deps(api):
    """Measurements in memory; jobs in the real repository (moto), an experiment's job
    run at once by the real logic, as the measurements function runs it."""
    with moto_jobs(api):
        yield install_measurements(api)


def create_experiment(client, body):
    """POST /experiments as the dashboard does: 202 with the job, then the job followed
    to its result (the experiment)."""
    reply = client.post("/experiments", body)
    assert reply.status == 202, reply.text
    assert reply.headers["Location"] == f"/jobs/{reply.json['id']}"
    assert (reply.json["kind"], reply.json["status"]) == ("experiment", "queued")
    job = client.get(reply.headers["Location"]).json
    assert job["status"] == "succeeded", job
    return job["result"]


def list_segment(api, deps, shop=SHOP_A, members=(1, 2, 3, 4), name="VIP list"):
    segment = api.segments.create(shop, name=name, condition=None, kind="list",
                                  member_count=len(members), last_evaluated_on="2026-02-28")
    deps.members.ids[(shop, segment.segment_id)] = list(members)
    deps.members.latest[(shop, segment.segment_id)] = date(2026, 2, 28)
    return segment


def with_lake(deps, lake: Lake, run_date: date = date(2026, 3, 12)) -> None:
    deps.recompute.lake, deps.recompute.run_date = LakeReader(lake), run_date


def test_create_a_measurement_freezes_the_list_and_asks_for_results(client, api, deps):
    segment = list_segment(api, deps)
    reply = client.post("/measurements", {
        "name": "Spring email", "segment_id": segment.segment_id, "period": PERIOD,
        "goal": {"min_order_value": "50"}, "notes": "10% coupon email to VIPs",
    })
    assert reply.status == 201, reply.text
    body = reply.json
    assert (body["status"], body["customers"], body["source"]) == ("pending", 4, "list_segment")
    assert body["goal"] == {"kind": "min_order_value", "product_ids": [],
                            "min_order_value": {"amount": "50", "currency": "EUR"}}
    assert body["period"] == PERIOD and body["results"] is None
    assert deps.recompute.requested == [(SHOP_A, [body["id"]])]
    # Later changes of the segment do not change who is measured.
    deps.members.ids[(SHOP_A, segment.segment_id)] = [9]
    stored = deps.store.get(SHOP_A, body["id"])
    assert deps.lists.read(stored.customers_key) == [1, 2, 3, 4]
    assert stored.customers_key.startswith(f"shops/{SHOP_A}/measurements/")


def condition_segment(api, deps, members=(1, 2, 3, 4), evaluated="2026-03-12",
                      name="RFM At risk"):
    segment = api.segments.create(SHOP_A, name=name, condition={"has_tag": "x"},
                                  member_count=len(members), last_evaluated_on=evaluated)
    deps.members.ids[(SHOP_A, segment.segment_id)] = list(members)
    deps.members.latest[(SHOP_A, segment.segment_id)] = date.fromisoformat(evaluated)
    return segment


def test_a_past_period_measures_the_members_as_they_were_when_it_began(client, api, deps):
    # Today 1 and 2 are members; on February 28, before the period, 3, 4 and 5 were (they
    # bought in March, so left "At risk": today's members would score 0% by construction).
    segment = condition_segment(api, deps, members=(1, 2))
    deps.members.days[(SHOP_A, segment.segment_id, date(2026, 2, 28))] = [5, 4, 3]
    reply = client.post("/measurements", {"name": "Win-back email",
                                          "segment_id": segment.segment_id, "period": PERIOD})
    assert reply.status == 201, reply.text
    assert reply.json["customers"] == 3 and reply.json["members_as_of"] == "2026-02-28"
    stored = deps.store.get(SHOP_A, reply.json["id"])
    assert deps.lists.read(stored.customers_key) == [3, 4, 5]
    # An experiment over the past period splits those same customers.
    experiment = create_experiment(client, {
        "name": "Win-back test", "segment_id": segment.segment_id, "groups": 2,
        "holdout": False, "seed": 1, "period": PERIOD})
    assert sum(g["customers"] for g in experiment["groups"]) == 3


def test_a_period_starting_after_the_last_evaluation_measures_the_latest_members(
        client, api, deps):
    segment = condition_segment(api, deps, members=(1, 2), evaluated="2026-02-20")
    reply = client.post("/measurements", {"name": "Next email",
                                          "segment_id": segment.segment_id, "period": PERIOD})
    assert reply.status == 201, reply.text
    assert reply.json["customers"] == 2 and reply.json["members_as_of"] == "2026-02-20"


def test_a_period_older_than_the_segments_history_is_refused_saying_why(client, api, deps):
    segment = condition_segment(api, deps)
    deps.members.days[(SHOP_A, segment.segment_id, date(2026, 3, 5))] = [1]
    reply = client.post("/measurements", {"name": "Too old",
                                          "segment_id": segment.segment_id, "period": PERIOD})
    assert reply.status == 400 and reply.error["field"] == "period"
    message = reply.error["message"]
    assert "no record of its members on February 28, 2026" in message
    assert "its history starts on March 5, 2026" in message
    assert "starting on March 6, 2026 or later" in message
    never = condition_segment(api, deps, name="Fresh")
    reply = client.post("/measurements", {"name": "Too old",
                                          "segment_id": never.segment_id, "period": PERIOD})
    assert reply.status == 400
    assert "no history before its last evaluation" in reply.error["message"]
    assert "March 13, 2026 or later" in reply.error["message"]


def test_results_are_served_with_money_series_and_products(client, api, deps):
    segment = list_segment(api, deps, members=(1, 2, 5))
    with_lake(deps, Lake()
              .order(10, 1, "2026-03-02T10:00:00Z", "100", products=((500, "100"),))
              .order(11, 2, "2026-03-03T10:00:00Z", "60", products=((600, "60"),))
              .refund(1, 11, "2026-03-04T10:00:00Z", "10")
              .refund(2, 11, "2026-03-20T10:00:00Z", "50"))
    created = client.post("/measurements", {"name": "m", "segment_id": segment.segment_id,
                                            "period": PERIOD}).json
    reply = client.get(f"/measurements/{created['id']}")
    assert reply.status == 200
    results = reply.json["results"]
    assert reply.json["status"] == "final"
    assert (results["customers"], results["converted"], results["cvr"]) == (3, 2, "0.6667")
    assert results["revenue"] == {"amount": "150.00", "currency": "EUR"}
    assert results["aov"]["amount"] == "75.00"
    assert results["revenue_per_customer"]["amount"] == "50.00"
    assert results["series"][-1] == {"day": "2026-03-07", "converted": 2, "orders": 2,
                                     "revenue": {"amount": "150.00", "currency": "EUR"}}
    assert [p["product_id"] for p in results["products"]] == ["500", "600"]
    listed = client.get("/measurements").json["items"][0]["results"]
    assert listed["series"] is None and listed["products"] is None


def test_list_measurements_in_pages(client, api, deps):
    segment = list_segment(api, deps)
    ids = sorted(client.post("/measurements", {"name": f"m{n}", "segment_id": segment.segment_id,
                                               "period": PERIOD}).json["id"] for n in range(3))
    first = client.get("/measurements?limit=2").json
    second = client.get(f"/measurements?limit=2&next_token={first['next_token']}").json
    assert [m["id"] for m in first["items"] + second["items"]] == ids
    assert second["next_token"] is None


def test_compare_measurements_side_by_side(client, api, deps):
    one = list_segment(api, deps, members=(1,), name="Rum baba buyers")
    two = list_segment(api, deps, members=(2,), name="Tart buyers")
    with_lake(deps, Lake().order(10, 1, "2026-03-02T10:00:00Z", "30", products=((7, "30"),)))
    a = client.post("/measurements", {"name": "a", "segment_id": one.segment_id,
                                      "period": PERIOD}).json["id"]
    b = client.post("/measurements", {"name": "b", "segment_id": two.segment_id,
                                      "period": PERIOD}).json["id"]
    reply = client.post("/measurements/compare", {"ids": [b, a]})
    assert reply.status == 200
    items = reply.json["items"]
    assert [i["id"] for i in items] == [b, a]
    assert [i["results"]["cvr"] for i in items] == ["0.0000", "1.0000"]
    assert items[1]["results"]["products"][0]["product_id"] == "7"
    assert client.post("/measurements/compare", {"ids": [a, a]}).error["field"] == "ids"
    assert client.post("/measurements/compare", {"ids": [a]}).status == 400


def test_bad_measurements_say_what_to_fix(client, api, deps):
    segment = list_segment(api, deps)
    swapped = client.post("/measurements", {"name": "m", "segment_id": segment.segment_id,
                                            "period": {"start": "2026-03-07",
                                                       "end": "2026-03-01"}})
    assert (swapped.status, swapped.error["field"]) == (400, "period.end")
    goal = client.post("/measurements", {"name": "m", "segment_id": segment.segment_id,
                                         "period": PERIOD, "goal": {"product_ids": ["x"]}})
    assert (goal.status, goal.error["field"]) == (400, "goal.product_ids[0]")
    typo = client.post("/measurements", {"name": "m", "segment": segment.segment_id,
                                         "period": PERIOD})
    assert typo.status == 400
    missing = client.post("/measurements", {"name": "m", "segment_id": "seg-9999",
                                            "period": PERIOD})
    assert (missing.status, missing.error["code"]) == (404, "segment_not_found")
    fresh = api.segments.create(SHOP_A, name="new", condition={"has_tag": "x"})
    unevaluated = client.post("/measurements", {"name": "m", "segment_id": fresh.segment_id,
                                                "period": PERIOD})
    assert unevaluated.status == 400 and "not been evaluated" in unevaluated.error["message"]


def test_another_shops_measurements_and_experiments_are_404(client, client_b, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 21)))
    measurement = client.post("/measurements", {"name": "m", "segment_id": segment.segment_id,
                                                 "period": PERIOD}).json["id"]
    experiment = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                            "period": PERIOD, "seed": 1})["id"]
    assert client_b.get(f"/measurements/{measurement}").error["code"] == "measurement_not_found"
    assert client_b.get(f"/experiments/{experiment}").error["code"] == "experiment_not_found"
    assert client_b.post("/measurements/compare",
                         {"ids": [measurement, measurement + "x"]}).status == 404
    assert client_b.get("/measurements").json["items"] == []
    assert client_b.post("/measurements", {"name": "m", "segment_id": segment.segment_id,
                                           "period": PERIOD}).status == 404
    assert SHOP_B not in {s for s, _ in deps.recompute.requested}


def test_an_experiment_splits_reproducibly_with_a_holdout(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 101)))
    body = {"name": "Coupon test", "segment_id": segment.segment_id, "groups": 3,
            "holdout": True, "seed": 42, "period": PERIOD}
    experiment = create_experiment(client, body)
    assert [g["label"] for g in experiment["groups"]] == ["A", "B", "holdout"]
    assert [g["customers"] for g in experiment["groups"]] == [34, 33, 33]
    assert experiment["seed"] == 42 and experiment["control"] == "holdout"
    members = [deps.lists.read(deps.store.get(SHOP_A, g["measurement_id"]).customers_key)
               for g in experiment["groups"]]
    assert sorted(c for m in members for c in m) == list(range(1, 101))
    again = create_experiment(client, body)
    assert [deps.lists.read(deps.store.get(SHOP_A, g["measurement_id"]).customers_key)
            for g in again["groups"]] == members
    one = client.get(f"/experiments/{experiment['id']}").json
    assert [c["group"] for c in one["comparisons"]] == ["A", "B"]
    assert one["comparisons"][0]["verdict"].startswith("Not computed yet")


def test_an_experiment_without_seed_chooses_and_returns_one(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 11)))
    experiment = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                            "period": PERIOD})
    assert isinstance(experiment["seed"], int)


def test_stratified_experiment_balances_the_strata(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 41)))
    strata = deps.experiments.strata
    strata.of = {c: ("champions" if c <= 8 else "hibernating") for c in range(1, 41)}
    experiment = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                            "seed": 3, "stratify_by": "rfm_group",
                                            "period": PERIOD})
    assert [g["strata"] for g in experiment["groups"]] == [
        {"champions": 4, "hibernating": 16}, {"champions": 4, "hibernating": 16}]
    assert strata.asked == [(SHOP_A, "rfm_group", date(2026, 2, 28))]
    bad = client.post("/experiments", {"name": "x", "segment_id": segment.segment_id,
                                       "stratify_by": "zodiac", "period": PERIOD})
    assert (bad.status, bad.error["field"]) == (400, "stratify_by")


def test_experiment_statistics_and_verdicts(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 2001)))
    lake = Lake()
    created = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                         "holdout": True, "seed": 5, "period": PERIOD})
    treated, holdout = (deps.lists.read(deps.store.get(SHOP_A, g["measurement_id"])
                                        .customers_key) for g in created["groups"])
    # 200 of 1000 treated customers buy for 50; 100 of 1000 in the holdout.
    for n, customer in enumerate(treated[:200] + holdout[:100]):
        lake.order(1000 + n, customer, "2026-03-03T10:00:00Z", "50")
    with_lake(deps, lake)
    deps.recompute.request(SHOP_A, [g["measurement_id"] for g in created["groups"]])
    report = client.get(f"/experiments/{created['id']}").json
    comparison = report["comparisons"][0]
    assert comparison["cvr"]["difference"] == pytest.approx(0.1)
    assert comparison["cvr"]["ci_spans_zero"] is False
    assert comparison["cvr"]["p_value"] < 1e-6
    assert comparison["revenue_per_customer"]["difference"] == pytest.approx(5.0)
    assert comparison["incremental_revenue"]["estimate"] == {"amount": "5000.00",
                                                             "currency": "EUR"}
    # Every metric the results report is compared and weighed, adjusted together.
    assert comparison["orders_per_customer"]["difference"] == pytest.approx(0.1)
    assert comparison["orders_per_customer"]["p_adjusted"] < 0.05
    assert comparison["aov"]["difference"] == pytest.approx(0.0)  # every order is 50
    assert comparison["cvr"]["p_adjusted"] >= comparison["cvr"]["p_value"]
    assert comparison["verdict"].startswith(
        "A did better on conversion, revenue per customer and orders per customer")
    assert "average order value does not differ detectably" in comparison["verdict"]


def test_small_experiments_are_called_too_small(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 21)))
    created = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                         "seed": 5, "period": PERIOD})
    group_a = deps.lists.read(deps.store.get(SHOP_A, created["groups"][0]["measurement_id"])
                              .customers_key)
    with_lake(deps, Lake().order(1, group_a[0], "2026-03-03T10:00:00Z", "50"))
    deps.recompute.request(SHOP_A, [g["measurement_id"] for g in created["groups"]])
    verdict = client.get(f"/experiments/{created['id']}").json["comparisons"][0]["verdict"]
    assert verdict.startswith("Too small to conclude")


class JsonClient:
    """The demo's client shape: JSON in, JSON out, errors raise."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, path):
        reply = self.client.get(path)
        assert reply.status < 400, reply.text
        return reply.json

    def post(self, path, body):
        reply = self.client.post(path, body)
        assert reply.status < 400, reply.text
        return reply.json

    def follow(self, job):
        reply = self.client.get(f"/jobs/{job['id']}")
        assert reply.json["status"] == "succeeded", reply.text
        return reply.json["result"]


def test_the_demo_report_lines(client, api, deps):
    from seglift.measurements.report_lines import measurement_report_lines

    segment = list_segment(api, deps, members=tuple(range(1, 41)))
    segment.member_count = 40
    with_lake(deps, Lake().order(1, 3, "2026-02-20T10:00:00Z", "25", products=((9, "25"),)))
    lines = measurement_report_lines(JsonClient(client), SHOP_A, wait_seconds=0)
    assert lines[0].startswith("measurement 'Demo: VIP list' 2026-01-30..2026-02-28")
    assert "customers 40, converted 1 (CVR 2.50%)" in lines[1]
    assert "Product 9" in lines[2]
    assert lines[3].startswith("experiment (seed 7, stratified by RFM group): A 20, holdout 20")
    assert "Too small to conclude" in lines[4]


def test_each_experiment_group_is_a_list_segment_named_by_the_merchant(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 101)))
    experiment = create_experiment(client, {
        "name": "Winter email", "segment_id": segment.segment_id, "holdout": True,
        "seed": 3, "period": PERIOD, "group_names": ["Gets the email", "Holdout, no email"]})
    groups = experiment["groups"]
    assert [g["name"] for g in groups] == ["Gets the email", "Holdout, no email"]
    for group in groups:
        listed = api.segments.get(SHOP_A, group["segment_id"])
        assert (listed.kind, listed.name) == ("list", group["name"])
        assert listed.member_count == group["customers"]
        measured = deps.store.get(SHOP_A, group["measurement_id"])
        assert measured.name == group["name"]
    read = client.get(f"/experiments/{experiment['id']}").json
    assert [g["segment_id"] for g in read["groups"]] == [g["segment_id"] for g in groups]


def test_group_names_must_be_one_per_group_and_distinct(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 101)))
    base = {"name": "x", "segment_id": segment.segment_id, "period": PERIOD}
    short = client.post("/experiments", {**base, "groups": 3, "group_names": ["a", "b"]})
    same = client.post("/experiments", {**base, "group_names": ["Email", "email"]})
    for reply in (short, same):
        assert (reply.status, reply.error["field"]) == (400, "group_names"), reply.text
    assert "name each of the 3 groups" in short.error["message"]
    assert "its own name" in same.error["message"]
    assert not [s for s in api.segments.records.values() if s.kind == "list"
                and s.name in ("a", "Email")]


# ------------------------------------------------------------ experiments are jobs


def _started(deps):
    """(shop, experiment id, job id) of the one job the request started."""
    [started] = deps.experiments.started
    return started


def test_an_experiment_is_recorded_as_creating_and_followed_as_a_job(client, api, deps):
    deps.experiments.run = False  # the asynchronous invocation has not arrived yet
    segment = list_segment(api, deps, members=tuple(range(1, 21)))
    reply = client.post("/experiments", {"name": "Spring test", "segment_id":
                                         segment.segment_id, "seed": 4, "period": PERIOD})
    assert reply.status == 202, reply.text
    job = reply.json
    assert (job["kind"], job["status"], job["progress"]) == ("experiment", "queued",
                                                             "Waiting to start")
    shop, experiment_id, job_id = _started(deps)
    assert (shop, job_id) == (SHOP_A, job["id"])
    assert deps.members.reads == 0  # nothing of the members read in the request
    creating = client.get(f"/experiments/{experiment_id}").json
    assert (creating["status"], creating["groups"], creating["job_id"]) == (
        "creating", [], job["id"])
    assert client.get(f"/jobs/{job['id']}").json["status"] == "queued"

    deps.experiments.deliver(shop, experiment_id, job_id)

    done = client.get(f"/jobs/{job['id']}").json
    assert (done["status"], done["progress"]) == ("succeeded", "Done: 20 customers in 2 groups")
    assert done["result"]["id"] == experiment_id and done["result"]["status"] == "ready"
    assert [g["customers"] for g in done["result"]["groups"]] == [10, 10]
    assert client.get(f"/experiments/{experiment_id}").json["groups"] == (
        done["result"]["groups"])
    # Each group's list gets its figures of the day, each measurement its results.
    assert [s for _, s, _ in deps.experiments.figures.started] == [
        g["segment_id"] for g in done["result"]["groups"]]
    assert deps.recompute.requested == [
        (SHOP_A, [g["measurement_id"] for g in done["result"]["groups"]])]


def test_what_can_be_checked_without_the_members_is_refused_at_once(client, api, deps):
    listed = list_segment(api, deps, members=(1,))
    unevaluated = api.segments.create(SHOP_A, name="New", condition={"has_tag": "x"})
    old = condition_segment(api, deps, name="Old")
    cases = [
        ({"segment_id": listed.segment_id}, "groups", "too few for 2 groups"),
        ({"segment_id": unevaluated.segment_id}, "segment_id", "has not been evaluated"),
        ({"segment_id": old.segment_id}, "period", "no record of its members"),
        ({"segment_id": listed.segment_id, "group_names": ["a", "a"]}, "group_names",
         "its own name"),
        ({"segment_id": "seg_nope"}, "segment_id", "does not exist"),
    ]
    for fields, field, words in cases:
        reply = client.post("/experiments", {"name": "x", "period": PERIOD, **fields})
        assert reply.status in (400, 404) and reply.error["field"] == field, reply.text
        assert words in reply.error["message"]
    assert deps.experiments.started == []
    assert not [r for r in deps.store.records.values() if hasattr(r, "seed")]


def test_an_experiment_its_job_refuses_fails_in_words(client, api, deps):
    """Too few members on the day before a past period: only the job reads them."""
    segment = condition_segment(api, deps, members=(1, 2, 3))
    deps.members.days[(SHOP_A, segment.segment_id, date(2026, 2, 28))] = [7]
    reply = client.post("/experiments", {"name": "x", "segment_id": segment.segment_id,
                                         "period": PERIOD, "seed": 1})
    assert reply.status == 202, reply.text
    job = client.get(f"/jobs/{reply.json['id']}").json
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"] == {"code": "invalid_measurement", "message":
                            "the segment has 1 customers: too few for 2 groups"}
    _, experiment_id, _ = _started(deps)
    failed = client.get(f"/experiments/{experiment_id}").json
    assert (failed["status"], failed["error"]) == ("failed", job["error"]["message"])
    assert deps.store.list_page(SHOP_A, limit=10, after=None).items == []


def test_a_redelivered_job_changes_nothing(client, api, deps):
    segment = list_segment(api, deps, members=tuple(range(1, 31)))
    experiment = create_experiment(client, {"name": "x", "segment_id": segment.segment_id,
                                            "period": PERIOD, "seed": 9})
    shop, experiment_id, job_id = _started(deps)
    assert deps.experiments.deliver(shop, experiment_id, job_id) is None
    assert client.get(f"/experiments/{experiment_id}").json["groups"] == experiment["groups"]
    measured = deps.store.list_page(SHOP_A, limit=100, after=None).items
    assert sorted(m.record_id for m in measured) == sorted(
        g["measurement_id"] for g in experiment["groups"])
    assert len([s for s in api.segments.records.values() if s.kind == "list"]) == 3


def test_a_job_that_cannot_be_started_is_failed_not_left_queued(client, api, deps):
    deps.experiments.broken = True
    segment = list_segment(api, deps, members=tuple(range(1, 11)))
    reply = client.post("/experiments", {"name": "x", "segment_id": segment.segment_id,
                                         "period": PERIOD})
    assert reply.status == 500
    experiment = next(r for r in deps.store.records.values() if hasattr(r, "seed"))
    job = api.jobs.get(SHOP_A, experiment.job_id)
    assert (job.status, job.error_code) == ("failed", "not_started")
    assert experiment.status == "failed"


@pytest.mark.parametrize("members", [10, 1_000_000])
def test_the_asynchronous_payload_does_not_grow_with_the_segment(client, api, deps, members):
    """The request invokes the measurements function once, asynchronously, with ids: the
    same bytes for 10 members as for a million (Lambda allows 1 MB for an asynchronous
    payload, 6 MB for a synchronous one; a million Shopify customer ids are about 14 MB)."""
    import dataclasses
    import io
    import json

    from seglift.measurements.adapters import LambdaExperiments

    calls = []

    class RecordingLambda:
        def invoke(self, **kwargs):
            calls.append(kwargs)
            return {"StatusCode": 202, "Payload": io.BytesIO(b"")}

    api.measurements = dataclasses.replace(
        deps, experiments=LambdaExperiments(lambda: RecordingLambda(), "measurements-fn"))
    segment = list_segment(api, deps, members=tuple(range(1, members + 1)))
    reply = client.post("/experiments", {"name": "x", "segment_id": segment.segment_id,
                                         "period": PERIOD, "seed": 1,
                                         "stratify_by": "rfm_group"})
    assert reply.status == 202, reply.text
    [call] = calls
    assert call["InvocationType"] == "Event"
    payload = call["Payload"]
    assert len(payload) < 300  # bytes, whatever the segment's size
    assert set(json.loads(payload)) == {"action", "shop", "experiment_id", "job_id"}
    assert deps.members.reads == 0


def test_experiments_have_a_per_shop_budget(client, api, deps):
    """Each experiment reads the segment's members and their strata and makes a list per
    group: past the shop's budget, 429 with Retry-After (#17 fair use)."""
    from api.fair_use import BUDGETS

    segment = list_segment(api, deps, members=tuple(range(1, 11)))
    body = {"name": "Coupon test", "segment_id": segment.segment_id, "period": PERIOD}
    for _ in range(BUDGETS["experiment"].limit):
        assert client.post("/experiments", body).status == 202
    reply = client.post("/experiments", body)
    assert reply.status == 429 and reply.error["code"] == "rate_limited"
    assert int(reply.headers["Retry-After"]) >= 1
    # The request is still checked first: a mistake answers 400 saying what to fix.
    assert client.post("/experiments", {**body, "seed": False}).status == 400
    # Another shop's budget is its own.
    other = list_segment(api, deps, shop=SHOP_B, members=tuple(range(1, 11)))
    from tests.api.conftest import Client

    assert Client(api, SHOP_B).post("/experiments", {**body, "segment_id": other.segment_id}
                                    ).status == 202
