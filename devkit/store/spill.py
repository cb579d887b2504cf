"""Customers and orders of an imported store kept on disk, so memory stays flat with size.

A merchant's export can hold a million orders; as Python records that is about 6 GB. An
imported store therefore keeps its customers and orders in a SQLite file in a private
temporary directory: each record's body (its Admin GraphQL shape, pickled: the file is
written and read by this process only and removed when the store is dropped) beside the
few columns the importer and the emulator look records up by (order name, customer,
email) and the per-order values the customer totals are computed from in SQL.

``SpillTable`` is a ``MutableMapping[str, Record]`` keyed by global id, in insertion order
like the in-memory dicts, so the emulator and the importer use it as they use a dict, with
one difference: a record read from it is a copy, so a change is kept only when the record
is written back (``ShopStore.put``). Iteration streams in batches; nothing loads the table
whole.

The order's ``customerJourneySummary.customerOrderIndex`` is a column laid over the body
on read: recomputing it after an import is one SQL statement instead of rewriting every
order.
"""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

Record = dict[str, Any]

BATCH = 500

_SCHEMA = """
CREATE TABLE customers (
    gid TEXT PRIMARY KEY, legacy INTEGER NOT NULL, email TEXT, body BLOB NOT NULL);
CREATE INDEX customers_email ON customers (email);
CREATE TABLE orders (
    gid TEXT PRIMARY KEY, legacy INTEGER NOT NULL, name TEXT, customer TEXT,
    created_at TEXT, updated_at TEXT, net_cents INTEGER NOT NULL DEFAULT 0,
    order_index INTEGER, body BLOB NOT NULL);
CREATE INDEX orders_name ON orders (name);
CREATE INDEX orders_customer ON orders (customer, created_at, legacy);
"""


def _legacy(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[-1])


def _cents(bag: Record | None) -> int:
    if not bag:
        return 0
    return int(Decimal(bag.get("shopMoney", bag)["amount"]) * 100)


def _customer_columns(record: Record) -> tuple[Any, ...]:
    email = (record.get("defaultEmailAddress") or {}).get("emailAddress")
    return (_legacy(record["id"]), email.lower() if email else None)


def _order_columns(record: Record) -> tuple[Any, ...]:
    net = 0 if record.get("cancelledAt") else (
        _cents(record.get("totalPriceSet")) - _cents(record.get("totalRefundedSet")))
    index = (record.get("customerJourneySummary") or {}).get("customerOrderIndex")
    return (_legacy(record["id"]), record.get("name"),
            (record.get("customer") or {}).get("id"), record.get("createdAt"),
            record.get("updatedAt"), net, index)


_COLUMNS: dict[str, tuple[tuple[str, ...], Any]] = {
    "customers": (("legacy", "email"), _customer_columns),
    "orders": (("legacy", "name", "customer", "created_at", "updated_at", "net_cents",
                "order_index"), _order_columns),
}


class SpillDatabase:
    """The SQLite file behind one store's tables, removed when the store is dropped."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="seglift-store-", dir=directory))
        self.path = self.directory / "store.sqlite"
        # One connection shared by the emulator's threads, serialised by ``lock``.
        self.connection = sqlite3.connect(self.path, check_same_thread=False,
                                          isolation_level=None)
        self.lock = threading.RLock()
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16000",
                       "temp_store = FILE"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.executescript(_SCHEMA)
        self._finalizer = weakref.finalize(self, _remove, self.connection, self.directory)

    def close(self) -> None:
        self._finalizer()

    def begin(self) -> None:
        """Group the writes that follow into one transaction (much faster than one per
        statement); ``commit`` ends it. Re-entrant: begin inside a transaction is a no-op."""
        with self.lock:
            if not self.connection.in_transaction:
                self.connection.execute("BEGIN")

    def commit(self) -> None:
        with self.lock:
            if self.connection.in_transaction:
                self.connection.execute("COMMIT")


def _remove(connection: sqlite3.Connection, directory: Path) -> None:
    connection.close()
    shutil.rmtree(directory, ignore_errors=True)


class SpillTable(MutableMapping[str, Record]):
    """One resource's records on disk, keyed by global id, in insertion order."""

    def __init__(self, database: SpillDatabase, table: str) -> None:
        self.database, self.table = database, table
        names, self._columns_of = _COLUMNS[table]
        self._insert = (
            f"INSERT INTO {table} (gid, {', '.join(names)}, body) VALUES "
            f"(?, {', '.join('?' for _ in names)}, ?) ON CONFLICT (gid) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in (*names, "body")))
        self._overlay = table == "orders"
        self._count: int | None = 0

    # -- the mapping

    def _decode(self, body: bytes, index: int | None = None) -> Record:
        record: Record = pickle.loads(body)
        if self._overlay:
            journey = record.get("customerJourneySummary")
            if journey is not None:
                journey["customerOrderIndex"] = index
        return record

    def _select(self) -> str:
        return "body, order_index" if self._overlay else "body, NULL"

    def __getitem__(self, key: str) -> Record:
        with self.database.lock:
            row = self.database.connection.execute(
                f"SELECT {self._select()} FROM {self.table} WHERE gid = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return self._decode(row[0], row[1])

    def __setitem__(self, key: str, record: Record) -> None:
        if key != record["id"]:
            raise ValueError(f"record {record['id']} stored under {key}")
        body = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        with self.database.lock:
            self.database.connection.execute(self._insert,
                                             (key, *self._columns_of(record), body))
            self._count = None  # counted again when asked (inserted or replaced?)

    def __delitem__(self, key: str) -> None:
        with self.database.lock:
            cursor = self.database.connection.execute(
                f"DELETE FROM {self.table} WHERE gid = ?", (key,))
            if cursor.rowcount == 0:
                raise KeyError(key)
            self._count = None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        with self.database.lock:
            return self.database.connection.execute(
                f"SELECT 1 FROM {self.table} WHERE gid = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self.database.lock:
            if self._count is None:
                self._count = self.database.connection.execute(
                    f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]
            return self._count

    def _batches(self, columns: str, where: str = "", parameters: Sequence[Any] = ()
                 ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in insertion order, BATCH at a time (keyset on rowid, so writes between
        batches neither repeat nor skip a row)."""
        last = -1
        while True:
            with self.database.lock:
                rows = self.database.connection.execute(
                    f"SELECT rowid, {columns} FROM {self.table} WHERE rowid > ? {where} "
                    f"ORDER BY rowid LIMIT {BATCH}", (last, *parameters)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [row[1:] for row in rows]

    def __iter__(self) -> Iterator[str]:
        for rows in self._batches("gid"):
            yield from (row[0] for row in rows)

    def values(self) -> Iterator[Record]:  # type: ignore[override]
        for rows in self._batches(self._select()):
            yield from (self._decode(body, index) for body, index in rows)

    def items(self) -> Iterator[tuple[str, Record]]:  # type: ignore[override]
        for record in self.values():
            yield record["id"], record

    # -- look-ups by column (indexed)

    def gid_where(self, column: str, value: str) -> str | None:
        """The first record's global id whose ``column`` is ``value`` (name, email)."""
        if column not in ("name", "email"):
            raise ValueError(f"not an indexed column: {column}")
        with self.database.lock:
            row = self.database.connection.execute(
                f"SELECT gid FROM {self.table} WHERE {column} = ? ORDER BY rowid LIMIT 1",
                (value,)).fetchone()
        return row[0] if row else None

    def max_legacy(self) -> int | None:
        with self.database.lock:
            row = self.database.connection.execute(
                f"SELECT MAX(legacy) FROM {self.table}").fetchone()
        return row[0]

    def many(self, keys: Sequence[str]) -> list[Record]:
        """The records of ``keys`` in that order (missing ones left out)."""
        found: dict[str, Record] = {}
        for start in range(0, len(keys), BATCH):
            part = list(keys[start:start + BATCH])
            with self.database.lock:
                rows = self.database.connection.execute(
                    f"SELECT gid, {self._select()} FROM {self.table} WHERE gid IN "
                    f"({', '.join('?' for _ in part)})", part).fetchall()
            found.update((key, self._decode(body, index)) for key, body, index in rows)
        return [found[key] for key in keys if key in found]

    def of_customer(self, customer_gid: str) -> list[Record]:
        """A customer's orders in id order."""
        with self.database.lock:
            rows = self.database.connection.execute(
                f"SELECT {self._select()} FROM orders WHERE customer = ? ORDER BY legacy",
                (customer_gid,)).fetchall()
        return [self._decode(body, index) for body, index in rows]

    def latest_created_at(self) -> str | None:
        with self.database.lock:
            return self.database.connection.execute(
                "SELECT MAX(created_at) FROM orders").fetchone()[0]


class LazyRecords(Sequence[Record]):
    """A list of global ids read as records on access, BATCH at a time when iterated: an
    ordering of a million spilled orders holds their ids, not their records."""

    def __init__(self, table: SpillTable, keys: list[str]) -> None:
        self.table, self.keys = table, keys

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> LazyRecords: ...

    def __getitem__(self, index: int | slice) -> Record | LazyRecords:
        if isinstance(index, slice):
            return LazyRecords(self.table, self.keys[index])
        return self.table[self.keys[index]]

    def __iter__(self) -> Iterator[Record]:
        for start in range(0, len(self.keys), BATCH):
            yield from self.table.many(self.keys[start:start + BATCH])


def refresh_customer_totals(customers: SpillTable, orders: SpillTable, currency: str,
                            touched: Iterable[str] | None) -> None:
    """Counts, spend, first and last dates and order indexes of ``touched`` customers
    (None: every customer with orders), computed in SQL over the spilled orders (the
    in-memory store's rule, the same numbers: spend is totals minus refunds of orders not
    cancelled)."""
    database = customers.database
    connection = database.connection
    with database.lock:
        connection.execute("CREATE TEMP TABLE IF NOT EXISTS touched (gid TEXT PRIMARY KEY)")
        connection.execute("DELETE FROM touched")
        if touched is None:
            connection.execute("INSERT OR IGNORE INTO touched SELECT DISTINCT customer FROM "
                               "orders WHERE customer IS NOT NULL")
        else:
            connection.executemany("INSERT OR IGNORE INTO touched VALUES (?)",
                                   ((key,) for key in touched))
        database.begin()
        connection.execute(
            "UPDATE orders SET order_index = ranked.position FROM (SELECT gid, ROW_NUMBER() "
            "OVER (PARTITION BY customer ORDER BY created_at, legacy) AS position FROM "
            "orders WHERE customer IN (SELECT gid FROM touched)) AS ranked "
            "WHERE orders.gid = ranked.gid")
        database.commit()
    last = ""
    while True:
        with database.lock:
            part = [row[0] for row in connection.execute(
                "SELECT gid FROM touched WHERE gid > ? ORDER BY gid LIMIT ?", (last, BATCH))]
        if not part:
            return
        last = part[-1]
        marks = ", ".join("?" for _ in part)
        with database.lock:
            totals = {row[0]: row[1:] for row in connection.execute(
                "SELECT customer, COUNT(*), SUM(net_cents), MIN(created_at), "
                f"MAX(updated_at) FROM orders WHERE customer IN ({marks}) GROUP BY customer",
                part)}
        updated = []
        for customer in customers.many(part):
            count, cents, first, latest = totals.get(customer["id"], (0, 0, None, None))
            customer["numberOfOrders"] = str(count)
            customer["amountSpent"] = {"amount": f"{Decimal(cents) / 100:.2f}",
                                       "currencyCode": currency}
            if latest is not None:
                customer["updatedAt"] = max(customer["updatedAt"], latest)
            if first is not None and first < customer["createdAt"]:
                customer["createdAt"] = first
            updated.append(customer)
        with database.lock:
            database.begin()
            for customer in updated:
                customers[customer["id"]] = customer
            database.commit()
