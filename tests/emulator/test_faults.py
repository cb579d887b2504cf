"""Injected faults: every failure a Shopify client must survive, on demand."""

import json
import time
import urllib.request

import pytest

from .conftest import OTHER_SHOP, SHOP, post, post_raw
from .test_bulk_operations import STATUS, download, run_bulk

QUERY = "{ shop { name } }"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_the_next_requests_fail_with_a_5xx(emulator, status):
    emulator.faults.fail_next(2, status=status)
    assert post_raw(emulator, QUERY)[0] == status
    assert post_raw(emulator, QUERY)[0] == status
    assert post_raw(emulator, QUERY)[0] == 200
    assert emulator.stats.snapshot()["http_5xx"] == 2


def test_a_fault_can_target_one_shop(emulator):
    emulator.faults.fail_next(1, status=503, shop=OTHER_SHOP)
    assert post_raw(emulator, QUERY, shop=SHOP)[0] == 200
    assert post_raw(emulator, QUERY, shop=OTHER_SHOP)[0] == 503


def test_429_carries_retry_after(emulator):
    emulator.faults.rate_limit_next(retry_after=3)
    status, headers, body = post_raw(emulator, QUERY)
    assert status == 429
    assert headers["Retry-After"] == "3"
    assert "Exceeded" in json.loads(body)["errors"]
    assert emulator.stats.snapshot()["http_429"] == 1


def test_a_slow_response_still_answers(emulator):
    emulator.faults.slow_next(seconds=0.3)
    started = time.monotonic()
    status, _, body = post(emulator, QUERY)
    assert status == 200 and body["data"]["shop"]["name"] == "Acme"
    assert emulator.stats.snapshot()["slow"] == 1
    assert time.monotonic() - started >= 0.3


def test_a_throttle_storm_drains_the_bucket(emulator):
    emulator.faults.throttle_next(2)
    for _ in range(2):
        _, _, body = post(emulator, QUERY)
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 10
    assert emulator.stats.snapshot()["throttled"] == 2


def test_a_malformed_page_is_truncated_json(emulator):
    emulator.faults.malformed_next()
    status, _, body = post_raw(emulator, "{ customers(first: 5) { nodes { id } } }")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_the_next_bulk_operation_fails_with_partial_data(emulator):
    emulator.faults.fail_next_bulk()
    _, operation = run_bulk(emulator, "{ customers { edges { node { id } } } }")
    assert operation["status"] == "FAILED"
    assert operation["errorCode"] == "INTERNAL_SERVER_ERROR"
    assert operation["url"] is None
    partial = download(operation["partialDataUrl"]).splitlines()
    assert 0 < len(partial) < 30


def test_the_next_bulk_operation_expires(emulator):
    emulator.faults.expire_next_bulk()
    _, operation = run_bulk(emulator, "{ customers { edges { node { id } } } }")
    assert operation["status"] == "EXPIRED"
    assert operation["url"] is None


def test_the_next_bulk_operation_has_a_malformed_line(emulator):
    emulator.faults.corrupt_next_bulk()
    _, operation = run_bulk(emulator, "{ customers { edges { node { id } } } }")
    assert operation["status"] == "COMPLETED"
    lines = download(operation["url"]).splitlines()
    assert len(lines) == 30
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1])
    json.loads(lines[0])


def test_faults_can_be_set_over_http(emulator):
    def configure(spec):
        request = urllib.request.Request(
            emulator.base_url + "/__emulator/faults",
            data=json.dumps(spec).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    assert configure(
        [
            {"kind": "http_error", "status": 502, "count": 1},
            {"kind": "rate_limit", "retry_after": 1},
        ]
    ) == {"pending": 2}
    assert post_raw(emulator, QUERY)[0] == 502
    assert post_raw(emulator, QUERY)[0] == 429
    configure({"kind": "bulk_fail"})
    _, operation = run_bulk(emulator, "{ customers { edges { node { id } } } }")
    assert operation["status"] == "FAILED"
    try:
        configure({"kind": "meteor"})
        raise AssertionError("expected HTTP 400")
    except urllib.error.HTTPError as error:
        assert error.code == 400
        assert "unknown fault kind" in json.loads(error.read())["errors"]


def test_health(emulator):
    with urllib.request.urlopen(emulator.base_url + "/__emulator/health", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok", "shops": [SHOP, OTHER_SHOP]}


def test_bulk_status_query_is_valid_for_shopify():
    from devkit.shopify_emulator import validate_document

    assert validate_document(STATUS) == []
