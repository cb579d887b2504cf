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

- up to the mapping's ``ScalingConfig.MaximumConcurrency`` invocations run at once (one
  when the template sets none: a local simplification for the functions that need no
  scaling); on a FIFO queue moto hands out no message of a group that has one in flight,
  so, as in Lambda, a message group (a shop's tag-job messages) is processed one batch
  at a time while different groups run side by side;
- records carry their message attributes in Lambda's shape (``stringValue``, ``dataType``).

``drain`` and ``start`` deliver concurrently (a dispatcher per mapping receives whenever a
worker is free, the workers invoke); ``poll_once`` delivers one batch per mapping on the
calling thread. The function's invocations run in parallel threads of this process
(``lambda_runtime.allow_concurrency``; moto's SQS and DynamoDB are serialised by
``moto_threads``). Those threads are the mapping's warm containers (``WarmContainers``):
a finished invocation's thread takes the next batch, as Lambda hands the next batch to a
warm execution environment, so what a handler keeps per container (its boto3 session and
clients) is reused instead of rebuilt for every batch; a new thread starts only when every
existing one is busy (a cold start), never more than the mapping's concurrency.

``redelivery_delay`` shortens the wait for a failed message to reappear (the template's
720 s visibility timeout would stall a test); ``None`` keeps the queue's own timeout.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

# The longest a dispatcher waits between receives while its queue has nothing to hand out.
IDLE_POLL_CAP_S = 0.1


@dataclass(frozen=True)
class QueueMapping:
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int = 1


@dataclass
class PollStats:
    batches: int = 0
    delivered: int = 0
    deleted: int = 0
    failed: int = 0


class WarmContainers:
    """The execution environments of one function's mapping, as daemon threads.

    ``run(task, then)`` hands ``task`` to an idle thread, or starts a new one when none is
    idle (at most ``limit``: the caller holds one of ``limit`` slots per task). ``then`` runs
    on that thread once it counts as idle again, so whatever ``then`` makes possible (the
    next message of a FIFO group, a free slot) finds a warm thread. ``close`` lets every
    thread end once it is idle.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self._tasks: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]] | None]
        self._tasks = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self.started = 0  # cold starts

    def run(self, task: Callable[[], None], then: Callable[[], None]) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self.started += 1
                threading.Thread(target=self._serve, name=f"{self.name}-{self.started}",
                                 daemon=True).start()
        self._tasks.put((task, then))

    def _serve(self) -> None:
        while (item := self._tasks.get()) is not None:
            task, then = item
            for step in (task, then):
                try:
                    step()
                except Exception:
                    traceback.print_exc()  # as a thread's uncaught error shows; keep serving
                if step is task:
                    with self._lock:
                        self._idle += 1

    def close(self) -> None:
        with self._lock:
            threads, self._idle = self.started, 0
        for _ in range(threads):
            self._tasks.put(None)


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
        self._threads: list[threading.Thread] = []
        self._poll_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._settled = threading.Event()  # set whenever a delivered batch is settled

    @staticmethod
    def from_event_source_mappings(
        sqs: Any,
        lambda_client: Any,
        *,
        redelivery_delay: float | None = 0.0,
        acting_as: Callable[[str], AbstractContextManager[None]] | None = None,
        allow_concurrency: Callable[[str], None] | None = None,
    ) -> SqsLambdaPoller:
        """Take over every SQS mapping the stack created, disabling moto's own delivery.

        ``allow_concurrency(function_name)`` is called for each function a mapping scales
        beyond one invocation at a time (the in-process runtime then stops serialising it).
        """
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
                    maximum_concurrency=int(
                        (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency", 1)
                    ),
                )
            )
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
            if allow_concurrency is not None and mappings[-1].maximum_concurrency > 1:
                allow_concurrency(mappings[-1].function_name)
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
                    "messageAttributes": _lambda_attributes(m.get("MessageAttributes", {})),
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

    def _receive(self, mapping: QueueMapping) -> list[dict[str, Any]]:
        with self._acting_as(mapping.function_name):
            return list(
                self._sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(mapping.batch_size, 10),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            )

    def poll_mapping(self, mapping: QueueMapping) -> int:
        """Receive and deliver one batch; return how many messages it held."""
        received = self._receive(mapping)
        if received:
            self._deliver(mapping, received)
        return len(received)

    def _deliver(self, mapping: QueueMapping, received: list[dict[str, Any]]) -> None:
        """Invoke the function with one batch, then settle its messages."""
        self._complete(mapping, received, self._invoke(mapping, received))

    def _invoke(self, mapping: QueueMapping, received: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = self._lambda.invoke(
            FunctionName=mapping.function_name,
            Payload=json.dumps(self._event(mapping, received)).encode(),
        )
        return response

    def _complete(self, mapping: QueueMapping, received: list[dict[str, Any]],
                  response: dict[str, Any]) -> None:
        """Count the batch and settle its messages by the invocation's response."""
        ids = [m["MessageId"] for m in received]
        failed = self._failed_ids(mapping, response, ids)
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.delivered += len(received)
            self.stats.failed += len(failed)
            self.stats.deleted += len(received) - len(failed)
        self._settle(mapping, received, failed)

    def _settle(self, mapping: QueueMapping, received: list[dict[str, Any]],
                failed: set[str]) -> None:
        """Delete what succeeded; make what failed visible again after the delay.

        Only the deletion is Lambda's (with the function's role); shortening a failed
        message's visibility stands in for its timeout running out, which needs no call.
        """
        for message in received:
            if message["MessageId"] in failed:
                if self.redelivery_delay is not None:
                    self._sqs.change_message_visibility(
                        QueueUrl=mapping.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=int(self.redelivery_delay),
                    )
            else:
                with self._acting_as(mapping.function_name):
                    self._sqs.delete_message(
                        QueueUrl=mapping.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        self._settled.set()

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
        started = not self._threads
        if started:
            self.start(interval_s=0.02)
        try:
            while True:
                # Idle first: counting the queues is a moto request per mapping, pointless
                # while an invocation runs (what it sends is queued before it is idle).
                if self._idle() and not self._pending():
                    # Re-check after a beat: a finishing invocation may just have sent more.
                    time.sleep(0.05)
                    if self._idle() and not self._pending():
                        return self.stats
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"SQS queues still hold {self._pending()} messages after {timeout_s:.0f}s"
                    )
                time.sleep(0.05)
        finally:
            if started:
                self.stop()

    def _idle(self) -> bool:
        with self._busy_lock:
            return self._busy == 0

    # -- concurrent delivery (drain, and `seglift serve` in the background) -------------------
    def _dispatch(self, mapping: QueueMapping, interval_s: float) -> None:
        """Receive a batch whenever one of the mapping's workers is free; hand it over."""
        slots = threading.BoundedSemaphore(max(1, mapping.maximum_concurrency))
        containers = WarmContainers(f"lambda-{mapping.function_name}",
                                    mapping.maximum_concurrency)

        def deliver(received: list[dict[str, Any]]) -> None:
            """Invoke in a container; settle once it is free again, as Lambda's poller
            deletes a batch's messages after the invocation has returned."""
            answer: list[dict[str, Any]] = []

            def settle() -> None:
                try:
                    if answer:
                        self._complete(mapping, received, answer[0])
                finally:
                    with self._busy_lock:
                        self._busy -= 1
                    slots.release()

            containers.run(lambda: answer.append(self._invoke(mapping, received)), settle)

        try:
            self._dispatch_to(mapping, interval_s, slots, deliver)
        finally:
            containers.close()

    def _dispatch_to(self, mapping: QueueMapping, interval_s: float,
                     slots: threading.BoundedSemaphore,
                     deliver: Callable[[list[dict[str, Any]]], None]) -> None:
        idle_wait = interval_s
        while not self._stop.is_set():
            if not slots.acquire(timeout=interval_s):
                continue
            with self._busy_lock:
                self._busy += 1
            self._settled.clear()
            try:
                received = self._receive(mapping)
            except Exception:
                received = []
            if not received:
                with self._busy_lock:
                    self._busy -= 1
                slots.release()
                # Nothing to hand out: poll less often while idle (each receive is a whole
                # moto request on the one interpreter the invocations share), but look
                # again at once when a batch settles (a FIFO group's next message is then
                # visible). Lambda's pollers long-poll instead.
                self._settled.wait(idle_wait)
                idle_wait = min(max(interval_s, IDLE_POLL_CAP_S), idle_wait * 2)
                continue
            idle_wait = interval_s
            deliver(received)

    def start(self, interval_s: float = 0.2) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self._dispatch,
                args=(mapping, interval_s),
                name=f"sqs-poller-{mapping.function_name}",
                daemon=True,
            )
            for mapping in self.mappings
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []


def _lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS's MessageAttributes as Lambda's SQS event shows them (camelCase keys)."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }
