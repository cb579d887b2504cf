"""A merchant's own history as a store: ``seglift import-orders`` and ``--import``.

Reads Shopify's standard order-export CSV (Admin > Orders > Export), and optionally the
customer export beside it (Admin > Customers > Export: tags, marketing consent,
addresses), into a fresh store for the shop; prints what was imported and every row it
could not read (line, column, value, what to fix). ``seglift serve --import`` and
``seglift demo --import`` run the whole product over that store; ``import-orders
--serve`` serves it from the Shopify emulator alone.

The shop's currency and time zone are options; left out, they are read from the file
(the ``Currency`` column, the UTC offsets of the order dates).
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from devkit.cli.progress import Progress, StepFailed
from devkit.store.customer_export_csv import import_customer_export
from devkit.store.model import ShopStore
from devkit.store.order_export_csv import (
    ImportReport,
    OrderExportFormatError,
    _open_table,
    import_order_export,
)
from devkit.store.shop_zone import ZoneGuess, infer_timezone
from devkit.store.spill import SpillTable
from seglift.keys import validate_shop_domain

MAX_ERRORS_SHOWN = 50
CURRENCY_SNIFF_ROWS = 1000


class ImportRefused(ValueError):
    """The import cannot start or the file is unusable; the message says what to fix."""


@dataclass
class MerchantImport:
    """The imported store and what each file contributed."""

    store: ShopStore
    orders: ImportReport
    customers: ImportReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.orders.ok and (self.customers is None or self.customers.ok)


def print_report(report: ImportReport, out: TextIO, what: str = "orders") -> None:
    if what == "orders":
        print(
            f"rows read {report.rows_read:,}, skipped {report.rows_skipped:,}; orders imported "
            f"{report.orders_imported:,} (skipped {report.orders_skipped:,}); customers "
            f"created {report.customers_created:,}; products created "
            f"{report.products_created:,}",
            file=out,
        )
    else:
        print(
            f"customer rows read {report.rows_read:,}, skipped {report.rows_skipped:,}; "
            f"customers updated {report.customers_updated:,}, created "
            f"{report.customers_created:,}",
            file=out,
        )
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        print(
            f"  line {error.row}, column {error.column!r}, value {error.value!r}: {error.message}",
            file=out,
        )
    if len(report.errors) > MAX_ERRORS_SHOWN:
        print(f"  … and {len(report.errors) - MAX_ERRORS_SHOWN:,} more rows with errors", file=out)


def sniff_currency(path: str | Path) -> str | None:
    """The first ``Currency`` cell filled in the file's first rows (order rows carry it)."""
    columns, _, rows = _open_table(path)
    position = columns.get("Currency")
    if position is None:
        return None
    for _, cells in islice(rows, CURRENCY_SNIFF_ROWS):
        if position < len(cells) and cells[position].strip():
            return cells[position].strip().upper()
    return None


def _check_file(path: str | Path | None, what: str) -> None:
    if path is not None and not Path(path).is_file():
        raise ImportRefused(f"no such {what} file {str(path)!r}")


def _zone_disagreements(zone_name: str, report: ImportReport) -> str | None:
    zone = ZoneInfo(zone_name)
    for offset, moments in report.utc_offsets.items():
        for moment in moments:
            if moment.astimezone(zone).utcoffset() != offset:
                hours = offset.total_seconds() / 3600
                return (f"the file's order dates include UTC{hours:+g} on "
                        f"{moment.date().isoformat()} where {zone_name} is not; check that "
                        "--timezone names the shop's time zone")
    return None


def load_merchant_store(
    orders_path: str | Path,
    shop: str,
    *,
    customers_path: str | Path | None = None,
    currency: str | None = None,
    timezone: str | None = None,
    say: TextIO | None = None,
) -> MerchantImport:
    """A fresh store for ``shop`` holding the export(s). Raises ImportRefused when the
    shop, an option or a file as a whole is unusable (nothing is kept then); rows that
    cannot be read are in the reports."""
    try:
        validate_shop_domain(shop)
    except ValueError as error:
        raise ImportRefused(str(error)) from None
    _check_file(orders_path, "order export")
    _check_file(customers_path, "customer export")
    notes: list[str] = []
    try:
        if currency is None:
            currency = sniff_currency(orders_path)
            if currency is None:
                currency = "USD"
                notes.append("the file has no Currency; amounts are read as USD "
                             "(pass --currency to name the shop's currency)")
        currency = currency.upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ImportRefused(f"currency {currency!r} is not a currency code; give one "
                                "like EUR or USD")
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (KeyError, ValueError):
                raise ImportRefused(f"time zone {timezone!r} is unknown; give an IANA name "
                                    "like Europe/Berlin or America/New_York") from None
        # On disk: memory stays flat with the export's size (devkit.store.spill).
        store = ShopStore.on_disk(shop, currency=currency, timezone=timezone or "UTC")

        def progress(report: ImportReport) -> None:
            if say is not None:
                print(f"    {report.rows_read:,} rows, {report.orders_imported:,} orders",
                      file=say, flush=True)

        orders = import_order_export(orders_path, store, progress=progress)
        if timezone is None:
            guess: ZoneGuess = infer_timezone(orders.utc_offsets)
            store.timezone = guess.name
            if guess.note:
                notes.append(guess.note)
        else:
            disagreement = _zone_disagreements(timezone, orders)
            if disagreement:
                notes.append(disagreement)
        customers = None
        if customers_path is not None:
            customers = import_customer_export(customers_path, store,
                                               now=_latest_order_time(store))
    except OrderExportFormatError as error:
        raise ImportRefused(f"cannot be imported: {error}") from None
    return MerchantImport(store=store, orders=orders, customers=customers, notes=notes)


def _latest_order_time(store: ShopStore) -> datetime:
    """When customers without orders are taken to have signed up: the end of the
    history the export covers (its sign-up dates are not in the customer export)."""
    if isinstance(store.orders, SpillTable):
        latest = store.orders.latest_created_at()
    else:
        latest = max((order["createdAt"] for order in store.orders.values()), default=None)
    return datetime.fromisoformat(latest) if latest else datetime.now(UTC)


def describe_import(result: MerchantImport, out: TextIO) -> None:
    print_report(result.orders, out)
    if result.customers is not None:
        print_report(result.customers, out, what="customers")
    store = result.store
    print(f"shop currency {store.currency}, time zone {store.timezone}", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)


@dataclass(frozen=True)
class ImportOptions:
    """``--import`` and its companions, as ``serve`` and ``demo`` take them."""

    orders_path: str
    customers_path: str | None = None
    currency: str | None = None
    timezone: str | None = None


def imported_store(options: ImportOptions, shop: str, progress: Progress) -> ShopStore:
    """The store ``serve --import`` and ``demo --import`` run on, with the import shown as
    a progress step and its report (rejected rows by line) printed after it."""
    with progress.step(f"importing {options.orders_path}"
                       + (f" and {options.customers_path}" if options.customers_path else "")):
        progress.say("")
        try:
            result = load_merchant_store(
                options.orders_path, shop, customers_path=options.customers_path,
                currency=options.currency, timezone=options.timezone, say=progress.stream)
        except ImportRefused as error:
            raise StepFailed(f"{options.orders_path}: {error}") from None
    buffer = io.StringIO()
    describe_import(result, buffer)
    for line in buffer.getvalue().splitlines():
        progress.say("  " + line)
    if not result.store.orders:
        raise StepFailed(f"{options.orders_path}: no order could be imported (see above)")
    return result.store


def import_orders_command(
    path: str,
    shop: str,
    *,
    customers_path: str | None = None,
    currency: str | None = None,
    timezone: str | None = None,
    serve: bool = False,
    port: int = 8700,
    out: TextIO = sys.stdout,
) -> int:
    """Exit status: 0 all rows imported, 1 some rows skipped, 2 the file was unusable."""
    try:
        result = load_merchant_store(path, shop, customers_path=customers_path,
                                     currency=currency, timezone=timezone, say=sys.stderr)
    except ImportRefused as error:
        print(f"seglift import-orders: {error}", file=sys.stderr)
        return 2
    describe_import(result, out)
    if serve:
        from devkit.shopify_emulator.standalone import run

        run(port, [result.store])
    return 0 if result.ok else 1
