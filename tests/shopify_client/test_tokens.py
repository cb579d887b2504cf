"""Access tokens live in SSM as SecureStrings, never elsewhere."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from seglift.shopify.tokens import SsmTokenStore, TokenNotFoundError

NAME = "/seglift/test/shops/a.myshopify.com/access-token"


@mock_aws
def test_put_then_get_as_secure_string() -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    store = SsmTokenStore(ssm)
    store.put(NAME, "shpat_1")
    store.put(NAME, "shpat_2")  # a reinstall overwrites
    assert store.get(NAME) == "shpat_2"
    assert ssm.describe_parameters()["Parameters"][0]["Type"] == "SecureString"


@mock_aws
def test_a_missing_token_says_to_reinstall() -> None:
    with pytest.raises(TokenNotFoundError, match="reinstall"):
        SsmTokenStore(boto3.client("ssm", region_name="us-east-1")).get(NAME)
