"""What an installation asks of Shopify once it holds the shop's access token.

- the shop's settings the product needs (time zone, currency, plan, owner e-mail);
- the webhook subscriptions the app uses. Only topics of the Admin API's
  ``WebhookSubscriptionTopic`` enum can be subscribed by API: the mandatory privacy topics
  (customers/data_request, customers/redact, shop/redact) are not in it, and are
  configured in the app's ``shopify.app.toml`` instead (see README, "Deploying").

The code-for-token exchange is an HTTP POST outside GraphQL; ``code_exchange_request``
builds it and the caller sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

SHOP_SETTINGS_GQL = """
query ShopSettings {
  shop { myshopifyDomain ianaTimezone currencyCode email plan { displayName shopifyPlus } }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE_GQL = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

# app/uninstalled marks the shop uninstalled; the customer and order topics let the API
# react before the next daily sync.
WEBHOOK_TOPICS = ("APP_UNINSTALLED", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "ORDERS_CREATE")
# Shopify's plan display names -> the plan names seglift paces the cost bucket by.
_PLANS = {"Shopify Plus": "plus", "Advanced": "advanced", "Commerce Components": "enterprise"}


class GraphQLClient(Protocol):
    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        ...


class WebhookRegistrationError(RuntimeError):
    """Shopify refused a subscription (its userErrors are in the message)."""


@dataclass(frozen=True)
class ShopSettings:
    timezone: str
    currency: str
    plan: str
    email: str | None


def shop_settings(client: GraphQLClient) -> ShopSettings:
    shop = client.execute(SHOP_SETTINGS_GQL)["shop"]
    plan = shop.get("plan") or {}
    display = str(plan.get("displayName"))
    name = "plus" if plan.get("shopifyPlus") else _PLANS.get(display, "standard")
    return ShopSettings(timezone=shop.get("ianaTimezone") or "UTC",
                        currency=shop.get("currencyCode") or "USD", plan=name,
                        email=shop.get("email"))


def register_webhooks(client: GraphQLClient, uri: str,
                      topics: tuple[str, ...] = WEBHOOK_TOPICS) -> list[str]:
    """Subscribe ``uri`` to every topic; returns the subscription ids. A topic already
    subscribed to the same address is not an error (a reinstall)."""
    ids = []
    for topic in topics:
        result = client.execute(WEBHOOK_SUBSCRIPTION_CREATE_GQL, {"topic": topic, "uri": uri})
        payload = result["webhookSubscriptionCreate"]
        errors = [e["message"] for e in payload.get("userErrors") or []]
        if errors and not all("already been taken" in e for e in errors):
            raise WebhookRegistrationError(f"subscribing {topic} failed: {'; '.join(errors)}")
        if payload.get("webhookSubscription"):
            ids.append(payload["webhookSubscription"]["id"])
    return ids


def code_exchange_request(base_url: str, api_key: str, secret: str,
                          code: str) -> tuple[str, dict[str, str]]:
    """(URL, JSON body) of the POST that turns an authorization code into the shop's
    offline access token; ``base_url`` is ``https://<shop>`` or the emulator."""
    return (f"{base_url.rstrip('/')}/admin/oauth/access_token",
            {"client_id": api_key, "client_secret": secret, "code": code})
