"""GET /conditions/fields (the builder's words) and POST /conditions/translate (the
condition as JSON and as a Shopify query, either way)."""

from __future__ import annotations

from tests.api.conftest import body_schema_accepts


def test_fields_are_offered_in_words_with_the_operators_that_apply(client):
    reply = client.get("/conditions/fields")
    assert reply.status == 200
    fields = {f["name"]: f for f in reply.json["fields"]}
    assert "customer_id" not in fields
    orders = fields["order_count"]
    assert (orders["label"], orders["kind"]) == ("Number of orders", "integer")
    assert {"op": ">=", "label": "is at least"} in orders["operators"]
    last = fields["last_order_date"]
    assert {"op": "<", "label": "is before"} in last["operators"]
    assert {"op": "in last days", "label": "is within the last days"} in last["operators"]
    assert {"value": "AT_RISK", "label": "At risk"} in fields["rfm_group"]["choices"]
    assert "number_of_orders" in reply.json["shopify_attributes"]


def test_a_condition_comes_back_as_a_shopify_query_and_the_query_as_the_condition(client):
    condition = {"and": [{"feature": "order_count", "op": ">=", "value": 2},
                         {"has_tag": "vip"}]}
    out = client.post("/conditions/translate", {"condition": condition})
    assert out.status == 200
    assert out.json == {"condition": condition, "untranslatable": None,
                        "shopify_query": "number_of_orders >= 2 AND customer_tags CONTAINS 'vip'"}
    back = client.post("/conditions/translate", {"shopify_query": out.json["shopify_query"]})
    assert (back.status, back.json["condition"]) == (200, condition)


def test_what_shopify_cannot_express_comes_back_named_not_as_an_error(client):
    condition = {"first_order_from": {"utm_campaign": "spring"}}
    out = client.post("/conditions/translate", {"condition": condition})
    assert out.status == 200
    assert out.json["shopify_query"] is None
    assert "“The first order came from” has no equivalent" in out.json["untranslatable"]


def test_bad_input_is_refused_in_words_with_the_place(client):
    bad = client.post("/conditions/translate", {"condition": {"and": [
        {"feature": "order_count", "op": ">=", "value": "two"}]}})
    assert (bad.status, bad.error["field"]) == (400, "condition.and[0].value")
    assert bad.error["message"] == "Number of orders needs a whole number; “two” is not one."
    query = client.post("/conditions/translate", {"shopify_query": "number_of_orders >= "})
    assert (query.status, query.error["field"]) == (400, "shopify_query")
    assert "of the query)" in query.error["message"]
    both = client.post("/conditions/translate", {"condition": {"has_tag": "x"},
                                                 "shopify_query": "x"})
    assert both.status == 400 and "not both" in both.error["message"]
    neither = client.post("/conditions/translate", {})
    assert neither.status == 400 and "to translate" in neither.error["message"]


def test_the_document_states_exactly_one_of_condition_or_query():
    valid = body_schema_accepts("/conditions/translate", "post")
    assert valid({"condition": {"has_tag": "x"}})
    assert valid({"shopify_query": "number_of_orders >= 2"})
    assert not valid({"condition": {"has_tag": "x"}, "shopify_query": "number_of_orders >= 2"})
    assert not valid({})
    assert not valid({"condition": None, "shopify_query": None})


def test_an_operator_that_is_not_a_word_is_refused_not_a_crash(client):
    """Found by schemathesis: an object or a list as the operator answered 500."""
    for op in ({"≥": 2}, [">="], None, 3):
        reply = client.post("/conditions/translate", {"condition": {
            "feature": "order_count", "op": op, "value": 2}})
        assert (reply.status, reply.error["code"]) == (400, "invalid_condition"), op
        assert "does not apply to Number of orders" in reply.error["message"]
