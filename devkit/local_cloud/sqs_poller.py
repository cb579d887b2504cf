"""Deliver SQS messages to Lambda the way Lambda's SQS event source does.

moto's own event-source mapping invokes the function once, at send time, and deletes the
message whatever happens: no partial batch responses, no redelivery, no dead-letter queue.
The tagging guarantees depend on all three, so the local cloud disables moto's mapping and
runs this poller, configured from the template's mapping (queue, function, batch size,
``ReportBatchItemFailures``):

- receive up to ``batch_size`` messages and invoke the function with an SQS event;
- a function error fails the whole batch; with ``ReportBatchItemFailures`` only the
  listed ``batchItemFailures`` fail; everything else is deleted;
- failed messages stay in the queue and reappear once their visibility timeout expires;
  moto moves a message to the dead-letter queue when it is received more often than the
  queue's ``maxReceiveCount``.

``redelivery_delay`` shortens the wait for a failed message to reappear (the template's
720 s visibility timeout would stall a test); ``None`` keeps the queue's own timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueueMapping:
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class PollStats:
    batches: int = 0
    delivered: int = 0
    deleted: int = 0
    failed: int = 0


class SqsLambdaPoller:
    def __init__(
        self,
        sqs: Any,
        lambda_client: Any,
        mappings: list[QueueMapping],
        *,
        redelivery_delay: float | None = 0.0,
        acting_as: Callable[[str], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._sqs = sqs
        # The event source mapping reads and deletes messages with the function's role.
        self._acting_as = acting_as or (lambda _function: nullcontext())
        self._lambda = lambda_client
        self.mappings = mappings
        self.redelivery_delay = redelivery_delay
        self.stats = PollStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()

    @staticmethod
    def from_event_source_mappings(
        sqs: Any,
        lambda_client: Any,
        *,
        redelivery_delay: float | None = 0.0,
        acting_as: Callable[[str], AbstractContextManager[None]] | None = None,
    ) -> SqsLambdaPoller:
        """Take over every SQS mapping the stack created, disabling moto's own delivery."""
        mappings = []
        for mapping in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
            source = mapping.get("EventSourceArn", "")
            if not source.startswith("arn:aws:sqs:"):
                continue
            queue_name = source.rsplit(":", 1)[-1]
            mappings.append(
                QueueMapping(
                    queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                    queue_arn=source,
                    function_name=mapping["FunctionArn"].rsplit(":", 1)[-1],
                    batch_size=int(mapping.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in mapping.get("FunctionResponseTypes", []),
                )
            )
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        return SqsLambdaPoller(
            sqs, lambda_client, mappings, redelivery_delay=redelivery_delay, acting_as=acting_as
        )

    # -- one round ------------------------------------------------------------------
    def _event(self, mapping: QueueMapping, messages: list[dict[str, Any]]) -> dict[str, Any]:
        region = mapping.queue_arn.split(":")[3]
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": mapping.queue_arn,
                    "awsRegion": region,
                }
                for m in messages
            ]
        }

    def _failed_ids(
        self, mapping: QueueMapping, response: dict[str, Any], ids: list[str]
    ) -> set[str]:
        if response.get("FunctionError"):
            return set(ids)
        if not mapping.report_batch_item_failures:
            return set()
        try:
            payload = json.loads(response["Payload"].read() or b"null")
        except ValueError:
            return set(ids)  # Lambda treats an unreadable partial response as a failed batch
        failures = (payload or {}).get("batchItemFailures", []) if isinstance(payload, dict) else []
        failed = {f.get("itemIdentifier") for f in failures}
        if None in failed or "" in failed or not failed <= set(ids):
            return set(ids)  # an invalid identifier fails the whole batch, as in Lambda
        return failed

    def poll_mapping(self, mapping: QueueMapping) -> int:
        """Receive and deliver one batch; return how many messages it held."""
        with self._acting_as(mapping.function_name):
            received = self._sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(mapping.batch_size, 10),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not received:
            return 0
        response = self._lambda.invoke(
            FunctionName=mapping.function_name,
            Payload=json.dumps(self._event(mapping, received)).encode(),
        )
        ids = [m["MessageId"] for m in received]
        failed = self._failed_ids(mapping, response, ids)
        self.stats.batches += 1
        self.stats.delivered += len(received)
        self._settle(mapping, received, failed)
        return len(received)

    def _settle(self, mapping: QueueMapping, received: list[dict[str, Any]],
                failed: set[str]) -> None:
        """Delete what succeeded; make what failed visible again after the delay.

        Only the deletion is Lambda's (with the function's role); shortening a failed
        message's visibility stands in for its timeout running out, which needs no call.
        """
        for message in received:
            if message["MessageId"] in failed:
                self.stats.failed += 1
                if self.redelivery_delay is not None:
                    self._sqs.change_message_visibility(
                        QueueUrl=mapping.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=int(self.redelivery_delay),
                    )
            else:
                self.stats.deleted += 1
                with self._acting_as(mapping.function_name):
                    self._sqs.delete_message(
                        QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )

    def poll_once(self) -> int:
        with self._poll_lock:
            return sum(self.poll_mapping(mapping) for mapping in self.mappings)

    def _pending(self) -> int:
        total = 0
        for mapping in self.mappings:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=mapping.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            total += int(attributes["ApproximateNumberOfMessages"])
            total += int(attributes["ApproximateNumberOfMessagesNotVisible"])
        return total

    def drain(self, timeout_s: float = 120.0) -> PollStats:
        """Deliver until every mapped queue is empty (in flight included), or time out."""
        deadline = time.monotonic() + timeout_s
        while True:
            delivered = self.poll_once()
            if not delivered and not self._pending():
                return self.stats
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"SQS queues still hold {self._pending()} messages after {timeout_s:.0f}s"
                )
            if not delivered:
                time.sleep(0.05)

    # -- background delivery, for `seglift serve` -------------------------------------------
    def start(self, interval_s: float = 0.2) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                if not self.poll_once():
                    self._stop.wait(interval_s)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="sqs-lambda-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
