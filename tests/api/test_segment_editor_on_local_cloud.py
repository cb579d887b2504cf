"""The segment editor end to end on the local cloud (template.yaml deployed into moto):
the API function invokes the segments function for previews, explanations, list segments
and a new segment's backfill, exactly as wired in AWS.

Counts are checked against a brute-force reading of the generated store. The presigned
upload URL points at S3 itself, which moto serves in-process only, so the test PUTs the
file with the S3 client at the key the URL names (what the browser's PUT does).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from devkit.api_client import ApiError, JobFailed
from devkit.local_stack import local_stack
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import numeric_id
from seglift import keys

pytestmark = pytest.mark.integration

SHOP = "editor-shop.myshopify.com"
OTHER_SHOP = "editor-other.myshopify.com"


def _repeat_buyers(store) -> set[int]:
    counts: dict[int, int] = {}
    for order in store.orders.values():
        if order.get("cancelledAt") or not order.get("customer"):
            continue
        customer = numeric_id(order["customer"]["id"])
        counts[customer] = counts.get(customer, 0) + 1
    return {c for c, n in counts.items() if n >= 2}


def _email(customer: dict) -> str | None:
    return (customer.get("defaultEmailAddress") or {}).get("emailAddress")


@pytest.fixture(scope="module")
def stack():
    store = generate_store(StoreSpec(domain=SHOP, customers=120, seed=21))
    other = generate_store(StoreSpec(domain=OTHER_SHOP, customers=20, seed=22))
    with local_stack([store, other], log_level="WARNING") as running:
        # Only the shop under test is synced (on demand): the editor needs its lake, and
        # the other shop only has to exist to be refused.
        running.api(SHOP).post("/shop/sync")
        executions = running.cloud.wait_for_executions(timeout_s=300)
        assert {e["status"] for e in executions} == {"SUCCEEDED"}
        yield running, store


@pytest.fixture(scope="module")
def repeat(stack):
    running, _ = stack
    return running.api(SHOP).post(
        "/segments", {"name": "Repeat buyers", "shopify_query": "number_of_orders >= 2"})


def test_a_preview_counts_the_condition_without_saving_it(stack):
    """The first preview of a day is a job (the day's lake read and its features computed
    by the segments function, invoked asynchronously): its result is the preview; the
    day's features then stay in the warm function, and the next preview is answered at
    once, equal to the job's."""
    running, store = stack
    api = running.api(SHOP)
    before = len(api.get("/segments")["items"])
    ask = {"shopify_query": "number_of_orders >= 2", "sample_size": 5,
           "as_of": (date.today() - timedelta(days=3)).isoformat()}  # no other test's day
    started = api.post("/segments/preview", ask)
    assert (started["kind"], started["id"][:4]) == ("preview", "job_"), started
    preview = api.follow(started, timeout_s=300)
    assert api.post("/segments/preview", ask) == preview  # warm: at once, the same
    preview = api.answer(api.post("/segments/preview", {k: v for k, v in ask.items()
                                                          if k != "as_of"}))
    expected = _repeat_buyers(store)
    assert preview["member_count"] == len(expected)
    assert preview["customer_count"] == len(store.customers)
    assert preview["sample"] == sorted(expected)[:5]
    assert len(api.get("/segments")["items"]) == before


def test_a_new_segment_has_a_backfilled_metrics_trend_on_day_one(stack, repeat):
    running, store = stack
    api = running.api(SHOP)
    segment = api.get(f"/segments/{repeat['id']}")
    assert segment["member_count"] == len(_repeat_buyers(store))
    last = date.fromisoformat(segment["last_evaluated_on"])
    series = api.get(f"/segments/{repeat['id']}/metrics?start={last - timedelta(days=40)}"
                     f"&end={last}")
    days = [date.fromisoformat(p["day"]) for p in series["points"]]
    assert days == [last - timedelta(days=29 - i) for i in range(30)]
    assert series["points"][-1]["values"]["member_count"] == str(segment["member_count"])
    # Point in time: nobody leaves "2+ orders", so membership never shrinks day to day.
    counts = [int(p["values"]["member_count"]) for p in series["points"]]
    assert counts == sorted(counts)
    snapshot = keys.member_ids_key(SHOP, repeat["id"], days[0])
    s3, bucket = running.cloud.client("s3"), running.cloud.physical("DataBucket")
    assert s3.head_object(Bucket=bucket, Key=snapshot)["ContentLength"] > 0


def test_explain_tells_a_member_from_a_non_member(stack, repeat):
    running, store = stack
    api = running.api(SHOP)
    members = _repeat_buyers(store)
    member = min(members)
    outsider = min(numeric_id(c) for c in store.customers if numeric_id(c) not in members)
    inside = api.answer(api.get(f"/segments/{repeat['id']}/explain?customer_id={member}"))
    outside = api.answer(api.get(f"/segments/{repeat['id']}/explain?customer_id={outsider}"))
    assert (inside["member"], inside["tree"]["passed"]) == (True, True)
    assert (outside["member"], outside["tree"]["passed"]) == (False, False)
    with pytest.raises(ApiError) as unknown:
        api.get(f"/segments/{repeat['id']}/explain?customer_id=1")
    assert (unknown.value.status, unknown.value.code) == (404, "customer_not_found")
    with pytest.raises(ApiError) as foreign:
        running.api(OTHER_SHOP).get(f"/segments/{repeat['id']}/explain?customer_id={member}")
    assert (foreign.value.status, foreign.value.code) == (404, "segment_not_found")


def test_a_csv_upload_becomes_a_list_segment(stack):
    running, store = stack
    api = running.api(SHOP)
    with_email = [c for c in store.customers.values() if _email(c)][:2]
    upload = api.post("/uploads")
    assert upload["fields"]["key"] == keys.upload_key(SHOP, upload["upload_id"])
    csv = "Email\n" + "".join(f"{_email(c).upper()}\n" for c in with_email)
    csv += "nobody@nowhere.example\nnot-an-email\n"
    s3, bucket = running.cloud.client("s3"), running.cloud.physical("DataBucket")
    s3.put_object(Bucket=bucket, Key=keys.upload_key(SHOP, upload["upload_id"]),
                  Body=csv.encode())

    job = api.post("/segments/lists", {"name": "Imported", "upload_id": upload["upload_id"]})
    assert (job["kind"], job["status"]) == ("list", "queued")
    made = api.follow(job)  # the segments function, invoked asynchronously, made it

    assert (made["kind"], made["member_count"]) == ("list", 2)
    report = made["upload"]
    assert (report["matched"], report["unmatched"], report["malformed"]) == (2, 1, 1)
    assert report["unmatched_rows"][0]["value"] == "nobody@nowhere.example"
    frozen = api.follow(api.post("/segments/lists", {"name": "Imported, again",
                                                     "snapshot_of": made["id"]}))
    assert frozen["member_count"] == 2


def test_a_file_that_is_not_a_csv_is_refused_with_a_clear_message(stack):
    running, _ = stack
    api = running.api(SHOP)
    upload = api.post("/uploads")
    s3, bucket = running.cloud.client("s3"), running.cloud.physical("DataBucket")
    s3.put_object(Bucket=bucket, Key=keys.upload_key(SHOP, upload["upload_id"]),
                  Body=b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary workbook")
    job = api.post("/segments/lists", {"name": "Sheet", "upload_id": upload["upload_id"]})
    with pytest.raises(JobFailed) as refused:  # only the segments function reads the file
        api.follow(job)
    assert refused.value.code == "invalid_upload"
    assert "not a CSV" in str(refused.value)
