"""A new segment's page: how long until it is complete after creation.

What the segments function does on a segment's creation (``segments.backfill.backfill``,
started by the API as an asynchronous invocation): read the lake, compute the newest day
complete (members, metrics, profile, the revenue of every month of the shop's history),
then the 29 older days of the trend, members and metrics only.

Timed, in a fresh process per size, on the benchmarks' generated store (``bench.store_cache``;
quick 5,000 customers, about the demo's 3,000; full 100,000): the seconds from the start of
the invocation's work (lake read included) until the newest day's profile is stored (the
page has its members, KPIs, features and revenue) and until the 30th day is stored (the
trend is complete). The stores are in memory (DynamoDB and S3 writes are excluded: a
handful of items a day); a Lambda's cold start is not included either. No peer: the
figures of one day are proved against references in tests/dayrun.

The outputs are checked before any number is reported: 30 days of metrics, one profile,
revenue months from the store's first order month.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from bench.records import BenchRecord, run_isolated
from bench.segments_bench import read_lake

SHOP = "bench.myshopify.com"
DAYS = 30
# A segment like the seed guides' "repeat customers".
CONDITION = {"feature": "order_count", "op": ">=", "value": 2}


class _S3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body

    def get_object(self, *, Bucket: str, Key: str) -> Any:
        from botocore.exceptions import ClientError

        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        return {"Body": SimpleNamespace(read=lambda: self.objects[Key])}


@dataclass
class _Segments:
    record: Any
    evaluations: list[tuple[date, int]] = field(default_factory=list)

    def list(self, shop: str) -> list[Any]:
        return [self.record]

    def require(self, shop: str, segment_id: str) -> Any:
        return self.record

    def record_evaluation(self, shop: str, segment_id: str, day: date, count: int) -> None:
        self.evaluations.append((day, count))
        self.record.last_evaluated_on = day.isoformat()


@dataclass
class _Metrics:
    days: dict[date, Any] = field(default_factory=dict)

    def put_day(self, shop: str, segment_id: str, day: date, values: Any) -> None:
        self.days[day] = values

    def put_days(self, shop: str, day: date, values: Mapping[str, Any]) -> None:
        self.days.update(dict.fromkeys([day], *values.values()))


@dataclass
class _Analytics:
    started: float
    items: dict[tuple[str, str], Any] = field(default_factory=dict)
    profile_at: float | None = None

    def stored_sort_keys(self, shop: str, kind: str, wanted: Any) -> dict[str, set[str]]:
        return {subject: {key for key in keys if (kind, key) in self.items}
                for subject, keys in wanted.items()}

    def put_items(self, shop: str, items: Any) -> None:
        for _subject, kind, key, payload in items:
            self.items[(kind, key)] = payload
            if kind == "profile" and self.profile_at is None:
                self.profile_at = time.perf_counter() - self.started


class _Reader:
    def __init__(self, tables: Any) -> None:
        self.tables = tables

    def read_table(self, name: str, columns: list[str] | None = None, **_: Any) -> Any:
        return getattr(self.tables, name)


def measure(customers: int) -> dict[str, Any]:
    """Child process: the creation's backfill of one segment, timed."""
    from segments.backfill import backfill
    from segments.logic import Storage

    started = time.perf_counter()
    tables, tz, last_day = read_lake(customers)
    read_s = time.perf_counter() - started
    record = SimpleNamespace(segment_id="repeat", kind="condition", condition=CONDITION,
                             last_evaluated_on=None)
    segments, metrics, analytics = _Segments(record), _Metrics(), _Analytics(started)
    result = backfill(SHOP, last_day, "repeat", DAYS, reader=_Reader(tables),
                      storage=Storage(_S3(), "bench"), segments=segments,  # type: ignore[arg-type]
                      metrics=metrics, analytics=analytics, tz=tz)
    total_s = time.perf_counter() - started
    months = sorted(key for kind, key in analytics.items if kind == "revenue_month")
    profiles = [key for kind, key in analytics.items if kind == "profile"]
    first_order = tables.orders["created_at"].to_pylist()
    first_month = min(t for t in first_order if t is not None).strftime("%Y-%m")
    if len(metrics.days) != DAYS or profiles != [last_day.isoformat()] or result["days"] != DAYS:
        raise AssertionError(f"backfill wrote {len(metrics.days)} days, profiles {profiles}")
    if not months or months[0] > first_month:
        raise AssertionError(f"revenue starts {months[:1]}, the store's first order {first_month}")
    return {"read_s": read_s, "complete_s": analytics.profile_at, "total_s": total_s,
            "months": len(months), "members": result["member_counts"][last_day.isoformat()]}


def benchmarks(quick: bool) -> list[BenchRecord]:
    sizes = (5_000,) if quick else (5_000, 100_000)
    records = []
    for size in sizes:
        _, peak_mb, result = run_isolated(measure, size)
        label = f"new segment page @ {size:,} customers"
        records += [
            BenchRecord(f"{label}: complete (members, features, revenue)",
                        result["complete_s"], "s"),
            BenchRecord(f"{label}: {DAYS}-day trend complete", result["total_s"], "s"),
            BenchRecord(f"{label}: revenue months from one pass", result["months"], "months"),
            BenchRecord(f"{label}: peak memory", peak_mb, "MB"),
        ]
    return records
