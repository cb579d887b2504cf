"""The fair-use counter on DynamoDB (moto): a fixed window per key, shared by every API
container through one conditional update, with the wait until the window reopens."""

from __future__ import annotations

import boto3
from moto import mock_aws

from seglift.storage.rate_limit_repository import RateLimitRepository


def test_a_window_admits_its_limit_then_says_how_long_to_wait():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(TableName="idem", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id",
                                                     "AttributeType": "S"}])
        limits = RateLimitRepository(dynamodb, "idem")
        now = 3600 * 100 + 10.5
        assert [limits.acquire("s#backfill", 3, 3600, now) for _ in range(3)] == [None] * 3
        assert limits.acquire("s#backfill", 3, 3600, now) == 3590
        assert limits.acquire("other#backfill", 3, 3600, now) is None
        assert limits.acquire("s#backfill", 3, 3600, now + 3600) is None  # the next window
