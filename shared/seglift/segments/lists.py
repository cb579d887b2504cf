"""List-type segments' pure parts: set operations and CSV customer lists. No pyarrow.

A list segment is a fixed set of customer ids (a snapshot), made from a CSV upload, a
one-off evaluation of a condition, a snapshot of a condition-based segment, or a set
operation over other lists. Its members are stored like any snapshot
(``seglift.segments.snapshots``); this module only computes the ids.

CSV uploads (``parse_customer_list_csv``): UTF-8 (a BOM is fine), comma, semicolon or tab
separated, quoted or not. A header row is recognised when a column is named like
"email", "e-mail", "email address", "customer id", "customer_id" or "id" (any case);
without one, every non-empty cell of the first column is a value. A value is an email
(matched case-insensitively), a numeric Shopify customer id, or a customer GID
(``gid://shopify/Customer/42``). Each row ends up matched, unmatched (well-formed but not
a customer of the shop), or malformed (with the reason).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SET_OPERATIONS = ("union", "intersection", "difference")
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_CSV_ROWS = 500_000
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_GID = re.compile(r"^gid://shopify/Customer/(\d+)$", re.I)
_EMAIL_HEADERS = {"email", "e-mail", "email address", "e-mail address", "customer email"}
_ID_HEADERS = {"customer id", "customer_id", "customerid", "id", "shopify customer id"}


class CustomerListError(ValueError):
    """The upload cannot be read as a customer list; the message says how to fix it."""


def combine_member_lists(operation: str, lists: Sequence[Iterable[int]]) -> list[int]:
    """Sorted ids of the union / intersection / difference (first minus the rest)."""
    if operation not in SET_OPERATIONS:
        raise ValueError(f"unknown set operation {operation!r}; use one of {SET_OPERATIONS}")
    if len(lists) < 2:
        raise ValueError(f"{operation} needs at least two lists, got {len(lists)}")
    sets = [set(map(int, ids)) for ids in lists]
    if operation == "union":
        result = set().union(*sets)
    elif operation == "intersection":
        result = sets[0].intersection(*sets[1:])
    else:
        result = sets[0].difference(*sets[1:])
    return sorted(result)


@dataclass(frozen=True)
class CustomerDirectory:
    """Who the shop's customers are, for matching uploads: ids and lower-case emails."""

    ids: Collection[int]
    email_to_id: Mapping[str, int]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str | None]]) -> CustomerDirectory:
        ids: set[int] = set()
        emails: dict[str, int] = {}
        for customer_id, email in rows:
            ids.add(int(customer_id))
            if email:
                emails.setdefault(email.strip().lower(), int(customer_id))
        return cls(ids, emails)


@dataclass(frozen=True)
class CsvRow:
    line: int  # 1-based line number in the file
    value: str
    reason: str = ""


@dataclass
class CustomerListParse:
    matched_ids: list[int] = field(default_factory=list)  # distinct, in file order
    unmatched: list[CsvRow] = field(default_factory=list)
    malformed: list[CsvRow] = field(default_factory=list)
    duplicates: int = 0
    column: str = ""  # the header used, or "" without a header

    def summary(self) -> dict[str, int]:
        return {"matched": len(self.matched_ids), "unmatched": len(self.unmatched),
                "malformed": len(self.malformed), "duplicates": self.duplicates}


def _decode(data: bytes) -> str:
    if not isinstance(data, bytes | bytearray):
        raise CustomerListError("expected the uploaded file's bytes")
    if len(data) > MAX_CSV_BYTES:
        raise CustomerListError(
            f"the file is {len(data):,} bytes; the limit is {MAX_CSV_BYTES:,}: split it"
        )
    if b"\x00" in data[:4096]:
        raise CustomerListError(
            "this is not a CSV text file (it contains binary data); export the list as CSV"
        )
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CustomerListError(
            f"the file is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8'"
        ) from None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:8192]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _header_column(row: list[str]) -> tuple[int, str] | None:
    names = [cell.strip().lower() for cell in row]
    for wanted in (_EMAIL_HEADERS, _ID_HEADERS):
        for index, name in enumerate(names):
            if name in wanted:
                return index, row[index].strip()
    return None


def classify_value(value: str) -> tuple[str, str | int]:
    """("email", lower-case email) | ("id", int) | ("malformed", reason)."""
    text = value.strip().strip('"').strip()
    if not text:
        return "malformed", "empty value"
    if "@" in text:
        if _EMAIL.match(text):
            return "email", text.lower()
        return "malformed", "not a valid email address"
    gid = _GID.match(text)
    if gid:
        return "id", int(gid.group(1))
    if text.isdigit():
        return ("id", int(text)) if int(text) > 0 else ("malformed", "customer id 0")
    return "malformed", "neither an email address nor a numeric Shopify customer id"


def parse_customer_list_csv(data: bytes, directory: CustomerDirectory) -> CustomerListParse:
    """Match an uploaded CSV of emails or customer ids against the shop's customers."""
    text = _decode(data)
    if not text.strip():
        raise CustomerListError("the file is empty: put one email or customer id per row")
    try:
        rows = list(csv.reader(io.StringIO(text), _dialect(text)))
    except csv.Error as error:
        raise CustomerListError(f"the file is not valid CSV: {error}") from None
    if len(rows) > MAX_CSV_ROWS + 1:
        raise CustomerListError(f"the file has {len(rows):,} rows; the limit is {MAX_CSV_ROWS:,}")
    result = CustomerListParse()
    column, start = 0, 0
    first = next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), None)
    if first is None:
        raise CustomerListError("the file has no values: put one email or customer id per row")
    header = _header_column(rows[first])
    if header is not None:
        column, result.column = header
        start = first + 1
    elif classify_value(rows[first][0])[0] == "malformed" and len(rows) > first + 1:
        raise CustomerListError(
            "The file does not say which column holds the customers: give that column the "
            f"heading “email” or “customer id” (its first row reads “{','.join(rows[first])}”)."
        )
    seen: set[int] = set()
    for line, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        value = row[column] if column < len(row) else ""
        kind, parsed = classify_value(value)
        if kind == "malformed":
            result.malformed.append(CsvRow(line, value, str(parsed)))
            continue
        customer_id = (directory.email_to_id.get(str(parsed)) if kind == "email"
                       else parsed if isinstance(parsed, int) and parsed in directory.ids
                       else None)
        if customer_id is None:
            result.unmatched.append(CsvRow(line, value.strip(), f"no customer with this {kind}"))
        elif customer_id in seen:
            result.duplicates += 1
        else:
            seen.add(customer_id)
            result.matched_ids.append(customer_id)
    return result
