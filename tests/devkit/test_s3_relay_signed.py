"""The dashboard's S3 relay passes only presigned URLs of one object (#17): moto checks no
signature, so an unsigned bucket URL would otherwise list every shop's objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from devkit.local_s3_relay import check_presigned_object_url, relay_to_s3


def _presigned(method: str = "get_object", key: str = "shops/a/exports/x.csv") -> str:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing",
                      config=Config(signature_version="s3v4"))
    return s3.generate_presigned_url(method, Params={"Bucket": "data-bucket", "Key": key},
                                     ExpiresIn=600)


def test_a_presigned_object_url_passes():
    url = _presigned()
    assert check_presigned_object_url(url) == url


@pytest.mark.parametrize("url", [
    "https://data-bucket.s3.amazonaws.com/",
    "https://data-bucket.s3.amazonaws.com/?list-type=2",
    "https://s3.amazonaws.com/data-bucket",
    "https://data-bucket.s3.amazonaws.com/shops/a/lake/v1/customers/base.parquet",
])
def test_unsigned_or_bucket_urls_are_refused(url):
    with pytest.raises(ValueError):
        check_presigned_object_url(url)
    with pytest.raises(ValueError):
        relay_to_s3("GET", url, b"", {})


def test_an_expired_or_foreign_url_is_refused():
    url = _presigned()
    with pytest.raises(ValueError, match="expired"):
        check_presigned_object_url(url, now=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(ValueError, match="credentials"):
        check_presigned_object_url(url.replace("testing%2F", "AKIAOTHER%2F"))
    listing = _presigned().split("?")[0].rsplit("/", 4)[0] + "/?" + url.split("?")[1]
    with pytest.raises(ValueError):
        check_presigned_object_url(listing)
