"""The tagging Lambda end to end: moto (DynamoDB, S3, SQS, SES, SSM) + the Shopify emulator.

Messages are delivered the way Lambda's SQS poller does: up to 10 per invocation, only the
records not reported in ``batchItemFailures`` are deleted.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devkit.shopify_emulator import ShopifyEmulator
from devkit.store.model import gid
from seglift.config import RuntimeConfig
from seglift.shopify.client import ShopifyGraphQLClient
from seglift.storage.models import SegmentModel, bind
from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.adapters import NOT_BEFORE_ATTRIBUTE, S3MemberIdsReader, SqsQueue
from seglift.tagging.jobs import start_tag_job
from seglift.tagging.messages import decode
from seglift.tagging.router import Limits, handle_message
from tagging import handler, wiring
from tagging.wiring import build_dependencies
from tests.lambda_context import lambda_context
from tests.observability.logs import captured
from tests.tagging.emulated import (
    MERCHANT,
    SEGMENTS_TABLE,
    SHOP,
    Cloud,
    delete,
    deploy,
    receive,
    sent_emails,
    store_with,
)
from tests.tagging.fakes import ListQueue

MEMBERS = list(range(1, 301))


@pytest.fixture
def emulator() -> Iterator[ShopifyEmulator]:
    with ShopifyEmulator([store_with(320)], restore_rate=100_000) as running:
        yield running


@pytest.fixture
def cloud(aws: None, emulator: ShopifyEmulator, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Cloud]:
    # The client's retry back-off would really sleep; the emulator needs no waiting.
    monkeypatch.setattr(wiring, "ShopifyGraphQLClient",
                        functools.partial(ShopifyGraphQLClient, sleep=lambda _s: None))
    deployed = deploy(emulator, MEMBERS)
    saved = {k: os.environ.get(k) for k in deployed.env}
    os.environ.update(deployed.env)
    yield deployed
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _start(cloud: Cloud, tag: str = "VIP", action: str = "add") -> TagJob:
    config = RuntimeConfig.from_environ(os.environ)
    return start_tag_job(
        SHOP, "vip", tag, action, "owner",
        jobs_repo=TagJobRepository(config.tag_jobs_table),
        queue=SqsQueue(boto3.client("sqs"), cloud.queue_url),
        members_reader=S3MemberIdsReader(boto3.client("s3"), config.data_bucket),
        segment=bind(SegmentModel, SEGMENTS_TABLE).get(SHOP, "vip"),
    )


def _context(timeout_seconds: float = 120) -> Any:
    """The tagging function's context: 120 s as in template.yaml, or less to test deferral."""
    return lambda_context("TaggingFunction", timeout_seconds=timeout_seconds)


def _invoke(records: list[dict[str, Any]], entry: Any = None) -> list[str]:
    response = (entry or handler.lambda_handler)({"Records": records}, _context())
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def _drain(cloud: Cloud, rounds: int = 30) -> int:
    """Lambda's poller: invoke with up to 10 records, delete the ones that succeeded."""
    for invocations in range(rounds):
        records = receive(cloud.queue_url)
        if not records:
            return invocations
        failed = _invoke(records)
        delete(cloud.queue_url, [r for r in records if r["messageId"] not in failed])
    raise AssertionError("the queue never drained")


def _job(job_id: str) -> TagJob:
    job = TagJobRepository(os.environ["TAG_JOBS_TABLE"]).get(SHOP, job_id)
    assert job is not None
    return job


def test_a_job_tags_every_member_in_shopify_and_emails_the_merchant_once(
        cloud: Cloud, emulator: ShopifyEmulator):
    emulator.store(SHOP).customers[gid("Customer", 10)]["tags"] = ["vip"]
    job = _start(cloud)
    _drain(cloud)
    final = _job(job.job_id)
    assert (final.done, final.skipped, final.failed, final.status) == (299, 1, 0, "completed")
    assert (final.batches_total, final.batches_finished) == (2, 2)
    customers = emulator.store(SHOP).customers
    assert all(customers[gid("Customer", i)]["tags"] in (["VIP"], ["vip"]) for i in MEMBERS)
    assert customers[gid("Customer", 301)]["tags"] == []  # not a member: untouched
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == [MERCHANT]
    assert f"https://app.example/tag-jobs/{job.job_id}" in email.body
    assert "299" in email.body


def test_a_redelivered_batch_is_not_applied_twice(cloud: Cloud, emulator: ShopifyEmulator):
    job = _start(cloud)
    [plan] = receive(cloud.queue_url)
    assert _invoke([plan]) == []
    delete(cloud.queue_url, [plan])
    batches = receive(cloud.queue_url)
    assert _invoke(batches[:1]) == []
    requests = emulator.stats.snapshot()["requests"]
    assert _invoke(batches[:1]) == []  # the same message again (visibility timed out)
    assert emulator.stats.snapshot()["requests"] == requests  # Shopify not even asked
    delete(cloud.queue_url, batches[:1])
    _drain(cloud)
    final = _job(job.job_id)
    assert (final.done, final.batches_finished, final.status) == (300, 2, "completed")
    assert len(sent_emails()) == 1


def test_shopify_faults_and_throttling_are_retried_and_counts_stay_exact(
        cloud: Cloud, emulator: ShopifyEmulator):
    emulator.faults.throttle_next(3, shop=SHOP)
    emulator.faults.fail_next(2, status=503, shop=SHOP)
    job = _start(cloud)
    _drain(cloud)
    final = _job(job.job_id)
    assert (final.done, final.failed, final.status) == (300, 0, "completed")
    assert len(sent_emails()) == 1


def test_a_customer_deleted_in_shopify_is_reported_failed(cloud: Cloud,
                                                          emulator: ShopifyEmulator):
    emulator.store(SHOP).delete_customer(gid("Customer", 42), "2026-11-24T00:00:00Z")
    job = _start(cloud, action="remove")
    _drain(cloud)
    final = _job(job.job_id)
    assert (final.done, final.skipped, final.failed) == (0, 299, 1)
    assert final.errors[0]["customer_id"] == gid("Customer", 42)
    assert final.status == "completed_with_errors"
    assert len(sent_emails()) == 1


def test_a_batch_that_keeps_failing_is_reported_and_drained_from_the_dlq(
        cloud: Cloud, emulator: ShopifyEmulator):
    job = _start(cloud)
    [plan] = receive(cloud.queue_url)
    _invoke([plan])
    delete(cloud.queue_url, [plan])
    batches = receive(cloud.queue_url)
    emulator.faults.fail_next(1000, status=500, shop=SHOP)  # Shopify down for this batch
    with pytest.raises(BatchProcessingError):  # every record of the invocation failed
        _invoke(batches[:1])
    emulator.faults.clear()
    delete(cloud.queue_url, batches[1:])
    _invoke(batches[1:])
    assert _job(job.job_id).status == "running"
    # After maxReceiveCount the message is in the DLQ; its drainer closes the job.
    assert _invoke(batches[:1], entry=handler.dead_letter_handler) == []
    final = _job(job.job_id)
    assert (final.done, final.failed, final.status) == (50, 250, "completed_with_errors")
    assert len(sent_emails()) == 1


def test_a_message_left_with_too_little_time_is_put_back_not_failed(cloud: Cloud):
    _start(cloud)
    [plan] = receive(cloud.queue_url)
    response = handler.lambda_handler({"Records": [plan]}, _context(timeout_seconds=5))
    assert response["batchItemFailures"] == []
    delete(cloud.queue_url, [plan])
    [again] = receive(cloud.queue_url)
    assert decode(again["body"]).type == "plan"


def _due_in(record: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The record as the FIFO queue delivers a message sent with a delay (Lambda's shape)."""
    due = {"stringValue": f"{time.time() + seconds:.3f}", "dataType": "Number"}
    return {**record, "messageAttributes": {NOT_BEFORE_ATTRIBUTE: due}}


def test_a_delayed_message_from_the_fifo_queue_waits_until_it_is_due(cloud: Cloud):
    job = _start(cloud)
    [plan] = receive(cloud.queue_url)
    delete(cloud.queue_url, [plan])
    started = time.monotonic()
    assert _invoke([_due_in(plan, 1.0)]) == []
    assert time.monotonic() - started >= 1.0
    assert _job(job.job_id).batches_total == 2  # then it was handled


def test_a_message_due_after_the_invocation_could_wait_is_put_back_with_the_rest(cloud: Cloud):
    _start(cloud)
    [plan] = receive(cloud.queue_url)
    delete(cloud.queue_url, [plan])
    response = handler.lambda_handler({"Records": [_due_in(plan, 40)]},
                                      _context(timeout_seconds=60))
    assert response["batchItemFailures"] == []
    assert receive(cloud.queue_url) == []  # re-sent with its remaining delay: not visible yet


def test_the_bulk_path_tags_through_a_staged_upload_and_a_bulk_mutation(
        cloud: Cloud, emulator: ShopifyEmulator):
    emulator.store(SHOP).delete_customer(gid("Customer", 7), "2026-11-24T00:00:00Z")
    job = _start(cloud)
    deps = build_dependencies(RuntimeConfig.from_environ(os.environ))
    deps.queue = ListQueue()  # type: ignore[assignment]
    [plan] = receive(cloud.queue_url)
    handle_message(decode(plan["body"]), deps, Limits(bulk_threshold=100))
    operation_id = _job(job.job_id).bulk_operation_id
    assert operation_id is not None
    emulator.wait_for_bulk_operation(operation_id)
    [poll] = deps.queue.pop_all()
    result = handle_message(decode(poll), deps, Limits(bulk_threshold=100))
    assert result["status"] == "COMPLETED"
    final = _job(job.job_id)
    assert (final.done, final.failed, final.status) == (299, 1, "completed_with_errors")
    assert emulator.store(SHOP).customers[gid("Customer", 8)]["tags"] == ["VIP"]
    assert len(sent_emails()) == 1


def test_an_operator_can_drain_the_dlq_by_invoking_the_function(cloud: Cloud):
    job = _start(cloud)
    [plan] = receive(cloud.queue_url)
    _invoke([plan])
    delete(cloud.queue_url, [plan])
    batches = receive(cloud.queue_url)
    delete(cloud.queue_url, batches)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=cloud.dlq_url, MessageBody=batches[0]["body"])  # died
    _invoke(batches[1:])
    answer = handler.lambda_handler(
        {"action": "drain_dead_letters", "queue_url": cloud.dlq_url}, _context())
    assert answer == {"drained": 1}
    final = _job(job.job_id)
    assert (final.done, final.failed, final.status) == (50, 250, "completed_with_errors")
    assert "Messages" not in sqs.receive_message(QueueUrl=cloud.dlq_url)
    assert len(sent_emails()) == 1


# -- observability: JSON logs with the job's ids as keys, business metrics as EMF


def test_a_dead_letter_logs_json_with_shop_and_job_keys_and_counts_a_metric(cloud, emulator):
    job = _start(cloud)
    [plan] = receive(cloud.queue_url)
    _invoke([plan])
    delete(cloud.queue_url, [plan])
    batches = receive(cloud.queue_url)
    with captured(handler.logger) as capture:
        assert _invoke(batches[:1], entry=handler.dead_letter_handler) == []
    records = capture.records()
    drained = [r for r in records if r["message"] == "dead tag-job message drained"]
    assert drained, [r["message"] for r in records]
    # Written by a shared module through stdlib logging, yet a JSON object whose ids are keys.
    assert drained[0]["name"] == "seglift.tagging.dead_letters"
    assert drained[0]["job_id"] == job.job_id
    assert drained[0]["shop"] == SHOP
    assert drained[0]["level"] == "WARNING"
    assert drained[0]["function_name"] == "TaggingFunction"
    assert capture.metrics()["DeadLetteredMessages"] == 1


def test_tag_mutations_and_throttled_retries_are_counted(cloud, emulator):
    emulator.faults.throttle_next(2, shop=SHOP)
    _start(cloud)
    [plan] = receive(cloud.queue_url)
    _invoke([plan])
    delete(cloud.queue_url, [plan])
    batches = receive(cloud.queue_url)
    assert decode(batches[0]["body"]).type == "batch"
    with captured(handler.logger) as capture:
        assert _invoke(batches[:1]) == []
    metrics = capture.metrics()
    assert metrics["TagMutations"] == len(decode(batches[0]["body"]).customer_ids)
    assert metrics["TagMutationsFailed"] == 0
    assert metrics["ShopifyThrottledRetries"] == 2


def test_keys_of_one_invocation_do_not_leak_into_the_next(cloud, emulator):
    _start(cloud)
    [plan] = receive(cloud.queue_url)
    _invoke([plan])  # binds shop and job_id
    with captured(handler.logger) as capture:
        handler.lambda_handler({"action": "drain_dead_letters", "queue_url": cloud.dlq_url},
                               _context())
        handler.logger.info("after")
    [after] = [r for r in capture.records() if r["message"] == "after"]
    assert "job_id" not in after and "shop" not in after
