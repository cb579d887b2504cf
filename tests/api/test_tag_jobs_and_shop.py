"""Tag jobs (start, read, list) and the shop (status, on-demand sync)."""

from __future__ import annotations

from tests.api.conftest import SHOP_A, body_schema_accepts, evaluated


def test_start_a_tag_job_returns_202_and_the_queued_job(client, api):
    segment = evaluated(api, SHOP_A, members=12)
    reply = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                        {"tag": "  VIP  ", "action": "add"})
    assert reply.status == 202
    job = reply.json
    assert reply.headers["Location"] == f"/tag-jobs/{job['id']}"  # stated in the document
    assert client.get(reply.headers["Location"]).json["id"] == job["id"]
    assert (job["segment_id"], job["tag"], job["action"], job["status"]) == (
        segment.segment_id, "VIP", "add", "queued")
    assert job["total"] == 12
    assert api.tag_jobs.get(SHOP_A, job["id"]).requested_by == "1"


def test_tag_rules_come_from_shopify(client, api):
    segment = evaluated(api, SHOP_A)
    url = f"/segments/{segment.segment_id}/tag-jobs"
    comma = client.post(url, {"tag": "vip,gold", "action": "add"})
    blank = client.post(url, {"tag": "   ", "action": "add"})
    verb = client.post(url, {"tag": "vip", "action": "toggle"})
    assert comma.status == blank.status == verb.status == 400
    assert comma.error["field"] == blank.error["field"] == "tag"
    assert "comma" in comma.error["message"]
    assert verb.error["field"] == "action"


def test_a_segment_never_evaluated_cannot_be_tagged_yet(client, api):
    segment = api.segments.create(SHOP_A, name="new", condition={"has_tag": "x"})
    reply = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                        {"tag": "vip", "action": "add"})
    assert reply.status == 409
    assert reply.error["code"] == "segment_not_evaluated"


def test_tag_jobs_stop_once_the_app_is_uninstalled(client, api):
    segment = evaluated(api, SHOP_A)
    api.shops.mark_uninstalled(SHOP_A, None)
    reply = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                        {"tag": "vip", "action": "add"})
    assert (reply.status, reply.error["code"]) == (403, "shop_uninstalled")


def test_read_and_list_tag_jobs_newest_first_with_pages(client, api):
    segment = evaluated(api, SHOP_A)
    ids = [
        client.post(f"/segments/{segment.segment_id}/tag-jobs",
                    {"tag": f"t{n}", "action": "add"}).json["id"]
        for n in range(3)
    ]
    one = client.get(f"/tag-jobs/{ids[0]}")
    assert one.status == 200 and one.json["tag"] == "t0"
    first = client.get("/tag-jobs?limit=2")
    second = client.get(f"/tag-jobs?limit=2&next_token={first.json['next_token']}")
    listed = [j["id"] for j in first.json["items"] + second.json["items"]]
    assert listed == list(reversed(ids))
    assert second.json["next_token"] is None


def test_unknown_tag_job_is_404(client):
    reply = client.get("/tag-jobs/job-9999")
    assert (reply.status, reply.error["code"]) == (404, "tag_job_not_found")


def test_get_shop_shows_the_last_sync(client, api):
    record = api.shops.get(SHOP_A)
    record.sync_status = "failed"
    record.last_sync_error = "Shopify returned 503 three times"
    record.last_sync_duration_ms = 1234
    reply = client.get("/shop")
    assert reply.status == 200
    assert reply.json["shop"] == SHOP_A
    assert reply.json["currency"] == "EUR"
    assert reply.json["sync"]["status"] == "failed"
    assert reply.json["sync"]["error"] == "Shopify returned 503 three times"
    assert reply.json["sync"]["duration_ms"] == 1234


def test_a_shop_without_a_record_is_403_install_again(client, api):
    del api.shops.records[SHOP_A]  # never installed, or redacted
    reply = client.get("/shop")
    assert (reply.status, reply.error["code"]) == (403, "shop_uninstalled")


def test_sync_on_demand_asks_the_sync_function(client, api):
    reply = client.post("/shop/sync")
    assert reply.status == 202
    assert reply.headers["Location"] == "/shop"  # where the sync's status shows
    assert reply.json == {"shop": SHOP_A, "status": "requested"}
    assert api.sync.requested == [SHOP_A]


def test_sync_on_demand_is_409_while_running_or_uninstalled(client, api):
    api.shops.get(SHOP_A).sync_status = "running"
    running = client.post("/shop/sync")
    api.shops.get(SHOP_A).sync_status = "succeeded"
    api.shops.mark_uninstalled(SHOP_A, None)
    uninstalled = client.post("/shop/sync")
    assert (running.status, running.error["code"]) == (409, "sync_running")
    assert (uninstalled.status, uninstalled.error["code"]) == (403, "shop_uninstalled")
    assert api.sync.requested == []


def test_keep_in_sync_is_switched_on_with_the_first_tag_job_and_off_again(client, api):
    segment = evaluated(api, SHOP_A, members=5)
    url = f"/segments/{segment.segment_id}"
    reply = client.post(f"{url}/tag-jobs", {"tag": "vip", "action": "add", "keep_in_sync": True})
    assert reply.status == 202
    assert client.get(url).json["keep_in_sync_tag"] == "vip"
    assert client.request("DELETE", f"{url}/tag-sync").status == 204
    assert client.get(url).json["keep_in_sync_tag"] is None


def test_keep_in_sync_only_adds_a_tag(client, api):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                        {"tag": "vip", "action": "remove", "keep_in_sync": True})
    assert reply.status == 400 and reply.error["field"] == "keep_in_sync"
    assert client.get(f"/segments/{segment.segment_id}").json["keep_in_sync_tag"] is None


def test_the_notification_email_is_set_shown_and_cleared_per_shop(client, api):
    assert client.get("/shop").json["notification_email"] is None
    reply = client.patch("/shop", {"notification_email": "  ops@alpha.example  "})
    assert reply.status == 200 and reply.json["notification_email"] == "ops@alpha.example"
    assert api.shops.get(SHOP_A).notification_email == "ops@alpha.example"
    cleared = client.patch("/shop", {"notification_email": ""})
    assert cleared.status == 200 and cleared.json["notification_email"] is None
    assert api.shops.get(SHOP_A).notification_email is None


def test_a_notification_email_that_is_not_one_address_is_refused_in_words(client, api):
    api.shops.set_notification_email(SHOP_A, "kept@alpha.example")
    for wrong in ("ops", "a@b", "a@b.com, c@d.com", "Ops <ops@alpha.example>"):
        reply = client.patch("/shop", {"notification_email": wrong})
        assert reply.status == 400, wrong
        assert reply.error["field"] == "notification_email"
        assert "is not an e-mail address" in reply.error["message"]
    assert api.shops.get(SHOP_A).notification_email == "kept@alpha.example"
    unknown = client.patch("/shop", {"email": "ops@alpha.example"})
    assert unknown.status == 400


def test_keep_in_sync_is_refused_on_a_list_in_merchant_words(client, api):
    segment = evaluated(api, SHOP_A)
    segment.kind = "list"
    reply = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                        {"tag": "vip", "action": "add", "keep_in_sync": True})
    assert reply.status == 400
    assert "list's members never change" in reply.error["message"]
    assert "keep_in_sync" not in reply.error["message"]


def test_the_document_and_the_server_accept_the_same_notification_emails(client, api):
    valid = body_schema_accepts("/shop", "patch")
    for given in ("ops@alpha.example", "  ops@alpha.example\n", "", "  ", "ops", "a@b",
                  "a@b.c", "a@b.com, c@d.com", "Ops <ops@alpha.example>", "a b@c.com",
                  "a@b.com.", "x" * 250 + "@b.com"):
        reply = client.patch("/shop", {"notification_email": given})
        assert (reply.status == 200) == valid({"notification_email": given}), given


def test_the_document_says_a_tag_kept_in_sync_is_added():
    valid = body_schema_accepts("/segments/{segment_id}/tag-jobs", "post")
    assert valid({"tag": "vip", "action": "add", "keep_in_sync": True})
    assert valid({"tag": "vip", "action": "remove"})
    assert valid({"tag": "vip", "action": "remove", "keep_in_sync": False})
    assert not valid({"tag": "vip", "action": "remove", "keep_in_sync": True})
