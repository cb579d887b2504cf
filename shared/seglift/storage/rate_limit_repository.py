"""Per-shop request budgets for expensive API routes, counted in DynamoDB.

A fixed window per (shop, action): one conditional ``ADD`` per request, refused once the
window's count reaches the limit, so concurrent API containers share one count. Items sit
in the idempotency table under ``rate#`` (hash key ``id``, TTL ``expiration``) next to the
webhook receipts and expire on their own after their window.
"""

from __future__ import annotations

import math
from typing import Any

KEY_PREFIX = "rate#"


class RateLimitRepository:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        """``dynamodb`` is a boto3 DynamoDB client."""
        self._dynamodb = dynamodb
        self._table = table_name

    def acquire(self, key: str, limit: int, window_seconds: int, now: float) -> float | None:
        """None when a request fits in ``key``'s current window (and count it), else the
        seconds until the next window opens."""
        window = int(now // window_seconds)
        ends = (window + 1) * window_seconds
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"id": {"S": f"{KEY_PREFIX}{key}#{window}"}},
                UpdateExpression="ADD hits :one SET expiration = :expiration",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"}, ":limit": {"N": str(limit)},
                    ":expiration": {"N": str(ends + window_seconds)},
                },
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return max(1.0, math.ceil(ends - now))
        return None
