"""Requests Shopify refuses get Shopify's answers: 401 bodies and GraphQL error shapes."""

import json
import urllib.request

from devkit.shopify_emulator import GRAPHQL_PATH

from .conftest import OTHER_SHOP, post

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def test_a_missing_token_is_401_with_shopifys_body(emulator):
    status, _, body = post(emulator, "{ shop { name } }", token=None)
    assert status == 401
    assert body == {"errors": INVALID_TOKEN}


def test_an_unknown_token_is_401(emulator):
    status, _, body = post(emulator, "{ shop { name } }", token="shpat_" + "0" * 32)
    assert (status, body) == (401, {"errors": INVALID_TOKEN})
    assert emulator.stats.snapshot()["unauthorized"] == 1


def test_tokens_are_deterministic_per_domain_and_select_the_shop(emulator):
    token = emulator.token_for(OTHER_SHOP)
    assert token.startswith("shpat_") and len(token) == 6 + 32
    assert token != emulator.token_for("acme.myshopify.com")
    _, _, body = post(emulator, "{ shop { myshopifyDomain } }", shop=OTHER_SHOP)
    assert body["data"]["shop"]["myshopifyDomain"] == OTHER_SHOP


def test_an_invalid_document_gets_errors_with_locations_and_a_code_and_no_data(emulator):
    status, _, body = post(emulator, "{ customers(first: 1) { nodes { id shoeSize } } }")
    assert status == 200
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "Cannot query field 'shoeSize' on type 'Customer'."
    assert error["locations"] == [{"line": 1, "column": 36}]
    assert error["extensions"]["code"] == "undefinedField"


def test_a_syntax_error_is_reported_the_same_way(emulator):
    status, _, body = post(emulator, "{ shop { name ")
    assert status == 200
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["extensions"]["code"] == "PARSE_ERROR"


def test_a_connection_without_first_or_last_is_an_error(emulator):
    _, _, body = post(emulator, "{ customers { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    assert body["errors"][0]["path"] == ["customers"]


def test_pages_larger_than_250_are_refused(emulator):
    _, _, body = post(emulator, "{ products(first: 251) { nodes { id } } }")
    assert "between 0 and 250" in body["errors"][0]["message"]


def test_a_document_requesting_more_than_1000_points_is_not_executed(emulator):
    document = "{ customers(first: 250) { nodes { id orders(first: 10) { nodes { id } } } } }"
    _, _, body = post(emulator, document)
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 3252, "maxCost": 1000}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 3252
    # nothing was charged for a refused document
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


def test_a_request_body_without_a_query_is_400(emulator):
    request = urllib.request.Request(
        emulator.base_url + GRAPHQL_PATH,
        data=json.dumps({"variables": {}}).encode(),
        headers={"X-Shopify-Access-Token": emulator.token_for("acme.myshopify.com")},
    )
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("expected HTTP 400")
    except urllib.error.HTTPError as error:
        assert error.code == 400
        assert json.loads(error.read()) == {
            "errors": {"query": "Required parameter missing or invalid"}
        }


def test_unknown_paths_are_404(emulator):
    try:
        urllib.request.urlopen(emulator.base_url + "/admin/api/2019-01/graphql.json", timeout=5)
        raise AssertionError("expected HTTP 404")
    except urllib.error.HTTPError as error:
        assert error.code in (404, 405)
