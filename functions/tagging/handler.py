"""Tagging Lambda: tag-job queue messages in, Shopify tag mutations and one email out.

``lambda_handler`` consumes the tag-job queue (template: a FIFO queue grouped by shop,
BatchSize 1, ReportBatchItemFailures, up to TaggingConcurrency shops at once). Each record
is processed on its own; a failing record is reported back alone and redelivered by SQS
(after 5 receives it moves to the DLQ). Order inside a shop's group does not matter to
correctness (every message is self-contained), only that one runs at a time. Each
record runs under Powertools Idempotency keyed on its body, so a redelivered message
that already succeeded is not applied again; the per-batch counted guard in DynamoDB
keeps counts exact even when the idempotency record is gone or the message died midway.

``dead_letter_handler`` consumes the dead-letter queue (needs its own function in
template.yaml, see README) and closes dead messages' share of their jobs as failed, so a
job never hangs waiting for a batch that will not come.
"""

from __future__ import annotations

import math
import os
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift import observability
from seglift.config import RuntimeConfig
from seglift.tagging.adapters import SqsQueue, due_in
from seglift.tagging.dead_letters import drain_dead_letter
from seglift.tagging.messages import decode, encode
from seglift.tagging.router import handle_message
from tagging.wiring import TaggingDependencies, build_dependencies, container_client

logger = Logger(service="tagging")
tracer = observability.tracer_for("tagging")
metrics = observability.metrics_for("tagging")

# A batch of 250 customers needs up to ~25 s of a Standard shop's bucket; don't start one
# with less than this left: re-enqueue it instead (doesn't count toward maxReceiveCount).
MIN_REMAINING_MS = 45_000
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@cache
def _idempotent_runner(table_name: str) -> Any:
    """The idempotent message runner for one idempotency table (built once per container)."""
    persistence = DynamoDBPersistenceLayer(table_name=table_name)
    config = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_TTL_SECONDS)

    @idempotent_function(
        data_keyword_argument="body", persistence_store=persistence, config=config
    )
    def run(body: str, deps: TaggingDependencies) -> dict[str, Any]:
        return handle_message(decode(body), deps)

    return run, config


def _record_handler(deps: TaggingDependencies, config: RuntimeConfig, context: Any,
                    outcomes: list[dict[str, Any]]) -> Any:
    """Handles one record; appends each message's summary to ``outcomes`` (for metrics)."""
    run, idempotency_config = _idempotent_runner(config.idempotency_table)
    idempotency_config.register_lambda_context(context)

    def handle(record: SQSRecord) -> dict[str, Any]:
        message = decode(record.body)
        observability.bind(logger, shop=message.shop, job_id=message.job_id)
        remaining = context.get_remaining_time_in_millis() if context else MIN_REMAINING_MS
        # A delayed message on the FIFO queue arrives at once and says when it is due.
        wait = due_in(record.raw_event.get("messageAttributes") or {}, time.time())
        if remaining - wait * 1000 < MIN_REMAINING_MS:
            deps.queue.send([encode(message)], delay_seconds=math.ceil(wait))
            logger.info("tag-job message deferred: too little time left",
                        extra={"job_id": message.job_id, "remaining_ms": remaining})
            return {"deferred": True}
        if wait > 0:
            time.sleep(wait)
        outcome = run(body=record.body, deps=deps)
        outcomes.append(outcome)
        return outcome

    return handle


def record_metrics(outcomes: list[dict[str, Any]], deps: TaggingDependencies) -> None:
    """Tag mutations of the batches this invocation counted (a redelivered batch that an
    earlier delivery counted is not counted twice), and the throttled retries."""
    counted = [o for o in outcomes if o.get("type") == "batch" and o.get("counted")]
    observability.count(metrics, {
        "TagMutations": observability.total(counted, "done"),
        "TagMutationsFailed": observability.total(counted, "failed"),
        "ShopifyThrottledRetries": sum(int(getattr(c, "throttled_retries", 0) or 0)
                                       for c in deps.shopify_clients.values()),
    })


def _drain_queue(deps: TaggingDependencies, queue_url: str) -> dict[str, Any]:
    """Manual mode: read every message of the DLQ at ``queue_url``, account for it, delete it."""
    dead = SqsQueue(container_client("sqs"), queue_url)
    drained = 0
    for receipt, body in dead.receive_all():
        drain_dead_letter(decode(body), jobs=deps.jobs, notifier=deps.notifier, now=deps.now)
        dead.delete(receipt)
        drained += 1
    return {"drained": drained}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    """SQS events of the tag-job queue; or ``{"action": "drain_dead_letters", "queue_url"}``
    (invoked by an operator or the API) to drain the DLQ without a DLQ event source."""
    observability.route_library_logs(logger, "tagging")
    config = RuntimeConfig.from_environ(os.environ).require("idempotency_table")
    deps = build_dependencies(config)
    if event.get("action") == "drain_dead_letters":
        drained = _drain_queue(deps, str(event["queue_url"]))
        observability.count(metrics, {"DeadLetteredMessages": drained["drained"]})
        return drained
    processor = BatchProcessor(event_type=EventType.SQS)
    outcomes: list[dict[str, Any]] = []
    try:
        return process_partial_response(
            event=event,
            record_handler=_record_handler(deps, config, context, outcomes),
            processor=processor,
            context=context,
        )
    finally:
        record_metrics(outcomes, deps)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def dead_letter_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    """SQS events of the tag-job DLQ: close each dead message's share of its job."""
    observability.route_library_logs(logger, "tagging")
    config = RuntimeConfig.from_environ(os.environ)
    deps = build_dependencies(config)
    drained: list[str] = []

    def drain(record: SQSRecord) -> None:
        message = decode(record.body)
        observability.bind(logger, shop=message.shop, job_id=message.job_id)
        drain_dead_letter(message, jobs=deps.jobs, notifier=deps.notifier, now=deps.now)
        drained.append(message.job_id)

    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return process_partial_response(
            event=event, record_handler=drain, processor=processor, context=context
        )
    finally:
        # Each one is a customer batch that will never be tagged: an operator should know.
        observability.count(metrics, {"DeadLetteredMessages": len(drained)})
