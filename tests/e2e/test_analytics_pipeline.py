"""Segment and shop analytics, end to end on the local cloud built from template.yaml:
the daily run (schedule -> sync -> Step Functions: segments, metrics with profile and
revenue, ComputeShopAnalytics) stores them in the analytics table and the API serves
them; journey transitions are computed by the metrics function the API invokes.

Transitions need two evaluated days: the workflow is also started for the day before
(the input the sync function gives it, an earlier run_date), as a merchant's second day
would. Figures are checked against a brute-force reading of the generated store.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from devkit.local_stack import local_stack
from devkit.store.generator import StoreSpec, generate_store
from tests.e2e.store_reference import counted_order_counts

pytestmark = pytest.mark.e2e

SHOP = "analytics-shop.myshopify.com"


@pytest.fixture(scope="module")
def run():
    store = generate_store(StoreSpec(domain=SHOP, customers=250, seed=21))
    with local_stack([store], log_level="WARNING") as stack:
        api = stack.api(SHOP)
        buyers = api.post("/segments", {"name": "Buyers", "shopify_query":
                                        "number_of_orders >= 1"})
        repeat = api.post("/segments", {"name": "Repeat", "shopify_query":
                                        "number_of_orders >= 2"})
        journey = api.post("/journeys", {"name": "Loyalty",
                                         "stages": [buyers["id"], repeat["id"]]})
        stack.cloud.fire_schedule()
        executions = stack.cloud.wait_for_executions(timeout_s=600)
        day = date.fromisoformat(api.get(f"/segments/{repeat['id']}")["last_evaluated_on"])
        sfn = stack.cloud.client("stepfunctions")
        sfn.start_execution(stateMachineArn=stack.cloud.physical("PipelineStateMachine"),
                            name="analytics-shop-previous-day",
                            input=json.dumps({"shop": SHOP,
                                              "run_date": (day - timedelta(days=1)).isoformat()}))
        executions = stack.cloud.wait_for_executions(timeout_s=600)
        yield {"stack": stack, "store": store, "api": api, "buyers": buyers, "repeat": repeat,
               "journey": journey, "day": day, "executions": executions}


def test_both_days_ran_and_the_shop_step_succeeded(run):
    sfn = run["stack"].cloud.client("stepfunctions")
    assert {e["status"] for e in run["executions"]} == {"SUCCEEDED"}
    for execution in run["executions"]:
        output = json.loads(sfn.describe_execution(
            executionArn=execution["executionArn"])["output"] or "{}")
        assert "analytics_error" not in output


def test_the_profile_of_a_segment_is_served(run):
    repeat = run["repeat"]
    profile = run["api"].get(f"/segments/{repeat['id']}/profile")
    assert profile["day"] == run["day"].isoformat()
    repeaters = sum(n >= 2 for n in counted_order_counts(run["store"]).values())
    assert profile["member_count"] == repeaters
    buckets = {t["value"]: t for t in profile["traits"]["order_counts"]}
    # Every member has 2+ orders: the 0 and 1 buckets are empty, the rest sum to everyone.
    assert buckets["0"]["segment_customers"] == buckets["1"]["segment_customers"] == 0
    assert sum(t["segment_customers"] for t in buckets.values()) == profile["member_count"]
    assert profile["traits"]["products"], "members bought products"


def test_monthly_revenue_of_buyers_adds_up_to_their_orders_of_those_months(run):
    store, day = run["store"], run["day"]
    body = run["api"].get(f"/segments/{run['buyers']['id']}/revenue?period=month")
    months = {p["period"]: p for p in body["points"]}
    current = f"{day.year:04d}-{day.month:02d}"
    assert current in months
    orders_this_month = sum(
        1 for o in store.orders.values()
        if o.get("customer") and not o.get("cancelledAt")
        and o["createdAt"][:7] == current and o["createdAt"][:10] <= day.isoformat()
    )
    point = months[current]
    assert point["total"]["orders"] == orders_this_month
    assert point["new"]["orders"] + point["returning"]["orders"] == point["total"]["orders"]
    assert (Decimal(point["new"]["net_sales"]["amount"])
            + Decimal(point["returning"]["net_sales"]["amount"])
            == Decimal(point["total"]["net_sales"]["amount"]))


def test_cohorts_and_the_clv_model_are_served(run):
    api, counts = run["api"], counted_order_counts(run["store"])
    cohorts = api.get("/cohorts?limit=100")
    items = cohorts["items"]
    assert sum(c["customers"] for c in items) == len(counts)
    assert cohorts["time_to_next_order"]
    clv = api.get("/clv")
    assert clv["as_of"] == run["day"].isoformat()
    assert clv["status"] == "fitted", clv.get("reason")
    assert clv["summary"]["customers"] == len(counts)
    assert clv["bgnbd"]["r"] > 0 and clv["summary"]["horizons"][0]["days"] == 90


def test_a_journeys_transitions_and_funnel_are_served(run):
    api, day, journey = run["api"], run["day"], run["journey"]
    previous = day - timedelta(days=1)
    transitions = api.get(f"/journeys/{journey['id']}/transitions"
                          f"?from={previous.isoformat()}&to={day.isoformat()}")
    counts = counted_order_counts(run["store"])
    buyers = sum(n >= 1 for n in counts.values())
    repeaters = sum(n >= 2 for n in counts.values())

    def arriving(stage: str) -> int:
        return sum(c["customers"] for c in transitions["cells"] if c["to_stage"] == stage)

    # Each customer is counted once, at their furthest stage on the 'to' day.
    assert arriving(run["repeat"]["id"]) == repeaters
    assert arriving(run["buyers"]["id"]) == buyers - repeaters
    stages = {run["buyers"]["id"], run["repeat"]["id"], "(outside)"}
    assert {c["from_stage"] for c in transitions["cells"]} <= stages
    assert all(Decimal(c["net_sales"]["amount"]) >= 0 for c in transitions["cells"])
    funnel = api.get(f"/journeys/{journey['id']}/funnel")
    latest = funnel["points"][-1]
    assert latest["day"] == day.isoformat()
    assert [s["reached"] for s in latest["stages"]] == [buyers, repeaters]


def test_a_past_days_figures_are_jobs_then_served_as_computed_in_process(run):
    """A past day no run stored: each of its figures is a job of the function that
    computes it (202, followed on GET /jobs/{id} to its end), then the same request
    answers from what the job stored: the figures equal, to the cent, to the synchronous
    computation the API used to wait for (here in this process, on the lake the local
    cloud holds)."""
    from api.analytics_presenters import clv_out
    from metrics.analytics import clv_as_of, cohorts_as_of
    from seglift.lake.reader import LakeReader
    from segments.feature_cache import uncached_day_features
    from segments.predictions import prediction_page

    api, stack = run["api"], run["stack"]
    past = run["day"] - timedelta(days=40)
    shop = api.get("/shop")
    tz = shop["timezone"] or "UTC"
    urls = {"clv": f"/clv?day={past}", "cohorts": f"/cohorts?day={past}&limit=100",
            "predictions": f"/predictions?day={past}&limit=100&sort=chance_active&order=asc"}
    for kind, url in urls.items():
        job = api.get(url)
        assert (job["kind"], job["id"][:4]) == (kind, "job_"), job
        assert api.follow(job, timeout_s=300) == {"as_of": past.isoformat()}
    served = {kind: api.get(url) for kind, url in urls.items()}
    assert all(figures["as_of"] == past.isoformat() for figures in served.values())

    reader = LakeReader(stack.cloud.client("s3"), stack.cloud.physical("DataBucket"), SHOP)
    expected_clv = clv_as_of(past, reader=reader, tz=tz)

    class Item:
        sort_key, payload = past.isoformat(), expected_clv

    assert served["clv"] == json.loads(clv_out(Item(), shop["currency"]).model_dump_json())
    expected_cohorts = cohorts_as_of(past, reader=reader, tz=tz)["cohorts"]["cohorts"]
    assert [(c["cohort"], c["customers"]) for c in served["cohorts"]["items"]] == [
        (c["cohort"], c["customers"]) for c in expected_cohorts]
    day = uncached_day_features(past, tz, reader, predictions=True)
    page = prediction_page(day.features, day.tables.customers, sort="chance_active",
                           descending=False, offset=0, limit=100)
    assert served["predictions"]["total"] == page["total"]
    assert [(i["customer_id"], i["chance_active"]) for i in served["predictions"]["items"]] == [
        (i["customer_id"], i["chance_active"]) for i in page["items"]]
    # Stored now: asked again, each is answered at once, no second job.
    assert all("kind" not in api.get(url) for url in urls.values())
