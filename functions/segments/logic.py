"""The segments function's actions besides the day-run itself, free of AWS wiring.

The daily workflow's RunDay step is ``segments.dayrun`` (every segment of the day at
once); after it:

- ``summarize``: the run's outcome per segment (failures recorded with their cause),
  then keep-in-sync tag jobs.
- ``create_list``: a list segment (fixed members) from a condition evaluated once, a
  snapshot of another segment, a set operation over segments, or an uploaded CSV. Not
  part of the daily workflow: the API invokes it (it needs pyarrow, the API has none).

Every collaborator is an argument: ``reader`` (``read_table(name, columns=None)``), an S3
client, and a segment repository (``seglift.storage.segment_repository``) or a fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pyarrow as pa
from botocore.exceptions import ClientError

from seglift import keys
from seglift.dayrun.compute import day_features
from seglift.measurements.service import customers_key
from seglift.segments.conditions import referenced_segments, validate_condition
from seglift.segments.engine import customer_directory, members_of_condition_once
from seglift.segments.lists import (
    MAX_CSV_BYTES,
    CustomerListError,
    combine_member_lists,
    parse_customer_list_csv,
)
from seglift.segments.member_ids import decode_member_ids
from seglift.segments.predictions import names_prediction_feature
from seglift.segments.snapshots import read_members, write_members
from seglift.segments.tables import LakeTables


class Segments(Protocol):
    def create(self, shop: str, *, name: str, condition: dict[str, Any] | None,
               description: str | None = None, template_id: str | None = None,
               kind: str | None = None) -> Any: ...

    def require(self, shop: str, segment_id: str) -> Any: ...

    def get(self, shop: str, segment_id: str) -> Any | None: ...

    def list(self, shop: str) -> list[Any]: ...

    def record_evaluation(self, shop: str, segment_id: str, day: date, member_count: int
                          ) -> None: ...

    def record_error(self, shop: str, segment_id: str, message: str) -> None: ...


class SegmentEvaluationError(RuntimeError):
    """A segment could not be evaluated; the message says why and what to fix."""


@dataclass(frozen=True)
class Storage:
    s3: Any
    bucket: str


def failure_message(result: Mapping[str, Any]) -> str:
    """A readable reason from a Map result's ``error``/``cause`` (Lambda's JSON cause)."""
    error = result.get("error") or "Error"
    cause = result.get("cause") or ""
    try:
        parsed = json.loads(cause)
        cause = parsed.get("errorMessage", cause) if isinstance(parsed, dict) else cause
    except (TypeError, ValueError):
        pass
    return f"{error}: {cause}" if cause else str(error)


TagSync = Callable[[str, Any, date], list[str]]


def summarize(
    shop: str,
    run_date: date,
    results: Sequence[Mapping[str, Any]],
    *,
    segments: Segments,
    tag_sync: TagSync | None = None,
) -> dict[str, Any]:
    """Record failures on their segments, then start keep-in-sync tag jobs (if wired)."""
    failed = []
    succeeded = 0
    tag_jobs: list[str] = []
    tag_sync_failures = []
    # The shop's segments read once (one Query), not one GetItem per succeeded segment.
    records = ({s.segment_id: s for s in segments.list(shop)}
               if tag_sync is not None else {})
    for result in results:
        if result.get("status") != "succeeded":
            message = failure_message(result)
            segments.record_error(shop, result["segment_id"], message)
            failed.append({"segment_id": result["segment_id"], "error": message})
            continue
        succeeded += 1
        if tag_sync is None:
            continue
        segment = records.get(result["segment_id"])
        if segment is None or not getattr(segment, "keep_in_sync_tag", None):
            continue
        try:
            tag_jobs.extend(tag_sync(shop, segment, run_date))
        except Exception as error:
            tag_sync_failures.append(
                {"segment_id": result["segment_id"], "error": f"{type(error).__name__}: {error}"}
            )
    return {
        "shop": shop,
        "run_date": run_date.isoformat(),
        "segments": len(results),
        "succeeded": succeeded,
        "failed": len(failed),
        "failures": failed,
        "tag_sync_jobs": tag_jobs,
        "tag_sync_failures": tag_sync_failures,
    }


class UploadNotFound(LookupError):
    """The uploaded CSV a list segment names is not in the bucket (never sent, or expired)."""


def read_upload(storage: Storage, key: str) -> bytes:
    """The bytes of an uploaded CSV, or ``UploadNotFound`` saying what to do.

    The presigned POST already bounds the size (its policy's content-length-range); the
    object's length is checked again before reading, and never more than the limit plus
    one byte is read, so a file put there by other means cannot exhaust the memory.
    """
    try:
        response = storage.s3.get_object(Bucket=storage.bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise UploadNotFound(
                "the uploaded file was not found: send the CSV to the upload URL first "
                "(uploads expire), then create the list"
            ) from error
        raise
    body = response["Body"]
    try:
        size = int(response.get("ContentLength") or 0)
        if size > MAX_CSV_BYTES:
            raise CustomerListError(
                f"the file is {size:,} bytes; the limit is {MAX_CSV_BYTES:,}: split it"
            )
        return bytes(body.read(MAX_CSV_BYTES + 1))
    finally:
        body.close()


# measurement_id: the frozen customers of a measurement of the shop (an experiment's group),
# so each group is a list that can be tagged and exported.
LIST_SOURCES = ("condition", "snapshot_of", "set_operation", "upload_key", "measurement_id")
MAX_REPORTED_ROWS = 100


def _latest_members(shop: str, segment_id: str, segments: Segments, storage: Storage
                    ) -> pa.Array:
    segment = segments.require(shop, segment_id)
    if not segment.last_evaluated_on:
        raise SegmentEvaluationError(
            f"segment {segment_id!r} has no members yet: wait for its first evaluation"
        )
    key = keys.members_key(shop, segment_id, date.fromisoformat(segment.last_evaluated_on))
    return read_members(storage.s3, storage.bucket, key)


def list_members(
    shop: str, run_date: date, source: Mapping[str, Any], *, reader: Any, storage: Storage,
    segments: Segments, tz: str = "UTC",
) -> tuple[list[int], dict[str, Any]]:
    """(member ids, report) of a list segment's source; see ``LIST_SOURCES``."""
    given = [k for k in LIST_SOURCES if k in source]
    if len(given) != 1:
        raise SegmentEvaluationError(f"give exactly one list source of {list(LIST_SOURCES)}")
    kind = given[0]
    if kind == "condition":
        condition = validate_condition(
            source["condition"], known_segments={s.segment_id for s in segments.list(shop)})
        tables = LakeTables.from_reader(reader)
        features = day_features(tables, run_date, tz,
                                predictions=names_prediction_feature(condition))
        members = dependency_members_latest(shop, condition, segments, storage)
        ids = members_of_condition_once(condition, features, tables, run_date, tz, members)
        return ids.to_pylist(), {}
    if kind == "snapshot_of":
        return _latest_members(shop, source["snapshot_of"], segments, storage).to_pylist(), {}
    if kind == "set_operation":
        lists = [_latest_members(shop, s, segments, storage).to_pylist()
                 for s in source.get("segment_ids") or []]
        try:
            return combine_member_lists(source["set_operation"], lists), {}
        except ValueError as error:
            raise SegmentEvaluationError(str(error)) from error
    if kind == "measurement_id":
        return _measurement_customers(shop, str(source["measurement_id"]), storage), {}
    body = read_upload(storage, source["upload_key"])
    directory = customer_directory(reader.read_table("customers",
                                                     columns=["customer_id", "email"]))
    parsed = parse_customer_list_csv(body, directory)
    report = {
        **parsed.summary(),
        "unmatched_rows": [vars(r) for r in parsed.unmatched[:MAX_REPORTED_ROWS]],
        "malformed_rows": [vars(r) for r in parsed.malformed[:MAX_REPORTED_ROWS]],
    }
    return parsed.matched_ids, report


def _measurement_customers(shop: str, measurement_id: str, storage: Storage) -> list[int]:
    """The customers a measurement froze; its key is derived from the shop, so a list can
    only ever copy a measurement of its own shop."""
    key = customers_key(shop, measurement_id)
    try:
        body = storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise SegmentEvaluationError(
                "this experiment group's customers were not found: create the experiment again"
            ) from None
        raise
    return decode_member_ids(body)


def dependency_members_latest(shop: str, condition: Mapping[str, Any], segments: Segments,
                              storage: Storage) -> dict[str, pa.Array]:
    """The latest snapshot of every segment ``condition`` names (``member_of``)."""
    return {dep: _latest_members(shop, dep, segments, storage)
            for dep in sorted(referenced_segments(dict(condition)))}


def create_list(
    shop: str, run_date: date, name: str, source: Mapping[str, Any], *, reader: Any,
    storage: Storage, segments: Segments, tz: str = "UTC", description: str | None = None,
) -> dict[str, Any]:
    """Create a list segment with the source's members as of ``run_date``."""
    ids, report = list_members(shop, run_date, source, reader=reader, storage=storage,
                               segments=segments, tz=tz)
    segment = segments.create(shop, name=name, condition=None, description=description,
                              kind="list")
    members_key, ids_key = write_members(storage.s3, storage.bucket, shop, segment.segment_id,
                                         run_date, pa.array(sorted(ids), pa.int64()))
    segments.record_evaluation(shop, segment.segment_id, run_date, len(ids))
    return {"segment_id": segment.segment_id, "member_count": len(ids),
            "members_key": members_key, "member_ids_key": ids_key, **report}
