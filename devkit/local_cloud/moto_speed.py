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

3. moto's DynamoDB ``Table.query`` on a table's own key (no index) starts from
   ``all_items()``: every item of the *whole table* sorted by (hash, range) key, comparing
   ``DynamoType`` values in Python, then keeps the asked partition. A query's cost so grows
   with everything the table holds (a few thousand revenue-month items made each of
   ReduceDay's ~50 queries cost tens of ms), where DynamoDB reads one partition. While such
   a query runs, ``all_items()`` answers the asked partition's items only (the items of the
   table whose hash key equals the asked one, looked up as ``get_item`` does), in the same
   order, so the query keeps, sorts, pages and filters exactly what it did. Index queries
   and tables without a range key are left as they are.

``install`` applies them when the cloud starts; ``uninstall`` restores moto's own code.
"""

from __future__ import annotations

import contextvars
import importlib
import time
from datetime import datetime
from typing import Any

import moto.sqs.models as sqs_models
from moto.dynamodb.models.table import Table
from moto.s3.models import S3Backend

_ORIGINAL = S3Backend.__dict__["_url_module"]
_UNIX_TIME = sqs_models.unix_time
_UNIX_TIME_MILLIS = sqs_models.unix_time_millis
_QUERY = Table.__dict__["query"]
_ALL_ITEMS = Table.__dict__["all_items"]
# The (table, partition's items) a running key query reads instead of the whole table.
_PARTITION: contextvars.ContextVar[tuple[Table, list[Any]] | None] = \
    contextvars.ContextVar("seglift_moto_partition", default=None)


def _unix_time(dt: datetime | None = None) -> float:
    return time.time() if dt is None else _UNIX_TIME(dt)


def _unix_time_millis(dt: datetime | None = None) -> float:
    return time.time() * 1000.0 if dt is None else _UNIX_TIME_MILLIS(dt)


def _all_items(self: Table) -> list[Any]:
    scoped = _PARTITION.get()
    if scoped is not None and scoped[0] is self:
        return scoped[1]
    return _ALL_ITEMS(self)


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or not self.range_key_attr or hash_key is None:
        return _QUERY(self, hash_key, *args, **kwargs)
    # ``items[hash][range]``: the same lookup ``get_item`` makes (``DynamoType`` hashes
    # and compares by (type, value), as the query's ``item.hash_key == hash_key`` does).
    partition = sorted(self.items.get(hash_key, {}).values(),
                       key=lambda item: item.range_key)
    token = _PARTITION.set((self, partition))
    try:
        return _QUERY(self, hash_key, *args, **kwargs)
    finally:
        _PARTITION.reset(token)


def install() -> None:
    import moto.s3.urls as urls_module

    loaded: Any = importlib.reload(urls_module)  # this cloud's environment, once
    S3Backend._url_module = property(lambda self: loaded)  # type: ignore[assignment,method-assign]
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    S3Backend._url_module = _ORIGINAL  # type: ignore[method-assign]
    sqs_models.unix_time = _UNIX_TIME
    sqs_models.unix_time_millis = _UNIX_TIME_MILLIS
    Table.query = _QUERY  # type: ignore[method-assign]
    Table.all_items = _ALL_ITEMS  # type: ignore[method-assign]
