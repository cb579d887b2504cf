"""Response models of the privacy routes (GDPR requests Shopify sent for the shop)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.api_model import ApiModel


class PrivacyRequestOut(ApiModel):
    """One GDPR webhook and what became of it. Never names the customer: the merchant
    already has that in Shopify, and a redacted customer must not reappear here."""

    webhook_id: str
    kind: Literal["customer_data_request", "customer_redact", "shop_redact"] | None = Field(
        description="The webhook topic: customers/data_request, customers/redact, "
        "shop/redact.")
    status: Literal["pending", "done", "rejected", "superseded"] = Field(
        description="pending: received, carried out by the next daily sync; done; "
        "rejected: cannot be carried out (reason says why); superseded: a shop/redact "
        "erased everything first.")
    received_at: str | None = Field(description="When the webhook arrived (ISO 8601).")
    processed_at: str | None = None
    data_request_id: int | None = None
    reason: str | None = None
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="What the processing did, e.g. lake_rows_removed, objects_rewritten.")


class PrivacyRequestPage(ApiModel):
    items: list[PrivacyRequestOut]
    next_token: str | None = None
