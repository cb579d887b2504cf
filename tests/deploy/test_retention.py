"""Deleting or replacing the stack must never destroy a merchant's data.

CloudFormation deletes a resource with the stack (or when an update replaces it) unless
the resource says ``DeletionPolicy: Retain`` and ``UpdateReplacePolicy: Retain``. moto
ignores both, so nothing else in the suite would notice one missing.
"""

from __future__ import annotations

from typing import Any

import pytest

# Types that hold data a merchant or the operator would lose. Left out on purpose: log
# groups (operational logs with their own retention) and SNS topics (no stored data).
STATEFUL_TYPES = {
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::Serverless::SimpleTable",
    "AWS::SQS::Queue",
    "AWS::Kinesis::Stream",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::EFS::FileSystem",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Cognito::UserPool",
}


def _unretained(resources: dict[str, Any]) -> list[str]:
    return sorted(
        f"{name} ({resource['Type']}): DeletionPolicy={resource.get('DeletionPolicy')}, "
        f"UpdateReplacePolicy={resource.get('UpdateReplacePolicy')}"
        for name, resource in resources.items()
        if resource["Type"] in STATEFUL_TYPES
        and (
            resource.get("DeletionPolicy") != "Retain"
            or resource.get("UpdateReplacePolicy") != "Retain"
        )
    )


def test_every_stateful_resource_in_template_yaml_is_retained(sam_template):
    assert _unretained(sam_template["Resources"]) == []


def test_every_stateful_resource_after_the_sam_transform_is_retained(transformed_template):
    """Resources SAM generates (an SNS topic for an event, a SimpleTable) count too."""
    assert _unretained(transformed_template["Resources"]) == []


@pytest.mark.parametrize(
    "logical",
    ["DataBucket", "FrontendBucket", "ShopsTable", "SegmentsTable", "TagJobQueue",
     "TagJobDeadLetterQueue"],
)
def test_the_known_stores_are_covered_by_the_check(sam_template, logical):
    """The type list above must cover what the template actually uses."""
    assert sam_template["Resources"][logical]["Type"] in STATEFUL_TYPES


def test_the_check_finds_a_missing_policy():
    resources = {
        "Kept": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain",
                 "UpdateReplacePolicy": "Retain"},
        "HalfKept": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain"},
        "Function": {"Type": "AWS::Lambda::Function"},
    }
    assert [line.split(" ")[0] for line in _unretained(resources)] == ["HalfKept"]


def test_the_data_bucket_lets_the_dashboard_post_uploads_and_get_exports(sam_template):
    """A browser's presigned POST upload needs CORS for POST (moto does not check CORS)."""
    rules = sam_template["Resources"]["DataBucket"]["Properties"]["CorsConfiguration"]
    methods = {m for rule in rules["CorsRules"] for m in rule["AllowedMethods"]}
    assert {"GET", "POST"} <= methods
