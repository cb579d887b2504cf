"""The local cloud's Lambda containers: warm threads reused between invocations, and the
service models their boto3 sessions share (what a cold start costs once per process)."""

from __future__ import annotations

import threading

import boto3
import botocore.session

from devkit.local_cloud import shared_models
from devkit.local_cloud.sqs_poller import WarmContainers


def _run_all(containers: WarmContainers, tasks: int, *, together: int) -> set[int]:
    """Run ``tasks`` tasks, at most ``together`` at once (the poller's slots); thread ids."""
    slots = threading.Semaphore(together)
    done = threading.Barrier(together) if together > 1 else None
    threads: set[int] = set()
    lock = threading.Lock()
    finished = threading.Semaphore(0)

    def task() -> None:
        with lock:
            threads.add(threading.get_ident())
        if done is not None:
            done.wait(timeout=5)  # hold every slot at once: the containers must scale out

    def then() -> None:
        slots.release()
        finished.release()

    for _ in range(tasks):
        slots.acquire()
        containers.run(task, then)
    for _ in range(tasks):
        assert finished.acquire(timeout=5)
    return threads


def test_one_invocation_at_a_time_keeps_one_warm_container():
    containers = WarmContainers("f", limit=10)
    threads = _run_all(containers, 20, together=1)
    assert len(threads) == 1 and containers.started == 1
    containers.close()


def test_containers_scale_out_to_the_concurrency_and_no_further():
    containers = WarmContainers("f", limit=4)
    threads = _run_all(containers, 12, together=4)
    assert len(threads) == 4 and containers.started == 4
    containers.close()


def test_closed_containers_end_their_threads():
    containers = WarmContainers("closing", limit=3)
    _run_all(containers, 6, together=3)
    containers.close()
    for thread in [t for t in threading.enumerate() if t.name.startswith("closing-")]:
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_sessions_share_one_parsed_model_but_keep_their_own_clients():
    shared_models.install()
    try:
        first, second = boto3.session.Session(), boto3.session.Session()
        loader = first._session.get_component("data_loader")
        assert second._session.get_component("data_loader") is loader
        # boto3 adds its data directory to every new session's loader: kept once.
        assert len(loader.search_paths) == len(set(loader.search_paths))
        a = first.client("sqs", region_name="us-east-1")
        b = second.client("sqs", region_name="us-east-1")
        assert a is not b and a.meta.service_model.service_name == "sqs"
    finally:
        shared_models.uninstall()
    own = botocore.session.Session().get_component("data_loader")
    assert own is not shared_models.shared_loader()
