"""Regression suite of the attacks in issue #17: each malformed or out-of-range input is a
4xx in the one error shape with a message saying what to fix, never a 5xx and never a
value saved that a later daily run could not evaluate."""

from __future__ import annotations

import pytest

from seglift.bounds import INT64_MAX, MAX_DAYS
from tests.api.conftest import SHOP_A, evaluated, moto_jobs
from tests.api.measurement_fakes import install_measurements

SEGMENT_BODY = '{"name": "x", "condition": %s}'


def _refused(reply, status=400, code=None):
    assert reply.status == status, reply.text
    error = reply.error
    assert error["message"]
    if code:
        assert error["code"] == code, error
    return error


# ---------------------------------------------------------------- bodies


def test_a_body_that_is_not_utf8_is_400_on_every_json_route(client):
    segment = evaluated(client.api, SHOP_A)
    raw = b'{"name": "\xff\xfe caf\xe9", "condition": {"has_tag": "x"}}'
    for url in ("/segments", "/segments/preview", "/measurements", "/journeys",
                f"/segments/{segment.segment_id}/exports", "/segments/lists"):
        error = _refused(client.request("POST", url, raw_body=raw, base64_body=True),
                         code="invalid_encoding")
        assert "UTF-8" in error["message"]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; x=1",
                                          "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_json_by_its_content_type_is_415(client, content_type):
    reply = client.request("POST", "/segments", raw_body='{"name": "x"}',
                           headers={"Content-Type": content_type})
    error = _refused(reply, 415, "unsupported_media_type")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("raw", [
    "[" * 10_000 + "]" * 10_000,
    SEGMENT_BODY % ('{"not": ' * 3000 + '{"has_tag": "x"}' + "}" * 3000),
    '{"name": "' + "[" * 5000 + '", "condition": ' + "[" * 200 + "]" * 200 + "}",
])
def test_deep_nesting_is_refused_before_any_recursive_parse(client, raw):
    _refused(client.request("POST", "/segments", raw_body=raw), code="too_deep")


def test_brackets_inside_strings_do_not_count_as_nesting(client):
    reply = client.post("/segments", {"name": "[[[[" * 60, "condition": {"has_tag": "{{" * 200}})
    assert reply.status == 201, reply.text


@pytest.mark.parametrize("number", ["9" * 5000, str(INT64_MAX + 1), str(-(2**64)), "1e400",
                                    "-1e400", "1e999999", "NaN", "Infinity", "-Infinity"])
def test_numbers_no_table_can_store_are_400(client, api, number):
    leaf = '{"feature": "total_spent", "op": ">=", "value": ' + number + "}"
    raw = SEGMENT_BODY % leaf
    error = _refused(client.request("POST", "/segments", raw_body=raw),
                     code="number_out_of_range")
    assert "number" in error["message"]
    assert api.segments.records == {}


# ---------------------------------------------------------------- conditions and templates


@pytest.mark.parametrize("condition", [
    {"feature": "order_count", "op": ">=", "value": INT64_MAX},
    {"feature": "last_order_date", "op": "in last days", "value": MAX_DAYS},
    {"bought": {"product_id": INT64_MAX}},
])
def test_the_largest_values_evaluation_handles_are_saved(client, condition):
    assert client.post("/segments", {"name": "edge", "condition": condition}).status == 201


@pytest.mark.parametrize("condition", [
    {"feature": "last_order_date", "op": "in last days", "value": 10**12},
    {"feature": "last_order_date", "op": ">", "value": "0001-01-01"},
    {"feature": "total_spent", "op": ">", "value": 1e300},
    {"bought": {"within_days": 10**9}},
])
def test_values_beyond_what_evaluation_handles_are_refused_when_saved(client, api, condition):
    before = len(api.segments.records)
    error = _refused(client.post("/segments", {"name": "x", "condition": condition}))
    assert error["field"].startswith("condition")
    assert len(api.segments.records) == before
    preview = client.post("/segments/preview", {"condition": condition})
    assert preview.status == 400


def test_template_parameters_at_ten_to_the_nineteen_are_refused_when_saved(client, api):
    params = {"min_orders": 10**19 - 1, "days": 30}
    reply = client.post("/segments", {"template": {"id": "journey-loyal", "params": params}})
    _refused(reply)
    reply = client.post("/segments", {"template": {"id": "journey-dormant",
                                                   "params": {"days": 10**12}}})
    _refused(reply)
    assert api.segments.records == {}


@pytest.mark.parametrize("query", [
    "(" * 2400 + "number_of_orders >= 2" + ")" * 2400,
    "number_of_orders >= " + "9" * 400,
    "last_order_date > -" + "9" * 30 + "d",
])
def test_shopify_queries_out_of_range_are_400(client, query):
    error = _refused(client.post("/segments", {"name": "x", "shopify_query": query}))
    assert error["field"] == "shopify_query"


# ---------------------------------------------------------------- query strings


def assert_merchant_words(message: str) -> None:
    """A refusal's message names the setting in words: no field path, no request part,
    no pydantic phrasing (the path is in the error's ``field``)."""
    for leak in ("_", "field '", "query ", "body ", "Input should", "["):
        assert leak not in message, message


@pytest.mark.parametrize("path", [
    "metrics?start=0001-01-01&end=0001-01-05", "metrics?end=0001-01-01", "metrics?end=0",
    "metrics?start=1", "revenue?end=0001-01-01", "revenue?start=0001-01-01",
    "profile?day=0001-01-01", "metrics?end=9999-12-31", "metrics?end=2026-02-30",
    "explain?customer_id=9223372036854775808", "explain?customer_id=" + "9" * 5000,
])
def test_out_of_range_query_values_are_400_naming_the_field(client, api, path):
    segment = evaluated(api, SHOP_A)
    error = _refused(client.get(f"/segments/{segment.segment_id}/{path}"))
    assert error["field"] in ("start", "end", "day", "customer_id")
    assert_merchant_words(error["message"])


@pytest.mark.parametrize("url", [
    "/journeys/jrn-abc1/transitions?from=0001-01-01&to=0001-01-02",
    "/journeys/jrn-abc1/transitions?to=0001-01-01",
    "/journeys/jrn-abc1/funnel?start=0001-01-01", "/journeys/jrn-abc1/funnel?end=0001-01-01",
    "/cohorts?day=0001-01-01", "/clv?day=0", "/segments/overlap?ids=a,b&day=0001-01-01",
])
def test_year_one_days_are_400_on_analytics_routes(client, url):
    error = _refused(client.get(url))
    assert "YYYY-MM-DD" in error["message"] or "1970-01-01" in error["message"]


# ---------------------------------------------------------------- strict types


@pytest.mark.parametrize("body", [{"bom": "yes"}, {"bom": 1}, {"metrics": "total_spent"}])
def test_export_options_are_not_coerced(client, api, body):
    segment = evaluated(api, SHOP_A)
    assert_merchant_words(_refused(
        client.post(f"/segments/{segment.segment_id}/exports", body))["message"])


@pytest.mark.parametrize("body", [{"tag": "x", "action": "add", "keep_in_sync": "yes"},
                                  {"tag": "x", "action": "add", "keep_in_sync": 1}])
def test_tag_job_flags_are_not_coerced(client, api, body):
    segment = evaluated(api, SHOP_A)
    error = _refused(client.post(f"/segments/{segment.segment_id}/tag-jobs", body))
    assert error["field"] == "keep_in_sync"
    assert error["message"].startswith("Keep in sync ")
    assert_merchant_words(error["message"])


# ---------------------------------------------------------------- measurements


@pytest.fixture
def list_segment(api):
    deps = install_measurements(api)
    segment = api.segments.create(SHOP_A, name="VIP", condition=None, kind="list",
                                  member_count=2, last_evaluated_on="2026-11-19")
    deps.members.ids[(SHOP_A, segment.segment_id)] = [1, 2]
    return segment


@pytest.mark.parametrize(("extra", "field"), [
    ({"goal": {"min_order_value": "1e999999"}}, "goal.min_order_value"),
    ({"goal": {"min_order_value": "NaN"}}, "goal.min_order_value"),
    ({"goal": {"min_order_value": "0.0001"}}, "goal.min_order_value"),
    ({"goal": {"product_ids": ["99999999999999999999"]}}, "goal.product_ids[0]"),
    ({"goal": {"product_ids": ["²"]}}, "goal.product_ids[0]"),
    ({"period": {"start": "9999-12-30", "end": "9999-12-31"}}, "period.start"),
    ({"period": {"start": "2099-01-01", "end": "2099-01-31"}}, "period.start"),
    ({"period": {"start": 0, "end": "2026-12-01"}}, "period.start"),
    ({"period": {"start": "0001-01-01", "end": "0001-01-02"}}, "period.start"),
])
def test_measurements_that_could_never_be_stored_or_completed_are_400(
        client, api, list_segment, extra, field):
    body = {"name": "m", "segment_id": list_segment.segment_id,
            "period": {"start": "2026-11-01", "end": "2026-11-30"}, **extra}
    error = _refused(client.post("/measurements", body))
    assert error["field"] == field


@pytest.mark.parametrize(("extra", "field"), [
    ({"seed": False}, "seed"), ({"holdout": "yes"}, "holdout"), ({"groups": 2.5}, "groups"),
    ({"groups": "3"}, "groups"), ({"seed": 2**64}, "body"),
])
def test_experiment_options_are_not_coerced(client, api, list_segment, extra, field):
    body = {"name": "e", "segment_id": list_segment.segment_id,
            "period": {"start": "2026-11-01", "end": "2026-11-30"}, **extra}
    error = _refused(client.post("/experiments", body))
    assert error["field"] == field


# ---------------------------------------------------------------- webhooks


def _genuine(topic: str, shop: str):
    from tests.api.test_webhooks import example

    return example(topic, shop)


@pytest.mark.parametrize("topic", ["app/uninstalled", "customers/redact", "shop/redact",
                                   "customers/data_request"])
def test_a_genuine_delivery_replayed_for_another_shop_is_refused(client, api, topic):
    from tests.api.conftest import SHOP_B
    from tests.api.test_webhooks import deliver

    body = _genuine(topic, SHOP_A)
    assert deliver(client, topic, body, webhook_id="genuine").status == 200
    replay = deliver(client, topic, body, webhook_id="forged-new-id", shop=SHOP_B)
    error = _refused(replay, code="shop_mismatch")
    assert "delivered for" in error["message"]
    assert api.shops.get(SHOP_B).installed is True
    assert all(r.shop == SHOP_A for r in api.privacy_requests.recorded)


def test_a_payload_that_names_no_shop_is_refused(client):
    from tests.api.test_webhooks import deliver

    reply = deliver(client, "app/uninstalled", b'{"id": 1}')
    _refused(reply, code="shop_mismatch")


def test_a_genuine_delivery_replayed_with_a_new_id_is_a_duplicate(client, api):
    from tests.api.test_webhooks import deliver

    body = _genuine("customers/redact", SHOP_A)
    assert deliver(client, "customers/redact", body, webhook_id="a").json["status"] == (
        "processed")
    assert deliver(client, "customers/redact", body, webhook_id="b").json["status"] == (
        "duplicate")
    assert len(api.privacy_requests.recorded) == 1


@pytest.mark.parametrize("webhook_id", ["x" * 3000, "x" * 65, "a/b", "id with spaces"])
def test_webhook_ids_are_bounded(client, webhook_id):
    from tests.api.test_webhooks import deliver

    reply = deliver(client, "customers/redact", _genuine("customers/redact", SHOP_A),
                    webhook_id=webhook_id)
    error = _refused(reply)
    assert error["field"] == "X-Shopify-Webhook-Id"


def test_a_deeply_nested_webhook_body_is_400(client):
    from tests.api.test_webhooks import deliver

    reply = deliver(client, "customers/redact", b"[" * 10_000 + b"]" * 10_000)
    _refused(reply, code="too_deep")


# ---------------------------------------------------------------- uninstalled shops


PRIVATE_CALLS = [("GET", "/shop", None), ("GET", "/segments", None),
                 ("POST", "/segments", {"name": "x", "condition": {"has_tag": "x"}}),
                 ("POST", "/uploads", None), ("POST", "/shop/sync", None),
                 ("GET", "/templates", None), ("POST", "/segments/preview",
                                               {"condition": {"has_tag": "x"}})]


@pytest.mark.parametrize("topic", ["app/uninstalled", "shop/redact"])
def test_an_uninstalled_or_redacted_shop_gets_403_everywhere_but_the_lifecycle(
        client, api, topic):
    from tests.api.test_webhooks import deliver

    assert deliver(client, topic, _genuine(topic, SHOP_A)).status == 200
    if topic == "shop/redact":
        del api.shops.records[SHOP_A]  # what the privacy step leaves: no shop record
    before = dict(api.segments.records)
    for method, url, body in PRIVATE_CALLS:
        reply = client.request(method, url, body=body)
        error = _refused(reply, 403, "shop_uninstalled")
        assert "install it again" in error["message"], url
    assert api.segments.records == before
    # The lifecycle stays open: Shopify's later privacy deliveries are still accepted.
    later = deliver(client, "customers/redact", _genuine("customers/redact", SHOP_A),
                    webhook_id="later")
    assert later.status == 200
    assert client.get("/auth/install?shop=" + SHOP_A).status != 403


# ---------------------------------------------------------------- OAuth URLs


class _States:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def remember(self, state: str, shop: str, ttl: int) -> None:
        self.states[state] = shop

    def take(self, state: str):
        return self.states.pop(state, None)


@pytest.mark.parametrize(("configured", "expected"), [
    ("https://api.seglift.example/", "https://api.seglift.example/auth/callback"),
    ("", "https://abc123def4.execute-api.eu-west-1.amazonaws.com/dev/auth/callback"),
])
def test_the_oauth_redirect_uri_comes_from_configuration_not_headers(
        client, api, configured, expected):
    from urllib.parse import parse_qs, urlsplit

    from api.ports import OAuthDeps
    from tests.api.events import proxy_event

    api.oauth = OAuthDeps(states=_States(), installer=None, scopes=("read_customers",),
                          api_base_url=configured, region="eu-west-1")
    event = proxy_event("GET", f"/auth/install?shop={SHOP_A}", headers={
        "Host": "evil.example", "X-Forwarded-Proto": "javascript",
        "X-Forwarded-Host": "evil.example"})
    event["requestContext"]["apiId"] = "abc123def4"
    from api import handler

    result = handler.handle(event, None, api)
    assert result["statusCode"] == 302, result
    headers = {**(result.get("headers") or {}),
               **{k: v[0] for k, v in (result.get("multiValueHeaders") or {}).items()}}
    location = urlsplit(headers["Location"])
    assert parse_qs(location.query)["redirect_uri"] == [expected]
    assert "evil" not in headers["Location"]


def test_without_configuration_or_an_api_id_the_install_is_refused_not_misdirected(client, api):
    from api.ports import OAuthDeps

    api.oauth = OAuthDeps(states=_States(), installer=None, scopes=("read_customers",))
    reply = client.get(f"/auth/install?shop={SHOP_A}", auth=False,
                       headers={"Host": "evil.example"})
    assert reply.status == 500 and reply.error["code"] == "not_configured"


# ---------------------------------------------------------------- fair use


def test_identical_backfills_past_the_budget_are_429_with_retry_after(client, client_b, api):
    from api.fair_use import BUDGETS

    segment = evaluated(api, SHOP_A)
    api.segment_engine = None  # the budget is spent before any work is started
    statuses = [client.post(f"/segments/{segment.segment_id}/backfill", {"days": 30}).status
                for _ in range(BUDGETS["backfill"].limit + 1)]
    assert statuses[-1] == 429 and 429 not in statuses[:-1]
    reply = client.post(f"/segments/{segment.segment_id}/backfill", {"days": 30})
    error = _refused(reply, 429, "rate_limited")
    assert "try again in" in error["message"]
    assert 0 < int(reply.headers["Retry-After"]) <= 3600
    # Another shop's budget is its own.
    other = evaluated(api, "bravo-store.myshopify.com")
    assert client_b.post(f"/segments/{other.segment_id}/backfill", {"days": 30}).status != 429


REPEAT = {"feature": "order_count", "op": ">=", "value": 2}


@pytest.mark.parametrize(("action", "method", "url", "body"), [
    ("sync", "POST", "/shop/sync", None),
    ("preview", "POST", "/segments/preview", {"condition": REPEAT}),
    ("list", "POST", "/segments/lists", {"name": "l", "condition": REPEAT}),
    ("segment", "POST", "/segments", {"name": "s", "condition": REPEAT}),
])
def test_expensive_routes_have_a_per_shop_budget(client, api, action, method, url, body):
    from api.fair_use import BUDGETS
    from tests.api.segment_editor_fakes import FakeSegmentEngine, FakeUploads

    api.segment_engine = FakeSegmentEngine(
        api.segments, uploads=FakeUploads(),
        preview_result={"member_count": 0, "customer_count": 0, "sample": []})
    with moto_jobs(api) as jobs:
        api.segment_engine.jobs = jobs
        for _ in range(BUDGETS[action].limit):
            assert client.request(method, url, body=body).status in (200, 201, 202)
        reply = client.request(method, url, body=body)
    _refused(reply, 429, "rate_limited")
    assert int(reply.headers["Retry-After"]) >= 1


def test_every_route_that_starts_expensive_work_spends_a_budget():
    """Each budget is spent by its route: a budget no route spends would be a fair-use
    limit on paper only."""
    import inspect

    from api import past_day_jobs
    from api.fair_use import BUDGETS
    from api.routes import exports, measurements, segment_editor, segments, shops

    sources = "".join(inspect.getsource(m) for m in (
        exports, measurements, segment_editor, segments, shops, past_day_jobs))
    for action in BUDGETS:
        assert f'spend(ctx, shop, "{action}")' in sources, action
