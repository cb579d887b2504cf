"""In-memory stand-ins for the API's storage ports (api.ports), keyed by shop like the real
tables. Segment definitions (conditions, Shopify queries, templates) are the real thing.

Records are the real PynamoDB model classes (never saved) and the tagging package's
TagJob, so the attribute names the presenters read are the stored ones.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from api.ports import ApiContext, AppCredentials, Page, PrivacyRequest
from api.wiring import SegmentDefinitionsAdapter
from seglift.storage.metrics_repository import MetricsDay
from seglift.storage.models import SegmentModel, ShopModel
from seglift.storage.tag_job_repository import TagJob
from seglift.tagging.jobs import TagPreview

API_KEY = "test-api-key"
SECRET = "test-app-secret-0123456789abcdef0123456789"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FakeShops:
    def __init__(self) -> None:
        self.records: dict[str, ShopModel] = {}

    def add(self, shop: str, **attrs: Any) -> ShopModel:
        record = ShopModel(
            shop,
            access_token_parameter=f"/seglift/test/shops/{shop}/access-token",
            **{"currency": "EUR", "installed_at": NOW, **attrs},
        )
        self.records[shop] = record
        return record

    def get(self, shop: str) -> ShopModel | None:
        return self.records.get(shop)

    def mark_uninstalled(self, shop: str, at: datetime) -> None:
        record = self.records.get(shop)
        if record is not None:
            record.installed = False

    def set_notification_email(self, shop: str, email: str | None) -> None:
        self.records[shop].notification_email = email


class FakeSegments:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], SegmentModel] = {}
        self._ids = itertools.count(1)

    def create(self, shop: str, *, name: str, condition: Any, description: Any = None,
               template_id: Any = None, **extra: Any) -> SegmentModel:
        segment_id = f"seg-{next(self._ids):04d}"
        record = SegmentModel(
            shop, segment_id, name=name, condition=condition, description=description,
            template_id=template_id, created_at=NOW, updated_at=NOW, **extra,
        )
        self.records[(shop, segment_id)] = record
        return record

    def get(self, shop: str, segment_id: str) -> SegmentModel | None:
        return self.records.get((shop, segment_id))

    def list_page(self, shop: str, *, limit: int, after: str | None) -> Page:
        ids = sorted(s for (sh, s) in self.records if sh == shop and (after is None or s > after))
        page = ids[:limit]
        last = page[-1] if len(ids) > limit else None
        return Page([self.records[(shop, s)] for s in page], last)

    def conditions(self, shop: str) -> dict[str, Any]:
        return {s: r.condition for (sh, s), r in self.records.items() if sh == shop}

    def update(self, shop: str, segment_id: str, *, name: Any = None, description: Any = None,
               condition: Any = None) -> SegmentModel:
        record = self.records[(shop, segment_id)]
        if name is not None:
            record.name = name
        if description is not None:
            record.description = description
        if condition is not None:
            record.condition = condition
        record.updated_at = NOW
        return record

    def delete(self, shop: str, segment_id: str) -> None:
        del self.records[(shop, segment_id)]

    def set_keep_in_sync_tag(self, shop: str, segment_id: str, tag: str | None) -> Any:
        record = self.records[(shop, segment_id)]
        record.keep_in_sync_tag = tag
        return record


class FakeMetrics:
    def __init__(self) -> None:
        self.points: dict[tuple[str, str], list[MetricsDay]] = {}

    def add(self, shop: str, segment_id: str, day: date, **values: Any) -> None:
        exact = {k: None if v is None else Decimal(str(v)) for k, v in values.items()}
        self.points.setdefault((shop, segment_id), []).append(MetricsDay(day, exact, NOW))

    def series(self, shop: str, segment_id: str, start: date, end: date) -> list[Any]:
        return [
            p for p in sorted(self.points.get((shop, segment_id), []), key=lambda p: p.day)
            if start <= p.day <= end
        ]

    def latest(self, shop: str, segment_id: str) -> Any | None:
        points = sorted(self.points.get((shop, segment_id), []), key=lambda p: p.day)
        return points[-1] if points else None


class FakeTagJobs:
    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], TagJob] = {}
        self._ids = itertools.count(1)

    def start(self, shop: str, segment: Any, *, tag: str, action: str,
              requested_by: str | None) -> TagJob:
        job = TagJob(shop=shop, job_id=f"job-{next(self._ids):04d}",
                     segment_id=segment.segment_id, tag=tag, action=action, created_at=NOW,
                     requested_by=requested_by, total=int(segment.member_count or 0))
        self.jobs[(shop, job.job_id)] = job
        return job

    def get(self, shop: str, job_id: str) -> TagJob | None:
        return self.jobs.get((shop, job_id))

    def list_page(self, shop: str, *, limit: int, after: str | None) -> Page:
        ids = sorted((j for (sh, j) in self.jobs if sh == shop and (after is None or j < after)),
                     reverse=True)
        page = ids[:limit]
        return Page([self.jobs[(shop, j)] for j in page], page[-1] if len(ids) > limit else None)

    def active_for_segment(self, shop: str, segment_id: str) -> list[TagJob]:
        return [j for (sh, _), j in self.jobs.items()
                if sh == shop and j.segment_id == segment_id and j.status in ("queued", "running")]

    def set_status(self, shop: str, job_id: str, status: str) -> None:
        self.jobs[(shop, job_id)] = replace(self.jobs[(shop, job_id)], status=status)


class FakeSync:
    def __init__(self) -> None:
        self.requested: list[str] = []

    def request_sync(self, shop: str) -> None:
        self.requested.append(shop)


class FakeReceipts:
    def __init__(self) -> None:
        self.claimed: set[str] = set()

    def claim(self, webhook_id: str, topic: str, shop: str) -> bool:
        if webhook_id in self.claimed:
            return False
        self.claimed.add(webhook_id)
        return True

    def release(self, webhook_id: str) -> None:
        self.claimed.discard(webhook_id)


class FakePrivacyRequests:
    def __init__(self) -> None:
        self.recorded: list[PrivacyRequest] = []
        self.processed: list[tuple[str, dict[str, Any]]] = []

    def record(self, request: PrivacyRequest) -> None:
        self.recorded.append(request)

    def history(self, shop: str) -> list[dict[str, Any]]:
        """Pending entries for what was recorded, plus ``processed`` entries set by tests."""
        entries = [{"webhook_id": r.webhook_id, "kind": r.kind, "status": "pending",
                    "received_at": r.received_at.isoformat(), "processed_at": None,
                    "data_request_id": r.data_request_id, "reason": None, "counts": {}}
                   for r in self.recorded if r.shop == shop]
        entries += [e for sh, e in self.processed if sh == shop]
        return sorted(entries, key=lambda e: (e["received_at"] or "", e["webhook_id"]),
                      reverse=True)


class FakeTagPreviews:
    """Answers as seglift.tagging.jobs.preview_tag_job would; ``error`` is raised instead."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []
        self.error: Exception | None = None

    def preview(self, shop: str, segment: Any, *, tag: str, action: str) -> TagPreview:
        self.calls.append((shop, segment.segment_id, tag, action))
        if self.error is not None:
            raise self.error
        members = int(segment.member_count or 0)
        return TagPreview(members, would_change=members - 2, already_done=2, would_fail=0,
                          exact=True, sampled=members)


class FakeRateLimits:
    """The fixed-window counting of RateLimitRepository, in memory."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    def acquire(self, key: str, limit: int, window_seconds: int, now: float) -> float | None:
        window = int(now // window_seconds)
        slot = f"{key}#{window}"
        if self.hits.get(slot, 0) >= limit:
            return float((window + 1) * window_seconds - now)
        self.hits[slot] = self.hits.get(slot, 0) + 1
        return None


def fake_context() -> ApiContext:
    return ApiContext(
        credentials=lambda: AppCredentials(api_key=API_KEY, secret=SECRET),
        shops=FakeShops(),
        segments=FakeSegments(),
        metrics=FakeMetrics(),
        tag_jobs=FakeTagJobs(),
        definitions=SegmentDefinitionsAdapter(),  # the real, pyarrow-free modules
        sync=FakeSync(),
        webhook_receipts=FakeReceipts(),
        privacy_requests=FakePrivacyRequests(),
        clock=lambda: NOW,
        tag_previews=FakeTagPreviews(),
        rate_limits=FakeRateLimits(),
    )
