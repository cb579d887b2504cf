"""A bounded pool of threads for a step's network calls (S3 reads and writes, DynamoDB).

Why: an S3 GET or PUT spends most of its 10-30 ms waiting on the network, so a step that
makes thousands of them one after another (ReduceDay reads each shard's part of each
segment) is billed for the waiting. Threads overlap the waits; the bound keeps the memory
of what is in flight (and the connections: botocore's default pool is 10 a client, so
clients used here are made with ``max_pool_connections`` at least the pool's size, or
botocore queues the extra calls) under the caller's control. boto3 clients are
thread-safe; a client is made before the pool uses it.

Each task runs in a copy of the caller's ``contextvars`` context, as ``asyncio.to_thread``
does: whatever the caller's context carries goes with its tasks (the local cloud keeps the
running function's identity and environment there, so its tasks' calls are checked
against the function's role).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# S3 serves thousands of requests a second per prefix; 16 in flight hide the latency of
# small objects without holding many of them at once.
DEFAULT_WORKERS = 16


class IoPool:
    """A bounded thread pool whose tasks run in a copy of the submitter's context."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {workers}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seglift-io")

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        context = contextvars.copy_context()
        return self._pool.submit(context.run, fn, *args, **kwargs)

    def ordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None
                ) -> Iterator[R]:
        """``fn`` of each item, in the items' order: while the consumer holds one result,
        at most ``ahead`` (by default the pool's size) more are submitted or waiting, so
        memory holds ``ahead + 1`` results at most. A failure is raised when its result
        is reached; the items after it are then not submitted."""
        limit = max(1, ahead or self.workers)
        pending: list[Future[R]] = []
        source = iter(items)
        try:
            for item in source:
                pending.append(self.submit(fn, item))
                if len(pending) > limit:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> IoPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
