"""Read Shopify's customer export CSV (Admin > Customers > Export) beside the orders.

Why: the order export carries no customer tags and only the consent and address given at
each checkout; the customer export is the current state of every customer (tags, email
marketing consent, default address, note), and it also lists customers who never ordered.
Importing it after the orders makes tag, consent and location conditions work on a
merchant's real data.

The format: one row per customer. Shopify's current export names its columns ``Customer
ID, First Name, Last Name, Email, Accepts Email Marketing, Default Address Company,
Default Address Address1, Default Address Address2, Default Address City, Default Address
Province Code, Default Address Country Code, Default Address Zip, Default Address Phone,
Phone, Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt, Tags``; the
older export used ``Company, Address1, City, Province, Province Code, Country, Country
Code, Zip, Accepts Marketing``. Both are read (``ALIASES``). ``Total Spent`` and ``Total
Orders`` are not read: they follow from the orders.

Customers are matched by email (ignoring case), then created. A bad cell skips its row
and is reported with its line, column, value and what to fix, as for the orders.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from devkit.store.model import Record, ShopStore, gid, numeric_id
from devkit.store.order_export_csv import (
    NEW_ID_BASE,
    ImportReport,
    OrderExportFormatError,
    _Cells,
    _csv_error,
    _open_rows,
)
from devkit.store.reference_data import COUNTRY_NAMES
from devkit.store.spill import SpillTable

# Canonical column -> the names Shopify's exports have used for it (lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "Customer ID": ("customer id", "id"),
    "First Name": ("first name",),
    "Last Name": ("last name",),
    "Email": ("email",),
    "Accepts Email Marketing": ("accepts email marketing", "accepts marketing"),
    "City": ("default address city", "city"),
    "Province Code": ("default address province code", "province code"),
    "Country Code": ("default address country code", "country code"),
    "Tags": ("tags",),
    "Note": ("note",),
}
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n", ""}


def _header_columns(header: list[str]) -> dict[str, int]:
    lowered = [name.strip().lower() for name in header]
    columns: dict[str, int] = {}
    for canonical, names in ALIASES.items():
        for name in names:
            if name in lowered:
                columns[canonical] = lowered.index(name)
                break
    return columns


def import_customer_export(source: str | os.PathLike[str] | bytes | Iterable[str],
                           store: ShopStore, *, now: datetime | None = None) -> ImportReport:
    """Apply a customer export to ``store`` (after the orders): tags, consent, address,
    names and note of each customer; customers without orders are created with
    ``createdAt`` = ``now`` (the export carries no sign-up date)."""
    reader = csv.reader(_open_rows(source), strict=True)
    try:
        header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
    except csv.Error as error:
        raise _csv_error(reader.line_num, error) from None
    if header is None:
        raise OrderExportFormatError(
            "the customer file is empty; export customers from Shopify admin > Customers > "
            "Export", ("Email",))
    columns = _header_columns(header)
    if any(name.strip().lower() == "lineitem quantity" for name in header):
        raise OrderExportFormatError(
            "this is an order export, not the customer export; export customers from "
            "Shopify admin > Customers > Export", ())
    if "Email" not in columns or "Tags" not in columns:
        missing = tuple(name for name in ("Email", "Tags") if name not in columns)
        raise OrderExportFormatError(
            f"this does not look like Shopify's customer export: missing column(s) "
            f"{', '.join(repr(name) for name in missing)} (found: {', '.join(header[:8])}); "
            "export customers from Shopify admin > Customers > Export", missing)
    created_at = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = ImportReport()
    with store.lock:
        on_disk = store.customers if isinstance(store.customers, SpillTable) else None
        # In memory a dict by email; on disk the table's email index (see devkit.store.spill).
        by_email: dict[str, str] = {} if on_disk is not None else {
            (record.get("defaultEmailAddress") or {}).get("emailAddress", "").lower():
                record["id"]
            for record in store.customers.values() if record.get("defaultEmailAddress")}
        next_id = max(NEW_ID_BASE, on_disk.max_legacy() or 0) if on_disk is not None else \
            max([NEW_ID_BASE] + [numeric_id(key) for key in store.customers])
        try:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                report.rows_read += 1
                cell = _Cells(columns, cells, reader.line_num, report.errors)
                values = _read_row(cell)
                if values is None:
                    report.rows_skipped += 1
                    continue
                key = None
                if values["email"]:
                    key = (on_disk.gid_where("email", values["email"].lower())
                           if on_disk is not None else by_email.get(values["email"].lower()))
                record = store.customers.get(key) if key is not None else None
                if record is None:
                    next_id += 1
                    record = _new_customer(next_id, created_at, store.currency)
                    store.add_customer(record)
                    report.customers_created += 1
                    if values["email"] and on_disk is None:
                        by_email[values["email"].lower()] = record["id"]
                else:
                    report.customers_updated += 1
                _apply(record, values)
                store.put(record)
        except csv.Error as error:
            raise _csv_error(reader.line_num, error) from None
    return report


def _read_row(cell: _Cells) -> dict[str, Any] | None:
    email = cell.get("Email")
    if email and ("@" not in email or "." not in email.rsplit("@", 1)[-1]):
        cell.fail("Email", "Email must be an address like anna@example.com")
    if not email and not cell.get("First Name") and not cell.get("Last Name"):
        cell.fail("Email", "a customer needs an Email or a name")
    consent = cell.get("Accepts Email Marketing").lower()
    if consent not in _YES | _NO:
        cell.fail("Accepts Email Marketing", "Accepts Email Marketing must be yes or no")
    country = cell.get("Country Code").upper()
    if country and (len(country) != 2 or not country.isalpha()):
        cell.fail("Country Code", "Country Code must be a two-letter code like DE or US")
    if cell.failed:
        return None
    return {"email": email, "first": cell.get("First Name"), "last": cell.get("Last Name"),
            "subscribed": consent in _YES, "city": cell.get("City"),
            "province": cell.get("Province Code"), "country": country,
            "tags": [tag.strip() for tag in cell.get("Tags").split(",") if tag.strip()],
            "note": cell.get("Note")}


def _new_customer(legacy: int, created_at: str, currency: str) -> Record:
    return {"__typename": "Customer", "id": gid("Customer", legacy),
            "legacyResourceId": str(legacy), "firstName": None, "lastName": None,
            "displayName": "", "createdAt": created_at, "updatedAt": created_at,
            "state": "DISABLED", "tags": [], "note": None, "numberOfOrders": "0",
            "amountSpent": {"amount": "0.00", "currencyCode": currency},
            "defaultEmailAddress": None, "defaultAddress": None}


def _apply(record: Record, values: dict[str, Any]) -> None:
    """The customer export is the customer's current state: it wins over what the order
    rows said at checkout time."""
    record["firstName"] = values["first"] or record.get("firstName")
    record["lastName"] = values["last"] or record.get("lastName")
    name = " ".join(part for part in (values["first"], values["last"]) if part)
    record["displayName"] = name or record.get("displayName") or values["email"]
    record["tags"] = values["tags"]
    record["note"] = values["note"] or None
    if values["email"]:
        record["defaultEmailAddress"] = {
            "emailAddress": values["email"],
            "marketingState": "SUBSCRIBED" if values["subscribed"] else "NOT_SUBSCRIBED"}
    if values["city"] or values["country"]:
        code = values["country"] or None
        record["defaultAddress"] = {
            "city": values["city"] or None, "province": None,
            "provinceCode": values["province"] or None,
            "country": COUNTRY_NAMES.get(code or "", code), "countryCodeV2": code}
