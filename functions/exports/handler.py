"""Export Lambda: writes a segment's members as CSV to S3 and returns a download URL.

Invoked by the API (RequestResponse) in ``seglift.invocation``'s envelope with
``{"action": "export", "shop", "segment_id", "metrics": [...], "bom": false, "currency":
"EUR"}`` (the shop's currency: money is written with its minor units); answers
``{"ok": true, "result": {"export_id", "key", "url", "rows", "bytes"}}`` or
``{"ok": false, "error": {"errorType": "ExportError", "errorMessage"}}`` for anything the
merchant can fix. Needs the Arrow layer (pyarrow), unlike the API function itself.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift import invocation, observability
from seglift.config import RuntimeConfig
from seglift.exports.segment_export import ExportError, export_segment_csv
from seglift.exports.sources import S3ExportSources
from seglift.keys import validate_shop_domain
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
        observability.bind(logger, shop=event.get("shop"), segment_id=event.get("segment_id"))
    try:
        shop, segment_id, columns, bom = _request(event)
        currency = _currency(event)
        segment = SegmentRepository(config.segments_table).get(shop, segment_id)
        if segment is None:
            raise ExportError(f"segment {segment_id!r} does not exist in {shop}")
        if not segment.last_evaluated_on:
            raise ExportError(f"segment {segment_id!r} has not been evaluated yet: try later")
        s3 = presigning_s3_client(boto3)  # the download URL is presigned SigV4
        result = export_segment_csv(
            shop, segment_id, date.fromisoformat(segment.last_evaluated_on), columns,
            sources=S3ExportSources(s3, config.data_bucket), s3=s3, bucket=config.data_bucket,
            bom=bom, currency=currency,
        )
    except ExportError as error:
        logger.info("export refused", extra={"reason": str(error)})
        observability.count(metrics, {"ExportsRefused": 1})
        return invocation.refused(error)
    observability.count(metrics, {"ExportedRows": result.rows})
    logger.info("export written", extra={"key": result.key, "rows": result.rows})
    return invocation.succeeded(result.as_dict())
