"""Which Shopify webhook deliveries were already processed, in the idempotency table.

Shopify delivers at least once and retries for up to 48 hours; ``X-Shopify-Webhook-Id``
is the same on every retry of one event. A conditional put claims an id exactly once.
Items share the Powertools idempotency table (hash key ``id``, TTL attribute
``expiration``) under the prefix ``webhook#`` so they never collide with its records, and
expire on their own after a week (well past Shopify's retry window).
"""

from __future__ import annotations

import time
from typing import Any

KEY_PREFIX = "webhook#"
RETENTION_SECONDS = 7 * 24 * 3600


class WebhookReceiptRepository:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        """``dynamodb`` is a boto3 DynamoDB client."""
        self._dynamodb = dynamodb
        self._table = table_name

    def claim(self, webhook_id: str, topic: str, shop: str) -> bool:
        """True for the first delivery of ``webhook_id``; False when it was seen before."""
        now = int(time.time())
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": KEY_PREFIX + webhook_id},
                    "expiration": {"N": str(now + RETENTION_SECONDS)},
                    "topic": {"S": topic},
                    "shop": {"S": shop},
                    "received_at": {"N": str(now)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, webhook_id: str) -> None:
        """Forget a claim (processing failed), so Shopify's retry is processed."""
        self._dynamodb.delete_item(
            TableName=self._table, Key={"id": {"S": KEY_PREFIX + webhook_id}}
        )
