"""Speed-ups of moto that change nothing it answers, installed while a local cloud runs.

1. moto's S3 backend reloads its URL module on every request; the local cloud reads it
   once. ``S3Backend._url_module`` calls ``importlib.reload(moto.s3.urls)`` each time moto
   matches a request to a backend (twice per S3 request) because the URLs depend on
   ``MOTO_S3_CUSTOM_ENDPOINTS``, which may change between tests. Inside one local cloud
   that variable never changes, and the reloads were a measurable share of a many-shop run
   (each re-executes the module: file stats, compile cache, regex building).
2. moto's SQS asks "what time is it" through ``unix_time()``, which builds two datetimes
   and subtracts them, once per message per visibility check: a receive or a queue-length
   query walks every message of the queue several times. With a tag-job queue holding a
   few hundred batches (50 shops tagging), one receive cost ~40 ms of CPU, and the
   poller's receives were a large share of the interpreter that every shop's lane shares.
   The same clock read as ``time.time()`` (what ``unix_time()`` computes when given no
   datetime) makes it ~5x cheaper; with a datetime the original is used.

``install`` applies both when the cloud starts; ``uninstall`` restores moto's own code.
"""

from __future__ import annotations

import importlib
import time
from datetime import datetime
from typing import Any

import moto.sqs.models as sqs_models
from moto.s3.models import S3Backend

_ORIGINAL = S3Backend.__dict__["_url_module"]
_UNIX_TIME = sqs_models.unix_time
_UNIX_TIME_MILLIS = sqs_models.unix_time_millis


def _unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else _UNIX_TIME(dt)


def _unix_time_millis(dt: datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else _UNIX_TIME_MILLIS(dt)


def install() -> None:
    import moto.s3.urls as urls_module

    loaded: Any = importlib.reload(urls_module)  # this cloud's environment, once
    S3Backend._url_module = property(lambda self: loaded)  # type: ignore[assignment,method-assign]
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis


def uninstall() -> None:
    S3Backend._url_module = _ORIGINAL  # type: ignore[method-assign]
    sqs_models.unix_time = _UNIX_TIME
    sqs_models.unix_time_millis = _UNIX_TIME_MILLIS
