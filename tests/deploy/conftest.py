"""template.yaml as `sam deploy` hands it to CloudFormation (after SAM's transform)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit.local_cloud import template as sam

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return sam.load_sam_template(ROOT / "template.yaml")


@pytest.fixture(scope="session")
def transformed_template(sam_template: dict[str, Any]) -> dict[str, Any]:
    """samtranslator's output (its managed-policy lookups answered by moto's IAM)."""
    packaged = sam.package(sam_template, ROOT, lambda key, body: f"s3://artifacts/{key}")
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(key, "testing")
        iam = boto3.client("iam", region_name="us-east-1")
        return sam.transform(packaged, {}, "us-east-1", iam)
