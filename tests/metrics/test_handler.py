"""A segment's daily metrics as the day-run computes them (``seglift.dayrun.compute``:
the day's counted orders built once, each segment selecting its members' rows), and the
metrics Lambda refusing the per-segment event it no longer takes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from seglift.dayrun.compute import compute_day
from seglift.segments.tables import LakeTables
from tests.lambda_context import lambda_context
from tests.metrics.store import Store

SHOP = "demo-shop.myshopify.com"
DAY = date(2025, 6, 30)


def _tables() -> LakeTables:
    store = Store()
    store.order(1, 1, "2025-06-01", "100.00").order(2, 1, "2025-06-30", "50.00", hour=3)
    store.order(3, 2, "2025-06-10", "40.00").refund(1, 3, "2025-06-11", "15.00")
    return LakeTables.of(orders=store.orders_table(), refunds=store.refunds_table())


def _ids(*ids: int) -> pa.Array:
    return pa.array(ids, pa.int64())


def _metrics(ids: pa.Array, tz: str = "UTC", previous: pa.Array | None = None) -> dict:
    """A segment of these members through the day-run's computation."""
    day = compute_day(_tables(), DAY, {}, tz=tz, members={"s": ids},
                      previous={"s": previous}, analytics=False)
    return day.segments["s"].metrics


def test_a_segments_metrics_from_the_days_shared_counted_orders():
    values = _metrics(_ids(1, 2), previous=_ids(1, 3))
    # Members 1 (100 + 50) and 2 (40 - 15): net 175.00 over 2 members, 3 orders.
    assert (values["member_count"], values["entered"], values["left"]) == (2, 1, 1)
    assert values["order_count"] == 3 and values["net_sales"] == Decimal("175.00")
    assert values["ltv"] == Decimal("87.50") and values["aov"] == Decimal("58.33")
    assert values["revenue_of_day"] == Decimal("50.00")
    assert values["repeat_rate"] == Decimal("0.5000")


def test_one_base_serves_every_segment_with_its_own_members_only():
    one = _metrics(_ids(1))
    two = _metrics(_ids(2))
    assert (one["order_count"], one["net_sales"]) == (2, Decimal("150.00"))
    assert (two["order_count"], two["net_sales"]) == (1, Decimal("25.00"))


def test_the_first_day_of_a_segment_has_unknown_entries_and_exits():
    values = _metrics(_ids(1))
    assert (values["entered"], values["left"]) == (None, None)


def test_days_follow_the_shops_time_zone():
    # Order 2 was placed at 03:00 UTC on 30 June: 20:00 on 29 June in Los Angeles.
    values = _metrics(_ids(1), tz="America/Los_Angeles")
    assert values["revenue_of_day"] == Decimal("0.00")
    assert values["order_count"] == 2


def test_the_metrics_lambda_refuses_the_old_per_segment_event():
    from metrics.handler import lambda_handler

    with pytest.raises(ValueError, match="unknown action None"):
        lambda_handler({"shop": SHOP, "run_date": "2025-06-30", "segment_id": "s",
                        "members_key": "k"}, lambda_context("metrics"))
