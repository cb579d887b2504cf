"""The dashboard's S3 relay passes only presigned URLs of one object, signed by the local
cloud (#17): moto checks no signature, so an unsigned bucket URL would otherwise list every
shop's objects, and a URL with a made-up signature would read or write any object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from devkit.local_cloud.cloud import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from devkit.local_s3_relay import check_presigned_object_url, relay_to_s3


def _presigned(method: str = "get_object", key: str = "shops/a/exports/x.csv",
               secret: str = LOCAL_SECRET_ACCESS_KEY, **params: str) -> str:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id=LOCAL_ACCESS_KEY_ID,
                      aws_secret_access_key=secret,
                      config=Config(signature_version="s3v4"))
    return s3.generate_presigned_url(
        method, Params={"Bucket": "data-bucket", "Key": key, **params}, ExpiresIn=600)


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
        check_presigned_object_url(url.replace(f"{LOCAL_ACCESS_KEY_ID}%2F", "AKIAOTHER%2F"))
    listing = _presigned().split("?")[0].rsplit("/", 4)[0] + "/?" + url.split("?")[1]
    with pytest.raises(ValueError):
        check_presigned_object_url(listing)


def test_a_download_url_with_its_signed_overrides_passes():
    url = _presigned(ResponseContentDisposition='attachment; filename="vip.csv"',
                     ResponseContentType="text/csv")
    assert check_presigned_object_url(url) == url


def test_a_made_up_or_reused_signature_is_refused():
    """The attack: the local key id is no secret, so a URL naming any key, with a fresh
    date and any signature, passed the shape checks and moto served the object."""
    genuine = _presigned()
    other_key = genuine.replace("shops/a/exports/x.csv", "shops/b/lake/v1/customers/base.parquet")
    forged = _presigned(secret="not-the-local-secret")
    zeros = genuine.rsplit("X-Amz-Signature=", 1)[0] + "X-Amz-Signature=" + "0" * 64
    for url in (other_key, forged, zeros):
        with pytest.raises(ValueError, match="signature"):
            check_presigned_object_url(url)
        with pytest.raises(ValueError, match="signature"):
            relay_to_s3("GET", url, b"", {})
    # A URL presigned for reading cannot be used to write.
    with pytest.raises(ValueError, match="signature"):
        check_presigned_object_url(genuine, method="PUT")


def test_a_put_passes_only_with_the_headers_it_was_signed_with():
    url = _presigned("put_object", key="shops/a/uploads/x.csv", Tagging="retention=short")
    assert check_presigned_object_url(url, method="PUT",
                                      headers={"x-amz-tagging": "retention=short"}) == url
    with pytest.raises(ValueError, match="signature"):
        check_presigned_object_url(url, method="PUT", headers={"x-amz-tagging": "keep=1"})
