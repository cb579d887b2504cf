"""Logs, traces and business metrics the same way in every function.

Why one module: the handlers' Powertools Logger writes JSON, but the shared modules
(``seglift.*``) and the functions' logic modules log through stdlib ``logging`` with
``extra=`` fields. Without routing, those records never reach CloudWatch as JSON keys (or
reach it as plain text through the runtime's root handler). ``route_library_logs`` gives
those stdlib loggers the handler's own Powertools handler and formatter, so every record,
whichever module wrote it, is one JSON object with the keys appended for the invocation
(shop, segment, job, execution ids) plus its own ``extra=`` fields.

Metrics are CloudWatch embedded-metric-format (EMF) JSON printed by Powertools; the
alarms in template.yaml read them from namespace ``NAMESPACE`` with the one dimension
``service`` (the function's service name). ``EphemeralMetrics`` keeps each function's
metrics to itself: the classic ``Metrics`` shares one store per process, which would mix
two functions' metrics when the local cloud runs one inside another (the API invoking
the segments function synchronously).

Nothing here reads the environment or opens a client at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

# The metrics namespace; template.yaml's alarms name the same one (a test checks it).
NAMESPACE = "Seglift"
# The package every shared module logs under.
SHARED_LOGGER = "seglift"
# What the functions call through and the X-Ray SDK can trace: every AWS call goes through
# botocore (PynamoDB's too, patched for its own subsegments). Tracer's default patch_all
# would also try sqlite3, SQLAlchemy, MySQL, Postgres and Mongo drivers on every cold start
# (~10 ms of import CPU), none of which any function uses.
TRACED_LIBRARIES = ("botocore", "pynamodb")
# The ids an operator searches logs by; ``bind`` appends those it is given.
ID_KEYS = ("shop", "segment_id", "job_id", "execution_id")


def route_library_logs(logger: Logger, *packages: str) -> None:
    """Send the stdlib loggers of ``seglift`` and ``packages`` through ``logger``'s JSON
    handler, at its level.

    Only the top-level loggers are configured: modules log to ``seglift.<module>`` and
    propagate to them, whenever they are imported. Handlers call it at the start of every
    invocation: where several functions share one process (the local cloud, tests) the
    ``seglift`` loggers must carry the running function's keys, not the last imported one's.
    """
    names = {SHARED_LOGGER, *packages} - {logger.name}
    for name in names:
        logging.getLogger(name)  # registered, so copy_config finds it even before imports
    copy_config_to_registered_loggers(source_logger=logger, include=set(names))


def bind(logger: Logger, **keys: Any) -> None:
    """Append the invocation's ids (and any other keys) to every record that follows.

    Keys whose value is None are skipped, so a handler can pass what its event may hold.
    Handlers use ``inject_lambda_context(clear_state=True)`` so keys never leak from one
    invocation into the next in a warm container.
    """
    present = {key: value for key, value in keys.items() if value is not None}
    if present:
        logger.append_keys(**present)


def execution_id(event: Any) -> str | None:
    """The Step Functions execution a workflow task belongs to, when its event says so."""
    if isinstance(event, Mapping):
        value = event.get("execution_id")
        return str(value) if value else None
    return None


def tracer_for(service: str) -> Tracer:
    """The handler's Tracer: X-Ray on in Lambda (Powertools disables it elsewhere),
    patching only ``TRACED_LIBRARIES``."""
    return Tracer(service=service, patch_modules=TRACED_LIBRARIES)


def metrics_for(service: str) -> EphemeralMetrics:
    """A function's own EMF metrics in ``NAMESPACE`` with the dimension service=<service>."""
    return EphemeralMetrics(namespace=NAMESPACE, service=service)


def count(metrics: EphemeralMetrics, counts: Mapping[str, int | float]) -> None:
    """Add each count (zero included: an alarm should see that nothing failed)."""
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=float(value))


def total(items: Iterable[Mapping[str, Any]], key: str) -> int:
    """Sum of ``key`` over result dicts, missing or non-numeric values counting as 0."""
    result = 0
    for item in items:
        value = item.get(key) if isinstance(item, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            result += int(value)
    return result


__all__ = ["ID_KEYS", "NAMESPACE", "bind", "count", "execution_id", "metrics_for",
           "route_library_logs", "total"]
