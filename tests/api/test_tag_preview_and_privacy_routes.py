"""Previewing a tag job before starting it, and the shop's GDPR requests with their status."""

from __future__ import annotations

from datetime import UTC, datetime

from api.errors import ApiError, Conflict
from api.ports import PrivacyRequest
from tests.api.conftest import SHOP_A, SHOP_B, evaluated

# ------------------------------------------------------------------ tag job preview


def test_the_preview_says_how_many_members_would_change_and_changes_nothing(client, api):
    segment = evaluated(api, SHOP_A, members=12)
    reply = client.get(f"/segments/{segment.segment_id}/tag-jobs/preview?tag=%20VIP%20"
                       "&action=remove")
    assert reply.status == 200
    assert reply.json == {"segment_id": segment.segment_id, "tag": "VIP", "action": "remove",
                          "members": 12, "would_change": 10, "already_done": 2,
                          "would_fail": 0, "exact": True, "sampled": 12}
    assert api.tag_previews.calls == [(SHOP_A, segment.segment_id, "VIP", "remove")]
    assert api.tag_jobs.jobs == {}


def test_the_preview_adds_unless_told_otherwise(client, api):
    segment = evaluated(api, SHOP_A)
    assert client.get(f"/segments/{segment.segment_id}/tag-jobs/preview?tag=vip").json[
        "action"] == "add"


def test_a_bad_tag_or_action_is_refused_before_shopify_is_asked(client, api):
    segment = evaluated(api, SHOP_A)
    url = f"/segments/{segment.segment_id}/tag-jobs/preview"
    comma = client.get(f"{url}?tag=vip,gold")
    missing = client.get(url)
    verb = client.get(f"{url}?tag=vip&action=toggle")
    assert (comma.status, comma.error["field"]) == (400, "tag")
    assert "comma" in comma.error["message"]
    assert (missing.status, missing.error["field"]) == (400, "tag")
    assert (verb.status, verb.error["field"]) == (400, "action")
    assert api.tag_previews.calls == []


def test_previewing_an_unknown_segment_is_404(client, api):
    reply = client.get("/segments/nope/tag-jobs/preview?tag=vip")
    assert (reply.status, reply.error["code"]) == (404, "segment_not_found")


def test_what_the_merchant_must_fix_or_retry_comes_back_in_the_error_shape(client, api):
    segment = evaluated(api, SHOP_A)
    url = f"/segments/{segment.segment_id}/tag-jobs/preview?tag=vip"
    api.tag_previews.error = Conflict("segment 'x' has not been evaluated yet: wait",
                                      code="segment_not_taggable")
    not_taggable = client.get(url)
    api.tag_previews.error = ApiError("Shopify is busy: try the preview again in a minute",
                                      code="shopify_unavailable", status=503)
    busy = client.get(url)
    assert (not_taggable.status, not_taggable.error["code"]) == (409, "segment_not_taggable")
    assert (busy.status, busy.error["code"]) == (503, "shopify_unavailable")
    assert busy.headers["Retry-After"] == "30"  # every 503 says when to try again
    assert "try the preview again" in busy.error["message"]


# ------------------------------------------------------------------ privacy requests


def _received(api, shop: str, webhook_id: str, kind: str, hour: int) -> None:
    api.privacy_requests.record(PrivacyRequest(
        kind=kind, shop=shop, webhook_id=webhook_id,
        received_at=datetime(2026, 11, 20, hour, tzinfo=UTC), customer_id=77,
        payload={"customer": {"id": 77, "email": "zed@example.com"}}))


def test_privacy_requests_are_listed_newest_first_with_their_status(client, api):
    _received(api, SHOP_A, "wh-1", "customer_data_request", 8)
    api.privacy_requests.processed.append((SHOP_A, {
        "webhook_id": "wh-0", "kind": "customer_redact", "status": "done",
        "received_at": "2026-11-19T08:00:00+00:00", "processed_at": "2026-11-19T15:00:00+00:00",
        "data_request_id": None, "reason": None,
        "counts": {"lake_rows_removed.orders": 4, "measurement_lists_rewritten": 1}}))
    reply = client.get("/privacy-requests")
    assert reply.status == 200
    items = reply.json["items"]
    assert [(i["webhook_id"], i["kind"], i["status"]) for i in items] == [
        ("wh-1", "customer_data_request", "pending"), ("wh-0", "customer_redact", "done")]
    assert items[1]["counts"] == {"lake_rows_removed.orders": 4, "measurement_lists_rewritten": 1}
    assert reply.json["next_token"] is None
    assert "77" not in reply.text and "zed@" not in reply.text


def test_privacy_requests_come_in_pages(client, api):
    for hour in range(5):
        _received(api, SHOP_A, f"wh-{hour}", "customer_redact", hour)
    first = client.get("/privacy-requests?limit=2")
    second = client.get(f"/privacy-requests?limit=2&next_token={first.json['next_token']}")
    third = client.get(f"/privacy-requests?limit=2&next_token={second.json['next_token']}")
    listed = [i["webhook_id"] for r in (first, second, third) for i in r.json["items"]]
    assert listed == ["wh-4", "wh-3", "wh-2", "wh-1", "wh-0"]
    assert third.json["next_token"] is None
    assert client.get("/privacy-requests?next_token=garbage!").status == 400


def test_a_shop_sees_only_its_own_privacy_requests(client, client_b, api):
    _received(api, SHOP_A, "wh-a", "customer_redact", 8)
    _received(api, SHOP_B, "wh-b", "shop_redact", 9)
    assert [i["webhook_id"] for i in client_b.get("/privacy-requests").json["items"]] == [
        "wh-b"]
    token = client.get("/privacy-requests?limit=1").json["next_token"]
    assert token is None  # one request: no next page to borrow
    _received(api, SHOP_A, "wh-a2", "customer_redact", 10)
    token = client.get("/privacy-requests?limit=1").json["next_token"]
    # Shop A's page token resumes nothing in shop B.
    assert client_b.get(f"/privacy-requests?next_token={token}").json["items"] == []
