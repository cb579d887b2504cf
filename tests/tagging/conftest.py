"""Fixtures: a moto DynamoDB table for tag jobs, and the fakes wired into Deps."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from seglift.storage.tag_job_repository import TagJobRepository
from tests.tagging.fakes import Deps, DictMembers, FakeShop, ListQueue, Outbox

TAG_JOBS_TABLE = "test-tag-jobs"
SHOP = "demo.myshopify.com"


def create_tag_jobs_table(name: str = TAG_JOBS_TABLE) -> None:
    """The TagJobsTable of template.yaml (same keys)."""
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "shop", "AttributeType": "S"},
            {"AttributeName": "job_id", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "shop", "KeyType": "HASH"},
            {"AttributeName": "job_id", "KeyType": "RANGE"},
        ],
    )


@pytest.fixture
def aws() -> Iterator[None]:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with mock_aws():
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def jobs(aws: None) -> TagJobRepository:
    create_tag_jobs_table()
    return TagJobRepository(TAG_JOBS_TABLE)


@pytest.fixture
def deps(jobs: TagJobRepository) -> Deps:
    return Deps(jobs=jobs, queue=ListQueue(), members=DictMembers(), notifier=Outbox(),
                shop=FakeShop())
