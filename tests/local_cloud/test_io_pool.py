"""A function's concurrent calls (seglift.concurrency.IoPool) keep its identity on the local
cloud: the calls its pool makes are attributed to it for the IAM check and see its
environment; a thread started without its context does not. And the pool's ordered map
keeps the order, bounds what is in flight and raises a task's failure."""

import os
import threading
import time

import boto3
import pytest
from moto import mock_aws

from devkit.local_cloud import aws_calls
from devkit.local_cloud.environ import ThreadEnviron
from seglift.concurrency import IoPool


@mock_aws
def test_calls_from_the_pool_are_the_functions_and_see_its_environment():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    environ = ThreadEnviron(dict(os.environ))
    sink: list[aws_calls.AwsCall] = []

    def get(key: str) -> str | None:
        s3.put_object(Bucket="data", Key=key, Body=b"x")
        return environ.get("DATA_BUCKET")

    with environ.overlay({"DATA_BUCKET": "data"}), aws_calls.acting_as(sink, "segments"):
        with IoPool(4) as pool:
            seen = list(pool.ordered(get, [f"k{i}" for i in range(6)]))
        plain: list[str | None] = []
        thread = threading.Thread(target=lambda: plain.append(get("outside")))
        thread.start()
        thread.join(5)
    assert seen == ["data"] * 6 and plain == [None]
    recorded = sorted(c.actions[0][1] for c in sink if c.operation == "PutObject")
    assert recorded == [f"arn:aws:s3:::data/k{i}" for i in range(6)]


def test_ordered_keeps_the_order_bounds_the_flight_and_raises_a_failure():
    running = 0
    most = 0
    lock = threading.Lock()

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01 * (n % 3))
        with lock:
            running -= 1
        if n == 7:
            raise ValueError("seven")
        return n * n

    with IoPool(8) as pool:
        assert list(pool.ordered(work, range(7), ahead=2)) == [n * n for n in range(7)]
        assert most <= 3  # the one being taken and two ahead
        with pytest.raises(ValueError, match="seven"):
            list(pool.ordered(work, range(10)))
