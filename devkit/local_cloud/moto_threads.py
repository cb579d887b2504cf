"""Serialise calls into moto's SQS and DynamoDB backends, which are not thread-safe.

AWS serves any number of concurrent requests; moto's in-memory backends iterate and mutate
plain dicts, sets and lists without locks (an SQS receive walks the queue and its in-flight
message groups while another thread sends), which fails with "changed size during
iteration" once several in-process Lambda invocations run at the same time (the SQS poller
scales the tagging function out). One re-entrant lock around every public method of those
backends makes each request atomic, as it is in AWS; none of them blocks while holding it
as long as nobody long-polls (the local cloud receives with ``WaitTimeSeconds=0``).

Applied once per process and never undone: with one thread it changes nothing.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()
_PATCHED: set[type] = set()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return call


def serialise(backend: type) -> None:
    """Wrap every public method ``backend`` defines (or inherits) in the one lock."""
    if backend in _PATCHED:
        return
    for name in dir(backend):
        if name.startswith("_"):
            continue
        attribute = inspect.getattr_static(backend, name)
        if inspect.isfunction(attribute):  # plain methods; static/class methods stay as they are
            setattr(backend, name, _locked(attribute))
    _PATCHED.add(backend)


def install() -> None:
    for backend in (SQSBackend, DynamoDBBackend):
        serialise(backend)
