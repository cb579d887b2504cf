"""Spreadsheet formula injection: neutralise cells a spreadsheet would run as a formula.

A customer can type ``=HYPERLINK("http://evil", "click")`` as their first name; opened in
Excel or Google Sheets, an exported CSV would execute it. OWASP's advice: prefix every
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return with a single
quote, so the spreadsheet shows it as text. Applied to every string column (vectorised,
one regex pass per column); numbers are written by us and are left alone.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

DANGEROUS_FIRST_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS = "^[=+\\-@\\t\\r]"


def neutralise(value: str) -> str:
    """The scalar rule (the reference the vectorised version is tested against)."""
    return "'" + value if value.startswith(DANGEROUS_FIRST_CHARACTERS) else value


def neutralise_column(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The same rule over a whole string column; nulls stay null."""
    dangerous = pc.match_substring_regex(values, _DANGEROUS)
    prefixed = pc.binary_join_element_wise(pa.scalar("'"), values, "")
    return pc.if_else(dangerous, prefixed, values)


def neutralise_table(table: pa.Table) -> pa.Table:
    """Every string column of ``table`` neutralised."""
    columns = [
        neutralise_column(column) if pa.types.is_string(column.type) else column
        for column in table.columns
    ]
    return pa.Table.from_arrays(columns, schema=table.schema)
