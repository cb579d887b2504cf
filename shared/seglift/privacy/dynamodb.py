"""Removing a customer, or a whole shop, from the DynamoDB tables (low-level boto3 client).

Tables are found by name from the configuration and read whole-item, whatever their
model: a shop's items are those whose ``shop`` attribute is the shop or whose key starts
with ``<shop>#`` (metrics series, analytics) or names it after a kind (``rate#<shop>#``,
the API's per-shop budgets); items that belong to no shop (Powertools
idempotency records) are examined too, since they may hold a message's customer ids.

- customer: an item keyed by the customer is deleted; otherwise the values naming the
  customer (a tag job's per-customer errors, a list inside an analytics payload or a JSON
  condition) are removed and the item is written back;
- shop: every item of the shop, and every shop-less item naming it, is deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from seglift.privacy.subject import Subject, scrub

_deserialize = TypeDeserializer().deserialize
_serialize = TypeSerializer().serialize


@dataclass
class TableScrub:
    updated: int = 0
    deleted: int = 0


def _key_names(client: Any, table: str) -> list[str]:
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    return [part["AttributeName"] for part in schema]


def _items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table):
        for raw in page.get("Items", []):
            yield {name: _deserialize(value) for name, value in raw.items()}


def _owner(item: dict[str, Any], keys: Sequence[str]) -> str | None:
    """The shop an item belongs to, or None for shop-less items."""
    if isinstance(item.get("shop"), str):
        return item["shop"]
    for name in keys:
        value = item.get(name)
        if isinstance(value, str) and ".myshopify.com" in value:
            # ``<shop>#...`` (metrics, analytics) or ``<kind>#<shop>#...`` (rate budgets).
            return next(part for part in value.split("#") if ".myshopify.com" in part)
    return None


def _key_of(item: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {name: _serialize(item[name]) for name in keys}


def scrub_customer(client: Any, tables: Sequence[str], shop: str,
                   subject: Subject) -> dict[str, TableScrub]:
    """Remove the subject from the shop's (and shop-less) items of every table."""
    results: dict[str, TableScrub] = {}
    for table in tables:
        keys = _key_names(client, table)
        result = results.setdefault(table, TableScrub())
        for item in _items(client, table):
            if _owner(item, keys) not in (shop, None) or not subject.mentioned_in(item):
                continue
            if any(subject.mentioned_in(item[name]) for name in keys):
                client.delete_item(TableName=table, Key=_key_of(item, keys))
                result.deleted += 1
                continue
            cleaned: dict[str, Any] = {}
            for name, value in item.items():
                if name in keys:
                    cleaned[name] = value
                    continue
                new, _ = scrub(value, subject)
                if new is not None:
                    cleaned[name] = new
            client.put_item(
                TableName=table,
                Item={name: _serialize(value) for name, value in cleaned.items()},
            )
            result.updated += 1
    return results


def delete_shop(client: Any, tables: Sequence[str], shop: str) -> dict[str, int]:
    """Delete every item of the shop, and every shop-less item that names it."""
    deleted: dict[str, int] = {}
    for table in tables:
        keys = _key_names(client, table)
        doomed = []
        for item in _items(client, table):
            owner = _owner(item, keys)
            if owner == shop or (owner is None and shop in repr(item)):
                doomed.append(_key_of(item, keys))
        for start in range(0, len(doomed), 25):
            pending = {table: [{"DeleteRequest": {"Key": key}}
                               for key in doomed[start:start + 25]]}
            while pending:  # DynamoDB may leave part of a batch for a retry
                pending = client.batch_write_item(RequestItems=pending).get(
                    "UnprocessedItems") or {}
        deleted[table] = len(doomed)
    return deleted
