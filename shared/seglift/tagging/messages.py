"""The SQS messages of the tag-job queue: one "plan" per job, then "batch" or "bulk_poll".

A message names everything its handler needs (shop, job, batch number and ids), so any
message can be processed in any order, on any instance, any number of times. The body is
canonical JSON (sorted keys), because Powertools Idempotency keys on the body: the same
logical message must always serialise to the same text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


class MessageError(ValueError):
    """A queue message this version cannot read; it says which field is wrong."""


@dataclass(frozen=True)
class PlanMessage:
    shop: str
    job_id: str
    type: str = "plan"


@dataclass(frozen=True)
class BatchMessage:
    shop: str
    job_id: str
    batch: int
    customer_ids: tuple[int, ...]
    type: str = "batch"


@dataclass(frozen=True)
class BulkPollMessage:
    shop: str
    job_id: str
    operation_id: str
    poll: int = 0
    type: str = "bulk_poll"


TagMessage = PlanMessage | BatchMessage | BulkPollMessage


def encode(message: TagMessage) -> str:
    body = asdict(message)
    if isinstance(message, BatchMessage):
        body["customer_ids"] = list(message.customer_ids)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _require(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MessageError(f"tag-job message field {name!r} must be {kind.__name__}: {body!r:.200}")
    return value


def decode(text: str) -> TagMessage:
    """Parse a message body, or MessageError naming the bad field."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise MessageError(f"tag-job message is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise MessageError("tag-job message must be a JSON object")
    kind = body.get("type")
    shop = _require(body, "shop", str)
    job_id = _require(body, "job_id", str)
    if kind == "plan":
        return PlanMessage(shop, job_id)
    if kind == "batch":
        ids = _require(body, "customer_ids", list)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise MessageError("tag-job batch message: customer_ids must be integers")
        return BatchMessage(shop, job_id, _require(body, "batch", int), tuple(ids))
    if kind == "bulk_poll":
        return BulkPollMessage(
            shop, job_id, _require(body, "operation_id", str), _require(body, "poll", int)
        )
    raise MessageError(f"unknown tag-job message type {kind!r}: expected plan, batch or bulk_poll")
