"""The lake tables one shop's segment work reads, bundled so functions take one argument.

Every table carries exactly the lake schema (``seglift.lake.schema``); ``LakeTables.of``
conforms whatever a caller passes (missing tables become empty, missing nullable columns
become nulls) so features and conditions never have to guess what is present.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from seglift.lake.schema import schema_of

TABLE_NAMES: tuple[str, ...] = ("customers", "orders", "line_items", "refunds", "products",
                                 "collection_products")


def conform(table: pa.Table | None, name: str,
            columns: Sequence[str] | None = None) -> pa.Table:
    """``table`` with exactly the lake schema of ``name``: columns ordered, cast, completed.

    A missing table is an empty one; a missing nullable column is all nulls. A missing
    non-nullable column is a data error, raised with the table and column named.
    ``columns``: only those columns of the schema, in that order (a projection, as a
    day-run shard reads: ``seglift.dayrun.columns``); any other column of ``table`` is
    dropped, and code reading one fails with a ``KeyError`` rather than seeing nulls.
    """
    schema = schema_of(name)
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise KeyError(f"lake table {name!r} has no columns {unknown}")
        schema = pa.schema([schema.field(c) for c in columns])
    if table is None:
        return schema.empty_table()
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            arrays.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ValueError(f"lake table {name!r} lacks required column {field.name!r}")
    return pa.Table.from_arrays(arrays, schema=schema)


@dataclass(frozen=True)
class LakeTables:
    """One shop's lake, as Arrow tables with the lake schemas (a day-run shard's: only
    the columns its phase reads, ``seglift.dayrun.columns``)."""

    customers: pa.Table
    orders: pa.Table
    line_items: pa.Table
    refunds: pa.Table
    products: pa.Table
    # Which product is in which collection (a shop never synced since collections were
    # kept has none: a collection rule then selects nobody until the next sync).
    collection_products: pa.Table = dataclasses.field(
        default_factory=lambda: schema_of("collection_products").empty_table())

    @classmethod
    def of(
        cls,
        customers: pa.Table | None = None,
        orders: pa.Table | None = None,
        line_items: pa.Table | None = None,
        refunds: pa.Table | None = None,
        products: pa.Table | None = None,
        collection_products: pa.Table | None = None,
    ) -> LakeTables:
        """Conformed tables; any table not given is empty."""
        return cls(
            customers=conform(customers, "customers"),
            orders=conform(orders, "orders"),
            line_items=conform(line_items, "line_items"),
            refunds=conform(refunds, "refunds"),
            products=conform(products, "products"),
            collection_products=conform(collection_products, "collection_products"),
        )

    @classmethod
    def from_reader(cls, reader: object) -> LakeTables:
        """Read every table through a ``seglift.lake.reader.LakeReader``-like object.

        ``reader.read_table(name, columns=None) -> pa.Table`` is the only call made, so
        tests pass any object with that method.
        """
        read = reader.read_table  # type: ignore[attr-defined]
        return cls.of(**{name: read(name, columns=None) for name in TABLE_NAMES})
