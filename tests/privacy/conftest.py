"""Fixtures shared by the privacy processor's tests."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

PRIVACY_BUCKET = "privacy-test"


@pytest.fixture
def aws() -> Iterator[SimpleNamespace]:
    """moto S3 (a versioned bucket, as the template's), SSM and DynamoDB clients."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=PRIVACY_BUCKET)
        s3.put_bucket_versioning(Bucket=PRIVACY_BUCKET,
                                 VersioningConfiguration={"Status": "Enabled"})
        yield SimpleNamespace(s3=s3, ssm=boto3.client("ssm", region_name="us-east-1"),
                              dynamodb=boto3.client("dynamodb", region_name="us-east-1"))
