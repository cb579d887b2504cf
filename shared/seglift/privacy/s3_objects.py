"""Removing a customer from everything else a shop keeps in S3, and whole shops.

Outside the lake (``seglift.privacy.lake``) a shop's prefix holds derived files: customer
features, membership snapshots (``.parquet`` and ``.ids.gz``), CLV predictions, sync
quarantine lines, list-segment uploads, data-request answers, and exports. Each object is
read once and, if it names the customer, rewritten without them:

- Parquet: rows whose ``customer_id`` / ``order_id`` / ``email`` match are filtered out;
- line-oriented text (``.ids.gz``, ``.jsonl``, ``.csv``, ``.txt``, gzip or not): the lines
  naming the customer are dropped;
- a JSON document about the customer (a data-request answer) is deleted, one that merely
  lists them (an index) is rewritten without the entries;
- exports are deleted outright: they are copies made for the merchant, kept 7 days.

The bucket is versioned, so a rewrite leaves the old content as a noncurrent version;
``purge_history`` deletes those (and delete markers) so the data is physically gone.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seglift.keys import shop_prefix
from seglift.privacy.subject import Subject, _directly_about, scrub

LINE_SUFFIXES = (".ids", ".jsonl", ".ndjson", ".csv", ".txt", ".tsv")


@dataclass
class ObjectScrub:
    rewritten: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def list_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        s3.delete_objects(Bucket=bucket,
                          Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})


def _scrub_parquet(body: bytes, subject: Subject) -> bytes | None:
    table = pq.read_table(io.BytesIO(body))
    mask = pa.array([False] * table.num_rows, pa.bool_())
    for name in table.column_names:
        column = table[name]
        values: list[Any] = []
        if pa.types.is_integer(column.type) and name in ("customer_id", "order_id"):
            values = sorted(subject.customer_ids if name == "customer_id" else subject.order_ids)
            target = column
            value_type = column.type
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = sorted(subject.emails)
            target = pc.utf8_lower(column)
            value_type = column.type
        if values:
            hits = pc.is_in(target, value_set=pa.array(values, value_type))
            mask = pc.or_(mask, pc.fill_null(hits, False))
    if not pc.any(mask).as_py():
        return None
    sink = io.BytesIO()
    pq.write_table(table.filter(pc.invert(mask)), sink, compression="zstd")
    return sink.getvalue()


def _scrub_lines(text: str, subject: Subject) -> str | None:
    lines = pa.array(text.splitlines(keepends=True), pa.string())
    # RE2 (Arrow's regex engine) has no look-behind: a number stands alone between
    # non-digits or line ends.
    numbers = "|".join(rf"(^|[^0-9]){n}([^0-9]|$)" for n in sorted(map(str, subject.numbers)))
    mails = "|".join(_re_escape(m) for m in sorted(subject.emails))
    pattern = "|".join(p for p in (numbers, mails) if p)
    if not pattern or not len(lines):
        return None
    hits = pc.match_substring_regex(lines, pattern, ignore_case=True)
    if not pc.any(hits).as_py():
        return None
    return "".join(pc.filter(lines, pc.invert(hits)).to_pylist())


def _re_escape(text: str) -> str:
    import re

    return re.escape(text)


def _scrub_json(text: str, subject: Subject) -> str | bool | None:
    """New text, None if untouched, or False when the whole document must go."""
    try:
        document = json.loads(text)
    except ValueError:
        return False if subject.mentioned_in(text) else None
    if not subject.mentioned_in(document):
        return None
    if _directly_about(document, subject) or not isinstance(document, dict | list):
        return False
    new, _ = scrub(document, subject)
    return json.dumps(new, sort_keys=True, default=str)


def scrub_object(body: bytes, key: str, subject: Subject) -> bytes | bool | None:
    """The object's new body, None if it does not name the subject, False to delete it."""
    if key.endswith(".parquet"):
        return _scrub_parquet(body, subject)
    compressed = key.endswith(".gz")
    name = key[:-3] if compressed else key
    raw = gzip.decompress(body) if compressed else body
    text = raw.decode("utf-8", "replace")
    if not subject.mentioned_in(text):
        return None
    if name.endswith(".json"):
        result: str | bool | None = _scrub_json(text, subject)
    elif name.endswith(LINE_SUFFIXES):
        result = _scrub_lines(text, subject)
    else:
        result = False  # an unknown format naming the customer: it cannot stay
    if not isinstance(result, str):
        return result
    data = result.encode("utf-8")
    return gzip.compress(data, mtime=0) if compressed else data


def scrub_shop_objects(s3: Any, bucket: str, shop: str, subject: Subject,
                       *, skip_prefixes: tuple[str, ...] = ()) -> ObjectScrub:
    """Rewrite or delete every object under the shop's prefix that names the subject;
    exports are deleted whatever they hold."""
    outcome = ObjectScrub()
    doomed: list[str] = []
    for key in list(list_keys(s3, bucket, shop_prefix(shop))):
        if key.startswith(skip_prefixes):
            continue
        if "/exports/" in key:
            doomed.append(key)
            continue
        response = s3.get_object(Bucket=bucket, Key=key)
        new_body = scrub_object(response["Body"].read(), key, subject)
        if new_body is False:
            doomed.append(key)
        elif new_body is not None:
            s3.put_object(Bucket=bucket, Key=key, Body=new_body,
                          ContentType=response.get("ContentType") or "binary/octet-stream")
            outcome.rewritten.append(key)
    delete_keys(s3, bucket, doomed)
    outcome.deleted = doomed
    return outcome


def purge_history(s3: Any, bucket: str, prefix: str, *, everything: bool = False) -> int:
    """Delete the noncurrent versions and delete markers under ``prefix`` (with
    ``everything``, current versions too); returns how many versions went."""
    doomed: list[dict[str, str]] = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if everything or not version.get("IsLatest") or "Size" not in version:
                doomed.append({"Key": version["Key"], "VersionId": version["VersionId"]})
    for start in range(0, len(doomed), 1000):
        s3.delete_objects(Bucket=bucket,
                          Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
    return len(doomed)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object and every version under ``prefix`` (shop redaction)."""
    keys = list(list_keys(s3, bucket, prefix))
    delete_keys(s3, bucket, keys)
    return purge_history(s3, bucket, prefix, everything=True) or len(keys)
