"""Export Lambda: writes a segment's members as CSV to S3 and returns a download URL.

Invoked by the API (RequestResponse) with
``{"shop", "segment_id", "metrics": [...], "bom": false, "currency": "EUR"}`` (the
shop's currency: money is written with its minor units); answers
``{"status": "ok", "export_id", "key", "url", "rows", "bytes"}`` or
``{"status": "error", "message"}`` for anything the merchant can fix. Needs the Arrow
layer (pyarrow), unlike the API function itself.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift.config import RuntimeConfig
from seglift.exports.segment_export import ExportError, export_segment_csv
from seglift.exports.sources import S3ExportSources
from seglift.keys import validate_shop_domain
from seglift.storage.segment_repository import SegmentRepository

logger = Logger()


def _currency(event: dict[str, Any]) -> str:
    currency = event.get("currency") or "USD"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise ExportError("'currency' must be a three-letter currency code like EUR")
    return currency.upper()


def _request(event: dict[str, Any]) -> tuple[str, str, list[str], bool]:
    shop = event.get("shop")
    segment_id = event.get("segment_id")
    metrics = event.get("metrics") or []
    if not isinstance(shop, str) or not isinstance(segment_id, str):
        raise ExportError("the export request needs 'shop' and 'segment_id' strings")
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ExportError("'metrics' must be a list of metric names")
    try:
        validate_shop_domain(shop)
    except ValueError as bad:
        raise ExportError(str(bad)) from bad
    return shop, segment_id, metrics, bool(event.get("bom", False))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "segments_table")
    try:
        shop, segment_id, metrics, bom = _request(event)
        currency = _currency(event)
        segment = SegmentRepository(config.segments_table).get(shop, segment_id)
        if segment is None:
            raise ExportError(f"segment {segment_id!r} does not exist in {shop}")
        if not segment.last_evaluated_on:
            raise ExportError(f"segment {segment_id!r} has not been evaluated yet: try later")
        s3 = boto3.client("s3")
        result = export_segment_csv(
            shop, segment_id, date.fromisoformat(segment.last_evaluated_on), metrics,
            sources=S3ExportSources(s3, config.data_bucket), s3=s3, bucket=config.data_bucket,
            bom=bom, currency=currency,
        )
    except ExportError as error:
        logger.info("export refused", extra={"reason": str(error)})
        return {"status": "error", "message": str(error)}
    logger.info("export written", extra={"key": result.key, "rows": result.rows})
    return {"status": "ok", **result.as_dict()}
