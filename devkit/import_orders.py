"""``seglift import-orders FILE --shop S``: a merchant's own order history, replayed.

Reads Shopify's standard order-export CSV (Admin > Orders > Export) into a fresh store
for the shop, prints what was imported and every row it could not read (line, column,
value, what to fix), and with ``--serve`` serves the store from the Shopify emulator so
the sync and the whole pipeline can run on real history.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from devkit.store.model import ShopStore
from devkit.store.order_export_csv import ImportReport, OrderExportFormatError, import_order_export
from seglift.keys import validate_shop_domain

MAX_ERRORS_SHOWN = 50


def print_report(report: ImportReport, out: TextIO) -> None:
    print(
        f"rows read {report.rows_read:,}, skipped {report.rows_skipped:,}; orders imported "
        f"{report.orders_imported:,} (skipped {report.orders_skipped:,}); customers created "
        f"{report.customers_created:,}; products created {report.products_created:,}",
        file=out,
    )
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        print(
            f"  line {error.row}, column {error.column!r}, value {error.value!r}: {error.message}",
            file=out,
        )
    if len(report.errors) > MAX_ERRORS_SHOWN:
        print(f"  … and {len(report.errors) - MAX_ERRORS_SHOWN:,} more rows with errors", file=out)


def import_orders_command(
    path: str, shop: str, *, serve: bool = False, port: int = 8700, out: TextIO = sys.stdout
) -> int:
    """Exit status: 0 all rows imported, 1 some rows skipped, 2 the file was unusable."""
    try:
        validate_shop_domain(shop)
    except ValueError as error:
        print(f"seglift import-orders: {error}", file=sys.stderr)
        return 2
    if not Path(path).is_file():
        print(f"seglift import-orders: no such file {path!r}", file=sys.stderr)
        return 2
    store = ShopStore(domain=shop)
    try:
        report = import_order_export(path, store)
    except OrderExportFormatError as error:
        print(f"seglift import-orders: {path} cannot be imported: {error}", file=sys.stderr)
        return 2
    print_report(report, out)
    if serve:
        from devkit.shopify_emulator.standalone import run

        run(port, [store])
    return 0 if report.ok else 1
