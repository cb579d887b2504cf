"""Bulk-query JSONL to lake tables, a block at a time, with whole-column Arrow operations.

Each downloaded block (whole lines, ~8 MB) is parsed in one call to
``pyarrow.json.read_json`` with an explicit schema. Orders and their line items share one
file: the parse schema is the union of both line shapes, and rows are split by whether
``__parentId`` is set — no per-line Python on the hot path. Nested objects (money bags,
journey summary, refunds) are unpacked with ``struct_field`` / ``list_flatten``.

Line items carry their order's customer and creation time. Shopify writes children
after their parent, so each block's children join the parents of this block and the one
before; the rare child whose parent is further back waits in ``pending`` and joins the
full (order_id, customer_id, created_at) key table at ``finish``.

One export can be converted across several invocations: ``carry_over`` hands out what
joins the next block to this one (the last block's order keys and the children still
waiting), ``restore`` takes it back in the next invocation, and ``finish`` is given the
export's order keys (read back from the files written) instead of keeping every key in
memory (``keep_order_keys=False``), so no invocation holds more than a few blocks.

A block that fails to parse is re-parsed line by line (the slow path, only for broken
blocks): bad lines go to ``on_bad_line`` (the sync quarantines them in S3), good lines
are converted as usual. Nothing is silently dropped.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from seglift.lake.schema import (
    COLLECTION_PRODUCTS,
    COLLECTIONS,
    CUSTOMERS,
    LINE_ITEMS,
    MONEY,
    ORDERS,
    PRODUCTS,
    REFUNDS,
    TIMESTAMP,
)

BadLineSink = Callable[[bytes, str], None]

_S = pa.string()
_MONEY_BAG = pa.struct([("shopMoney", pa.struct([("amount", _S)]))])
_ID_REF = pa.struct([("id", _S)])

CUSTOMER_JSON = pa.schema([
    ("id", _S), ("firstName", _S), ("lastName", _S), ("createdAt", TIMESTAMP),
    ("updatedAt", TIMESTAMP), ("tags", pa.list_(_S)), ("state", _S),
    ("defaultEmailAddress", pa.struct([("emailAddress", _S), ("marketingState", _S)])),
    ("defaultAddress", pa.struct([("countryCodeV2", _S), ("provinceCode", _S), ("city", _S)])),
])

PRODUCT_JSON = pa.schema([
    ("id", _S), ("title", _S), ("productType", _S), ("vendor", _S), ("handle", _S),
    ("tags", pa.list_(_S)), ("status", _S), ("createdAt", TIMESTAMP), ("updatedAt", TIMESTAMP),
])

# Collections and their products' ids in one schema: a line is a product when
# __parentId (its collection) is set.
COLLECTION_FILE_JSON = pa.schema([
    ("__parentId", _S), ("id", _S), ("title", _S), ("handle", _S), ("updatedAt", TIMESTAMP),
])

_VISIT = pa.struct([
    ("source", _S), ("sourceType", _S), ("landingPage", _S), ("referrerUrl", _S),
    ("utmParameters", pa.struct([("source", _S), ("medium", _S), ("campaign", _S),
                                 ("content", _S), ("term", _S)])),
])

# Orders and their line items in one schema: a line is an order when __parentId is null.
ORDER_FILE_JSON = pa.schema([
    ("__parentId", _S), ("id", _S),
    # Order
    ("name", _S), ("createdAt", TIMESTAMP), ("processedAt", TIMESTAMP),
    ("updatedAt", TIMESTAMP), ("cancelledAt", TIMESTAMP), ("currencyCode", _S),
    ("subtotalPriceSet", _MONEY_BAG), ("totalDiscountsSet", _MONEY_BAG),
    ("totalPriceSet", _MONEY_BAG), ("totalRefundedSet", _MONEY_BAG),
    ("discountCodes", pa.list_(_S)), ("sourceName", _S), ("customer", _ID_REF),
    ("customerJourneySummary", pa.struct([
        ("customerOrderIndex", pa.int32()), ("daysToConversion", pa.int32()),
        ("firstVisit", _VISIT),
    ])),
    ("refunds", pa.list_(pa.struct([("id", _S), ("createdAt", TIMESTAMP),
                                    ("totalRefundedSet", _MONEY_BAG)]))),
    # LineItem
    ("title", _S), ("variantTitle", _S), ("sku", _S), ("quantity", pa.int32()),
    ("product", _ID_REF), ("variant", _ID_REF), ("originalUnitPriceSet", _MONEY_BAG),
    ("discountedTotalSet", _MONEY_BAG),
])

# pyarrow parses a buffer in chunks of this size on its thread pool; smaller chunks
# measured faster than 4 MB on 8 MB download blocks. A line longer than this is parsed
# on its own by the slow path (with a chunk size that fits it).
_PARSE_BLOCK_BYTES = 1024 * 1024


def legacy_ids(global_ids: pa.Array | pa.ChunkedArray, kind: str) -> pa.Array:
    """``gid://shopify/<kind>/<n>`` -> n as int64 (nulls stay null); ValueError otherwise."""
    prefix = f"gid://shopify/{kind}/"
    valid = global_ids.drop_null() if hasattr(global_ids, "drop_null") else global_ids
    if len(valid) and not pc.all(pc.starts_with(valid, prefix)).as_py():
        bad = pc.filter(valid, pc.invert(pc.starts_with(valid, prefix)))[0].as_py()
        raise ValueError(f"expected {kind} ids like {prefix}123, got {bad!r}")
    return pc.cast(pc.utf8_slice_codeunits(global_ids, len(prefix)), pa.int64())


def _field(table: pa.Table, path: list[str]) -> pa.ChunkedArray:
    column = table.column(path[0])
    return pc.struct_field(column, path[1:]) if len(path) > 1 else column


def _money(table: pa.Table, bag: str) -> pa.ChunkedArray:
    return pc.cast(_field(table, [bag, "shopMoney", "amount"]), MONEY)


def customers_to_lake(raw: pa.Table) -> pa.Table:
    return pa.table({
        "customer_id": legacy_ids(raw["id"], "Customer"),
        "email": _field(raw, ["defaultEmailAddress", "emailAddress"]),
        "first_name": raw["firstName"],
        "last_name": raw["lastName"],
        "created_at": raw["createdAt"],
        "updated_at": raw["updatedAt"],
        "tags": raw["tags"],
        "email_marketing_state": _field(raw, ["defaultEmailAddress", "marketingState"]),
        "country_code": _field(raw, ["defaultAddress", "countryCodeV2"]),
        "province_code": _field(raw, ["defaultAddress", "provinceCode"]),
        "city": _field(raw, ["defaultAddress", "city"]),
        "state": raw["state"],
    }, schema=CUSTOMERS)


def products_to_lake(raw: pa.Table) -> pa.Table:
    return pa.table({
        "product_id": legacy_ids(raw["id"], "Product"),
        "title": raw["title"], "product_type": raw["productType"], "vendor": raw["vendor"],
        "handle": raw["handle"], "tags": raw["tags"], "status": raw["status"],
        "created_at": raw["createdAt"], "updated_at": raw["updatedAt"],
    }, schema=PRODUCTS)


def collections_to_lake(raw: pa.Table) -> dict[str, pa.Table]:
    """Collections, and their product membership from the children lines (each names its
    collection: no join, whatever block the parent was in)."""
    is_child = pc.is_valid(raw["__parentId"])
    parents, children = raw.filter(pc.invert(is_child)), raw.filter(is_child)
    return {
        "collections": pa.table({
            "collection_id": legacy_ids(parents["id"], "Collection"),
            "title": parents["title"], "handle": parents["handle"],
            "updated_at": parents["updatedAt"],
        }, schema=COLLECTIONS),
        "collection_products": pa.table({
            "collection_id": legacy_ids(children["__parentId"], "Collection"),
            "product_id": legacy_ids(children["id"], "Product"),
        }, schema=COLLECTION_PRODUCTS),
    }


def orders_to_lake(raw: pa.Table) -> pa.Table:
    journey = ["customerJourneySummary"]
    visit = [*journey, "firstVisit"]
    utm = [*visit, "utmParameters"]
    return pa.table({
        "order_id": legacy_ids(raw["id"], "Order"),
        "customer_id": legacy_ids(_field(raw, ["customer", "id"]), "Customer"),
        "name": raw["name"],
        "created_at": raw["createdAt"],
        "processed_at": raw["processedAt"],
        "updated_at": raw["updatedAt"],
        "cancelled_at": raw["cancelledAt"],
        "currency": raw["currencyCode"],
        "subtotal_price": _money(raw, "subtotalPriceSet"),
        "total_discounts": _money(raw, "totalDiscountsSet"),
        "total_price": _money(raw, "totalPriceSet"),
        "total_refunded": pc.fill_null(_money(raw, "totalRefundedSet"),
                                       pa.scalar(0, MONEY)),
        "discount_codes": raw["discountCodes"],
        "source_name": raw["sourceName"],
        "customer_order_index": _field(raw, [*journey, "customerOrderIndex"]),
        "days_to_conversion": _field(raw, [*journey, "daysToConversion"]),
        "first_visit_source": _field(raw, [*visit, "source"]),
        "first_visit_source_type": _field(raw, [*visit, "sourceType"]),
        "first_visit_landing_page": _field(raw, [*visit, "landingPage"]),
        "first_visit_referrer_url": _field(raw, [*visit, "referrerUrl"]),
        "utm_source": _field(raw, [*utm, "source"]),
        "utm_medium": _field(raw, [*utm, "medium"]),
        "utm_campaign": _field(raw, [*utm, "campaign"]),
        "utm_content": _field(raw, [*utm, "content"]),
        "utm_term": _field(raw, [*utm, "term"]),
    }, schema=ORDERS)


def refunds_to_lake(raw_orders: pa.Table, orders: pa.Table) -> pa.Table:
    """One row per refund, flattened out of the orders' inline ``refunds`` lists."""
    refunds = raw_orders["refunds"].combine_chunks() if raw_orders.num_rows else None
    if refunds is None or len(pc.list_flatten(refunds)) == 0:
        return REFUNDS.empty_table()
    parents = pc.list_parent_indices(refunds)
    flat = pa.Table.from_arrays([pc.list_flatten(refunds)], names=["r"]).flatten()
    flat = flat.rename_columns(["id", "createdAt", "totalRefundedSet"])
    return pa.table({
        "refund_id": legacy_ids(flat["id"], "Refund"),
        "order_id": pc.take(orders["order_id"], parents),
        "customer_id": pc.take(orders["customer_id"], parents),
        "created_at": flat["createdAt"],
        "amount": pc.fill_null(_money(flat, "totalRefundedSet"), pa.scalar(0, MONEY)),
    }, schema=REFUNDS)


_LINE_ITEM_OWN = ["line_item_id", "order_id", "product_id", "variant_id", "title", "sku",
                  "quantity", "original_unit_price", "discounted_total", "variant_title"]
_ORDER_KEYS = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()),
                         ("order_created_at", TIMESTAMP)])


def line_items_own_columns(raw_children: pa.Table) -> pa.Table:
    """Line items without the denormalised order columns (added by a join)."""
    return pa.table({
        "line_item_id": legacy_ids(raw_children["id"], "LineItem"),
        "order_id": legacy_ids(raw_children["__parentId"], "Order"),
        "product_id": legacy_ids(_field(raw_children, ["product", "id"]), "Product"),
        "variant_id": legacy_ids(_field(raw_children, ["variant", "id"]), "ProductVariant"),
        "title": raw_children["title"],
        "sku": raw_children["sku"],
        "quantity": pc.fill_null(raw_children["quantity"], 0),
        "original_unit_price": _money(raw_children, "originalUnitPriceSet"),
        "discounted_total": _money(raw_children, "discountedTotalSet"),
        "variant_title": raw_children["variantTitle"],
    })


def _with_variant_title(pending: pa.Table) -> pa.Table:
    """A carry-over written before line items had a variant title (a sync resumed across
    the deploy that added it): the title is unknown, null."""
    if "variant_title" in pending.column_names:
        return pending
    return pending.append_column("variant_title", pa.nulls(pending.num_rows, pa.string()))


def _order_keys(orders: pa.Table) -> pa.Table:
    return pa.table({"order_id": orders["order_id"], "customer_id": orders["customer_id"],
                     "order_created_at": orders["created_at"]}, schema=_ORDER_KEYS)


def _join_line_items(own: pa.Table, keys: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(line items with order columns, line items whose order is not in ``keys``)."""
    joined = own.join(keys, "order_id", join_type="left outer", use_threads=False)
    matched = pc.is_valid(joined["order_created_at"])
    done = joined.filter(matched).select(LINE_ITEMS.names).cast(LINE_ITEMS)
    pending = joined.filter(pc.invert(matched)).select(_LINE_ITEM_OWN)
    return done, pending


class BulkJsonlConverter:
    """Converts one bulk result (customers, orders or products) block by block.

    ``convert_block`` returns {lake table name: Arrow table in the lake schema}; call
    ``finish`` once after the last block for line items that waited for their order.
    """

    _SCHEMAS = {"customers": CUSTOMER_JSON, "products": PRODUCT_JSON, "orders": ORDER_FILE_JSON,
                "collections": COLLECTION_FILE_JSON}

    def __init__(self, resource: str, on_bad_line: BadLineSink, *,
                 keep_order_keys: bool = True) -> None:
        if resource not in self._SCHEMAS:
            raise ValueError(f"unknown bulk resource {resource!r}; use {sorted(self._SCHEMAS)}")
        self.resource = resource
        self._parse_schema = self._SCHEMAS[resource]
        self._on_bad_line = on_bad_line
        self._previous_keys = _ORDER_KEYS.empty_table()
        self._all_keys: list[pa.Table] = []
        self._keep_order_keys = keep_order_keys
        self._pending: list[pa.Table] = []
        self.bad_lines = 0

    def carry_over(self) -> tuple[pa.Table, pa.Table | None]:
        """(the last block's order keys, line items still waiting for their order) — what
        the next invocation's ``restore`` needs to go on converting the same export."""
        pending = pa.concat_tables(self._pending) if self._pending else None
        return self._previous_keys, pending

    def restore(self, previous_keys: pa.Table | None, pending: list[pa.Table]) -> None:
        """Continue an export converted by an earlier invocation (see ``carry_over``)."""
        if previous_keys is not None:
            self._previous_keys = previous_keys.cast(_ORDER_KEYS)
        self._pending = [_with_variant_title(p).select(_LINE_ITEM_OWN)
                         for p in pending if p.num_rows]

    def convert_block(self, block: bytes) -> dict[str, pa.Table]:
        raw = self._parse(block)
        if self.resource == "customers":
            return {"customers": self._convert_guarded(raw, customers_to_lake)}
        if self.resource == "products":
            return {"products": self._convert_guarded(raw, products_to_lake)}
        if self.resource == "collections":
            return self._convert_guarded(raw, collections_to_lake)
        return self._convert_orders(raw)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def finish(self, order_keys: pa.Table | None = None) -> dict[str, pa.Table]:
        """Line items that waited for an order further back; ``order_keys`` (order_id,
        customer_id, created_at of every order of the export) is required when the
        converter was made with ``keep_order_keys=False``."""
        if self.resource != "orders" or not self._pending:
            return {}
        pending = pa.concat_tables(self._pending)
        if order_keys is not None:
            keys = pa.table({"order_id": order_keys["order_id"],
                             "customer_id": order_keys["customer_id"],
                             "order_created_at": order_keys["created_at"]}, schema=_ORDER_KEYS)
        elif self._keep_order_keys:
            keys = (pa.concat_tables(self._all_keys) if self._all_keys
                    else _ORDER_KEYS.empty_table())
        else:
            raise ValueError("finish() needs the export's order keys (keep_order_keys=False)")
        done, orphans = _join_line_items(pending, keys)
        self._pending = []
        if orphans.num_rows:
            for order_id in pc.unique(orphans["order_id"]).to_pylist():
                self._bad(f'{{"__parentId":"gid://shopify/Order/{order_id}"}}'.encode(),
                          "line items whose parent order is not in the bulk result")
        return {"line_items": done}

    # -- orders ---------------------------------------------------------------------------

    def _convert_orders(self, raw: pa.Table) -> dict[str, pa.Table]:
        is_child = pc.is_valid(raw["__parentId"])
        raw_orders = raw.filter(pc.invert(is_child))
        orders = orders_to_lake(raw_orders)
        refunds = refunds_to_lake(raw_orders, orders)
        keys = _order_keys(orders)
        if self._keep_order_keys:
            self._all_keys.append(keys)
        own = line_items_own_columns(raw.filter(is_child))
        window = pa.concat_tables([self._previous_keys, keys])
        done, pending = _join_line_items(own, window)
        if pending.num_rows:
            self._pending.append(pending)
        self._previous_keys = keys
        return {"orders": orders, "refunds": refunds, "line_items": done}

    # -- parsing ----------------------------------------------------------------------------

    def _parse(self, block: bytes) -> pa.Table:
        try:
            return self._read(block)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return self._parse_line_by_line(block)

    def _read(self, data: bytes, block_size: int = _PARSE_BLOCK_BYTES) -> pa.Table:
        return pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=block_size),
            parse_options=pj.ParseOptions(explicit_schema=self._parse_schema,
                                          unexpected_field_behavior="ignore"),
        )

    def _parse_line_by_line(self, block: bytes) -> pa.Table:
        """Slow path for a broken block: keep every good line, report every bad one."""
        good: list[bytes] = []
        for line in block.split(b"\n"):
            if not line.strip():
                continue
            try:
                self._read(line + b"\n", max(_PARSE_BLOCK_BYTES, len(line) + 2))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                self._bad(line, f"unparseable JSONL line: {str(error)[:200]}")
                continue
            good.append(line)
        if not good:
            return self._parse_schema.empty_table()
        longest = max(len(line) for line in good)
        return self._read(b"\n".join(good) + b"\n", max(_PARSE_BLOCK_BYTES, longest + 2))

    def _convert_guarded(self, raw: pa.Table, convert: Callable[[pa.Table], pa.Table]) -> Any:
        try:
            return convert(raw)
        except (pa.ArrowInvalid, ValueError):
            # A value that parses but does not convert (bad id, bad amount): find the rows.
            keep = []
            for index in range(raw.num_rows):
                row = raw.slice(index, 1)
                try:
                    convert(row)
                    keep.append(index)
                except (pa.ArrowInvalid, ValueError) as error:
                    self._bad(str(row.to_pylist()[0]).encode(), f"unconvertible: {error}")
            return convert(raw.take(pa.array(keep, pa.int64())))

    def _bad(self, line: bytes, reason: str) -> None:
        self.bad_lines += 1
        self._on_bad_line(line, reason)


_ID_ONLY_JSON = pa.schema([("id", _S)])


def ids_from_jsonl_block(block: bytes, kind: str) -> pa.Array:
    """The numeric ids in a block of ``{"id": "gid://shopify/<kind>/n"}`` lines."""
    table = pj.read_json(
        io.BytesIO(block),
        read_options=pj.ReadOptions(block_size=_PARSE_BLOCK_BYTES),
        parse_options=pj.ParseOptions(explicit_schema=_ID_ONLY_JSON,
                                      unexpected_field_behavior="ignore"),
    )
    return legacy_ids(table["id"], kind).combine_chunks()
