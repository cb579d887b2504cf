"""Readable progress for long local runs: one line per step, with its duration."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class StepFailed(RuntimeError):
    """A demo step failed; the message says which step and why."""


class Progress:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream

    def say(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"• {title} …", end="", file=self._stream, flush=True)
        start = time.perf_counter()
        try:
            yield
        except Exception as error:
            print(" failed", file=self._stream, flush=True)
            raise StepFailed(f"{title}: {type(error).__name__}: {error}") from error
        print(f" done ({time.perf_counter() - start:.1f}s)", file=self._stream, flush=True)
