"""The generated shop's product catalogue: a coffee roaster with a bakery counter and merch.

The catalogue is small (about 120 products) and drawn once per store from its own
sub-seed, so the customers and orders of any chunk can refer to it without regenerating
it. Besides the Product records (Admin GraphQL shape, see ``devkit.store.model``) it keeps
flat numpy arrays — variant prices in cents, ids, popularity — which the order generator
indexes with whole vectors of product choices instead of looking records up one by one.

Popularity follows a Zipf-like law over a shuffled catalogue, and the four "hero"
products get an extra boost, so a handful of items make a large share of line items, as
in real shops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from devkit.store.model import Record, gid

PRODUCT_ID_BASE = 8_100_000_000
VARIANT_ID_BASE = 4_400_000_000
MAX_VARIANTS = 3
HERO_PRODUCTS = 4
HERO_BOOST = 4.0
ZIPF_EXPONENT = 0.9


@dataclass(frozen=True)
class _ProductType:
    """One line of business: its vendors, titles, variant names and price band."""

    name: str
    share: float
    vendors: tuple[str, ...]
    titles: tuple[str, ...]
    variants: tuple[tuple[str, float], ...]  # (variant title, price multiplier)
    price_range: tuple[float, float]  # base price in currency units
    tags: tuple[str, ...]


_COFFEE_ORIGINS = (
    "Ethiopia Yirgacheffe", "Colombia Huila", "Guatemala Antigua", "Kenya Nyeri",
    "Sumatra Mandheling", "Brazil Cerrado", "Costa Rica Tarrazu", "Rwanda Nyamasheke",
    "Peru Cajamarca", "Honduras Marcala", "House Blend", "Espresso Blend",
    "Decaf Swiss Water", "Cold Brew Blend", "Breakfast Blend", "Mexico Chiapas",
    "Burundi Kayanza", "Panama Boquete",
)  # fmt: skip
_ROASTS = ("Light Roast", "Medium Roast", "Dark Roast")

PRODUCT_TYPES: tuple[_ProductType, ...] = (
    _ProductType(
        "Coffee", 0.40, ("Northbound Roasters", "Ridgeline Coffee Co.", "Ember & Oak"),
        tuple(f"{origin} - {roast}" for origin in _COFFEE_ORIGINS for roast in _ROASTS),
        (("12 oz", 1.0), ("2 lb", 2.4), ("5 lb", 5.4)), (15.0, 24.0), ("coffee", "beans"),
    ),
    _ProductType(
        "Bakery", 0.15, ("Crumb & Co. Bakery",),
        ("Almond Croissant", "Sourdough Loaf", "Cinnamon Roll", "Banana Bread",
         "Pistachio Biscotti", "Chocolate Chip Cookie", "Blueberry Muffin", "Cardamom Bun",
         "Lemon Drizzle Cake", "Oat Scone", "Brown Butter Blondie", "Focaccia",
         "Pain au Chocolat", "Carrot Cake", "Ginger Snaps", "Rye Bread", "Apple Galette",
         "Morning Bun"),
        (("Single", 1.0), ("Box of 6", 5.2)), (3.5, 9.0), ("bakery", "fresh"),
    ),
    _ProductType(
        "Apparel", 0.15, ("Daily Grind Supply",),
        tuple(f"{item} - {color}" for item in ("Logo Tee", "Hoodie", "Crewneck",
              "Barista Apron", "Beanie", "Cap") for color in ("Black", "Sand", "Forest")),
        (("S", 1.0), ("M", 1.0), ("L", 1.0)), (18.0, 58.0), ("merch", "apparel"),
    ),
    _ProductType(
        "Equipment", 0.15, ("Brewline", "Kettle & Kiln"),
        ("Pour-Over Dripper", "Gooseneck Kettle", "Burr Grinder", "French Press",
         "Paper Filters 100ct", "Travel Mug", "Ceramic Mug", "Cold Brew Jar", "Milk Frother",
         "Digital Scale", "AeroPress", "Moka Pot", "Espresso Tamper", "Knock Box",
         "Glass Carafe", "Latte Art Pitcher", "Bean Storage Canister", "Cleaning Tablets"),
        (("Default Title", 1.0),), (9.0, 120.0), ("equipment", "brewing"),
    ),
    _ProductType(
        "Tea", 0.10, ("Leaf & Ladle",),
        ("Earl Grey", "Sencha", "Chai Masala", "Chamomile", "Jasmine Pearls", "Rooibos",
         "Oolong", "English Breakfast", "Peppermint", "Matcha Ceremonial", "Hojicha",
         "Lemongrass Ginger"),
        (("50 g", 1.0), ("100 g", 1.8)), (9.0, 22.0), ("tea",),
    ),
    _ProductType(
        "Gift Card", 0.05, ("Northbound Roasters",),
        ("Gift Card", "Subscription Gift - 3 Months", "Subscription Gift - 6 Months",
         "Tasting Flight Gift Box", "Brew Kit Gift Set", "Holiday Sampler"),
        (("Default Title", 1.0),), (25.0, 90.0), ("gift",),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    """The products of one store plus the arrays the order generator indexes.

    Arrays are indexed by product position ``p`` (0..n-1) and variant slot ``v``
    (0..MAX_VARIANTS-1); unused slots hold 0 and are never chosen because
    ``variant_count[p]`` bounds the slot draw.
    """

    records: list[Record]
    product_ids: np.ndarray  # (n,) int64 legacy ids
    variant_ids: np.ndarray  # (n, MAX_VARIANTS) int64
    price_cents: np.ndarray  # (n, MAX_VARIANTS) int64
    variant_count: np.ndarray  # (n,) int64
    popularity: np.ndarray  # (n,) float64, sums to 1
    titles: tuple[str, ...]
    handles: tuple[str, ...]
    vendors: tuple[str, ...]
    variant_titles: tuple[tuple[str, ...], ...]
    skus: tuple[tuple[str, ...], ...]


def _handle(title: str) -> str:
    """Shopify's URL handle: lower case, words joined by hyphens."""
    kept = "".join(ch.lower() if ch.isalnum() else " " for ch in title)
    return "-".join(kept.split())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_catalog(rng: np.random.Generator, count: int, history_start: datetime,
                  end: datetime) -> Catalog:
    """Draw ``count`` products: each type gets its share, titles are drawn without
    repetition within a type (a numbered edition is appended if a type runs out).

    Products are created before the shop's history starts, so no order ever predates
    the product it contains.
    """
    shares = np.array([kind.share for kind in PRODUCT_TYPES])
    per_type = np.floor(shares * count).astype(int)
    per_type[0] += count - int(per_type.sum())  # the remainder goes to coffee

    records: list[Record] = []
    product_ids = np.zeros(count, dtype=np.int64)
    variant_ids = np.zeros((count, MAX_VARIANTS), dtype=np.int64)
    price_cents = np.zeros((count, MAX_VARIANTS), dtype=np.int64)
    variant_count = np.zeros(count, dtype=np.int64)
    titles: list[str] = []
    handles: list[str] = []
    vendors: list[str] = []
    variant_titles: list[tuple[str, ...]] = []
    skus: list[tuple[str, ...]] = []

    position = 0
    for kind, how_many in zip(PRODUCT_TYPES, per_type, strict=True):
        order = rng.permutation(len(kind.titles))
        for k in range(int(how_many)):
            base = kind.titles[order[k % len(kind.titles)]]
            title = base if k < len(kind.titles) else f"{base} Edition {k // len(kind.titles)}"
            vendor = kind.vendors[int(rng.integers(len(kind.vendors)))]
            base_price = float(rng.uniform(*kind.price_range))
            # Coffee sells in several bag sizes; other types mostly one or two options.
            n_variants = len(kind.variants) if kind.name != "Coffee" else int(
                rng.integers(1, MAX_VARIANTS + 1))
            legacy_id = PRODUCT_ID_BASE + position + 1
            created = history_start - timedelta(days=float(rng.uniform(30, 400)))
            updated = created + (end - created) * float(rng.uniform(0.2, 1.0))
            handle = _handle(title)
            sku_stem = "".join(word[0] for word in handle.split("-") if word).upper()[:5]
            variant_records: list[Record] = []
            names: list[str] = []
            codes: list[str] = []
            for v in range(n_variants):
                variant_title, multiplier = kind.variants[v]
                cents = round(base_price * multiplier * 100 / 50.0) * 50 - 1  # x.49/x.99
                variant_id = VARIANT_ID_BASE + position * MAX_VARIANTS + v + 1
                sku = f"{kind.name[:3].upper()}-{sku_stem}-{position + 1:04d}-{v + 1}"
                variant_ids[position, v] = variant_id
                price_cents[position, v] = cents
                names.append(variant_title)
                codes.append(sku)
                variant_records.append({
                    "__typename": "ProductVariant",
                    "id": gid("ProductVariant", variant_id),
                    "legacyResourceId": str(variant_id),
                    "title": variant_title,
                    "sku": sku,
                    "price": f"{cents // 100}.{cents % 100:02d}",
                })
            product_ids[position] = legacy_id
            variant_count[position] = n_variants
            titles.append(title)
            handles.append(handle)
            vendors.append(vendor)
            variant_titles.append(tuple(names))
            skus.append(tuple(codes))
            records.append({
                "__typename": "Product",
                "id": gid("Product", legacy_id),
                "legacyResourceId": str(legacy_id),
                "title": title,
                "handle": handle,
                "productType": kind.name,
                "vendor": vendor,
                "status": "ACTIVE",
                "tags": list(kind.tags),
                "createdAt": _iso(created),
                "updatedAt": _iso(updated),
                "variants": variant_records,
            })
            position += 1

    ranks = rng.permutation(count)
    popularity = 1.0 / np.power(ranks + 1.0, ZIPF_EXPONENT)
    popularity[ranks < HERO_PRODUCTS] *= HERO_BOOST
    popularity /= popularity.sum()
    for record, rank in zip(records, ranks, strict=True):
        if rank < HERO_PRODUCTS:
            record["tags"] = [*record["tags"], "bestseller"]
    return Catalog(
        records=records,
        product_ids=product_ids,
        variant_ids=variant_ids,
        price_cents=price_cents,
        variant_count=variant_count,
        popularity=popularity,
        titles=tuple(titles),
        handles=tuple(handles),
        vendors=tuple(vendors),
        variant_titles=tuple(variant_titles),
        skus=tuple(skus),
    )
