"""The Shopify client paces itself by the bucket, retries faults, and fails with typed errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.errors import (
    ShopifyAccessDeniedError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyQueryError,
    ShopifyServerError,
    ShopifyThrottledError,
    ShopifyUserErrors,
    raise_for_user_errors,
)
from seglift.shopify.transport import HttpResponse, TransportError

SHOP = "acme.myshopify.com"


class FakeClock:
    """A clock that only moves when the client sleeps: no test ever really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeTransport:
    def __init__(self, *replies: HttpResponse | Exception) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, document: str, variables: Any = None) -> HttpResponse:
        self.calls.append((document, variables))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def ok(data: Any, *, requested: float = 10, available: float = 1990, restore: float = 100,
       maximum: float = 2000) -> HttpResponse:
    body = {
        "data": data,
        "extensions": {"cost": {
            "requestedQueryCost": requested, "actualQueryCost": requested,
            "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available,
                               "restoreRate": restore}}},
    }
    return HttpResponse(200, json.dumps(body).encode())


def throttled(*, requested: float, available: float, restore: float = 100) -> HttpResponse:
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {
            "requestedQueryCost": requested, "actualQueryCost": None,
            "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": available,
                               "restoreRate": restore}}},
    }
    return HttpResponse(200, json.dumps(body).encode())


def make_client(transport: FakeTransport, clock: FakeClock, **kwargs: Any) -> ShopifyGraphQLClient:
    return ShopifyGraphQLClient(SHOP, "shpat_x", transport=transport, sleep=clock.sleep,
                                clock=clock.clock, rand=lambda: 0.5, **kwargs)


def test_returns_data_and_remembers_cost_and_bucket() -> None:
    clock = FakeClock()
    client = make_client(FakeTransport(ok({"shop": {"name": "Acme"}}, requested=12,
                                          available=1500)), clock)
    assert client.execute("{ shop { name } }") == {"shop": {"name": "Acme"}}
    assert client.last_cost.requested == 12
    assert client.throttle_status.currently_available == 1500
    assert client.throttle_status.restore_rate == 100
    assert clock.sleeps == []


def test_waits_for_the_bucket_to_refill_before_sending_an_expensive_document() -> None:
    clock = FakeClock()
    transport = FakeTransport(ok({}, requested=50, available=100), ok({}, requested=500))
    client = make_client(transport, clock)
    client.execute("{ a }")
    # 100 available, 500 needed, 100 points/s: four seconds until it fits.
    client.execute("{ b }", expected_cost=500)
    assert clock.sleeps == [pytest.approx(4.0)]


def test_counts_the_refill_that_happened_since_the_last_response() -> None:
    clock = FakeClock()
    client = make_client(FakeTransport(ok({}, available=100), ok({})), clock)
    client.execute("{ a }")
    clock.now += 3.0  # 300 points refilled meanwhile
    client.execute("{ b }", expected_cost=500)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_assumes_the_last_requested_cost_when_none_is_given() -> None:
    clock = FakeClock()
    client = make_client(FakeTransport(ok({}, requested=300, available=100), ok({})), clock)
    client.execute("{ a }")
    client.execute("{ a }")
    assert clock.sleeps == [pytest.approx(2.0)]


def test_throttled_waits_exactly_for_the_missing_points_then_succeeds() -> None:
    clock = FakeClock()
    transport = FakeTransport(throttled(requested=400, available=150, restore=50),
                              ok({"x": 1}))
    client = make_client(transport, clock)
    assert client.execute("{ x }") == {"x": 1}
    assert clock.sleeps == [pytest.approx(5.0)]  # (400 - 150) / 50
    assert len(transport.calls) == 2


def test_429_honours_retry_after() -> None:
    clock = FakeClock()
    transport = FakeTransport(HttpResponse(429, b"", {"retry-after": "2.5"}), ok({"x": 1}))
    assert make_client(transport, clock).execute("{ x }") == {"x": 1}
    assert clock.sleeps == [2.5]


@pytest.mark.parametrize(
    "fault",
    [HttpResponse(502, b"bad gateway"), HttpResponse(503, b""),
     TransportError("timed out"), TransportError("connection refused"),
     HttpResponse(200, b"{not json"), HttpResponse(200, b'{"data": null}')],
    ids=["502", "503", "timeout", "refused", "malformed-json", "no-data"],
)
def test_transient_faults_back_off_exponentially_and_recover(fault: Any) -> None:
    clock = FakeClock()
    transport = FakeTransport(fault, fault, fault, ok({"x": 1}))
    assert make_client(transport, clock).execute("{ x }") == {"x": 1}
    # Equal jitter with rand=0.5: 0.75 of 0.5, 1, 2 seconds.
    assert clock.sleeps == [pytest.approx(0.375), pytest.approx(0.75), pytest.approx(1.5)]


def test_jitter_comes_from_the_injected_random() -> None:
    clock = FakeClock()
    transport = FakeTransport(HttpResponse(500, b""), ok({}))
    client = ShopifyGraphQLClient(SHOP, "t", transport=transport, sleep=clock.sleep,
                                  clock=clock.clock, rand=lambda: 0.0)
    client.execute("{ x }")
    assert clock.sleeps == [pytest.approx(0.25)]


def test_counts_only_throttled_retries_for_the_throttling_metric() -> None:
    clock = FakeClock()
    transport = FakeTransport(throttled(requested=100, available=0),
                              HttpResponse(429, b"", {"retry-after": "1"}),
                              HttpResponse(503, b""), ok({"x": 1}))
    client = make_client(transport, clock)
    assert client.execute("{ x }") == {"x": 1}
    assert client.throttled_retries == 2  # the 503 is a fault, not throttling


def test_gives_up_with_a_server_error_after_max_attempts() -> None:
    clock = FakeClock()
    transport = FakeTransport(*[HttpResponse(500, b"")] * 3)
    with pytest.raises(ShopifyServerError, match=r"gave up after 3 attempts.*retry later"):
        make_client(transport, clock, max_attempts=3).execute("{ x }")
    assert len(transport.calls) == 3
    assert len(clock.sleeps) == 2  # no pointless sleep after the last attempt


def test_gives_up_with_a_throttled_error_when_always_throttled() -> None:
    clock = FakeClock()
    transport = FakeTransport(*[throttled(requested=100, available=0)] * 4)
    with pytest.raises(ShopifyThrottledError):
        make_client(transport, clock, max_attempts=4).execute("{ x }")


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_not_retried_and_say_to_reinstall(status: int) -> None:
    clock = FakeClock()
    transport = FakeTransport(HttpResponse(status, b"[API] Invalid API key or access token"))
    with pytest.raises(ShopifyAuthError, match=r"invalid or revoked.*reinstall") as raised:
        make_client(transport, clock).execute("{ x }")
    assert raised.value.status == status
    assert SHOP in str(raised.value)
    assert len(transport.calls) == 1 and clock.sleeps == []


def test_access_denied_names_the_read_all_orders_scope() -> None:
    body = {"errors": [{"message": "Access denied for orders field.",
                        "extensions": {"code": "ACCESS_DENIED"}}]}
    transport = FakeTransport(HttpResponse(200, json.dumps(body).encode()))
    with pytest.raises(ShopifyAccessDeniedError, match="read_all_orders"):
        make_client(transport, FakeClock()).execute("{ orders { id } }")


def test_max_cost_exceeded_is_a_query_error_advising_smaller_pages() -> None:
    body = {"errors": [{"message": "Query cost is 5002, which exceeds the single query max",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 5002}}]}
    transport = FakeTransport(HttpResponse(200, json.dumps(body).encode()))
    with pytest.raises(ShopifyQueryError, match="fewer nodes") as raised:
        make_client(transport, FakeClock()).execute("{ x }")
    assert raised.value.codes == ["MAX_COST_EXCEEDED"]
    assert len(transport.calls) == 1


def test_other_4xx_is_a_clear_error_not_retried() -> None:
    transport = FakeTransport(HttpResponse(404, b"Not Found"))
    with pytest.raises(ShopifyError, match=r"404.*shop domain"):
        make_client(transport, FakeClock()).execute("{ x }")


def test_user_errors_are_reported_per_alias() -> None:
    data = {"t1": {"node": None, "userErrors": []},
            "t2": {"node": None, "userErrors": [{"field": ["id"], "message": "not found"}]}}
    with pytest.raises(ShopifyUserErrors, match="t2: not found") as raised:
        raise_for_user_errors(data)
    assert list(raised.value.user_errors) == ["t2"]
    assert raise_for_user_errors({"t1": {"userErrors": []}}) == {"t1": {"userErrors": []}}
