"""Installing the app, end to end: the OAuth routes of the API on the local cloud talk to
the Shopify emulator (code exchange, shop settings, webhook subscriptions) and leave the
shop installed with its token in SSM. Shopify's side of the consent screen (issuing the
code and signing the callback) is played by the emulator and the app secret."""

from __future__ import annotations

import http.client
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from devkit.local_stack import LOCAL_API_KEY, local_stack
from devkit.store.generator import StoreSpec, generate_store
from seglift.auth.oauth import query_signature

pytestmark = pytest.mark.e2e

INSTALLED = "already-there.myshopify.com"
NEW_SHOP = "fresh-install.myshopify.com"


@pytest.fixture(scope="module")
def stack():
    with local_stack([generate_store(StoreSpec(domain=INSTALLED, customers=5, seed=1))]) as s:
        s.emulator.add_store(generate_store(StoreSpec(domain=NEW_SHOP, customers=5, seed=2)))
        yield s


def get(stack, path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET without following redirects."""
    parts = urlsplit(stack.cloud.api.url + path)
    connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def start_install(stack, shop: str) -> dict[str, str]:
    status, headers, _ = get(stack, f"/auth/install?{urlencode({'shop': shop})}")
    assert status == 302
    location = urlsplit(headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https", shop, "/admin/oauth/authorize")
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def shopify_callback(stack, shop: str, state: str, **overrides: str) -> str:
    """The query Shopify appends to the redirect URI once the merchant approves."""
    params = {"code": stack.emulator.authorization_code(shop, LOCAL_API_KEY), "shop": shop,
              "state": state, "timestamp": str(int(time.time())),
              "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZnJlc2g"}
    params["hmac"] = query_signature(params, stack.api_secret)
    params.update(overrides)
    return urlencode(params)


def test_install_redirects_to_shopifys_consent_screen_with_a_fresh_state(stack):
    first = start_install(stack, NEW_SHOP)
    second = start_install(stack, NEW_SHOP)
    assert first["client_id"] == LOCAL_API_KEY
    assert "read_all_orders" in first["scope"].split(",")
    assert first["redirect_uri"].endswith("/auth/callback")
    assert first["state"] != second["state"] and len(first["state"]) >= 24


def test_install_refuses_a_shop_that_is_not_a_myshopify_domain(stack):
    status, _, body = get(stack, "/auth/install?shop=evil.example.com")
    assert status == 400 and b'"field"' in body


def test_the_callback_installs_the_shop_stores_its_token_and_subscribes_webhooks(stack):
    state = start_install(stack, NEW_SHOP)["state"]
    query = shopify_callback(stack, NEW_SHOP, state)
    status, headers, _ = get(stack, f"/auth/callback?{query}")
    assert status == 302, _
    assert headers["Location"] == f"https://{NEW_SHOP}/admin/apps/{LOCAL_API_KEY}"

    ssm = stack.cloud.client("ssm")
    stored = ssm.get_parameter(Name=stack.token_parameter(NEW_SHOP), WithDecryption=True)
    assert stored["Parameter"]["Value"] == stack.emulator.token_for(NEW_SHOP)
    record = stack.shop_repository().get(NEW_SHOP)
    store = stack.emulator.store(NEW_SHOP)
    assert (record.installed, record.timezone, record.currency) == (
        True, store.timezone, store.currency)
    subscriptions = stack.emulator.shop_state(NEW_SHOP).webhook_subscriptions
    assert sorted(s["topic"] for s in subscriptions) == [
        "APP_UNINSTALLED", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "ORDERS_CREATE"]
    assert {s["uri"] for s in subscriptions} == {stack.cloud.api.url + "/webhooks"}
    # The installed shop can use the API at once.
    assert stack.api(NEW_SHOP).get("/shop")["installed"] is True

    # The same callback again (a replay): its state was used up.
    status, _, body = get(stack, f"/auth/callback?{query}")
    assert status == 401 and b"bad_oauth" in body


def test_the_callback_refuses_forged_or_foreign_callbacks(stack):
    state = start_install(stack, NEW_SHOP)["state"]
    forged = shopify_callback(stack, NEW_SHOP, state, hmac="0" * 64)
    status, _, body = get(stack, f"/auth/callback?{forged}")
    assert (status, b"bad_oauth_callback" in body) == (401, True)

    # A state issued for one shop cannot complete another shop's install.
    other_state = start_install(stack, INSTALLED)["state"]
    status, _, body = get(stack, f"/auth/callback?{shopify_callback(stack, NEW_SHOP, other_state)}")
    assert (status, b"bad_oauth_state" in body) == (401, True)

    never_issued = shopify_callback(stack, NEW_SHOP, "made-up-state")
    status, _, _ = get(stack, f"/auth/callback?{never_issued}")
    assert status == 401
