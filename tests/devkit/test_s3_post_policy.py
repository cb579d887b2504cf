"""S3's checks of a presigned POST upload (moto makes none): the local relay and the tests
rely on ``devkit.s3_post_policy`` refusing exactly what S3 refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from devkit.s3_post_policy import PostRefused, check_post_form, tags_from_xml

SECRET = "testing"
TAGGING = "<Tagging><TagSet><Tag><Key>retention</Key><Value>short</Value></Tag></TagSet></Tagging>"


@pytest.fixture
def form(monkeypatch) -> dict[str, str]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key=SECRET,
                          config=boto3.session.Config(signature_version="s3v4"))
        posted = s3.generate_presigned_post(
            "data", "shops/a/uploads/u.csv", Fields={"tagging": TAGGING},
            Conditions=[{"tagging": TAGGING}, ["content-length-range", 1, 100]], ExpiresIn=60)
    return dict(posted["fields"])


def test_a_form_within_its_policy_is_accepted(form):
    check_post_form("data", form, 100, SECRET)
    assert tags_from_xml(form["tagging"]) == {"retention": "short"}


@pytest.mark.parametrize(("size", "code"), [(101, "EntityTooLarge"), (0, "EntityTooSmall")])
def test_a_file_outside_the_signed_size_range_is_refused(form, size, code):
    with pytest.raises(PostRefused) as refused:
        check_post_form("data", form, size, SECRET)
    assert (refused.value.code, refused.value.status) == (code, 400)


@pytest.mark.parametrize(("field", "value"), [
    ("tagging", "<Tagging><TagSet></TagSet></Tagging>"),  # keep the file for ever
    ("key", "shops/other/uploads/u.csv"),  # another shop's prefix
])
def test_changing_a_signed_field_is_refused(form, field, value):
    with pytest.raises(PostRefused, match="AccessDenied"):
        check_post_form("data", {**form, field: value}, 10, SECRET)


def test_an_extra_field_the_policy_does_not_allow_is_refused(form):
    with pytest.raises(PostRefused, match="not allowed by the policy"):
        check_post_form("data", {**form, "acl": "public-read"}, 10, SECRET)


def test_a_forged_signature_or_wrong_secret_is_refused(form):
    with pytest.raises(PostRefused, match="SignatureDoesNotMatch"):
        check_post_form("data", form, 10, "another-secret")
    with pytest.raises(PostRefused, match="SignatureDoesNotMatch"):
        check_post_form("data", {**form, "x-amz-signature": "0" * 64}, 10, SECRET)


def test_an_expired_form_is_refused(form):
    later = datetime.now(UTC) + timedelta(minutes=2)
    with pytest.raises(PostRefused, match="expired"):
        check_post_form("data", form, 10, SECRET, now=later)


def test_another_bucket_is_refused(form):
    with pytest.raises(PostRefused, match="bucket"):
        check_post_form("other-bucket", form, 10, SECRET)
