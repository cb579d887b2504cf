"""Jobs: work an API request starts but cannot wait for, followed by the dashboard.

API Gateway cuts every request at 29 s, and some work takes longer at a large shop (a CSV
export of a million customers). The API records a job, hands the work to its function
asynchronously and answers 202 with the job; the function moves the job through
``queued -> running -> succeeded | failed`` and the dashboard polls ``GET /jobs/{id}``.
Kinds: ``export`` (the export function), ``backfill`` and ``list`` (the segments
function), ``experiment`` (the measurements function, ``seglift.measurements.experiment_job``).

Items sit in the idempotency table (hash key ``id``, TTL ``expiration``), next to the
webhook receipts, install nonces and rate-limit windows: short-lived records that expire on
their own (a job a week after it was created). The shop is part of the key, so a job id
from another shop simply does not exist for the caller.

A final state is written once (conditional on the job not being final already): Lambda
retries an asynchronous invocation after a crash, and a retry must neither run a finished
job again nor overwrite its outcome.

A job made of counted units (a backfill's days, ``kind`` says which) is created with its
``total``; each unit is recorded as done by name (a string set, so a retried invocation
counting a day again does not count it twice), with the reason when it failed (a map by
unit, removed when a retry succeeds). Several invocations can share one job (a long
backfill runs in parts): the one whose record completes the set finishes the job.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

KEY_PREFIX = "job#"
# Jobs are kept a week: long enough to come back to a result, short enough to be tidy.
JOB_TTL_SECONDS = 7 * 24 * 3600
FINAL = ("succeeded", "failed")
Status = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True)
class Job:
    shop: str
    job_id: str
    kind: str
    status: Status
    progress: str
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    total: int | None = None  # units of a counted job (None: not counted)
    done: frozenset[str] = frozenset()  # units recorded, failed ones included
    failures: dict[str, str] = field(default_factory=dict)  # unit -> why it failed

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def complete(self) -> bool:
        """Every unit of a counted job is recorded."""
        return self.total is not None and len(self.done) >= self.total


def _key(shop: str, job_id: str) -> dict[str, Any]:
    return {"id": {"S": f"{KEY_PREFIX}{shop}#{job_id}"}}


class JobRepository:
    def __init__(self, dynamodb: Any, table_name: str) -> None:
        """``dynamodb`` is a boto3 DynamoDB client; ``table_name`` the idempotency table."""
        self._dynamodb = dynamodb
        self._table = table_name

    def create(self, shop: str, kind: str, *, progress: str, now: datetime,
               total: int | None = None, ttl_seconds: int = JOB_TTL_SECONDS) -> Job:
        """A queued job; ``total``: the units of a counted job (``record_unit``);
        ``ttl_seconds``: how long it is kept (a preview's, which names customers, an hour:
        DynamoDB's TTL deletes it within two days, well inside the 30 days a customer's
        redaction request allows)."""
        job = Job(shop=shop, job_id=f"job_{secrets.token_hex(8)}", kind=kind, status="queued",
                  progress=progress, created_at=now, updated_at=now, total=total)
        counted = {} if total is None else {"total": {"N": str(total)},
                                            "failures": {"M": {}}}
        self._dynamodb.put_item(
            TableName=self._table,
            Item={**_key(shop, job.job_id), "shop": {"S": shop}, "kind": {"S": kind},
                  "status": {"S": "queued"}, "progress": {"S": progress},
                  "created_at": {"S": now.isoformat()}, "updated_at": {"S": now.isoformat()},
                  "expiration": {"N": str(int(now.timestamp()) + ttl_seconds)},
                  **counted},
            ConditionExpression="attribute_not_exists(id)")
        return job

    def get(self, shop: str, job_id: str) -> Job | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=_key(shop, job_id),
                                       ConsistentRead=True).get("Item")
        return None if item is None else _job(job_id, item)

    def record_unit(self, shop: str, job_id: str, unit: str, *, failure: str | None,
                    now: datetime) -> Job | None:
        """Record one unit of a counted job as done (``failure``: why it failed, in the
        merchant's words) and mark the job running; the job as it is now, or None when it
        is final already or does not exist."""
        names = {"#status": "status", "#unit": unit}
        values: dict[str, Any] = {":unit": {"SS": [unit]}, ":running": {"S": "running"},
                                  ":now": {"S": now.isoformat()}, ":done": {"S": "succeeded"},
                                  ":failed": {"S": "failed"}}
        if failure is None:
            expression = ("ADD done_units :unit REMOVE failures.#unit "
                          "SET #status = :running, updated_at = :now")
        else:
            expression = ("ADD done_units :unit SET failures.#unit = :why, "
                          "#status = :running, updated_at = :now")
            values[":why"] = {"S": failure}
        try:
            item = self._dynamodb.update_item(
                TableName=self._table, Key=_key(shop, job_id), UpdateExpression=expression,
                ConditionExpression="attribute_exists(id) AND NOT #status IN (:done, :failed)",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW")["Attributes"]
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        return _job(job_id, item)

    def report(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool:
        """Replace a running job's progress line (False: final already, or no such job)."""
        return self._update(shop, job_id, "running", progress, now, {})

    def start(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool:
        """Mark the job running; False when it is final already (a retried invocation
        of finished work) or does not exist."""
        return self._update(shop, job_id, "running", progress, now, {})

    def succeed(self, shop: str, job_id: str, result: dict[str, Any], *, progress: str,
                now: datetime) -> bool:
        return self._update(shop, job_id, "succeeded", progress, now,
                            {"result": json.dumps(result, default=str)})

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool:
        """Record the failure in the merchant's words (``message``: what to do next)."""
        return self._update(shop, job_id, "failed", "Stopped", now,
                            {"error_code": code, "error_message": message})

    def _update(self, shop: str, job_id: str, status: Status, progress: str,
                now: datetime, extra: dict[str, str]) -> bool:
        fields = {"status": status, "progress": progress, "updated_at": now.isoformat(),
                  **extra}
        names = {f"#{n}": n for n in fields}
        values = {f":{n}": {"S": v} for n, v in fields.items()}
        try:
            self._dynamodb.update_item(
                TableName=self._table, Key=_key(shop, job_id),
                UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in fields),
                ConditionExpression="attribute_exists(id) AND NOT #status IN (:done, :failed)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":done": {"S": "succeeded"},
                                           ":failed": {"S": "failed"}})
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _job(job_id: str, item: dict[str, Any]) -> Job:
    text = {name: value["S"] for name, value in item.items() if "S" in value}
    failures = item.get("failures", {}).get("M", {})
    return Job(
        shop=text["shop"], job_id=job_id, kind=text["kind"],
        status=text["status"],  # written only by this class: a Status
        progress=text.get("progress", ""),
        created_at=datetime.fromisoformat(text["created_at"]),
        updated_at=datetime.fromisoformat(text["updated_at"]),
        result=json.loads(text["result"]) if "result" in text else None,
        error_code=text.get("error_code"), error_message=text.get("error_message"),
        total=int(item["total"]["N"]) if "total" in item else None,
        done=frozenset(item.get("done_units", {}).get("SS", [])),
        failures={unit: value["S"] for unit, value in failures.items()})
