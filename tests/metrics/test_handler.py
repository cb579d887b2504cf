"""The metrics Lambda as the state machine calls it: snapshots and lake in moto S3,
results in a moto DynamoDB table."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seglift import keys
from seglift.lake.writer import LakeWriter
from seglift.storage.metrics_repository import MetricsRepository
from tests.lambda_context import lambda_context
from tests.metrics.conftest import BUCKET
from tests.metrics.store import Store, members

SHOP = "demo-shop.myshopify.com"
SEGMENT = "repeat-buyers"
DAY = date(2025, 6, 30)


def _put_snapshot(s3, day: date, table: pa.Table) -> str:
    key = keys.members_key(SHOP, SEGMENT, day)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())
    return key


def _lake(s3) -> None:
    store = Store()
    store.order(1, 1, "2025-06-01", "100.00").order(2, 1, "2025-06-30", "50.00", hour=3)
    store.order(3, 2, "2025-06-10", "40.00").refund(1, 3, "2025-06-11", "15.00")
    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("orders", [store.orders_table()])
    writer.replace_table("refunds", [store.refunds_table()])


def _event(members_key: str, run_date: str = "2025-06-30") -> dict:
    return {"shop": SHOP, "run_date": run_date, "features_key": keys.features_key(SHOP, DAY),
            "segment_id": SEGMENT, "members_key": members_key}


def _invoke(event):
    from metrics.handler import lambda_handler

    return lambda_handler(event, lambda_context("metrics"))


def test_computes_stores_and_summarises_the_days_metrics(aws):
    s3, metrics_table, _ = aws
    _lake(s3)
    _put_snapshot(s3, date(2025, 6, 29), members(1, 3))
    key = _put_snapshot(s3, DAY, members(1, 2))

    summary = _invoke(_event(key))

    # Members 1 (100 + 50) and 2 (40 - 15): net 175.00 over 2 members, 3 orders.
    assert summary == {
        "segment_id": SEGMENT, "day": "2025-06-30", "has_previous_snapshot": True,
        "member_count": 2, "entered": 1, "left": 1, "order_count": 3,
        "ltv": "87.50", "revenue_of_day": "50.00",
        # This deployment has no analytics table (see test_analytics_handler.py for one).
        "analytics": {"skipped": "ANALYTICS_TABLE is not set"},
    }
    stored = MetricsRepository(metrics_table).latest(SHOP, SEGMENT)
    assert stored.day == DAY
    assert stored.values["aov"] == Decimal("58.33")  # 175 / 3
    assert stored.values["repeat_rate"] == Decimal("0.5000")


def test_rerunning_the_same_day_overwrites_instead_of_adding(aws):
    s3, metrics_table, _ = aws
    _lake(s3)
    key = _put_snapshot(s3, DAY, members(1))
    first = _invoke(_event(key))
    _put_snapshot(s3, DAY, members(1, 2))
    second = _invoke(_event(key))
    series = MetricsRepository(metrics_table).series(SHOP, SEGMENT)
    assert (first["member_count"], second["member_count"]) == (1, 2)
    assert len(series) == 1 and series[0].values["member_count"] == 2


def test_the_first_day_of_a_segment_has_unknown_entries_and_exits(aws):
    s3, _, _ = aws
    _lake(s3)
    summary = _invoke(_event(_put_snapshot(s3, DAY, members(1))))
    assert summary["has_previous_snapshot"] is False
    assert (summary["entered"], summary["left"]) == (None, None)


def test_days_follow_the_shops_time_zone(aws):
    s3, _, shops_table = aws
    from seglift.storage.models import ShopModel, bind

    bind(ShopModel, shops_table)(SHOP, access_token_parameter="/p", timezone="America/Los_Angeles",
                                 installed_at=datetime(2025, 1, 1, tzinfo=UTC)).save()
    _lake(s3)
    # Order 2 was placed at 03:00 UTC on 30 June: 20:00 on 29 June in Los Angeles.
    summary = _invoke(_event(_put_snapshot(s3, DAY, members(1))))
    assert summary["revenue_of_day"] == "0.00"
    assert summary["order_count"] == 2


def test_a_missing_snapshot_fails_naming_the_object_and_the_fix(aws):
    _lake(aws[0])
    with pytest.raises(LookupError, match="EvaluateSegment"):
        _invoke(_event(keys.members_key(SHOP, SEGMENT, DAY)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"run_date": "30/06/2025"}, "ISO date"),
        ({"segment_id": None}, "segment_id"),
        ({"members_key": ""}, "members_key"),
        ({"shop": "Not A Shop"}, "myshopify.com"),
        ({"members_key": "shops/demo-shop.myshopify.com/segments/other/members/x.parquet"},
         "not a snapshot of segment"),
    ],
)
def test_bad_events_are_rejected_with_what_to_fix(aws, change, message):
    event = {**_event(keys.members_key(SHOP, SEGMENT, DAY)), **change}
    with pytest.raises(ValueError, match=message):
        _invoke(event)
