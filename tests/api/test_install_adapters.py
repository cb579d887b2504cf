"""The install flow's pieces that need no cloud: install nonces expire and are single use,
callbacks with any characters are refused (never a 500), and the code exchange turns
Shopify's refusals into OAuthError."""

from __future__ import annotations

from typing import Any

import pytest

from api.install_adapters import DynamoOAuthStates, ShopifyInstaller
from api.ports import AppCredentials
from seglift.auth.oauth import OAuthError, verify_callback
from seglift.config import RuntimeConfig


class FakeDynamoDB:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, TableName: str, Item: dict[str, Any]) -> None:
        self.items[Item["id"]["S"]] = Item

    def delete_item(self, TableName: str, Key: dict[str, Any],
                    ReturnValues: str) -> dict[str, Any]:
        old = self.items.pop(Key["id"]["S"], None)
        return {"Attributes": old} if old else {}


def test_a_state_is_taken_once_for_the_shop_it_was_issued_for():
    clock = [1000.0]
    states = DynamoOAuthStates(lambda: fake, "idem", now=lambda: clock[0])
    fake = FakeDynamoDB()
    states.remember("abc", "a.myshopify.com", ttl_seconds=600)
    assert states.take("abc") == "a.myshopify.com"
    assert states.take("abc") is None


def test_an_expired_state_is_refused_even_before_dynamodb_deletes_it():
    clock = [1000.0]
    fake = FakeDynamoDB()
    states = DynamoOAuthStates(lambda: fake, "idem", now=lambda: clock[0])
    states.remember("abc", "a.myshopify.com", ttl_seconds=600)
    clock[0] += 601
    assert states.take("abc") is None


@pytest.mark.parametrize("hmac_value, state", [("\u00e9\u0000", "s"), ("0" * 64, "\U0001f600")])
def test_callbacks_with_non_ascii_values_are_refused_not_crashing(hmac_value, state):
    params = {"shop": "a.myshopify.com", "state": state, "timestamp": "1", "hmac": hmac_value}
    with pytest.raises(OAuthError):
        verify_callback(params, "secret", state)


def test_the_code_exchange_posts_the_app_credentials_to_the_configured_shopify():
    sent: list[tuple[str, dict[str, str]]] = []

    def post(url: str, body: dict[str, str], timeout: float) -> dict[str, Any]:
        sent.append((url, body))
        return {"access_token": "shpat_x", "scope": "read_customers"}

    config = RuntimeConfig(shopify_base_url="http://127.0.0.1:9")
    installer = ShopifyInstaller(config, lambda: AppCredentials("key", "secret"), lambda: None,
                                 shops=None, post=post)  # type: ignore[arg-type]
    assert installer.exchange_code("a.myshopify.com", "c0de") == "shpat_x"
    assert sent == [("http://127.0.0.1:9/admin/oauth/access_token",
                     {"client_id": "key", "client_secret": "secret", "code": "c0de"})]
    production = ShopifyInstaller(RuntimeConfig(), lambda: AppCredentials("k", "s"),
                                  lambda: None, shops=None, post=post)  # type: ignore[arg-type]
    production.exchange_code("a.myshopify.com", "c")
    assert sent[-1][0] == "https://a.myshopify.com/admin/oauth/access_token"


def test_an_answer_without_a_token_is_an_oauth_error():
    installer = ShopifyInstaller(RuntimeConfig(), lambda: AppCredentials("k", "s"),
                                 lambda: None, shops=None,  # type: ignore[arg-type]
                                 post=lambda url, body, timeout: {"errors": "nope"})
    with pytest.raises(OAuthError):
        installer.exchange_code("a.myshopify.com", "c")
