"""Capture what a handler writes: its JSON log lines and its EMF metric blobs.

Powertools' Logger writes to the stream it was given when the handler module was
imported; Metrics print to ``sys.stdout`` when they flush. ``captured`` points both at
buffers for the duration of a block, so a test reads exactly what CloudWatch would get.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger


@dataclass
class Captured:
    log_text: io.StringIO = field(default_factory=io.StringIO)
    stdout: io.StringIO = field(default_factory=io.StringIO)

    def records(self) -> list[dict[str, Any]]:
        """Every log line, each of which must be one JSON object (the assertion is the test)."""
        lines = [line for line in self.log_text.getvalue().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]

    def metrics(self) -> dict[str, float]:
        """Metric name -> summed value over the EMF blobs printed (namespace Seglift)."""
        totals: dict[str, float] = {}
        for line in self.stdout.getvalue().splitlines():
            if '"_aws"' not in line:
                continue
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    values = blob[metric["Name"]]
                    values = values if isinstance(values, list) else [values]
                    totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(values)
        return totals


@contextlib.contextmanager
def captured(logger: Logger) -> Iterator[Captured]:
    capture = Captured()
    handler = logger.registered_handler
    previous = handler.setStream(capture.log_text)  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(capture.stdout):
            yield capture
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
