"""What an app installation needs from the emulator: the OAuth code exchange at
/admin/oauth/access_token and webhookSubscriptionCreate (validated against the schema)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from seglift.shopify.install import WEBHOOK_SUBSCRIPTION_CREATE_GQL
from tests.emulator.conftest import OTHER_SHOP, SHOP, post

API_KEY, SECRET = "app-key", "app-secret"


def exchange(emulator, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        emulator.base_url + "/admin/oauth/access_token", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_code_is_exchanged_once_for_its_shops_token(emulator):
    emulator.register_app(API_KEY, SECRET)
    code = emulator.authorization_code(OTHER_SHOP, API_KEY)
    body = {"client_id": API_KEY, "client_secret": SECRET, "code": code}
    status, answer = exchange(emulator, body)
    assert (status, answer["access_token"]) == (200, emulator.token_for(OTHER_SHOP))
    status, answer = exchange(emulator, body)
    assert (status, answer["error"]) == (400, "invalid_request")


def test_wrong_credentials_or_unknown_codes_are_refused(emulator):
    emulator.register_app(API_KEY, SECRET)
    code = emulator.authorization_code(SHOP, API_KEY)
    assert exchange(emulator, {"client_id": API_KEY, "client_secret": "x", "code": code})[0] == 401
    assert exchange(emulator, {"client_id": API_KEY, "client_secret": SECRET,
                               "code": "made-up"})[0] == 400


def test_webhook_subscriptions_are_recorded_and_duplicates_refused(emulator):
    variables = {"topic": "APP_UNINSTALLED", "uri": "https://app.example/webhooks"}
    status, _, body = post(emulator, WEBHOOK_SUBSCRIPTION_CREATE_GQL, variables)
    created = body["data"]["webhookSubscriptionCreate"]
    assert (status, created["userErrors"]) == (200, [])
    assert created["webhookSubscription"]["topic"] == "APP_UNINSTALLED"
    _, _, again = post(emulator, WEBHOOK_SUBSCRIPTION_CREATE_GQL, variables)
    assert again["data"]["webhookSubscriptionCreate"]["userErrors"][0]["message"].endswith(
        "already been taken")
    assert len(emulator.shop_state(SHOP).webhook_subscriptions) == 1
    assert emulator.shop_state(OTHER_SHOP).webhook_subscriptions == []


def test_privacy_topics_cannot_be_subscribed_by_api(emulator):
    _, _, body = post(emulator, WEBHOOK_SUBSCRIPTION_CREATE_GQL,
                      {"topic": "CUSTOMERS_REDACT", "uri": "https://app.example/webhooks"})
    assert (body.get("errors") and "data" not in body) or body["data"] is None
