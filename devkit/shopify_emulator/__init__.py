"""A faithful local Shopify Admin GraphQL API (2026-10) for tests, local cloud, benchmarks."""

from devkit.shopify_emulator.faults import FaultInjector
from devkit.shopify_emulator.schema import load_admin_schema, validate_document
from devkit.shopify_emulator.server import API_VERSION, GRAPHQL_PATH, ShopifyEmulator
from devkit.shopify_emulator.webhooks import deliver_webhook, sign_webhook

__all__ = [
    "API_VERSION",
    "GRAPHQL_PATH",
    "FaultInjector",
    "ShopifyEmulator",
    "deliver_webhook",
    "load_admin_schema",
    "sign_webhook",
    "validate_document",
]
