"""Read and write Shopify's standard order-export CSV (Admin > Orders > Export).

Why: a merchant trying seglift before installing the app can upload the order export they
already know how to download; the demo and the round-trip tests write the same format.

The format (public descriptions of the export, read 2026-11: the column list as reproduced
in public importers of the file, e.g. the header constant of a Rust POS importer found with
the code search, and the worked example at docs.xbp.app/docs/development/integrations/
shopify/order-format): one row per line item; order-level columns (financial status,
totals, discount, addresses, …) are filled only on the first row of each order, later rows
of the same order repeat ``Name`` (and ``Email``) and carry the ``Lineitem …`` columns.
Dates are written in the shop's time zone as ``2025-10-07 09:50:26 +0200``; money is a
plain decimal (``53.91``); ``Subtotal`` is after discounts and ``Total = Subtotal +
Shipping + Taxes``; ``Financial Status`` is lower-case (``paid``, ``partially_refunded``…).

Importing is all-or-nothing per order: an order with any bad cell is skipped whole (its
rows counted in ``rows_skipped``) and every bad cell is reported with its row number (the
line number in the file), column, value and what to fix. File-level problems (not text,
not CSV, a required column missing) raise ``OrderExportFormatError`` before the store is
touched.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Any
from zoneinfo import ZoneInfo

from devkit.store.model import Record, ShopStore, gid, numeric_id
from devkit.store.reference_data import COUNTRY_NAMES
from devkit.store.spill import SpillTable, refresh_customer_totals

EXPORT_COLUMNS: tuple[str, ...] = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Code", "Discount Amount", "Shipping Method", "Created at",
    "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable",
    "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1",
    "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province",
    "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City",
    "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone", "Notes",
    "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference",
    "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location", "Device ID",
    "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value",
    "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value",
    "Tax 5 Name", "Tax 5 Value", "Phone", "Receipt Number", "Duties",
    "Billing Province Name", "Shipping Province Name", "Payment ID", "Payment Terms Name",
    "Next Payment Due At", "Payment References",
)  # fmt: skip

REQUIRED_COLUMNS: tuple[str, ...] = (
    "Name", "Email", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
)  # fmt: skip

# Columns that belong to the order and are read from its first row only.
_MONEY_COLUMNS = ("Subtotal", "Shipping", "Taxes", "Total", "Discount Amount",
                  "Refunded Amount")
_FINANCIAL_STATUSES = {
    "paid": "PAID", "pending": "PENDING", "authorized": "AUTHORIZED",
    "partially_paid": "PARTIALLY_PAID", "partially_refunded": "PARTIALLY_REFUNDED",
    "refunded": "REFUNDED", "voided": "VOIDED", "expired": "EXPIRED",
}
_FULFILLMENT_STATUSES = {
    "fulfilled": "FULFILLED", "unfulfilled": "UNFULFILLED", "partial": "PARTIALLY_FULFILLED",
    "restocked": "RESTOCKED", "": "UNFULFILLED",
}
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n", ""}
_CSV_DATE = "%Y-%m-%d %H:%M:%S %z"
_SNIFF_BYTES = 8192
NEW_ID_BASE = 9_000_000_000


class OrderExportFormatError(ValueError):
    """The file as a whole is not a usable order export; nothing was imported."""

    def __init__(self, message: str, missing_columns: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing_columns = missing_columns


@dataclass(frozen=True)
class RowError:
    """One bad cell: ``row`` is the line number in the file (the header is line 1)."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r}, value {self.value!r}: {self.message}"


@dataclass
class ImportReport:
    """What an import did. ``orders_imported`` counts created and replaced orders."""

    rows_read: int = 0
    rows_skipped: int = 0
    orders_imported: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_skipped: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    products_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    # The UTC offsets the file's order dates are written in, each with the earliest and
    # latest order written in it: what the shop's time zone is inferred from.
    utc_offsets: dict[timedelta, tuple[datetime, datetime]] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def observe_offset(self, offset: timedelta, moment: datetime) -> None:
        seen = self.utc_offsets.get(offset)
        self.utc_offsets[offset] = ((moment, moment) if seen is None else
                                    (min(seen[0], moment), max(seen[1], moment)))


# --------------------------------------------------------------------------- reading


def _open_rows(source: str | os.PathLike[str] | bytes | Iterable[str]) -> Iterator[str]:
    """Lines of the source as text, BOM removed; a path is streamed, not read whole."""
    if isinstance(source, bytes):
        _reject_binary(source[:_SNIFF_BYTES])
        yield from io.StringIO(_decode(source), newline="")
        return
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        # A whole file's text rather than a path (a path never holds a line break).
        yield from _open_rows(source.encode("utf-8"))
        return
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as raw:
            _reject_binary(raw.read(_SNIFF_BYTES))
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            try:
                yield from text
            except UnicodeDecodeError as error:
                raise OrderExportFormatError(_not_utf8(error)) from None
        return
    first = True
    for line in source:
        if first:
            if "\x00" in line:
                _reject_binary(b"\x00")
            line = line.removeprefix("\ufeff")
            first = False
        yield line


def _reject_binary(head: bytes) -> None:
    if b"\x00" in head:
        raise OrderExportFormatError(
            "the file is not a CSV text file (it contains binary data); upload the CSV from "
            "Shopify admin > Orders > Export, not a spreadsheet or archive")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise OrderExportFormatError(_not_utf8(error)) from None


def _not_utf8(error: UnicodeDecodeError) -> str:
    return (f"the file is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8' "
            "or upload Shopify's export unchanged")


def _open_table(source: Any) -> tuple[dict[str, int], int, Iterator[tuple[int, list[str]]]]:
    """The header (canonical name -> column index), its width, and an iterator over the
    non-blank data rows with their line numbers, read lazily so a large file is never held
    whole. Raises OrderExportFormatError for a file that is not an order export (the
    header is checked before any row is returned)."""
    reader = csv.reader(_open_rows(source), strict=True)
    header: list[str] | None = None
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                header = [cell.strip() for cell in cells]
                break
    except csv.Error as error:
        raise _csv_error(reader.line_num, error) from None
    if header is None:
        raise OrderExportFormatError(
            "the file is empty; export orders from Shopify admin > Orders > Export",
            REQUIRED_COLUMNS)
    known = {name.lower(): name for name in EXPORT_COLUMNS}
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        canonical = known.get(name.lower(), name)
        columns.setdefault(canonical, position)
    missing = tuple(name for name in REQUIRED_COLUMNS if name not in columns)
    if missing:
        looks_like_export = sum(name in columns for name in EXPORT_COLUMNS) >= 3
        opening = ("the header is missing required column(s)" if looks_like_export else
                   "this does not look like a Shopify order export: missing column(s)")
        raise OrderExportFormatError(
            f"{opening} {', '.join(repr(name) for name in missing)}; the first line must be "
            f"the header of Shopify's order export (found: {', '.join(header[:8])}"
            f"{', …' if len(header) > 8 else ''})", missing)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
        except csv.Error as error:
            raise _csv_error(reader.line_num, error) from None

    return columns, len(header), rows()


def _csv_error(line: int, error: csv.Error) -> OrderExportFormatError:
    return OrderExportFormatError(
        f"the file is not valid CSV near line {line}: {error}; check for an unbalanced "
        "double quote")


# --------------------------------------------------------------------------- parsing


@dataclass
class _Line:
    row: int
    quantity: int
    name: str
    price: Decimal
    sku: str
    vendor: str
    discount: Decimal


@dataclass
class _Order:
    name: str
    first_row: int
    rows: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)
    bad: bool = False
    created_at: datetime | None = None
    cancelled_at: datetime | None = None
    money: dict[str, Decimal | None] = field(default_factory=dict)


class _Cells:
    """Cell access by column name for one row, collecting errors instead of raising."""

    def __init__(self, columns: dict[str, int], cells: list[str], row: int,
                 errors: list[RowError]) -> None:
        self.columns, self.cells, self.row, self.errors = columns, cells, row, errors
        self.failed = False
        self.offset: timedelta | None = None  # UTC offset written in the last date read

    def get(self, column: str) -> str:
        position = self.columns.get(column)
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, self.get(column), message))
        self.failed = True

    def decimal(self, column: str, required: bool = False) -> Decimal | None:
        text = self.get(column).replace(",", "")
        if not text:
            if required:
                self.fail(column, f"{column} is empty; give an amount like 12.50")
            return None
        try:
            value = Decimal(text.lstrip("'"))
        except InvalidOperation:
            self.fail(column, f"{column} must be an amount like 12.50")
            return None
        if not value.is_finite() or value < 0:
            self.fail(column, f"{column} must be a non-negative amount like 12.50")
            return None
        return value.quantize(Decimal("0.01"))

    def moment(self, column: str, zone: ZoneInfo, required: bool = False) -> datetime | None:
        text = self.get(column)
        if not text:
            if required:
                self.fail(column, f"{column} is empty; give a date like 2025-10-07 09:50:26 "
                                  "+0200")
            return None
        # Shopify's "2025-10-07 09:50:26 +0200" without the space before the offset is ISO
        # 8601, which fromisoformat reads 40 times faster than strptime.
        spaced = len(text) == 25 and text[19] == " " and text[20] in "+-"
        for parse in ((lambda t: datetime.fromisoformat(t[:19] + t[20:])) if spaced else
                      datetime.fromisoformat,
                      lambda t: datetime.strptime(t, _CSV_DATE),
                      datetime.fromisoformat):
            try:
                value = parse(text)
            except ValueError:
                continue
            self.offset = value.utcoffset() if value.tzinfo else None
            return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
        self.fail(column, f"{column} must be a date like 2025-10-07 09:50:26 +0200")
        return None


class _FinishedNames:
    """Names of the orders read so far. A store on disk that held no orders at the start
    has every applied order's name in its name index, so only skipped orders' names are
    kept in memory (a million names would be ~85 MB); otherwise a set of all of them."""

    def __init__(self, store: ShopStore) -> None:
        orders = store.orders
        self.index = orders if isinstance(orders, SpillTable) and len(orders) == 0 else None
        self.names: set[str] = set()

    def add(self, name: str, skipped: bool) -> None:
        if self.index is None or skipped:
            self.names.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self.names or (
            self.index is not None and self.index.gid_where("name", name) is not None)


def _parse(columns: dict[str, int], width: int, rows: Iterable[tuple[int, list[str]]],
           store: ShopStore, report: ImportReport) -> Iterator[_Order]:
    """Orders as soon as their last row is read: Shopify writes the rows of one order
    together, so an order is complete when the next row names another one. Only the
    names of finished orders are remembered (to report an order split across the file)."""
    zone = _zone(store.timezone)
    finished = _FinishedNames(store)
    order: _Order | None = None
    for row, cells in rows:
        report.rows_read += 1
        cell = _Cells(columns, cells, row, report.errors)
        name = cell.get("Name")
        if not name:
            cell.fail("Name", "Name is empty; every row needs its order's name, e.g. #1001")
            report.rows_skipped += 1
            continue
        if order is None or order.name != name:
            if order is not None:
                finished.add(order.name, order.bad)
                yield order
                order = None
            if name in finished:
                cell.fail("Name", f"the rows of order {name} are not next to each other; "
                                  "keep each order's rows together as Shopify's export does")
                report.rows_skipped += 1
                continue
            order = _Order(name=name, first_row=row)
            _parse_order_fields(cell, order, store, zone, report)
        order.rows += 1
        if len(cells) > width:
            cell.fail("Name", f"the row has {len(cells)} cells but the header has {width}; "
                              "quote values that contain commas")
        line = _parse_line(cell)
        if line is not None:
            order.lines.append(line)
        order.bad |= cell.failed
    if order is not None:
        yield order


def _parse_order_fields(cell: _Cells, order: _Order, store: ShopStore, zone: ZoneInfo,
                        report: ImportReport) -> None:
    for column in ("Email", "Financial Status", "Fulfillment Status", "Accepts Marketing",
                   "Currency", "Discount Code", "Billing Name", "Billing City",
                   "Billing Province", "Billing Province Name", "Billing Country", "Id",
                   "Tags", "Source", "Notes", "Phone"):
        order.fields[column] = cell.get(column)
    email = order.fields["Email"]
    if email and ("@" not in email or "." not in email.rsplit("@", 1)[-1]):
        cell.fail("Email", "Email must be an address like anna@example.com (or empty for a "
                           "guest order)")
    financial = order.fields["Financial Status"].lower()
    if financial and financial not in _FINANCIAL_STATUSES:
        cell.fail("Financial Status", "Financial Status must be one of "
                                      + ", ".join(sorted(_FINANCIAL_STATUSES)))
    if order.fields["Fulfillment Status"].lower() not in _FULFILLMENT_STATUSES:
        cell.fail("Fulfillment Status", "Fulfillment Status must be one of fulfilled, "
                                        "unfulfilled, partial, restocked")
    marketing = order.fields["Accepts Marketing"].lower()
    if marketing not in _YES | _NO:
        cell.fail("Accepts Marketing", "Accepts Marketing must be yes or no")
    currency = order.fields["Currency"].upper()
    if currency and currency != store.currency:
        cell.fail("Currency", f"Currency {currency} differs from the shop's currency "
                              f"{store.currency}; export the orders of this shop only")
    identifier = order.fields["Id"]
    if identifier and not identifier.isdigit():
        cell.fail("Id", "Id must be Shopify's numeric order id (or empty)")
    order.created_at = cell.moment("Created at", zone, required=True)
    if order.created_at is not None and cell.offset is not None:
        report.observe_offset(cell.offset, order.created_at)
    if currency:
        report.currencies.add(currency)
    order.cancelled_at = cell.moment("Cancelled at", zone)
    cell.moment("Paid at", zone)
    for column in _MONEY_COLUMNS:
        order.money[column] = cell.decimal(column)
    total, refunded = order.money["Total"], order.money["Refunded Amount"]
    if total is not None and refunded is not None and refunded > total:
        cell.fail("Refunded Amount", f"Refunded Amount {refunded} exceeds the order Total "
                                     f"{total}")


def _parse_line(cell: _Cells) -> _Line | None:
    quantity_text = cell.get("Lineitem quantity")
    quantity = int(quantity_text) if quantity_text.isdigit() else 0
    if quantity < 1:
        cell.fail("Lineitem quantity", "Lineitem quantity must be a whole number of at least 1")
    name = cell.get("Lineitem name")
    if not name:
        cell.fail("Lineitem name", "Lineitem name is empty; give the product's title")
    price = cell.decimal("Lineitem price", required=True)
    discount = cell.decimal("Lineitem discount") or Decimal("0.00")
    if cell.failed or price is None:
        return None
    if discount > price * quantity:
        cell.fail("Lineitem discount", "Lineitem discount exceeds the line's price times "
                                       "quantity")
        return None
    return _Line(row=cell.row, quantity=quantity, name=name, price=price,
                 sku=cell.get("Lineitem sku"), vendor=cell.get("Vendor"), discount=discount)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as error:
        raise ValueError(f"shop time zone {name!r} is unknown ({error}); use an IANA name "
                         "like America/New_York") from None


# --------------------------------------------------------------------------- applying


PROGRESS_EVERY_ROWS = 50_000


def import_order_export(lines_or_path: str | os.PathLike[str] | bytes | Iterable[str],
                        store: ShopStore,
                        progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Import an order export into ``store``: customers are matched by email (created when
    new), products by SKU then title (created when new), orders by name (replaced when
    they exist). ``lines_or_path`` is a path, the file's bytes or whole text, or its lines
    as strings (an open text file works).

    The file is streamed: each order is applied as soon as its rows are read, so memory
    holds the store and one order, never the file. A file-level problem found part way
    (an unbalanced quote near the end) raises after the orders before it were applied:
    import into a fresh store (as ``seglift import-orders`` does) to keep a bad file from
    leaving a half-imported one. ``progress`` is called every PROGRESS_EVERY_ROWS rows."""
    columns, width, rows = _open_table(lines_or_path)
    report = ImportReport()
    next_progress = PROGRESS_EVERY_ROWS
    spill = store.spill
    with store.lock:
        applier = _Applier(store, report)
        if spill is not None:
            spill.begin()
        try:
            for order in _parse(columns, width, rows, store, report):
                if order.bad:
                    report.orders_skipped += 1
                    report.rows_skipped += order.rows
                else:
                    applier.apply_order(order)
                if report.rows_read >= next_progress:
                    if spill is not None:  # a transaction per PROGRESS_EVERY_ROWS rows
                        spill.commit()
                        spill.begin()
                    if progress is not None:
                        progress(report)
                    next_progress += PROGRESS_EVERY_ROWS
        finally:
            if spill is not None:
                spill.commit()
        applier.finish()
    return report


def _money_bag(amount: Decimal, currency: str) -> Record:
    return _shared_money_bag(f"{amount:.2f}", currency)


def _plain_money_bag(amount: Decimal, currency: str) -> Record:
    """For a store on disk: its records are pickled, so sharing bags saves nothing and
    the cache would only hold memory."""
    money = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


@lru_cache(maxsize=500_000)
def _shared_money_bag(text: str, currency: str) -> Record:
    """One bag per (amount, currency), shared by every record that carries it: the bags
    were 60% of an imported store's memory (seven per order, three per line). Nothing in
    the store mutates a money bag in place (amounts change by replacing the bag)."""
    money = {"amount": text, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(bag: Record | None) -> Decimal:
    if not bag:
        return Decimal("0.00")
    money = bag.get("shopMoney", bag)
    return Decimal(money["amount"])


class _Applier:
    """Writes parsed orders into the store, keeping the store's invariants: customer
    counts and spend match their orders, ``customerOrderIndex`` follows ``createdAt``."""

    def __init__(self, store: ShopStore, report: ImportReport) -> None:
        self.store, self.report = store, report
        self.on_disk = isinstance(store.customers, SpillTable)
        self.bag = _plain_money_bag if self.on_disk else _money_bag
        # In memory: look-up dicts; on disk: the table's indexed columns (a million names
        # and emails as Python strings would be most of the memory the disk saves).
        self.customers_by_email: dict[str, Record] = {} if self.on_disk else {
            (record.get("defaultEmailAddress") or {}).get("emailAddress", "").lower(): record
            for record in store.customers.values()
            if record.get("defaultEmailAddress")
        }
        self.had_orders = len(store.orders) > 0
        self.orders_by_name: dict[str, Record] = {} if self.on_disk else {
            record["name"]: record for record in store.orders.values()}
        self.variants_by_sku: dict[str, tuple[Record, Record]] = {}
        self.products_by_title: dict[str, Record] = {}
        for product in store.products.values():
            self.products_by_title.setdefault(product["title"].lower(), product)
            for variant in product.get("variants", []):
                if variant.get("sku"):
                    self.variants_by_sku.setdefault(variant["sku"], (product, variant))
        self.next_ids = {kind: self._max_id(records) for kind, records in (
            ("Customer", store.customers), ("Order", store.orders), ("Product", store.products))}
        self.next_ids["ProductVariant"] = max(
            [NEW_ID_BASE] + [numeric_id(v["id"]) for p in store.products.values()
                             for v in p.get("variants", [])])
        self.next_ids["LineItem"] = max([NEW_ID_BASE] + [
            numeric_id(line["id"]) for o in store.orders.values()
            for line in o.get("lineItems", [])])
        self.next_ids["Refund"] = max([NEW_ID_BASE] + [
            numeric_id(r["id"]) for o in store.orders.values() for r in o.get("refunds", [])])
        # Customers whose totals ``finish`` recomputes. A store on disk that was empty
        # at the start needs no set (a million ids): every customer is new, all are
        # recomputed.
        self.fresh = self.on_disk and not self.had_orders and len(store.customers) == 0
        self.touched: set[str] = set()

    @staticmethod
    def _max_id(records: MutableMapping[str, Record]) -> int:
        if isinstance(records, SpillTable):
            return max(NEW_ID_BASE, records.max_legacy() or 0)
        return max([NEW_ID_BASE] + [numeric_id(key) for key in records])

    def _customer_by_email(self, email: str) -> Record | None:
        if not self.on_disk:
            return self.customers_by_email.get(email)
        assert isinstance(self.store.customers, SpillTable)
        key = self.store.customers.gid_where("email", email)
        return None if key is None else self.store.customers[key]

    def _order_by_name(self, name: str) -> Record | None:
        if not self.on_disk:
            return self.orders_by_name.get(name)
        if not self.had_orders:
            # Names repeat within one file only next to each other (``_parse`` refuses
            # others), so a store empty at the start has no order to replace.
            return None
        assert isinstance(self.store.orders, SpillTable)
        key = self.store.orders.gid_where("name", name)
        return None if key is None else self.store.orders[key]

    def _new_id(self, kind: str) -> int:
        self.next_ids[kind] += 1
        return self.next_ids[kind]


    def finish(self) -> None:
        """Once every order is in: counts, spend and order indexes of touched customers."""
        self._refresh_customers()

    def _customer_for(self, order: _Order) -> Record | None:
        email = order.fields["Email"]
        if not email:
            return None
        assert order.created_at is not None
        record = self._customer_by_email(email.lower())
        accepts = order.fields["Accepts Marketing"].lower() in _YES
        if record is None:
            legacy = self._new_id("Customer")
            first, _, last = order.fields["Billing Name"].partition(" ")
            country_code = order.fields["Billing Country"].upper() or None
            record = {
                "__typename": "Customer",
                "id": gid("Customer", legacy),
                "legacyResourceId": str(legacy),
                "firstName": first or None,
                "lastName": last or None,
                "displayName": order.fields["Billing Name"] or email,
                "createdAt": _iso(order.created_at),
                "updatedAt": _iso(order.created_at),
                "state": "DISABLED",
                "tags": [],
                "note": None,
                "numberOfOrders": "0",
                "amountSpent": {"amount": "0.00", "currencyCode": self.store.currency},
                "defaultEmailAddress": {
                    "emailAddress": email,
                    "marketingState": "SUBSCRIBED" if accepts else "NOT_SUBSCRIBED"},
                "defaultAddress": None if not (order.fields["Billing City"] or country_code)
                else {
                    "city": order.fields["Billing City"] or None,
                    "province": order.fields["Billing Province Name"] or None,
                    "provinceCode": order.fields["Billing Province"] or None,
                    "country": COUNTRY_NAMES.get(country_code or "", country_code),
                    "countryCodeV2": country_code,
                },
            }
            self.store.add_customer(record)
            if not self.on_disk:
                self.customers_by_email[email.lower()] = record
            self.report.customers_created += 1
        else:
            if not self.fresh and record["id"] not in self.touched:
                self.report.customers_updated += 1
            changed = False
            if accepts and record["defaultEmailAddress"].get("marketingState") != "SUBSCRIBED":
                record["defaultEmailAddress"]["marketingState"] = "SUBSCRIBED"
                changed = True
            if _iso(order.created_at) < record["createdAt"]:
                # (``finish`` sets it from the first order too; kept here for readers of
                # the store before then.)
                record["createdAt"] = _iso(order.created_at)
                changed = True
            if changed:
                self.store.put(record)
        if not self.fresh:
            self.touched.add(record["id"])
        return record

    def _line_product(self, line: _Line) -> tuple[Record, Record]:
        if line.sku and line.sku in self.variants_by_sku:
            return self.variants_by_sku[line.sku]
        title = line.name
        product = self.products_by_title.get(title.lower())
        variant_title = None
        if product is None and " - " in title:
            base, _, variant_title = title.rpartition(" - ")
            product = self.products_by_title.get(base.lower())
        if product is not None:
            for variant in product.get("variants", []):
                if variant_title is None or variant.get("title") == variant_title:
                    return product, variant
        variant_id = self._new_id("ProductVariant")
        variant = {"__typename": "ProductVariant", "id": gid("ProductVariant", variant_id),
                   "legacyResourceId": str(variant_id),
                   "title": variant_title or "Default Title",
                   "sku": line.sku or None, "price": f"{line.price:.2f}"}
        if product is None:
            # "Title - Variant" is how the export names a variant's line; the part before
            # the last " - " becomes the product so its variants stay together.
            product = self._new_product(title.rpartition(" - ")[0] if variant_title else title,
                                        line.vendor)
        product["variants"].append(variant)
        if line.sku:
            self.variants_by_sku[line.sku] = (product, variant)
        return product, variant

    def _new_product(self, title: str, vendor: str) -> Record:
        legacy = self._new_id("Product")
        handle = "-".join("".join(c.lower() if c.isalnum() else " " for c in title).split())
        now = _iso(datetime.now(UTC))
        product = {"__typename": "Product", "id": gid("Product", legacy),
                   "legacyResourceId": str(legacy), "title": title, "handle": handle,
                   "productType": "", "vendor": vendor, "status": "ACTIVE", "tags": [],
                   "createdAt": now, "updatedAt": now, "variants": []}
        self.store.add_product(product)
        self.products_by_title[title.lower()] = product
        self.report.products_created += 1
        return product

    def apply_order(self, order: _Order) -> None:
        assert order.created_at is not None
        currency = self.store.currency
        customer = self._customer_for(order)
        lines: list[Record] = []
        gross_discounts = Decimal("0.00")
        line_net_sum = Decimal("0.00")
        for line in order.lines:
            product, variant = self._line_product(line)
            net = line.price * line.quantity - line.discount
            gross_discounts += line.discount
            line_net_sum += net
            lines.append({
                "__typename": "LineItem",
                "id": gid("LineItem", self._new_id("LineItem")),
                "title": product["title"],
                "name": line.name,
                "variantTitle": variant.get("title"),
                "vendor": line.vendor or product.get("vendor"),
                "sku": line.sku or None,
                "quantity": line.quantity,
                "product": {"id": product["id"]},
                "variant": {"id": variant["id"]},
                "originalUnitPriceSet": self.bag(line.price, currency),
                "discountedTotalSet": self.bag(net, currency),
                "totalDiscountSet": self.bag(line.discount, currency),
            })
        money = order.money
        zero = Decimal("0.00")
        subtotal = money["Subtotal"] if money["Subtotal"] is not None else line_net_sum
        shipping = money["Shipping"] or zero
        taxes = money["Taxes"] or zero
        total = money["Total"] if money["Total"] is not None else subtotal + shipping + taxes
        discounts = (money["Discount Amount"] if money["Discount Amount"] is not None
                     else gross_discounts)
        refunded = min(money["Refunded Amount"] or zero, total)
        cancelled = order.cancelled_at is not None
        created = _iso(order.created_at)
        events = [created] + ([_iso(order.cancelled_at)] if order.cancelled_at else [])
        existing = self._order_by_name(order.name)
        if existing is not None:
            legacy = numeric_id(existing["id"])
        elif order.fields["Id"] and gid("Order", int(order.fields["Id"])) not in \
                self.store.orders:
            legacy = int(order.fields["Id"])
            self.next_ids["Order"] = max(self.next_ids["Order"], legacy)
        else:
            legacy = self._new_id("Order")
        refunds = []
        if refunded > 0:
            # The export carries no refund date: the latest known event stands in for it.
            refunds.append({"__typename": "Refund", "id": gid("Refund", self._new_id("Refund")),
                            "createdAt": max(events), "note": None,
                            "totalRefundedSet": self.bag(refunded, currency)})
        financial = order.fields["Financial Status"].lower()
        record = {
            "__typename": "Order",
            "id": gid("Order", legacy),
            "legacyResourceId": str(legacy),
            "name": order.name,
            "email": order.fields["Email"] or None,
            "createdAt": created,
            "processedAt": created,
            "updatedAt": max(events),
            "cancelledAt": _iso(order.cancelled_at) if order.cancelled_at else None,
            "cancelReason": "OTHER" if cancelled else None,
            "currencyCode": currency,
            "sourceName": order.fields["Source"] or "web",
            "discountCodes": [code.strip() for code in order.fields["Discount Code"].split(",")
                              if code.strip()],
            "test": False,
            "tags": [tag.strip() for tag in order.fields["Tags"].split(",") if tag.strip()],
            "note": order.fields["Notes"] or None,
            "displayFinancialStatus": _FINANCIAL_STATUSES.get(financial, "PAID"),
            "displayFulfillmentStatus": _FULFILLMENT_STATUSES[
                order.fields["Fulfillment Status"].lower()],
            "customer": {"id": customer["id"]} if customer else None,
            "subtotalPriceSet": self.bag(subtotal, currency),
            "totalDiscountsSet": self.bag(discounts, currency),
            "totalShippingPriceSet": self.bag(shipping, currency),
            "totalTaxSet": self.bag(taxes, currency),
            "totalPriceSet": self.bag(total, currency),
            "totalRefundedSet": self.bag(refunded, currency),
            "currentTotalPriceSet": self.bag(zero if cancelled else total - refunded,
                                               currency),
            "lineItems": lines,
            "refunds": refunds,
            "customerJourneySummary": {"customerOrderIndex": None, "daysToConversion": None,
                                       "firstVisit": None, "lastVisit": None},
        }
        if existing is not None and existing.get("customer"):
            self.touched.add(existing["customer"]["id"])
        self.store.add_order(record)
        if not self.on_disk:
            self.orders_by_name[order.name] = record
        self.report.orders_imported += 1
        if existing is not None:
            self.report.orders_updated += 1
        else:
            self.report.orders_created += 1

    def _refresh_customers(self) -> None:
        """Recompute counts, spend, updatedAt and order indexes of every touched customer."""
        if isinstance(self.store.customers, SpillTable) and isinstance(self.store.orders,
                                                                         SpillTable):
            if self.fresh or self.touched:
                refresh_customer_totals(self.store.customers, self.store.orders,
                                        self.store.currency,
                                        None if self.fresh else self.touched)
            return
        if not self.touched:
            return
        by_customer: dict[str, list[Record]] = {key: [] for key in self.touched}
        for record in self.store.orders.values():
            owner = (record.get("customer") or {}).get("id")
            if owner in by_customer:
                by_customer[owner].append(record)
        for customer_gid, orders in by_customer.items():
            customer = self.store.customers.get(customer_gid)
            if customer is None:
                continue
            orders.sort(key=lambda record: (record["createdAt"], numeric_id(record["id"])))
            spent = Decimal("0.00")
            for position, record in enumerate(orders, start=1):
                journey = record.setdefault("customerJourneySummary", {})
                journey["customerOrderIndex"] = position
                if not record.get("cancelledAt"):
                    spent += _amount(record["totalPriceSet"]) - _amount(
                        record.get("totalRefundedSet"))
            customer["numberOfOrders"] = str(len(orders))
            customer["amountSpent"] = {"amount": f"{spent:.2f}",
                                       "currencyCode": self.store.currency}
            latest = max([customer["updatedAt"]] + [record["updatedAt"] for record in orders])
            customer["updatedAt"] = latest
            if orders and orders[0]["createdAt"] < customer["createdAt"]:
                customer["createdAt"] = orders[0]["createdAt"]


# --------------------------------------------------------------------------- writing


def export_order_csv(store: ShopStore, path_or_file: str | os.PathLike[str] | IO[str],
                     header: bool = True) -> int:
    """Write the store's orders as Shopify's order export; returns the rows written.

    Orders are written oldest first; a guest order has an empty Email. ``header=False``
    appends rows only (a large export written store chunk by store chunk)."""
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", encoding="utf-8", newline="") as handle:
            return _write(store, handle, header)
    return _write(store, path_or_file, header)


def _write(store: ShopStore, handle: IO[str], header: bool = True) -> int:
    zone = _zone(store.timezone)
    writer = csv.writer(handle)
    if header:
        writer.writerow(EXPORT_COLUMNS)
    position = {name: index for index, name in enumerate(EXPORT_COLUMNS)}
    written = 0
    with store.lock:
        orders = sorted(store.orders.values(),
                        key=lambda record: (record["createdAt"], numeric_id(record["id"])))
        for order in orders:
            customer = store.customers.get((order.get("customer") or {}).get("id", ""))
            for index, line in enumerate(order.get("lineItems") or []):
                cells = [""] * len(EXPORT_COLUMNS)
                values = _order_cells(order, customer, zone) if index == 0 else {
                    "Name": order["name"], "Email": _order_email(order, customer)}
                values.update(_line_cells(order, line))
                for column, value in values.items():
                    cells[position[column]] = value
                writer.writerow(cells)
                written += 1
    return written


def _csv_time(iso: str | None, zone: ZoneInfo) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(zone).strftime(_CSV_DATE)


def _order_email(order: Record, customer: Record | None) -> str:
    if order.get("email"):
        return str(order["email"])
    address = (customer or {}).get("defaultEmailAddress") or {}
    return str(address.get("emailAddress") or "")


def _order_cells(order: Record, customer: Record | None, zone: ZoneInfo) -> dict[str, str]:
    financial = (order.get("displayFinancialStatus") or "PAID").lower()
    fulfillment = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial",
                   "RESTOCKED": "restocked"}.get(order.get("displayFulfillmentStatus") or "",
                                                 "unfulfilled")
    marketing = ((customer or {}).get("defaultEmailAddress") or {}).get("marketingState")
    address = (customer or {}).get("defaultAddress") or {}
    name = (customer or {}).get("displayName") or ""
    shipping = _amount(order.get("totalShippingPriceSet"))
    taxes = _amount(order.get("totalTaxSet"))
    refunded = _amount(order.get("totalRefundedSet"))
    total = _amount(order.get("totalPriceSet"))
    created = _csv_time(order["createdAt"], zone)
    cells = {
        "Name": order["name"],
        "Email": _order_email(order, customer),
        "Financial Status": financial,
        "Paid at": "" if financial in ("voided", "pending", "authorized") else created,
        "Fulfillment Status": fulfillment,
        "Accepts Marketing": "yes" if marketing == "SUBSCRIBED" else "no",
        "Currency": order.get("currencyCode") or "",
        "Subtotal": f"{_amount(order.get('subtotalPriceSet')):.2f}",
        "Shipping": f"{shipping:.2f}",
        "Taxes": f"{taxes:.2f}",
        "Total": f"{total:.2f}",
        "Discount Code": ", ".join(order.get("discountCodes") or []),
        "Discount Amount": f"{_amount(order.get('totalDiscountsSet')):.2f}",
        "Shipping Method": "Free Shipping" if shipping == 0 else "Standard Shipping",
        "Created at": created,
        "Cancelled at": _csv_time(order.get("cancelledAt"), zone),
        "Payment Method": "Shopify Payments",
        "Refunded Amount": f"{refunded:.2f}",
        "Outstanding Balance": "0.00",
        "Id": str(order.get("legacyResourceId") or numeric_id(order["id"])),
        "Tags": ", ".join(order.get("tags") or []),
        "Risk Level": "Low",
        "Source": order.get("sourceName") or "web",
        "Notes": order.get("note") or "",
    }
    if taxes:
        cells.update({"Tax 1 Name": "Sales Tax", "Tax 1 Value": f"{taxes:.2f}"})
    for prefix in ("Billing", "Shipping"):
        cells.update({
            f"{prefix} Name": name,
            f"{prefix} City": address.get("city") or "",
            f"{prefix} Province": address.get("provinceCode") or "",
            f"{prefix} Province Name": address.get("province") or "",
            f"{prefix} Country": address.get("countryCodeV2") or "",
        })
    return cells


def _line_cells(order: Record, line: Record) -> dict[str, str]:
    fulfilled = order.get("displayFulfillmentStatus") == "FULFILLED"
    return {
        "Lineitem quantity": str(line["quantity"]),
        "Lineitem name": line.get("name") or line.get("title") or "",
        "Lineitem price": f"{_amount(line.get('originalUnitPriceSet')):.2f}",
        "Lineitem sku": line.get("sku") or "",
        "Lineitem requires shipping": "true",
        "Lineitem taxable": "true",
        "Lineitem fulfillment status": "fulfilled" if fulfilled else "pending",
        "Vendor": line.get("vendor") or "",
        "Lineitem discount": f"{_amount(line.get('totalDiscountSet')):.2f}",
    }
