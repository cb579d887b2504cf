"""A segment's members as a CSV file in S3, streamed, safe to open in a spreadsheet.

Columns: Email, Customer ID, First Name, Last Name, Tags, then the metrics the merchant
chose (names of the customer features, e.g. ``total_spent``, ``order_count``). Rows in
customer-id order. The file is UTF-8 (optionally with a BOM so Excel on Windows reads
accents right), every text cell is neutralised against formula injection, and it is
written in chunks of members straight into an S3 multipart upload, tagged
``retention=short`` (the bucket's lifecycle deletes it after 7 days). The merchant gets a
presigned download URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from seglift import keys
from seglift.exports.columns import EXPORTABLE_METRICS
from seglift.exports.csv_safety import neutralise_table
from seglift.exports.multipart import DEFAULT_PART_SIZE, S3MultipartWriter
from seglift.exports.sources import ExportSources
from seglift.money_units import minor_units

UTF8_BOM = b"\xef\xbb\xbf"
ROWS_PER_CHUNK = 50_000
URL_EXPIRES_SECONDS = 3600
RETENTION_TAG = "retention=short"

BASE_HEADERS = {
    "email": "Email",
    "customer_id": "Customer ID",
    "first_name": "First Name",
    "last_name": "Last Name",
    "tags": "Tags",
}
# Feature columns a merchant may add (seglift.segments.features.FEATURES_SCHEMA, minus
# the id lists, which do not fit a spreadsheet cell).
# Amounts, written with the shop currency's minor units (2 for USD, 0 for JPY).
MONEY_METRICS = ("total_spent", "total_refunded", "average_order_value",
                 "predicted_order_value", "predicted_value_90d", "predicted_value_365d")


CUSTOMER_SCHEMA = pa.schema([
    pa.field("customer_id", pa.int64()),
    pa.field("email", pa.string()),
    pa.field("first_name", pa.string()),
    pa.field("last_name", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
])


class ExportError(ValueError):
    """The export cannot be made; the message says what to change."""


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    key: str
    url: str
    rows: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def validate_metrics(metrics: Sequence[str]) -> list[str]:
    unknown = [m for m in metrics if m not in EXPORTABLE_METRICS]
    if unknown:
        raise ExportError(
            f"unknown metrics {unknown}: choose from {', '.join(EXPORTABLE_METRICS)}"
        )
    return list(dict.fromkeys(metrics))


def _tags_text(tags: pa.ChunkedArray) -> pa.ChunkedArray:
    """Shopify's own way of writing tags in one cell: comma and space."""
    return pc.fill_null(pc.binary_join(tags, ", "), "")


def in_minor_units(amounts: pa.ChunkedArray | pa.Array, currency: str) -> pa.ChunkedArray:
    """Decimal amounts rounded half away from zero to the currency's decimals, typed so
    the CSV writes exactly that many (``156.46``, not ``156.460``; ``1500`` for JPY)."""
    digits = minor_units(currency)
    rounded = pc.round(amounts, ndigits=digits, round_mode="half_towards_infinity")
    return rounded.cast(pa.decimal128(38, digits))


def export_chunks(
    member_ids: pa.Array, customers: pa.Table, features: pa.Table, metrics: list[str],
    rows_per_chunk: int = ROWS_PER_CHUNK, currency: str = "USD",
) -> Iterator[pa.Table]:
    """The export's rows, ``rows_per_chunk`` members at a time, with the final headers;
    money in the shop currency's minor units."""
    ids = pc.unique(member_ids.cast(pa.int64())).sort()
    customers = customers.select(list(CUSTOMER_SCHEMA.names)).cast(CUSTOMER_SCHEMA)
    people = customers.set_column(
        customers.schema.get_field_index("tags"), "tags", _tags_text(customers.column("tags"))
    )
    numbers = features.select(["customer_id", *metrics])
    for name in metrics:
        if name in MONEY_METRICS:
            numbers = numbers.set_column(numbers.schema.get_field_index(name), name,
                                         in_minor_units(numbers.column(name), currency))
    for start in range(0, len(ids), rows_per_chunk):
        chunk = pa.table({"customer_id": ids.slice(start, rows_per_chunk)})
        rows = chunk.join(people, "customer_id", join_type="left outer")
        rows = rows.join(numbers, "customer_id", join_type="left outer")
        rows = rows.sort_by("customer_id").select([*BASE_HEADERS, *metrics])
        yield neutralise_table(rows).rename_columns([*BASE_HEADERS.values(), *metrics])


def write_csv(chunks: Iterator[pa.Table], sink: Any, *, bom: bool) -> int:
    """Write chunks as one CSV (header once); returns the number of data rows."""
    if bom:
        sink.write(UTF8_BOM)
    writer: pa_csv.CSVWriter | None = None
    rows = 0
    for table in chunks:
        if writer is None:
            writer = pa_csv.CSVWriter(sink, table.schema)
        writer.write_table(table)
        rows += table.num_rows
    if writer is not None:
        writer.close()
    return rows


def export_segment_csv(
    shop: str,
    segment_id: str,
    as_of: date,
    metrics: Sequence[str],
    *,
    sources: ExportSources,
    s3: Any,
    bucket: str,
    bom: bool = False,
    currency: str = "USD",
    export_id: str | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    url_expires_seconds: int = URL_EXPIRES_SECONDS,
) -> ExportResult:
    """Write the CSV to ``keys.export_key`` and return a presigned download URL."""
    chosen = validate_metrics(metrics)
    export_id = export_id or uuid.uuid4().hex
    key = keys.export_key(shop, export_id)
    try:
        members = sources.members(shop, segment_id, as_of)
    except FileNotFoundError as missing:
        raise ExportError(
            f"This segment has no members recorded for {as_of}: wait a minute for its "
            "evaluation of that day, then export again."
        ) from missing
    customers = sources.customers(shop)
    try:
        features = sources.features(shop, as_of, chosen) if chosen else pa.table(
            {"customer_id": pa.array([], pa.int64())}
        )
    except (pa.ArrowInvalid, KeyError) as missing:  # a column the day did not store
        raise ExportError(
            f"Some of the chosen columns were not computed on {as_of} (predictions are "
            "kept from the day they became available): leave them out, or export after "
            "the next daily run."
        ) from missing
    with S3MultipartWriter(s3, bucket, key, tagging=RETENTION_TAG, part_size=part_size) as sink:
        if len(members) == 0:
            header = ",".join(f'"{h}"' for h in [*BASE_HEADERS.values(), *chosen]) + "\n"
            sink.write((UTF8_BOM if bom else b"") + header.encode())
            rows = 0
        else:
            rows = write_csv(export_chunks(members, customers, features, chosen,
                                           currency=currency), sink, bom=bom)
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="segment-{segment_id}.csv"',
            "ResponseContentType": "text/csv; charset=utf-8",
        },
        ExpiresIn=url_expires_seconds,
    )
    return ExportResult(export_id, key, url, rows, sink.bytes_written)
