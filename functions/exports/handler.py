"""Export Lambda: writes a segment's members as CSV to S3 and returns a download URL.

Invoked by the API asynchronously (an Event: a large shop's export outlasts API Gateway's
29 s) in ``seglift.invocation``'s envelope with ``{"action": "export", "shop",
"segment_id", "metrics": [...], "bom": false, "currency": "EUR", "job_id": "job_..."}``
(the shop's currency: money is written with its minor units). With a ``job_id`` the
outcome is recorded on the job (seglift.exports.export_job), which the dashboard follows;
the reply is still ``{"ok": true, "result": {"export_id", "key", "url", "rows", "bytes"}}``
or ``{"ok": false, "error": {"errorType": "ExportError", "errorMessage"}}`` for anything the
merchant can fix, for a synchronous caller. Needs the Arrow layer (pyarrow), unlike the
API function itself.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift import invocation, observability
from seglift.config import RuntimeConfig
from seglift.exports.export_job import run_export_job
from seglift.exports.segment_export import ExportError, ExportResult, export_segment_csv
from seglift.exports.sources import S3ExportSources
from seglift.keys import validate_shop_domain
from seglift.storage.job_repository import JobRepository
from seglift.storage.s3_clients import presigning_s3_client
from seglift.storage.segment_repository import SegmentRepository

logger = Logger(service="exports")
tracer = observability.tracer_for("exports")
metrics = observability.metrics_for("exports")


def _currency(event: dict[str, Any]) -> str:
    currency = event.get("currency") or "USD"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise ExportError("'currency' must be a three-letter currency code like EUR")
    return currency.upper()


def _request(event: dict[str, Any]) -> tuple[str, str, list[str], bool]:
    if event.get("action", "export") != "export":
        raise ExportError(f"the export function answers action 'export', not "
                          f"{event.get('action')!r}")
    shop = event.get("shop")
    segment_id = event.get("segment_id")
    columns = event.get("metrics") or []
    if not isinstance(shop, str) or not isinstance(segment_id, str):
        raise ExportError("the export request needs 'shop' and 'segment_id' strings")
    if not isinstance(columns, list) or not all(isinstance(m, str) for m in columns):
        raise ExportError("'metrics' must be a list of metric names")
    try:
        validate_shop_domain(shop)
    except ValueError as bad:
        raise ExportError(str(bad)) from bad
    return shop, segment_id, columns, bool(event.get("bom", False))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "exports")
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "segments_table")
    if isinstance(event, dict):
        observability.bind(logger, shop=event.get("shop"), segment_id=event.get("segment_id"),
                           job_id=event.get("job_id"))
    try:
        shop, segment_id, columns, bom = _request(event)
        currency = _currency(event)

        def export() -> ExportResult:
            segment = SegmentRepository(config.segments_table).get(shop, segment_id)
            if segment is None:
                raise ExportError("This segment no longer exists: it was deleted.")
            if not segment.last_evaluated_on:
                raise ExportError("This segment has not been evaluated yet, so it has no "
                                  "members to export: try again in a minute.")
            s3 = presigning_s3_client(boto3)  # the download URL is presigned SigV4
            return export_segment_csv(
                shop, segment_id, date.fromisoformat(segment.last_evaluated_on), columns,
                sources=S3ExportSources(s3, config.data_bucket), s3=s3,
                bucket=config.data_bucket, bom=bom, currency=currency)

        job_id = event.get("job_id")
        if isinstance(job_id, str):
            jobs = JobRepository(boto3.client("dynamodb"),
                                 config.require("idempotency_table").idempotency_table)
            found = run_export_job(jobs, shop, job_id, export, lambda: datetime.now(UTC))
            if found is None:
                logger.info("export job already finished (a retried invocation)")
                return invocation.succeeded({"job_id": job_id, "already_finished": True})
            result = found
        else:
            result = export()
    except ExportError as error:
        logger.info("export refused", extra={"reason": str(error)})
        observability.count(metrics, {"ExportsRefused": 1})
        return invocation.refused(error)
    observability.count(metrics, {"ExportedRows": result.rows})
    logger.info("export written", extra={"key": result.key, "rows": result.rows})
    return invocation.succeeded(result.as_dict())
