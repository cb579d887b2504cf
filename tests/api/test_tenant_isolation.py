"""A shop can never read, change, delete or tag another shop's segments and jobs: every
attempt by id is 404, exactly as if the id did not exist, and nothing changes."""

from __future__ import annotations

import pytest

from tests.api.conftest import SHOP_A, SHOP_B, evaluated


@pytest.fixture
def foreign(api, client):
    """Shop A's segment and tag job, which shop B will try to reach."""
    segment = evaluated(api, SHOP_A, name="A's secret segment")
    job = client.post(f"/segments/{segment.segment_id}/tag-jobs",
                      {"tag": "vip", "action": "add"}).json
    return segment, job


def test_read_another_shops_segment_is_404(client_b, foreign):
    segment, _ = foreign
    assert client_b.get(f"/segments/{segment.segment_id}").status == 404
    assert client_b.get(f"/segments/{segment.segment_id}/metrics").status == 404


def test_rename_or_redefine_another_shops_segment_is_404_and_changes_nothing(
    client_b, api, foreign
):
    segment, _ = foreign
    renamed = client_b.patch(f"/segments/{segment.segment_id}", {"name": "pwned"})
    redefined = client_b.patch(f"/segments/{segment.segment_id}",
                               {"condition": {"has_tag": "x"}})
    assert renamed.status == redefined.status == 404
    assert api.segments.get(SHOP_A, segment.segment_id).name == "A's secret segment"


def test_delete_another_shops_segment_is_404_and_it_survives(client_b, api, foreign):
    segment, _ = foreign
    assert client_b.delete(f"/segments/{segment.segment_id}").status == 404
    assert api.segments.get(SHOP_A, segment.segment_id) is not None


def test_tag_another_shops_segment_is_404_and_starts_nothing(client_b, api, foreign):
    segment, _ = foreign
    before = dict(api.tag_jobs.jobs)
    reply = client_b.post(f"/segments/{segment.segment_id}/tag-jobs",
                          {"tag": "x", "action": "remove"})
    assert reply.status == 404
    assert api.tag_jobs.jobs == before


def test_preview_tagging_another_shops_segment_is_404_and_asks_shopify_nothing(
        client_b, api, foreign):
    segment, _ = foreign
    reply = client_b.get(f"/segments/{segment.segment_id}/tag-jobs/preview?tag=vip")
    assert (reply.status, reply.error["code"]) == (404, "segment_not_found")
    assert api.tag_previews.calls == []


def test_read_another_shops_tag_job_is_404(client_b, foreign):
    _, job = foreign
    assert client_b.get(f"/tag-jobs/{job['id']}").status == 404


def test_lists_show_only_the_callers_own_records(client_b, api, foreign):
    evaluated(api, SHOP_B, name="B's own")
    segments = client_b.get("/segments").json["items"]
    jobs = client_b.get("/tag-jobs").json["items"]
    assert [s["name"] for s in segments] == ["B's own"]
    assert jobs == []


def test_a_page_token_from_another_shop_reveals_nothing(client, client_b, api, foreign):
    for n in range(3):
        api.segments.create(SHOP_A, name=f"a{n}", condition={"has_tag": "x"})
    token = client.get("/segments?limit=1").json["next_token"]
    reply = client_b.get(f"/segments?next_token={token}")
    assert reply.status == 200
    assert all(not s["name"].startswith("a") for s in reply.json["items"])


def test_member_of_cannot_reference_another_shops_segment(client_b, foreign):
    segment, _ = foreign
    reply = client_b.post("/segments", {"name": "sneaky",
                                        "condition": {"member_of": segment.segment_id}})
    assert reply.status == 400


def test_the_shop_is_the_tokens_not_the_requests(client_b, api):
    """Query strings, headers and bodies naming a shop are ignored."""
    reply = client_b.get(f"/shop?shop={SHOP_A}",
                         headers={"X-Shopify-Shop-Domain": SHOP_A})
    assert reply.json["shop"] == SHOP_B
