"""The AWS and HTTP adapters behind the tagging ports (the only boto3/urllib users here).

Each takes its boto3 client as an argument; handlers build the clients per invocation.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from seglift.storage.tag_job_repository import TagJob
from seglift.tagging.completion import completion_email

logger = logging.getLogger(__name__)

SQS_BATCH_LIMIT = 10
HTTP_TIMEOUT_SECONDS = 60
# A delayed message's due time (epoch seconds) on a FIFO queue, which has no message timers.
NOT_BEFORE_ATTRIBUTE = "not-before"


def message_group(body: str) -> str:
    """The FIFO message group of a tag-job message: its shop (every message names one)."""
    shop = json.loads(body).get("shop")
    if not isinstance(shop, str) or not shop:
        raise ValueError(f"a tag-job message must name its shop: {body[:200]}")
    return shop


def due_in(message_attributes: dict[str, Any], now: float) -> float:
    """Seconds until a message carrying a ``not-before`` attribute is due (0 if none).

    Reads the attribute as Lambda's SQS event shows it (``stringValue``) or as SQS's
    ReceiveMessage does (``StringValue``).
    """
    attribute = message_attributes.get(NOT_BEFORE_ATTRIBUTE) or {}
    value = attribute.get("stringValue", attribute.get("StringValue"))
    if value is None:
        return 0.0
    return max(0.0, float(value) - now)


class SqsQueue:
    """MessageQueue over one SQS queue, sending in batches of 10 (SQS's maximum).

    On a FIFO queue (URL ending in ``.fifo``, as the template's tag-job queue) each message
    goes to its shop's message group, so a shop's messages are handled one at a time and
    different shops' side by side, and gets a fresh deduplication id (redeliveries are made
    harmless by the DynamoDB guards; a deferred message re-sent with the same body must not
    be dropped). FIFO queues have no per-message delay: the due time travels as the
    ``not-before`` attribute instead and the consumer waits for it (``due_in``).
    """

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url
        self.fifo = queue_url.endswith(".fifo")

    def _entry(self, number: int, body: str, delay_seconds: int) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(number), "MessageBody": body}
        if not self.fifo:
            entry["DelaySeconds"] = delay_seconds
            return entry
        entry["MessageGroupId"] = message_group(body)
        entry["MessageDeduplicationId"] = uuid.uuid4().hex
        if delay_seconds > 0:
            due = f"{time.time() + delay_seconds:.3f}"
            entry["MessageAttributes"] = {
                NOT_BEFORE_ATTRIBUTE: {"DataType": "Number", "StringValue": due}
            }
        return entry

    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> None:
        for start in range(0, len(bodies), SQS_BATCH_LIMIT):
            entries = [
                self._entry(n, body, delay_seconds)
                for n, body in enumerate(bodies[start : start + SQS_BATCH_LIMIT])
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused tag-job messages: {response['Failed'][:3]}")

    def receive_all(self, max_messages: int = 1000) -> list[tuple[str, str]]:
        """(receipt handle, body) of up to ``max_messages`` messages (for draining)."""
        received: list[tuple[str, str]] = []
        while len(received) < max_messages:
            response = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=SQS_BATCH_LIMIT, WaitTimeSeconds=0
            )
            messages = response.get("Messages") or []
            if not messages:
                break
            received.extend((m["ReceiptHandle"], m["Body"]) for m in messages)
        return received

    def delete(self, receipt_handle: str) -> None:
        self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=receipt_handle)


class S3MemberIdsReader:
    """MemberIdsReader over ``.ids.gz`` files (gzip, one numeric customer id per line)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def read(self, key: str) -> list[int]:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey as missing:
            raise FileNotFoundError(f"s3://{self._bucket}/{key}") from missing
        text = gzip.decompress(body).decode("ascii")
        return list(map(int, text.split()))


class SesCompletionNotifier:
    """CompletionNotifier sending a plain-text SES email to the shop's notification address."""

    def __init__(
        self,
        ses: Any,
        *,
        sender: str,
        app_base_url: str,
        recipient_for: Callable[[str], str | None],
    ) -> None:
        self._ses = ses
        self._sender = sender
        self._app_base_url = app_base_url
        self._recipient_for = recipient_for

    def send_completion(self, job: TagJob) -> None:
        recipient = self._recipient_for(job.shop)
        if not recipient:
            logger.warning("no notification email for shop; completion email skipped",
                           extra={"shop": job.shop, "job_id": job.job_id})
            return
        subject, body = completion_email(job, self._app_base_url)
        self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [recipient]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            },
        )


def _multipart(parameters: list[dict[str, str]], payload: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for parameter in parameters:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{parameter["name"]}"'
            f"\r\n\r\n{parameter['value']}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="vars.jsonl"'
        "\r\nContent-Type: text/jsonl\r\n\r\n".encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def http_upload(url: str, method: str, parameters: list[dict[str, str]], payload: bytes) -> None:
    """Upload a staged file: a multipart form POST (Shopify's default) or a plain PUT."""
    if method.upper() == "PUT":
        request = urllib.request.Request(url, data=payload, method="PUT",
                                         headers={"Content-Type": "text/jsonl"})
    else:
        body, content_type = _multipart(parameters, payload)
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise RuntimeError(f"staged upload answered HTTP {response.status}")


def http_fetch(url: str) -> bytes:
    """Download a bulk operation's result file."""
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
        return response.read()
