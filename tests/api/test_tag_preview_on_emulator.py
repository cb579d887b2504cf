"""The tag preview's production adapter against the Shopify emulator: the token from SSM,
the frozen member list from S3, the members' current tags from Shopify; Shopify's faults
and a missing token come back as errors the merchant can act on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api.errors import ApiError
from api.tag_preview_adapter import ShopifyTagPreviews
from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import numeric_id
from seglift.keys import member_ids_key
from seglift.segments.member_ids import encode_member_ids

SHOP = "preview-shop.myshopify.com"
BUCKET = "preview-bucket"
PARAMETER = f"/seglift/test/shops/{SHOP}/access-token"
DAY = date(2026, 11, 19)
SEGMENT = SimpleNamespace(segment_id="seg-1", last_evaluated_on=DAY.isoformat())


class Shops:
    def __init__(self, installed: bool = True) -> None:
        self.record = SimpleNamespace(installed=installed, access_token_parameter=PARAMETER)

    def get(self, shop: str) -> Any:
        return self.record if shop == SHOP else None


@pytest.fixture(scope="module")
def emulator() -> Iterator[ShopifyEmulator]:
    with ShopifyEmulator([generate_store(StoreSpec(domain=SHOP, customers=40, seed=3,
                                                   products=5))]) as running:
        yield running


@pytest.fixture
def world(emulator: ShopifyEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3, ssm = boto3.client("s3"), boto3.client("ssm")
        s3.create_bucket(Bucket=BUCKET)
        ssm.put_parameter(Name=PARAMETER, Value=emulator.token_for(SHOP), Type="SecureString")
        customers = list(emulator.store(SHOP).customers.values())
        members = customers[:25]
        s3.put_object(Bucket=BUCKET, Key=member_ids_key(SHOP, "seg-1", DAY),
                      Body=encode_member_ids(numeric_id(c["id"]) for c in members))
        emulator.faults.clear()
        yield SimpleNamespace(s3=s3, ssm=ssm, members=members, emulator=emulator)
        emulator.faults.clear()


def previews(world: Any, shops: Shops | None = None) -> ShopifyTagPreviews:
    return ShopifyTagPreviews(shops or Shops(), lambda: world.s3, lambda: world.ssm, BUCKET,
                              world.emulator.base_url, lambda shop: PARAMETER)


def test_the_preview_counts_members_with_and_without_the_tag_exactly(world):
    with_tag = sum("newsletter" in (c.get("tags") or []) for c in world.members)
    assert 0 < with_tag < 25  # the generated store tags some of them
    add = previews(world).preview(SHOP, SEGMENT, tag="newsletter", action="add")
    remove = previews(world).preview(SHOP, SEGMENT, tag="newsletter", action="remove")
    assert (add.members, add.would_change, add.already_done, add.exact) == (
        25, 25 - with_tag, with_tag, True)
    assert (remove.would_change, remove.already_done) == (with_tag, 25 - with_tag)


def test_a_segment_above_the_read_limit_is_counted_exactly_from_the_tagged_customers(
        world, monkeypatch):
    # 25 members is "large" here: the members' own tags are not read, Shopify's search
    # lists who carries the tag (a new tag: nobody) and the counts are still exact.
    monkeypatch.setattr("seglift.tagging.jobs.PREVIEW_EXACT_LIMIT", 10)
    with_tag = sum("newsletter" in (c.get("tags") or []) for c in world.members)
    add = previews(world).preview(SHOP, SEGMENT, tag="newsletter", action="add")
    assert (add.members, add.would_change, add.already_done, add.exact) == (
        25, 25 - with_tag, with_tag, True)
    fresh = previews(world).preview(SHOP, SEGMENT, tag="spring-2027", action="add")
    assert (fresh.would_change, fresh.already_done, fresh.exact) == (25, 0, True)
    remove = previews(world).preview(SHOP, SEGMENT, tag="NEWSLETTER", action="remove")
    assert (remove.would_change, remove.exact) == (with_tag, True)


def test_a_busy_shopify_is_503_try_again(world):
    world.emulator.faults.fail_next(2, status=503, shop=SHOP)
    with pytest.raises(ApiError) as refused:
        previews(world).preview(SHOP, SEGMENT, tag="vip", action="add")
    assert (refused.value.status, refused.value.code) == (503, "shopify_unavailable")
    assert "try the preview again" in refused.value.message


def test_a_missing_token_or_an_uninstalled_shop_says_reinstall(world):
    world.ssm.delete_parameter(Name=PARAMETER)
    with pytest.raises(ApiError) as missing:
        previews(world).preview(SHOP, SEGMENT, tag="vip", action="add")
    with pytest.raises(ApiError) as uninstalled:
        previews(world, Shops(installed=False)).preview(SHOP, SEGMENT, tag="vip",
                                                        action="add")
    assert (missing.value.status, missing.value.code) == (409, "shop_token_missing")
    assert "reinstall" in missing.value.message
    assert (uninstalled.value.status, uninstalled.value.code) == (409, "shop_uninstalled")


def test_a_segment_whose_member_list_is_gone_cannot_be_previewed(world):
    world.s3.delete_object(Bucket=BUCKET, Key=member_ids_key(SHOP, "seg-1", DAY))
    with pytest.raises(ApiError) as refused:
        previews(world).preview(SHOP, SEGMENT, tag="vip", action="add")
    assert (refused.value.status, refused.value.code) == (409, "segment_not_taggable")
    assert "re-evaluate the segment" in refused.value.message
