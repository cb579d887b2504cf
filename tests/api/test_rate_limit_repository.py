"""The fair-use counter on DynamoDB (moto): a fixed window per key, shared by every API
container through one conditional update, with the wait until the window reopens."""

from __future__ import annotations

from moto import mock_aws

from seglift.storage.rate_limit_repository import RateLimitRepository
from tests.api.conftest import idempotency_table


def test_a_window_admits_its_limit_then_says_how_long_to_wait():
    with mock_aws():
        limits = RateLimitRepository(idempotency_table(), "idem")
        now = 3600 * 100 + 10.5
        assert [limits.acquire("s#backfill", 3, 3600, now) for _ in range(3)] == [None] * 3
        assert limits.acquire("s#backfill", 3, 3600, now) == 3590
        assert limits.acquire("other#backfill", 3, 3600, now) is None
        assert limits.acquire("s#backfill", 3, 3600, now + 3600) is None  # the next window
