"""Installed shops and their sync bookkeeping in DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from seglift.storage.models import ShopModel, bind
from seglift.storage.shop_repository import ShopNotFoundError, ShopRepository

AT = datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.fixture
def repo(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopRepository]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        model = bind(ShopModel, "shops-test")
        model.Meta.region = "us-east-1"
        model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        yield ShopRepository("shops-test")


def test_install_list_and_uninstall(repo: ShopRepository) -> None:
    repo.install("a.myshopify.com", "/p/a", timezone="Europe/Berlin", now=AT)
    repo.install("b.myshopify.com", "/p/b", now=AT)
    repo.uninstall("b.myshopify.com")
    assert [s.shop for s in repo.list_installed()] == ["a.myshopify.com"]
    assert repo.get("a.myshopify.com").timezone == "Europe/Berlin"


def test_sync_bookkeeping(repo: ShopRepository) -> None:
    repo.install("a.myshopify.com", "/p/a", now=AT)
    repo.mark_sync_started("a.myshopify.com", AT)
    assert repo.get("a.myshopify.com").sync_status == "running"
    repo.mark_sync_failed("a.myshopify.com", at=AT, duration_ms=50, error="boom")
    failed = repo.get("a.myshopify.com")
    assert (failed.sync_status, failed.last_sync_error) == ("failed", "boom")
    repo.mark_sync_succeeded("a.myshopify.com", at=AT, duration_ms=900, records=42,
                             pipeline_execution="arn:x")
    done = repo.get("a.myshopify.com")
    assert (done.sync_status, done.last_sync_records, done.last_sync_duration_ms,
            done.last_sync_error, done.last_pipeline_execution) == (
        "succeeded", 42, 900, None, "arn:x")


def test_unknown_shops_are_a_clear_error_and_never_half_created(repo: ShopRepository) -> None:
    with pytest.raises(ShopNotFoundError, match="install the app"):
        repo.get("nobody.myshopify.com")
    with pytest.raises(ShopNotFoundError):
        repo.mark_sync_started("nobody.myshopify.com", AT)
    assert repo.find("nobody.myshopify.com") is None


def test_the_sync_lease_is_one_conditional_write_with_an_expiry(repo: ShopRepository) -> None:
    from datetime import timedelta

    shop, hour = "a.myshopify.com", timedelta(hours=1)
    repo.install(shop, "/p/a", now=AT)
    assert repo.acquire_sync_lease(shop, "schedule", now=AT, until=AT + hour) == "schedule"
    # POST /shop/sync meanwhile: refused, told who holds it.
    assert repo.acquire_sync_lease(shop, "api", now=AT, until=AT + hour) == "schedule"
    # The holder renews; someone else's release does nothing.
    later = AT + timedelta(minutes=30)
    assert repo.acquire_sync_lease(shop, "schedule", now=later, until=later + hour) == "schedule"
    repo.release_sync_lease(shop, "api")
    assert repo.get(shop).sync_lease_owner == "schedule"
    # A holder that stopped renewing loses the lease at expiry.
    stale = later + 2 * hour
    assert repo.acquire_sync_lease(shop, "api", now=stale, until=stale + hour) == "api"
    repo.release_sync_lease(shop, "api")
    record = repo.get(shop)
    assert record.sync_lease_owner is None and record.sync_lease_expires_at is None
    with pytest.raises(ShopNotFoundError):
        repo.acquire_sync_lease("nobody.myshopify.com", "x", now=AT, until=AT + hour)


def test_two_concurrent_takers_of_one_lease_get_one_winner(repo: ShopRepository) -> None:
    import threading
    from datetime import timedelta

    from devkit.local_cloud import moto_threads

    # DynamoDB applies each conditional write atomically; moto's backend does so only
    # behind the local cloud's lock (without it two takers can both pass the condition).
    moto_threads.install()
    shop = "a.myshopify.com"
    repo.install(shop, "/p/a", now=AT)
    holders: list[str | None] = []
    barrier = threading.Barrier(8)

    def take(owner: str) -> None:
        barrier.wait()
        holders.append(repo.acquire_sync_lease(shop, owner, now=AT,
                                               until=AT + timedelta(hours=1)))

    threads = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = repo.get(shop).sync_lease_owner
    assert set(holders) == {winner}


def test_the_notification_email_is_set_and_cleared_on_an_installed_shop_only(
    repo: ShopRepository,
) -> None:
    repo.install("a.myshopify.com", "/p/a", notification_email="owner@a.example", now=AT)
    repo.set_notification_email("a.myshopify.com", "ops@a.example")
    assert repo.get("a.myshopify.com").notification_email == "ops@a.example"
    repo.set_notification_email("a.myshopify.com", None)
    assert repo.get("a.myshopify.com").notification_email is None
    with pytest.raises(ShopNotFoundError):
        repo.set_notification_email("missing.myshopify.com", "x@y.example")
    assert repo.find("missing.myshopify.com") is None
