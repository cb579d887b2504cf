"""The tag-job queue is FIFO, grouped by shop: what SqsQueue sends and how delays travel."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from seglift.tagging.adapters import NOT_BEFORE_ATTRIBUTE, SqsQueue, due_in, message_group
from seglift.tagging.messages import BatchMessage, BulkPollMessage, PlanMessage, encode


def _receive_all(url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    received = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                    AttributeNames=["All"], MessageAttributeNames=["All"]
                                    ).get("Messages", [])
        if not batch:
            return received
        received.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_each_message_goes_to_its_shops_group_and_same_bodies_are_not_deduplicated(aws):
    url = boto3.client("sqs").create_queue(
        QueueName="tags.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue = SqsQueue(boto3.client("sqs"), url)
    bodies = [encode(PlanMessage("a.myshopify.com", "j1")),
              encode(BatchMessage("b.myshopify.com", "j2", 0, (1, 2)))]
    queue.send(bodies)
    queue.send(bodies[:1])  # a deferred message re-sent with the same body
    received = _receive_all(url)
    groups = sorted(m["Attributes"]["MessageGroupId"] for m in received)
    assert groups == ["a.myshopify.com", "a.myshopify.com", "b.myshopify.com"]


def test_a_delay_on_a_fifo_queue_becomes_a_due_time_the_consumer_waits_for(aws):
    url = boto3.client("sqs").create_queue(
        QueueName="tags.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    before = time.time()
    SqsQueue(boto3.client("sqs"), url).send(
        [encode(BulkPollMessage("a.myshopify.com", "j1", "gid://shopify/BulkOperation/1"))],
        delay_seconds=30)
    (message,) = _receive_all(url)
    attributes = message["MessageAttributes"]
    assert 29 <= due_in(attributes, before) <= 31
    assert due_in(attributes, before + 60) == 0
    # As Lambda's SQS event shows attributes.
    lambda_shape = {NOT_BEFORE_ATTRIBUTE: {
        "stringValue": attributes[NOT_BEFORE_ATTRIBUTE]["StringValue"], "dataType": "Number"}}
    assert due_in(lambda_shape, before) == due_in(attributes, before)
    assert due_in({}, before) == 0


def test_a_standard_queue_keeps_sqs_delays(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="tags")["QueueUrl"]
    SqsQueue(sqs, url).send([encode(PlanMessage("a.myshopify.com", "j1"))], delay_seconds=30)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # not visible yet


def test_a_message_without_a_shop_is_refused():
    with pytest.raises(ValueError, match="name its shop"):
        message_group(json.dumps({"type": "plan", "job_id": "j"}))
