"""The shop's catalogue and the values its customers and orders really carry, for pickers.

The dashboard lets a merchant pick a product by its title and a product type, customer
tag, order source or UTM value from the values the shop has, instead of typing ids or
guessing spellings. The API has no pyarrow, so it asks this function (action
``catalog``), which reads the lake's ``products``, ``customers`` and ``orders`` tables.
Distinct values are found with pyarrow compute over whole columns (no per-row loop).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Enough for any picker's list; a shop with more distinct values is searched by the API.
MAX_VALUES = 5000

ORDER_VALUE_COLUMNS = ("first_visit_source", "utm_source", "utm_medium", "utm_campaign")


def _distinct(column: pa.ChunkedArray | pa.Array) -> list[str]:
    """The column's distinct non-empty strings, sorted case-insensitively."""
    values = pc.unique(pc.drop_null(column))
    values = values.filter(pc.not_equal(pc.utf8_trim_whitespace(values), ""))
    return sorted(values.to_pylist(), key=str.casefold)[:MAX_VALUES]


def shop_catalog(reader: Any) -> dict[str, Any]:
    """``{"products": [{id, title, product_type}], "variants": [{id, product_id, title,
    sku}], "collections": [{id, title, products}], "product_types", "tags", <order
    value columns>, "country_code", "province_code", "synced"}``: products sorted by title,
    every list without duplicates. ``synced`` is False until the shop's first sync: the
    lists are then empty because nothing is known yet, not because the shop has nothing."""
    products = reader.read_table("products", columns=["product_id", "title", "product_type"])
    order = pc.sort_indices(pc.utf8_lower(pc.fill_null(products["title"], "")))
    products = products.take(order).slice(0, MAX_VALUES)
    customers = reader.read_table("customers",
                                  columns=["tags", "country_code", "province_code"])
    orders = reader.read_table("orders", columns=list(ORDER_VALUE_COLUMNS))
    tags = pc.list_flatten(customers["tags"]) if customers.num_rows else pa.array([], pa.string())
    return {
        "synced": reader.manifest("customers") is not None,
        "variants": _variants(reader, products),
        "collections": _collections(reader),
        "products": [
            {"id": pid, "title": title or f"Untitled product {pid}", "product_type": ptype}
            for pid, title, ptype in zip(products["product_id"].to_pylist(),
                                         products["title"].to_pylist(),
                                         products["product_type"].to_pylist(), strict=True)
        ],
        "product_types": _distinct(products["product_type"]),
        # Shopify treats tags case-insensitively: one spelling of each.
        "tags": _distinct_casefold(tags),
        **{name: _distinct(orders[name]) for name in ORDER_VALUE_COLUMNS},
        # Locations of the customers' default addresses.
        "country_code": _distinct(customers["country_code"]),
        "province_code": _distinct(customers["province_code"]),
    }


def _collections(reader: Any) -> list[dict[str, Any]]:
    """The shop's collections by title, each with how many products it holds."""
    collections = reader.read_table("collections", columns=["collection_id", "title"])
    if not collections.num_rows:
        return []
    members = reader.read_table("collection_products", columns=["collection_id"])
    counts: dict[int, int] = {}
    if members.num_rows:
        grouped = members.group_by("collection_id").aggregate([("collection_id", "count")])
        counts = dict(zip(grouped["collection_id"].to_pylist(),
                          grouped["collection_id_count"].to_pylist(), strict=True))
    found = [{"id": cid, "title": title or f"Untitled collection {cid}",
              "products": counts.get(cid, 0)}
             for cid, title in zip(collections["collection_id"].to_pylist(),
                                   collections["title"].to_pylist(), strict=True)]
    found.sort(key=lambda c: str(c["title"]).casefold())
    return found[:MAX_VALUES]


def _distinct_casefold(column: pa.ChunkedArray | pa.Array) -> list[str]:
    seen: dict[str, str] = {}
    for value in _distinct(column):
        seen.setdefault(value.casefold(), value)
    return list(seen.values())


def _variants(reader: Any, products: pa.Table) -> list[dict[str, Any]]:
    """The variants the shop's orders contain, named like the Shopify admin names them:
    "AeroPress — Large / Blue".

    The lake keeps no variant table: variants come from the line items (a variant never
    ordered cannot select anybody anyway), with the variant title of their latest order
    (``LineItem.variantTitle``). A variant without a title (a product's only variant:
    Shopify returns none for "Default Title"; line items synced before the lake kept it)
    is named by its product when it is the product's only ordered variant, else by its
    SKU."""
    items = reader.read_table(
        "line_items", columns=["variant_id", "product_id", "sku", "variant_title",
                               "order_created_at"])
    items = items.filter(pc.is_valid(items["variant_id"]))
    if not items.num_rows:
        return []
    # The newest order's title wins: a variant renamed in Shopify reads as it is now.
    items = items.take(pc.sort_indices(items, [("order_created_at", "descending")]))
    grouped = items.group_by("variant_id", use_threads=False).aggregate(
        [("product_id", "first"), ("sku", "first"), ("variant_title", "first")])
    titles = dict(zip(products["product_id"].to_pylist(), products["title"].to_pylist(),
                      strict=True))
    product_ids = grouped["product_id_first"].to_pylist()
    per_product: dict[Any, int] = {}
    for pid in product_ids:
        per_product[pid] = per_product.get(pid, 0) + 1
    variants = []
    for vid, pid, sku, vtitle in zip(grouped["variant_id"].to_pylist(), product_ids,
                                     grouped["sku_first"].to_pylist(),
                                     grouped["variant_title_first"].to_pylist(), strict=True):
        variants.append({"id": vid, "product_id": pid, "sku": sku,
                         "title": variant_name(titles.get(pid) or f"Product {pid}", vtitle,
                                               sku, vid, only=per_product[pid] == 1)})
    variants.sort(key=lambda v: v["title"].casefold())
    return variants[:MAX_VALUES]


def variant_name(product: str, variant_title: str | None, sku: str | None, variant_id: int,
                 *, only: bool) -> str:
    """A variant's name for merchants: its product and its own title."""
    if variant_title and variant_title.strip() and variant_title != "Default Title":
        return f"{product} — {variant_title.strip()}"
    if only:
        return product
    return f"{product} — SKU {sku}" if sku else f"{product} — variant {variant_id}"
