"""Segments: create three ways, list with counts and metrics, read, change, delete, metrics."""

from __future__ import annotations

import json
from datetime import date

from tests.api.conftest import SHOP_A, evaluated

REPEAT = {"feature": "order_count", "op": ">=", "value": 2}


def test_create_from_a_condition_returns_201_and_the_segment(client, api):
    reply = client.post("/segments", {"name": "Repeat buyers", "condition": REPEAT})
    assert reply.status == 201
    body = reply.json
    assert body["name"] == "Repeat buyers"
    assert body["condition"] == REPEAT
    assert body["kind"] == "condition"
    assert body["member_count"] is None
    assert body["created_at"].startswith("2026-11-20T12:00:00")
    assert api.segments.get(SHOP_A, body["id"]).name == "Repeat buyers"


def test_create_from_a_shopify_query(client):
    reply = client.post("/segments", {"name": "Q", "shopify_query": "number_of_orders >= 3"})
    assert reply.status == 201
    assert reply.json["condition"] == {"feature": "order_count", "op": ">=", "value": 3}


def test_create_from_a_template_takes_its_name_and_params(client):
    reply = client.post("/segments", {"template": {"id": "journey-loyal",
                                                   "params": {"min_orders": 7}}})
    assert reply.status == 201
    assert reply.json["name"].startswith("Loyal")
    assert reply.json["template_id"] == "journey-loyal"
    assert '"value": 7' in json.dumps(reply.json["condition"])


def test_a_given_name_overrides_the_templates(client):
    reply = client.post("/segments", {"name": "Mine", "template": {"id": "rfm-champions"}})
    assert (reply.status, reply.json["name"]) == (201, "Mine")


def test_unknown_template_is_400_naming_template_id(client):
    reply = client.post("/segments", {"template": {"id": "no-such-template"}})
    assert reply.status == 400
    assert reply.error["field"] == "template.id"


def test_bad_template_params_are_400_naming_the_parameter(client):
    wrong_type = client.post("/segments", {"template": {"id": "journey-loyal",
                                                        "params": {"min_orders": "many"}}})
    unknown = client.post("/segments", {"template": {"id": "journey-loyal",
                                                     "params": {"colour": "red"}}})
    missing = client.post("/segments", {"template": {"id": "product-first-purchase"}})
    # Named as the form labels them (words, not field names).
    for reply, name in ((wrong_type, "“min orders”"), (unknown, "colour"),
                        (missing, "“product id”")):
        assert reply.status == 400
        assert reply.error["field"] == "template.params"
        assert name in reply.error["message"]


def test_unparseable_shopify_query_is_400_naming_the_field(client):
    reply = client.post("/segments", {"name": "Q", "shopify_query": "orders are great"})
    assert reply.status == 400
    assert reply.error["code"] == "invalid_shopify_query"
    assert reply.error["field"] == "shopify_query"
    assert "number_of_orders" in reply.error["message"]  # says what is supported


def test_an_invalid_condition_points_at_the_bad_node(client):
    condition = {"and": [REPEAT, {"feature": "order_count", "op": ">=", "value": "two"}]}
    reply = client.post("/segments", {"name": "Bad", "condition": condition})
    assert reply.status == 400
    assert reply.error["code"] == "invalid_condition"
    assert reply.error["field"].startswith("condition.and[1]")


def test_exactly_one_definition_is_required(client):
    both = client.post("/segments", {"name": "x", "condition": REPEAT,
                                     "shopify_query": "number_of_orders >= 1"})
    none = client.post("/segments", {"name": "x"})
    assert both.status == none.status == 400
    assert "exactly one" in both.error["message"]


def test_a_name_is_required_without_a_template(client):
    reply = client.post("/segments", {"condition": REPEAT})
    assert reply.status == 400
    assert reply.error["field"] == "name"


def test_member_of_must_name_an_existing_segment_of_the_shop(client):
    reply = client.post("/segments", {"name": "x", "condition": {"member_of": "nope"}})
    assert reply.status == 400
    assert reply.error["field"].startswith("condition")


def test_list_carries_member_counts_and_latest_metrics_in_money_shape(client, api):
    segment = evaluated(api, SHOP_A, members=12)
    api.metrics.add(SHOP_A, segment.segment_id, date(2026, 11, 18), ltv="10.5", member_count=11)
    api.metrics.add(SHOP_A, segment.segment_id, date(2026, 11, 19), ltv="120.250",
                    aov="40.08", avg_purchase_count="1.75", member_count=12, repeat_rate=None)
    reply = client.get("/segments")
    assert reply.status == 200
    [item] = reply.json["items"]
    assert item["member_count"] == 12
    assert item["last_evaluated_on"] == "2026-11-19"
    latest = item["latest_metrics"]
    assert latest["day"] == "2026-11-19"
    assert latest["money"]["ltv"] == {"amount": "120.250", "currency": "EUR"}
    assert latest["money"]["aov"] == {"amount": "40.08", "currency": "EUR"}
    assert latest["values"] == {"avg_purchase_count": "1.75", "member_count": "12"}
    assert reply.json["next_token"] is None


def test_list_pages_with_an_opaque_token_until_the_end(client, api):
    for n in range(5):
        api.segments.create(SHOP_A, name=f"s{n}", condition=REPEAT)
    seen, token, pages = [], None, 0
    while True:
        url = "/segments?limit=2" + (f"&next_token={token}" if token else "")
        reply = client.get(url)
        assert reply.status == 200
        seen += [s["name"] for s in reply.json["items"]]
        pages += 1
        token = reply.json["next_token"]
        if token is None:
            break
    assert sorted(seen) == [f"s{n}" for n in range(5)]
    assert pages == 3


def test_get_one_segment(client, api):
    segment = evaluated(api, SHOP_A)
    reply = client.get(f"/segments/{segment.segment_id}")
    assert reply.status == 200
    assert reply.json["id"] == segment.segment_id
    assert reply.json["latest_metrics"] is None


def test_unknown_segment_is_404(client):
    reply = client.get("/segments/seg-9999")
    assert reply.status == 404
    assert reply.error["code"] == "segment_not_found"


def test_patch_renames_and_changes_the_condition(client, api):
    segment = evaluated(api, SHOP_A)
    new_condition = {"feature": "order_count", "op": ">=", "value": 5}
    reply = client.patch(f"/segments/{segment.segment_id}",
                         {"name": "  Loyal  ", "condition": new_condition})
    assert reply.status == 200
    assert reply.json["name"] == "Loyal"
    assert reply.json["condition"] == new_condition


def test_patch_refuses_a_cycle_through_member_of(client, api):
    a = api.segments.create(SHOP_A, name="a", condition=REPEAT)
    b = api.segments.create(SHOP_A, name="b", condition={"member_of": a.segment_id})
    reply = client.patch(f"/segments/{a.segment_id}",
                         {"condition": {"member_of": b.segment_id}})
    assert reply.status == 400
    assert reply.error["code"] == "invalid_condition"


def test_patch_with_nothing_to_change_is_400(client, api):
    segment = evaluated(api, SHOP_A)
    assert client.patch(f"/segments/{segment.segment_id}", {}).status == 400


def test_delete_removes_the_segment(client, api):
    segment = evaluated(api, SHOP_A)
    reply = client.delete(f"/segments/{segment.segment_id}")
    assert (reply.status, reply.text) == (204, "")
    assert api.segments.get(SHOP_A, segment.segment_id) is None


def test_delete_is_409_while_another_segment_uses_it(client, api):
    base = evaluated(api, SHOP_A)
    api.segments.create(SHOP_A, name="VIP repeaters", condition={"member_of": base.segment_id})
    reply = client.delete(f"/segments/{base.segment_id}")
    assert reply.status == 409
    assert reply.error["code"] == "segment_in_use"
    # The merchant is told which segment, by its name (not an id or a route).
    assert "“VIP repeaters” uses it" in reply.error["message"]
    assert "member_of" not in reply.error["message"]
    assert api.segments.get(SHOP_A, base.segment_id) is not None


def test_delete_is_409_while_a_tag_job_runs_on_it(client, api):
    segment = evaluated(api, SHOP_A)
    assert client.post(f"/segments/{segment.segment_id}/tag-jobs",
                       {"tag": "vip", "action": "add"}).status == 202
    reply = client.delete(f"/segments/{segment.segment_id}")
    assert reply.status == 409
    assert "tag job is still running" in reply.error["message"]


def test_metrics_series_between_two_days(client, api):
    segment = evaluated(api, SHOP_A)
    for day in (17, 18, 19, 20):
        api.metrics.add(SHOP_A, segment.segment_id, date(2026, 11, day), revenue_of_day=f"{day}.00")
    reply = client.get(f"/segments/{segment.segment_id}/metrics?start=2026-11-18&end=2026-11-19")
    assert reply.status == 200
    assert reply.json["start"] == "2026-11-18"
    assert [p["day"] for p in reply.json["points"]] == ["2026-11-18", "2026-11-19"]
    assert reply.json["points"][0]["money"]["revenue_of_day"] == {
        "amount": "18.00", "currency": "EUR"}


def test_metrics_default_to_the_last_90_days(client, api):
    segment = evaluated(api, SHOP_A)
    reply = client.get(f"/segments/{segment.segment_id}/metrics")
    assert reply.status == 200
    assert (reply.json["start"], reply.json["end"]) == ("2026-08-23", "2026-11-20")


def test_metrics_range_errors_name_the_field(client, api):
    segment = evaluated(api, SHOP_A)
    url = f"/segments/{segment.segment_id}/metrics"
    backwards = client.get(url + "?start=2026-11-19&end=2026-11-01")
    too_long = client.get(url + "?start=2020-01-01&end=2026-11-01")
    not_a_date = client.get(url + "?start=yesterday")
    assert backwards.status == too_long.status == not_a_date.status == 400
    assert backwards.error["field"] == "start"
    assert not_a_date.error["field"] == "start"


def test_templates_of_one_category(client):
    reply = client.get("/templates?category=rfm&limit=100")
    assert reply.status == 200
    items = reply.json["items"]
    assert items and {t["category"] for t in items} == {"rfm"}
    assert "rfm-champions" in {t["id"] for t in items}


def test_templates_describe_their_parameters(client):
    items = client.get("/templates?category=journey&limit=100").json["items"]
    loyal = next(t for t in items if t["id"] == "journey-loyal")
    min_orders = next(p for p in loyal["parameters"] if p["name"] == "min_orders")
    assert (min_orders["type"], min_orders["default"]) == ("integer", 4)


def test_templates_page_through_every_template_once(client):
    everything = client.get("/templates?limit=100").json["items"]
    seen, token = [], None
    while True:
        reply = client.get("/templates?limit=10" + (f"&next_token={token}" if token else ""))
        seen += [t["id"] for t in reply.json["items"]]
        token = reply.json["next_token"]
        if token is None:
            break
    assert seen == [t["id"] for t in everything]
    assert len(seen) == len(set(seen)) > 10


def test_an_unknown_category_is_400_listing_the_categories(client):
    reply = client.get("/templates?category=astrology")
    assert reply.status == 400
    assert reply.error["field"] == "category"
    assert "rfm" in reply.error["message"]


def test_a_missing_segment_is_explained_without_routes_or_ids(client):
    reply = client.get("/segments/seg_gone")
    assert reply.status == 404
    assert reply.error["message"] == (
        "This segment does not exist in your store (it may have been deleted).")
