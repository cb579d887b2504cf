"""POST /webhooks: Shopify's signed deliveries (payloads: tests/fixtures/webhooks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seglift.auth.webhooks import is_valid_webhook_signature, webhook_signature
from tests.api.conftest import SHOP_A, SHOP_B, evaluated
from tests.api.fakes import SECRET

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhooks"


def example(topic: str, shop: str = SHOP_A) -> bytes:
    """Shopify's example payload of ``topic``, addressed to ``shop``."""
    metadata = json.loads((FIXTURES / f"{topic.replace('/', '_')}.metadata.json").read_text())
    assert metadata["name"] == topic
    payload = metadata["response"]
    if topic == "app/uninstalled":  # Shopify's example leaves the shop's domain empty
        payload = {**payload, "myshopify_domain": "{shop}.myshopify.com"}
    text = json.dumps(payload).replace("{shop}.myshopify.com", shop)
    return text.encode()


def deliver(client, topic, body: bytes, *, webhook_id="wh-1", shop=SHOP_A, signature=None,
            base64_body=False):
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": signature if signature is not None
        else webhook_signature(body, SECRET),
        "X-Shopify-API-Version": "2026-10",
    }
    return client.request("POST", "/webhooks", raw_body=body, headers=headers, auth=False,
                          base64_body=base64_body)


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    # Reference value computed independently: printf '{"a":1}' | openssl dgst -sha256
    # -hmac secret -binary | base64
    assert webhook_signature(b'{"a":1}', "secret") == (
        "qp4uNXX11wmLbKzNeQiIw21f22M0KnO62i1qUXR6hJQ=")
    assert is_valid_webhook_signature(b"x", webhook_signature(b"x", "s"), "s")
    assert not is_valid_webhook_signature(b"x ", webhook_signature(b"x", "s"), "s")
    assert not is_valid_webhook_signature(b"x", None, "s")


def test_app_uninstalled_marks_the_shop_uninstalled(client, api):
    reply = deliver(client, "app/uninstalled", example("app/uninstalled"))
    assert reply.status == 200
    assert reply.json == {"status": "processed"}
    assert api.shops.get(SHOP_A).installed is False
    assert api.shops.get(SHOP_B).installed is True


def test_after_uninstall_syncs_and_tag_jobs_are_refused(client, api):
    segment = evaluated(api, SHOP_A)
    deliver(client, "app/uninstalled", example("app/uninstalled"))
    assert client.post("/shop/sync").status == 403
    assert client.post(f"/segments/{segment.segment_id}/tag-jobs",
                       {"tag": "vip", "action": "add"}).status == 403


@pytest.mark.parametrize(
    ("topic", "kind"),
    [("customers/data_request", "customer_data_request"),
     ("customers/redact", "customer_redact"),
     ("shop/redact", "shop_redact")],
)
def test_privacy_topics_record_a_request_for_the_sync(client, api, topic, kind):
    reply = deliver(client, topic, example(topic), webhook_id=f"wh-{kind}")
    assert reply.status == 200
    [request] = api.privacy_requests.recorded
    assert (request.kind, request.shop, request.webhook_id) == (kind, SHOP_A, f"wh-{kind}")
    if topic != "shop/redact":
        assert request.customer_id == 191167
        assert request.order_ids == (299938, 280263, 220458)
    if topic == "customers/data_request":
        assert request.data_request_id == 9999


def test_shop_redact_also_stops_the_shop(client, api):
    deliver(client, "shop/redact", example("shop/redact"))
    assert api.shops.get(SHOP_A).installed is False


def test_a_redelivery_is_acknowledged_once_whatever_its_webhook_id(client, api):
    body = example("customers/redact")
    first = deliver(client, "customers/redact", body, webhook_id="same")
    again = deliver(client, "customers/redact", body, webhook_id="same")
    replayed = deliver(client, "customers/redact", body, webhook_id="different")
    assert [first.json["status"], again.json["status"], replayed.json["status"]] == [
        "processed", "duplicate", "duplicate"]
    assert len(api.privacy_requests.recorded) == 1
    changed = body.replace(b'"orders_to_redact"', b'"extra": 1, "orders_to_redact"')
    assert deliver(client, "customers/redact", changed, webhook_id="third").json == {
        "status": "processed"}


def test_a_failure_releases_the_claim_so_shopifys_retry_is_processed(client, api):
    calls = []

    def flaky(request):
        calls.append(request)
        if len(calls) == 1:
            raise ConnectionError("S3 unavailable")
        api.privacy_requests.recorded.append(request)

    api.privacy_requests.record = flaky
    body = example("customers/redact")
    assert deliver(client, "customers/redact", body, webhook_id="w").status == 500
    assert deliver(client, "customers/redact", body, webhook_id="w").status == 200
    assert len(api.privacy_requests.recorded) == 1


@pytest.mark.parametrize(
    "signature",
    ["", "not-base64", webhook_signature(b"another body", SECRET),
     webhook_signature(b"{}", "wrong-secret")],
)
def test_a_bad_signature_is_401_and_changes_nothing(client, api, signature):
    body = example("app/uninstalled")
    reply = deliver(client, "app/uninstalled", body, signature=signature)
    assert reply.status == 401
    assert reply.error["code"] == "bad_webhook_signature"
    assert api.shops.get(SHOP_A).installed is True
    assert api.webhook_receipts.claimed == set()


def test_a_tampered_body_is_401(client, api):
    body = example("app/uninstalled")
    signature = webhook_signature(body, SECRET)
    reply = deliver(client, "app/uninstalled", body + b" ", signature=signature)
    assert reply.status == 401


def test_base64_encoded_bodies_are_verified_on_their_bytes(client, api):
    body = example("app/uninstalled")
    reply = deliver(client, "app/uninstalled", body, base64_body=True)
    assert reply.status == 200
    assert api.shops.get(SHOP_A).installed is False


def test_a_privacy_payload_for_another_shop_is_400(client, api):
    body = example("customers/redact", shop=SHOP_B)
    reply = deliver(client, "customers/redact", body, shop=SHOP_A)
    assert reply.status == 400
    assert reply.error["code"] == "shop_mismatch"
    assert api.privacy_requests.recorded == []


def test_missing_headers_are_400_naming_the_header(client):
    body = example("app/uninstalled")
    reply = client.request(
        "POST", "/webhooks", raw_body=body, auth=False,
        headers={"X-Shopify-Hmac-Sha256": webhook_signature(body, SECRET)},
    )
    assert reply.status == 400
    assert reply.error["field"] == "X-Shopify-Topic"


def test_a_shop_header_that_is_not_a_shop_domain_is_400(client):
    body = example("app/uninstalled")
    reply = deliver(client, "app/uninstalled", body, shop="evil.example.com/.myshopify.com")
    assert (reply.status, reply.error["field"]) == (400, "X-Shopify-Shop-Domain")


def test_unsubscribed_topics_are_acknowledged_and_ignored(client, api):
    reply = deliver(client, "orders/create", b'{"id": 1}')
    assert reply.json == {"status": "ignored"}
    assert api.shops.get(SHOP_A).installed is True
