"""One "batch" message: tag (or untag) up to ~250 customers, counting each exactly once.

Steps, each safe to repeat:
1. Look for the batch's checkpoint; if there is none, read the customers' current tags
   (one ``nodes`` query per 250 ids, about 1 point each on Shopify, far cheaper than a
   10-point mutation) and classify every customer: needs the change, already has it
   (skipped), or gone (failed: deleted in Shopify). Store that checkpoint, first writer wins.
2. Send aliased ``tagsAdd``/``tagsRemove`` for the customers that need the change, up to 100
   per document (1000 points, Shopify's per-document cap). The client waits for the
   shop's bucket before each document, so the budget is spent as fast as it refills and
   never overdrawn. Tag mutations are idempotent in Shopify, so re-sending after a crash
   changes nothing twice; the checkpoint keeps the counts exact.
3. Commit the counts in one conditional update (exactly once per batch number), then see
   whether the job is complete and, if so, claim and send its one email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seglift.storage.tag_job_repository import BatchCheckpoint, TagJob, TagJobRepository
from seglift.tagging.completion import finish_if_complete
from seglift.tagging.documents import (
    CUSTOMER_TAGS_GQL,
    MAX_ALIASES_PER_DOCUMENT,
    MAX_IDS_PER_NODES_QUERY,
    MUTATION_COST,
    alias,
    build_tags_mutation,
    customer_gid,
    mutation_variables,
    nodes_query_cost,
)
from seglift.tagging.messages import BatchMessage
from seglift.tagging.ports import CompletionNotifier, GraphQLExecutor
from seglift.tagging.validation import MAX_TAGS_PER_CUSTOMER, has_tag

logger = logging.getLogger(__name__)

PACING_MARGIN_POINTS = 5
CUSTOMER_NOT_FOUND = "customer not found in Shopify (deleted or redacted)"
TOO_MANY_TAGS = f"customer already has {MAX_TAGS_PER_CUSTOMER} tags, Shopify's maximum"


@dataclass(frozen=True)
class BatchResult:
    """What one batch did; ``counted`` is False when an earlier delivery counted it."""

    done: int
    failed: int
    skipped: int
    counted: bool
    completed_job: TagJob | None = None


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def classify(
    action: str, tag: str, customer_gids: Sequence[str], nodes: Sequence[dict[str, Any] | None]
) -> BatchCheckpoint:
    """Split customers by their current tags: to change, already right (skipped), failed."""
    to_change: list[str] = []
    failures: list[dict[str, str]] = []
    skipped = 0
    for gid, node in zip(customer_gids, nodes, strict=True):
        if not node:
            failures.append({"customer_id": gid, "message": CUSTOMER_NOT_FOUND})
            continue
        tags = node.get("tags") or []
        present = has_tag(tags, tag)
        if (action == "add" and present) or (action == "remove" and not present):
            skipped += 1
        elif action == "add" and len(tags) >= MAX_TAGS_PER_CUSTOMER:
            failures.append({"customer_id": gid, "message": TOO_MANY_TAGS})
        else:
            to_change.append(gid)
    return BatchCheckpoint("", "", 0, to_change, skipped, failures)


def read_before_picture(
    client: GraphQLExecutor, action: str, tag: str, customer_gids: Sequence[str]
) -> BatchCheckpoint:
    """Current tags of the batch's customers (ids in Shopify's 250-item input chunks)."""
    nodes: list[dict[str, Any] | None] = []
    for chunk in _chunks(customer_gids, MAX_IDS_PER_NODES_QUERY):
        data = client.execute(
            CUSTOMER_TAGS_GQL, {"ids": list(chunk)}, expected_cost=nodes_query_cost(len(chunk))
        )
        answered = data.get("nodes") or []
        if len(answered) != len(chunk):
            raise RuntimeError(
                f"Shopify answered {len(answered)} nodes for {len(chunk)} ids: retry the batch"
            )
        nodes.extend(answered)
    return classify(action, tag, customer_gids, nodes)


def documents_size(client: GraphQLExecutor) -> int:
    """Aliases per document: 100 (1000 points), fewer if the shop's bucket is smaller."""
    status = getattr(client, "throttle_status", None)
    maximum = getattr(status, "maximum_available", None)
    if maximum:
        return max(1, min(MAX_ALIASES_PER_DOCUMENT, int(maximum) // MUTATION_COST))
    return MAX_ALIASES_PER_DOCUMENT


def apply_mutations(
    client: GraphQLExecutor, action: str, tag: str, customer_gids: Sequence[str]
) -> dict[str, str]:
    """Send the mutations; returns customer gid -> error message for those Shopify refused."""
    refused: dict[str, str] = {}
    position = 0
    while position < len(customer_gids):
        chunk = customer_gids[position : position + documents_size(client)]
        position += len(chunk)
        data = client.execute(
            build_tags_mutation(action, len(chunk)),
            mutation_variables(tag, list(chunk)),
            # A few points of margin: our clock and Shopify's are not the same clock, and
            # a document sent at exactly the refill boundary may find 999.99 of 1000.
            expected_cost=MUTATION_COST * len(chunk) + PACING_MARGIN_POINTS,
        )
        for index, gid in enumerate(chunk):
            payload = data.get(alias(index))
            if payload is None:
                refused[gid] = "Shopify returned no result for this customer"
                continue
            errors = payload.get("userErrors") or []
            if errors:
                refused[gid] = "; ".join(str(e.get("message", e)) for e in errors)[:500]
    return refused


def process_batch(
    message: BatchMessage,
    *,
    jobs: TagJobRepository,
    client_for_shop: Callable[[str], GraphQLExecutor],
    notifier: CompletionNotifier,
    now: Callable[[], datetime],
) -> BatchResult | None:
    """Apply one batch message; None if its job no longer exists (nothing to do)."""
    job = jobs.get(message.shop, message.job_id)
    if job is None:
        logger.warning("batch for an unknown tag job dropped", extra={"job_id": message.job_id})
        return None
    if message.batch in job.counted_batches:
        # Counted by an earlier delivery that may have died before the email step.
        completed = finish_if_complete(job.shop, job.job_id, jobs=jobs, notifier=notifier, now=now)
        return BatchResult(0, 0, 0, counted=False, completed_job=completed)
    if job.status == "queued":
        jobs.mark_running(job.shop, job.job_id, now())

    client = client_for_shop(job.shop)
    checkpoint = jobs.get_checkpoint(job.shop, job.job_id, message.batch)
    if checkpoint is None:
        gids = [customer_gid(i) for i in message.customer_ids]
        picture = read_before_picture(client, job.action, job.tag, gids)
        checkpoint = jobs.put_checkpoint(
            BatchCheckpoint(
                job.shop, job.job_id, message.batch,
                picture.to_change, picture.skipped, picture.failures,
            ),
            now(),
        )

    refused = apply_mutations(client, job.action, job.tag, checkpoint.to_change)
    errors = list(checkpoint.failures) + [
        {"customer_id": gid, "message": text} for gid, text in refused.items()
    ]
    done = len(checkpoint.to_change) - len(refused)
    failed = len(errors)
    updated = jobs.commit_batch(
        job.shop, job.job_id, message.batch,
        done=done, failed=failed, skipped=checkpoint.skipped, errors=errors,
    )
    jobs.delete_checkpoint(job.shop, job.job_id, message.batch)
    completed = finish_if_complete(
        job.shop, job.job_id, jobs=jobs, notifier=notifier, now=now, known=updated
    )
    return BatchResult(done, failed, checkpoint.skipped, updated is not None, completed)
