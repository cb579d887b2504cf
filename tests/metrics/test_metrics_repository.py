"""The daily metrics series in DynamoDB: exact numbers, date ranges, overwrites."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from seglift.storage.metrics_repository import MetricsRepository

SHOP = "demo-shop.myshopify.com"


def test_values_round_trip_exactly_including_undefined_ones(aws):
    repo = MetricsRepository(aws[1])
    values = {"member_count": 12, "ltv": Decimal("86.10"), "aov": None,
              "repeat_rate": Decimal("0.6667"), "net_sales": Decimal("123456789012.35")}
    repo.put_day(SHOP, "vip", date(2025, 6, 30), values)
    latest = repo.latest(SHOP, "vip")
    assert latest.day == date(2025, 6, 30)
    assert latest.values == values
    assert isinstance(latest.values["member_count"], int)
    assert str(latest.values["ltv"]) == "86.10"  # the trailing zero survives


def test_series_is_in_date_order_and_honours_inclusive_bounds(aws):
    repo = MetricsRepository(aws[1])
    for day in (3, 1, 2, 5):
        repo.put_day(SHOP, "vip", date(2025, 6, day), {"member_count": day})
    repo.put_day(SHOP, "other", date(2025, 6, 4), {"member_count": 99})
    assert [d.day.day for d in repo.series(SHOP, "vip")] == [1, 2, 3, 5]
    assert [d.day.day for d in repo.series(SHOP, "vip", date(2025, 6, 2), date(2025, 6, 3))] \
        == [2, 3]
    assert [d.day.day for d in repo.series(SHOP, "vip", start=date(2025, 6, 3))] == [3, 5]
    assert [d.day.day for d in repo.series(SHOP, "vip", end=date(2025, 6, 2))] == [1, 2]
    day, values, _ = repo.series(SHOP, "vip")[0]  # (day, values) unpacks
    assert (day, values) == (date(2025, 6, 1), {"member_count": 1})


def test_putting_a_day_again_overwrites_it(aws):
    repo = MetricsRepository(aws[1])
    repo.put_day(SHOP, "vip", date(2025, 6, 1), {"member_count": 1, "ltv": Decimal("1.00")})
    repo.put_day(SHOP, "vip", date(2025, 6, 1), {"member_count": 2})
    assert repo.series(SHOP, "vip") == [repo.latest(SHOP, "vip")]
    assert repo.latest(SHOP, "vip").values == {"member_count": 2}


def test_a_segment_without_metrics_has_no_latest_day(aws):
    repo = MetricsRepository(aws[1])
    assert repo.latest(SHOP, "nothing") is None
    assert repo.series(SHOP, "nothing") == []


def test_floats_are_refused_because_they_are_not_exact(aws):
    repo = MetricsRepository(aws[1])
    with pytest.raises(TypeError, match="Decimal"):
        repo.put_day(SHOP, "vip", date(2025, 6, 1), {"ltv": 0.1})


def test_reversed_bounds_are_refused(aws):
    with pytest.raises(ValueError, match="swap"):
        MetricsRepository(aws[1]).series(SHOP, "vip", date(2025, 6, 2), date(2025, 6, 1))


def test_deleting_a_segment_removes_its_whole_series(aws):
    repo = MetricsRepository(aws[1])
    for day in (1, 2):
        repo.put_day(SHOP, "vip", date(2025, 6, day), {"member_count": day})
    repo.put_day(SHOP, "keep", date(2025, 6, 1), {"member_count": 1})
    assert repo.delete_segment(SHOP, "vip") == 2
    assert repo.series(SHOP, "vip") == [] and len(repo.series(SHOP, "keep")) == 1
