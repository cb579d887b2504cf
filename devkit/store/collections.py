"""The generated store's collections: what a merchant groups products into.

Derived from the catalogue without drawing any random number (so adding collections
changed no other generated record): one manual collection per line of business ("Coffee
& beans" holds every Coffee product...) and a "Best sellers" collection holding the
products tagged ``bestseller``. A product may be in several collections, as in Shopify.
"""

from __future__ import annotations

from collections.abc import Sequence

from devkit.store.model import Record, gid

COLLECTION_ID_BASE = 5_500_000_000
# Product type -> the collection a merchant would make of it.
_TYPE_COLLECTIONS = {
    "Coffee": "Coffee & beans", "Bakery": "Bakery", "Apparel": "Apparel & merch",
    "Equipment": "Brewing gear", "Tea": "Tea", "Gift Card": "Gift cards",
}
BEST_SELLERS = "Best sellers"


def _handle(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def build_collections(products: Sequence[Record]) -> list[Record]:
    """Collection records (Admin GraphQL shape) over ``products``, in a fixed order."""
    groups: dict[str, list[Record]] = {}
    for product in products:
        kind = product.get("productType") or ""
        title = _TYPE_COLLECTIONS.get(kind, kind)
        if title:
            groups.setdefault(title, []).append(product)
    best = [p for p in products if "bestseller" in (p.get("tags") or [])]
    if best:
        groups[BEST_SELLERS] = best
    collections = []
    for number, (title, members) in enumerate(groups.items(), start=1):
        legacy = COLLECTION_ID_BASE + number
        collections.append({
            "__typename": "Collection",
            "id": gid("Collection", legacy),
            "legacyResourceId": str(legacy),
            "title": title,
            "handle": _handle(title),
            "updatedAt": max(str(p.get("updatedAt") or "") for p in members),
            "products": [{"id": p["id"]} for p in members],
        })
    return collections
