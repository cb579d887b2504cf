"""A customer's rows in the Parquet lake: read them (data requests) or remove them for good.

Removal rewrites each affected table as a new compacted base without the customer's rows
(customers by id, orders / line_items / refunds by customer id or by the order ids the
request names), then deletes every other file under the table's prefix at once: the
retired files the manifest keeps for in-flight readers, and parts of aborted writes.
Redaction cannot wait a sync for those to expire; a reader that loses a file retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift.keys import lake_prefix
from seglift.lake.layout import Manifest, manifest_key
from seglift.lake.reader import LakeReader
from seglift.lake.writer import LakeWriter
from seglift.privacy.subject import Subject

CUSTOMER_TABLES = ("customers", "orders", "line_items", "refunds")


def _rows_of(table: pa.Table, subject: Subject) -> pa.Array:
    """Boolean mask of the rows that belong to the subject."""
    mask = pa.array([False] * table.num_rows, pa.bool_())
    ids = pa.array(sorted(subject.customer_ids), pa.int64())
    if "customer_id" in table.column_names:
        mask = pc.or_(mask, pc.fill_null(pc.is_in(table["customer_id"], value_set=ids), False))
    if subject.order_ids and "order_id" in table.column_names:
        orders = pa.array(sorted(subject.order_ids), pa.int64())
        mask = pc.or_(mask, pc.fill_null(pc.is_in(table["order_id"], value_set=orders), False))
    if subject.emails and "email" in table.column_names:
        mails = pa.array(sorted(subject.emails), pa.string())
        lowered = pc.utf8_lower(table["email"])
        mask = pc.or_(mask, pc.fill_null(pc.is_in(lowered, value_set=mails), False))
    return mask


def customer_order_ids(reader: LakeReader, customer_ids: frozenset[int]) -> list[int]:
    """The lake's orders of these customers (their line items and refunds follow them)."""
    orders = reader.read_table("orders", ["order_id", "customer_id"])
    ids = pa.array(sorted(customer_ids), pa.int64())
    mine = pc.filter(orders["order_id"],
                     pc.fill_null(pc.is_in(orders["customer_id"], value_set=ids), False))
    return sorted(set(mine.to_pylist()))


def customer_emails(reader: LakeReader, customer_ids: frozenset[int]) -> list[str]:
    customers = reader.read_table("customers", ["customer_id", "email"])
    ids = pa.array(sorted(customer_ids), pa.int64())
    emails = pc.filter(customers["email"],
                       pc.fill_null(pc.is_in(customers["customer_id"], value_set=ids), False))
    return [e for e in emails.to_pylist() if e]


def customer_rows(reader: LakeReader, subject: Subject) -> dict[str, list[dict[str, Any]]]:
    """Every lake row of the subject, per table (for a data request)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for name in CUSTOMER_TABLES:
        table = reader.read_table(name)
        rows[name] = table.filter(_rows_of(table, subject)).to_pylist()
    return rows


@dataclass
class LakeRedaction:
    """Rows removed per table and files deleted."""

    rows_removed: dict[str, int]
    files_deleted: int


def redact_from_lake(s3: Any, bucket: str, shop: str, subject: Subject) -> LakeRedaction:
    """Remove the subject's rows from every customer table and leave no old file behind."""
    reader = LakeReader(s3, bucket, shop)
    writer = LakeWriter(s3, bucket, shop)
    removed: dict[str, int] = {}
    deleted = 0
    for name in CUSTOMER_TABLES:
        manifest = reader.manifest(name)
        if manifest is None:
            continue
        table = reader.read_table(name)
        mask = _rows_of(table, subject)
        count = int(pc.sum(mask).as_py() or 0)
        if count:
            kept = table.filter(pc.invert(mask))
            manifest = writer.replace_table(name, kept.to_batches(max_chunksize=128 * 1024))
            removed[name] = count
        deleted += _delete_unlisted_files(s3, bucket, shop, name, manifest)
    return LakeRedaction(removed, deleted)


def _delete_unlisted_files(s3: Any, bucket: str, shop: str, table: str,
                           manifest: Manifest) -> int:
    """Delete every object under the table's prefix the manifest does not list, and drop
    the manifest's ``retired`` list (those files are gone now)."""
    prefix = lake_prefix(shop, table)
    keep = manifest.keys | {manifest_key(shop, table)}
    doomed = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"] not in keep
    ]
    for start in range(0, len(doomed), 1000):
        chunk = doomed[start:start + 1000]
        s3.delete_objects(Bucket=bucket,
                          Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
    if manifest.retired:
        manifest.retired = []
        s3.put_object(Bucket=bucket, Key=manifest_key(shop, table), Body=manifest.to_json(),
                      ContentType="application/json")
    return len(doomed)
