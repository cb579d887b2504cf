"""The bulk path for big jobs: one Shopify bulk mutation instead of thousands of documents.

Bulk operations are not charged against the shop's bucket, so above
``planner.BULK_THRESHOLD`` customers the plan step stages a JSONL file (one line of
variables per customer), starts ``bulkOperationRunMutation`` and enqueues a "bulk_poll"
message. Each poll asks for the operation's status; while it runs, the poll re-enqueues
itself with a growing delay (SQS delays, not a sleeping Lambda). When it is done, the result
JSONL (one line per input line, ``__lineNumber`` pointing back at it) gives exact done /
failed counts and per-customer errors; a FAILED or CANCELED operation's partial results are
read the same way and every customer without a result line counts as failed.

The whole bulk job is the job's single batch (number 0), so the same exactly-once commit
and completion email apply. Limitation: the bulk path does not read tags first, so a
customer who already had the tag counts as done, not skipped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.completion import finish_if_complete
from seglift.tagging.documents import (
    BULK_OPERATION_RUN_MUTATION_GQL,
    BULK_OPERATION_STATUS_GQL,
    STAGED_UPLOADS_CREATE_GQL,
    bulk_mutation_document,
    customer_gid,
)
from seglift.tagging.messages import BulkPollMessage, encode
from seglift.tagging.ports import CompletionNotifier, GraphQLExecutor, MessageQueue

logger = logging.getLogger(__name__)

RUNNING_STATUSES = ("CREATED", "RUNNING", "CANCELING")
MAX_POLL_DELAY_SECONDS = 60
# About 6 hours of polling at the capped delay before the job is declared failed.
MAX_POLLS = 400

Uploader = Callable[[str, str, list[dict[str, str]], bytes], None]
Fetcher = Callable[[str], bytes]


class BulkOperationError(RuntimeError):
    """Shopify refused to stage or start the bulk operation (retried by SQS)."""


def variables_jsonl(tag: str, customer_ids: Sequence[int]) -> bytes:
    """One JSON object of mutation variables per line, in customer order."""
    tags = json.dumps([tag])
    return "".join(
        f'{{"id":"{customer_gid(i)}","tags":{tags}}}\n' for i in customer_ids
    ).encode("utf-8")


def _staged_upload_path(target: dict[str, Any]) -> str:
    """The path bulkOperationRunMutation wants: the form's ``key`` parameter."""
    for parameter in target.get("parameters") or []:
        if parameter.get("name") == "key":
            return str(parameter["value"])
    raise BulkOperationError("staged upload target has no 'key' parameter")


def start_bulk_tagging(
    job: TagJob,
    customer_ids: Sequence[int],
    *,
    client: GraphQLExecutor,
    jobs: TagJobRepository,
    queue: MessageQueue,
    upload: Uploader,
    now: Callable[[], datetime],
    first_poll_delay: int = 5,
) -> str:
    """Stage the variables, start the bulk mutation, enqueue the first poll; the operation id."""
    staged = client.execute(
        STAGED_UPLOADS_CREATE_GQL,
        {"input": [{
            "resource": "BULK_MUTATION_VARIABLES",
            "filename": f"tag-job-{job.job_id}.jsonl",
            "mimeType": "text/jsonl",
            "httpMethod": "POST",
        }]},
        expected_cost=10,
    )["stagedUploadsCreate"]
    if staged.get("userErrors") or not staged.get("stagedTargets"):
        raise BulkOperationError(f"stagedUploadsCreate refused: {staged.get('userErrors')}")
    target = staged["stagedTargets"][0]
    upload(target["url"], "POST", target.get("parameters") or [],
           variables_jsonl(job.tag, customer_ids))
    started = client.execute(
        BULK_OPERATION_RUN_MUTATION_GQL,
        {"mutation": bulk_mutation_document(job.action),
         "stagedUploadPath": _staged_upload_path(target)},
        expected_cost=10,
    )["bulkOperationRunMutation"]
    if started.get("userErrors") or not started.get("bulkOperation"):
        raise BulkOperationError(
            f"bulkOperationRunMutation refused (another bulk operation may be running; "
            f"SQS retries): {started.get('userErrors')}"
        )
    operation_id = str(started["bulkOperation"]["id"])
    jobs.set_bulk_operation(job.shop, job.job_id, operation_id)
    jobs.mark_running(job.shop, job.job_id, now())
    queue.send([encode(BulkPollMessage(job.shop, job.job_id, operation_id, 0))],
               delay_seconds=first_poll_delay)
    return operation_id


_EMPTY_USER_ERRORS = re.compile(rb'"userErrors"\s*:\s*\[\s*\]')
_TOP_LEVEL_ERRORS = re.compile(rb'"errors"\s*:')
_LINE_NUMBER = re.compile(rb'"__lineNumber"\s*:\s*(\d+)')


def count_results(
    result_jsonl: bytes, customer_gids: Sequence[str], action: str
) -> tuple[int, list[dict[str, str]]]:
    """(done, errors) from a result JSONL; customers without a result line are errors.

    A success line is recognised by two regex searches (``"userErrors": []`` and its
    ``__lineNumber``), without building a dict per line; only the rare failure lines are
    parsed as JSON for their messages. A torn line matches neither and its customer is
    reported as having no result.
    """
    field = "tagsAdd" if action == "add" else "tagsRemove"
    answered: set[int] = set()
    errors: list[dict[str, str]] = []
    done = 0
    for raw in result_jsonl.splitlines():
        number_match = _LINE_NUMBER.search(raw)
        if number_match is None:
            continue  # blank or torn: reported below as "no result"
        number = int(number_match.group(1))
        if not 0 <= number < len(customer_gids) or number in answered:
            continue
        if _EMPTY_USER_ERRORS.search(raw) and not _TOP_LEVEL_ERRORS.search(raw):
            answered.add(number)
            done += 1
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        answered.add(number)
        payload = (line.get("data") or {}).get(field) or {}
        problems = payload.get("userErrors") or line.get("errors") or []
        message = "; ".join(str(e.get("message", e)) for e in problems) or "no data returned"
        errors.append({"customer_id": customer_gids[number], "message": message[:500]})
    missing = sorted(set(range(len(customer_gids))) - answered)
    errors.extend(
        {"customer_id": customer_gids[i], "message": "no result from the bulk operation"}
        for i in missing
    )
    return done, errors


def poll_bulk_tagging(
    message: BulkPollMessage,
    *,
    client: GraphQLExecutor,
    jobs: TagJobRepository,
    queue: MessageQueue,
    members: Callable[[str], list[int]],
    fetch: Fetcher,
    notifier: CompletionNotifier,
    now: Callable[[], datetime],
) -> str:
    """Check the bulk operation once; returns its status (and finishes the job when done)."""
    job = jobs.get(message.shop, message.job_id)
    if job is None or 0 in job.counted_batches:
        return "GONE"
    operation = client.execute(
        BULK_OPERATION_STATUS_GQL, {"id": message.operation_id}, expected_cost=1
    ).get("bulkOperation")
    if operation is None:
        raise BulkOperationError(f"bulk operation {message.operation_id} not found")
    status = str(operation["status"])
    if status in RUNNING_STATUSES:
        if message.poll >= MAX_POLLS:
            raise BulkOperationError(f"bulk operation {message.operation_id} never finished")
        delay = min(MAX_POLL_DELAY_SECONDS, 2 ** min(message.poll, 6))
        queue.send([encode(BulkPollMessage(message.shop, message.job_id,
                                           message.operation_id, message.poll + 1))],
                   delay_seconds=delay)
        return status
    url = operation.get("url") if status == "COMPLETED" else operation.get("partialDataUrl")
    result = fetch(url) if url else b""
    ids = list(dict.fromkeys(members(job.member_ids_key or "")))
    gids = [customer_gid(i) for i in ids]
    done, errors = count_results(result, gids, job.action)
    if status != "COMPLETED":
        logger.warning("bulk tag operation ended early",
                       extra={"job_id": job.job_id, "status": status,
                              "error_code": operation.get("errorCode")})
    jobs.commit_batch(job.shop, job.job_id, 0, done=done, failed=len(errors), skipped=0,
                      errors=errors)
    finish_if_complete(job.shop, job.job_id, jobs=jobs, notifier=notifier, now=now)
    return status
