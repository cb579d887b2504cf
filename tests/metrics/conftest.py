"""moto S3 + DynamoDB for the metrics repository and the metrics Lambda."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

BUCKET = "seglift-test-data"
REGION = "us-east-1"


def _table(client, name: str, hash_key: str, range_key: str | None = None) -> None:
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
    )


@pytest.fixture
def aws(monkeypatch, request):
    """Returns (s3 client, metrics table name, shops table name) inside mock_aws."""
    suffix = request.node.name[:40].replace("[", "-").replace("]", "")
    metrics_table, shops_table = f"metrics-{suffix}", f"shops-{suffix}"
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("METRICS_TABLE", metrics_table)
    monkeypatch.setenv("SHOPS_TABLE", shops_table)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _table(dynamodb, metrics_table, "series", "day")
        _table(dynamodb, shops_table, "shop")
        yield s3, metrics_table, shops_table
