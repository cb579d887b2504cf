"""Records (PynamoDB models or look-alikes) -> response bodies.

Kept apart from the routes so the mapping of stored fields to the public document is
written once: money as decimal strings with the shop's currency, ISO dates, no floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from api.job_models import JobOut
from api.models import (
    ExportOut,
    JobError,
    JobFailure,
    MetricsPoint,
    Money,
    PastDayOut,
    SegmentOut,
    ShopOut,
    SyncStatus,
    TagJobError,
    TagJobOut,
    TemplateOut,
    TemplateParameterOut,
)
from seglift.metrics.names import MONEY_METRICS


def decimal_text(value: Any) -> str:
    """A number as a plain decimal string ('12.5', never '1.25E+1' or a float repr)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(number, "f")
    return text


def metrics_point(record: Any, currency: str) -> MetricsPoint:
    values: Mapping[str, Any] = _as_mapping(getattr(record, "values", None))
    money = {
        name: Money(amount=decimal_text(v), currency=currency)
        for name, v in values.items()
        if name in MONEY_METRICS and v is not None
    }
    others = {
        name: decimal_text(v)
        for name, v in values.items()
        if name not in MONEY_METRICS and v is not None
    }
    return MetricsPoint(day=_as_date(record.day), money=money, values=others)


def segment_out(record: Any, latest: Any | None, currency: str) -> SegmentOut:
    last_evaluated = getattr(record, "last_evaluated_on", None)
    count = getattr(record, "member_count", None)
    return SegmentOut(
        id=record.segment_id,
        name=record.name,
        kind=getattr(record, "kind", "condition") or "condition",
        description=getattr(record, "description", None),
        condition=getattr(record, "condition", None),
        template_id=getattr(record, "template_id", None),
        created_at=record.created_at,
        updated_at=record.updated_at,
        member_count=int(count) if count is not None else None,
        last_evaluated_on=_as_date(last_evaluated) if last_evaluated else None,
        last_error=getattr(record, "last_error", None),
        keep_in_sync_tag=getattr(record, "keep_in_sync_tag", None),
        latest_metrics=metrics_point(latest, currency) if latest is not None else None,
    )


def tag_job_out(record: Any) -> TagJobOut:
    errors = [
        TagJobError(
            customer_id=str(e["customer_id"]) if e.get("customer_id") is not None else None,
            message=str(e.get("message", "")),
        )
        for e in (_as_mapping(item) for item in (getattr(record, "errors", None) or []))
    ]
    return TagJobOut(
        id=record.job_id,
        segment_id=record.segment_id,
        tag=record.tag,
        action=record.action,
        status=record.status,
        total=int(record.total or 0),
        done=int(record.done or 0),
        failed=int(record.failed or 0),
        skipped=int(record.skipped or 0),
        created_at=record.created_at,
        started_at=getattr(record, "started_at", None),
        finished_at=getattr(record, "finished_at", None),
        errors=errors,
    )


def shop_out(record: Any) -> ShopOut:
    duration = getattr(record, "last_sync_duration_ms", None)
    records = getattr(record, "last_sync_records", None)
    return ShopOut(
        shop=record.shop,
        installed=bool(record.installed),
        plan=record.plan,
        timezone=record.timezone,
        currency=record.currency,
        installed_at=getattr(record, "installed_at", None),
        notification_email=getattr(record, "notification_email", None),
        sync=SyncStatus(
            status=record.sync_status,
            started_at=getattr(record, "last_sync_started_at", None),
            finished_at=getattr(record, "last_sync_finished_at", None),
            duration_ms=int(duration) if duration is not None else None,
            records=int(records) if records is not None else None,
            error=getattr(record, "last_sync_error", None),
            phase=getattr(record, "sync_phase", None) if record.sync_status == "running"
            else None,
        ),
    )


def template_out(template: Any) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        name=template.name,
        category=template.category,
        description=template.description or "",
        parameters=[
            TemplateParameterOut(
                name=p.name,
                type=p.type,
                default=p.default,
                description=p.description,
                choices=list(p.choices),
            )
            for p in template.parameters
        ],
    )


def _as_mapping(value: Any) -> Mapping[str, Any]:
    """PynamoDB MapAttribute values and plain dicts alike, as a mapping."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else dict(value)


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


# Job kinds that compute a past day's figures (``api.past_day_jobs``): their result is
# the day, whose figures the request that started the job now answers.
PAST_DAY_KINDS = ("clv", "cohorts", "predictions")


def job_out(job: Any, *, result: Any = None, error: JobError | None = None) -> JobOut:
    """A job (seglift.storage.job_repository.Job) as GET /jobs/{id} shows it; ``result``
    and ``error`` as the job's kind presents them (a list job's: ``api.routes.jobs``)."""
    if error is None and job.status == "failed":
        error = JobError(code=job.error_code or "failed", message=job.error_message or "")
    if result is None and job.status == "succeeded" and job.kind == "export" and job.result:
        result = ExportOut.model_validate(job.result)
    if result is None and job.status == "succeeded" and job.kind in PAST_DAY_KINDS \
            and job.result:
        result = PastDayOut(as_of=job.result["as_of"])
    total = getattr(job, "total", None)
    failures = getattr(job, "failures", None) or {}
    return JobOut(id=job.job_id, kind=job.kind, status=job.status, progress=job.progress,
                  created_at=job.created_at, updated_at=job.updated_at, result=result,
                  error=error, total=total,
                  done=len(getattr(job, "done", ())) if total is not None else None,
                  failures=[JobFailure(item=unit, message=failures[unit])
                            for unit in sorted(failures)])
