"""A per-thread view of ``os.environ``, so in-process Lambda invocations can run side by side.

In AWS each Lambda invocation has its process's environment to itself. In the local cloud
handlers run in this process's threads (the SQS poller's workers, Step Functions' executor,
the API adapter) and read their configuration from ``os.environ``. ``ThreadEnviron``
replaces ``os.environ`` while the local cloud runs: a thread inside ``overlay(env)`` sees
the process environment with ``env`` laid over it, and every other thread keeps seeing the
process environment unchanged. Writes inside an overlay stay in it; writes outside go to the
real environment (and to the C environment, as ``os.environ`` does).

The overlay is a context variable: a thread a handler starts itself does not inherit it
(a new thread starts in an empty context), but a task it runs in a copy of its context
does, as ``seglift.concurrency``'s pool runs every task (ReduceDay's S3 reads and writes).
``os.getenv`` reads ``os.environ`` at call time, so it sees the overlay too; code that kept
a reference to the original mapping at import time does not.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

_REMOVED = object()


class ThreadEnviron(MutableMapping[str, str]):
    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real
        # A context variable, not a thread-local: a task the function hands to a worker
        # thread in a copy of its context (``seglift.concurrency``) sees its environment.
        self._layer_var: contextvars.ContextVar[dict[str, object] | None] = \
            contextvars.ContextVar("seglift_environ_layer", default=None)

    def _layer(self) -> dict[str, object] | None:
        return self._layer_var.get()

    # -- the mapping ---------------------------------------------------------------------
    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None and key in layer:
            value = layer[key]
            if value is _REMOVED:
                raise KeyError(key)
            return str(value)
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is None:
            self.real[key] = value
        else:
            layer[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is None:
            del self.real[key]
            return
        if key not in self:
            raise KeyError(key)
        layer[key] = _REMOVED

    def _snapshot(self) -> dict[str, str]:
        merged = dict(self.real.items())
        for key, value in (self._layer() or {}).items():
            if value is _REMOVED:
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        return merged

    def __iter__(self) -> Iterator[str]:
        # A snapshot: another thread may change the real environment meanwhile.
        return iter(self._snapshot())

    def __len__(self) -> int:
        return len(self._snapshot())

    def copy(self) -> dict[str, str]:
        return self._snapshot()

    def __or__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**self._snapshot(), **other}

    def __ror__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**other, **self._snapshot()}

    def __repr__(self) -> str:
        return f"ThreadEnviron({self._snapshot()!r})"

    # -- overlays ------------------------------------------------------------------------
    @contextmanager
    def overlay(self, environment: Mapping[str, str]) -> Iterator[None]:
        """This thread sees ``environment`` over the process environment until the exit."""
        saved = self._layer()
        token = self._layer_var.set({**(saved or {}), **environment})
        try:
            yield
        finally:
            self._layer_var.reset(token)


def install() -> ThreadEnviron:
    """Put a ThreadEnviron in place of ``os.environ`` (idempotent); returns it."""
    if not isinstance(os.environ, ThreadEnviron):
        os.environ = ThreadEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003
    return os.environ

