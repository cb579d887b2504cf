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
    sku}], "product_types", "tags", <order
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


def _distinct_casefold(column: pa.ChunkedArray | pa.Array) -> list[str]:
    seen: dict[str, str] = {}
    for value in _distinct(column):
        seen.setdefault(value.casefold(), value)
    return list(seen.values())


def _variants(reader: Any, products: pa.Table) -> list[dict[str, Any]]:
    """The variants the shop's orders contain, named by their product and SKU.

    The lake keeps no variant table: variants come from the line items (a variant never
    ordered cannot select anybody anyway). Their title is the product's with the SKU, as
    the lake does not store Shopify's variant title (e.g. "Large / Blue")."""
    items = reader.read_table("line_items", columns=["variant_id", "product_id", "sku"])
    items = items.filter(pc.is_valid(items["variant_id"]))
    if not items.num_rows:
        return []
    grouped = items.group_by("variant_id").aggregate([("product_id", "max"), ("sku", "max")])
    titles = dict(zip(products["product_id"].to_pylist(), products["title"].to_pylist(),
                      strict=True))
    variants = []
    for vid, pid, sku in zip(grouped["variant_id"].to_pylist(),
                             grouped["product_id_max"].to_pylist(),
                             grouped["sku_max"].to_pylist(), strict=True):
        product = titles.get(pid) or f"Product {pid}"
        title = f"{product} · SKU {sku}" if sku else f"{product} · variant {vid}"
        variants.append({"id": vid, "product_id": pid, "title": title, "sku": sku})
    variants.sort(key=lambda v: v["title"].casefold())
    return variants[:MAX_VALUES]
