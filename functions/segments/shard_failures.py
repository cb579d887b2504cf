"""When the sharded day-run fails, and when it is done: its failure in words, its
intermediate files deleted.

A Distributed Map whose item fails fails itself with ``States.ExceedToleratedFailureThreshold``
("The specified tolerated failure threshold was exceeded"): Step Functions does not pass
the item's own error on. So each shard's workflow catches its own failure and records it
beside its outputs (``record_shard_failure``, the RecordFailure state) before failing,
and when the day fails (DayFailed) ``day_failed`` reads those records back, so the shop is
told what failed in the shard (its out-of-memory, its timeout, its bug) rather than that
a threshold was exceeded. DayContext's and ReduceDay's own failures take the same path.

Every intermediate file of a run lives under its ``ShardPlan.prefix``; ``forget_shards``
deletes them once the day is stored (ForgetShards) or has failed (DayFailed). The files are
tagged ``retention=dayrun`` when written (``segments.shards``), and the bucket's lifecycle
rule for that tag (template.yaml) expires whatever a crashed run leaves behind, and the
versions deleting leaves in the versioned bucket.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from seglift.dayrun.contracts import ShardItem, ShardPlan
from segments.logic import Storage
from segments.shards import INTERMEDIATE_TAGGING

logger = Logger(child=True)

Phase = Literal["features", "segments"]
PHASE_ORDER: dict[str, int] = {"features": 0, "segments": 1}
THRESHOLD_EXCEEDED = "States.ExceedToleratedFailureThreshold"
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class StateFailure(BaseModel):
    """What a Catch puts in its ``ResultPath``: Step Functions' ``Error`` and ``Cause``
    (for a Lambda error, ``Cause`` is the function's JSON error)."""

    model_config = ConfigDict(extra="ignore")

    Error: str = "States.TaskFailed"
    Cause: str | None = ""


class ShardFailureRecord(BaseModel):
    """One failed shard invocation, as RecordFailure leaves it for DayFailed."""

    phase: Phase
    shard: int = Field(ge=0)
    shards: int = Field(ge=1)
    error: str
    cause: str


def failures_prefix(prefix: str) -> str:
    return f"{prefix}failures/"


def failure_in_words(failure: StateFailure) -> str:
    """A task's failure as text: a Lambda error's ``errorType: errorMessage``, a timeout
    said as such, never a stack trace."""
    if failure.Error == "States.Timeout":
        return "it took longer than allowed"
    try:
        cause = json.loads(failure.Cause) if failure.Cause else None
    except ValueError:
        cause = None
    if isinstance(cause, dict) and cause.get("errorMessage"):
        return f"{cause.get('errorType') or failure.Error}: {cause['errorMessage']}"
    return failure.Cause or failure.Error


def record_shard_failure(item: ShardItem, phase: str, failure: StateFailure, *,
                         storage: Storage) -> dict[str, Any]:
    """RecordFailure: the shard's own error, written where DayFailed looks for it."""
    record = ShardFailureRecord.model_validate({"phase": phase, "shard": item.shard,
                                                "shards": item.shards, "error": failure.Error,
                                                "cause": failure_in_words(failure)})
    key = f"{failures_prefix(item.prefix)}{record.phase}-{item.shard:05d}.json"
    storage.s3.put_object(Bucket=storage.bucket, Key=key, Body=record.model_dump_json().encode(),
                          ContentType="application/json", Tagging=INTERMEDIATE_TAGGING)
    return {"shard": item.shard, "phase": record.phase}


def _keys(storage: Storage, prefix: str) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        page = storage.s3.list_objects_v2(Bucket=storage.bucket, Prefix=prefix,
                                          **({"ContinuationToken": token} if token else {}))
        found.extend(o["Key"] for o in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            return found


def shard_failures(plan: ShardPlan, *, storage: Storage) -> list[ShardFailureRecord]:
    """The run's recorded shard failures, in the order the day ran them."""
    records = [ShardFailureRecord.model_validate_json(
        storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"].read())
        for key in _keys(storage, failures_prefix(plan.prefix))]
    return sorted(records, key=lambda r: (PHASE_ORDER[r.phase], r.shard))


def describe_failure(failure: StateFailure, records: list[ShardFailureRecord]) -> StateFailure:
    """The day's failure as the shop is told it: the first failed shard's own error, with
    how many parts of the shop failed; otherwise the failed step's own error."""
    if not records:
        if failure.Error == THRESHOLD_EXCEEDED:
            return StateFailure(Error=failure.Error,
                                Cause="a part of the shop's customers could not be computed")
        return StateFailure(Error=failure.Error, Cause=failure_in_words(failure))
    first = records[0]
    words = (f"part {first.shard + 1} of the {first.shards} parts of the shop's customers "
             f"failed: {first.cause}" if first.shards > 1
             else f"computing the shop's customers failed: {first.cause}")
    others = len(records) - 1
    if others:
        words += f"; {others} more part{'s' if others > 1 else ''} failed too"
    return StateFailure(Error=first.error, Cause=words)


def forget_shards(plan: ShardPlan, *, storage: Storage) -> dict[str, Any]:
    """ForgetShards: every intermediate file of the run deleted (a batch per 1,000)."""
    found = _keys(storage, plan.prefix)
    for start in range(0, len(found), _DELETE_BATCH):
        batch = found[start:start + _DELETE_BATCH]
        answer = storage.s3.delete_objects(Bucket=storage.bucket, Delete={
            "Objects": [{"Key": key} for key in batch], "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise RuntimeError(f"could not delete {len(answer['Errors'])} of the day-run's "
                               f"files, first {first.get('Key')}: {first.get('Message')}")
    return {"deleted": len(found)}


def day_failed(plan: ShardPlan, failure: StateFailure, *, storage: Storage) -> dict[str, Any]:
    """DayFailed: the failure in words (``Error``/``Cause`` for the Fail state), and the
    run's intermediate files deleted (the failure records read first). Files that cannot
    be deleted now are left to the lifecycle rule: the failure is what must be told."""
    described = describe_failure(failure, shard_failures(plan, storage=storage))
    try:
        deleted: int | None = forget_shards(plan, storage=storage)["deleted"]
    except (ClientError, BotoCoreError, RuntimeError) as error:
        logger.warning("day-run files left to the lifecycle rule", extra={"error": str(error)})
        deleted = None
    return {**described.model_dump(), "deleted": deleted}
