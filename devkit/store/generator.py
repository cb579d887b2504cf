"""Deterministic generator of a realistic Shopify store: products, customers and orders.

Why: every part of seglift (sync, segments, metrics, tagging, the demo) needs a shop whose
data looks like a merchant's — many one-time buyers, a loyal tail, seasonal campaigns,
refunds — and that is the same on every run, so tests and benchmarks can compare figures.

Modules: ``spec`` (StoreSpec), ``catalog`` (products), ``purchase_timing`` (sign-ups and
repeat purchases), ``order_draws`` (baskets, prices, refunds, attribution as numpy
columns), ``records`` (the Admin-GraphQL dicts), ``reference_data`` (names, places,
channels, codes); this module orchestrates and streams. Each named constant below lives in
one of them.

The behavioural model:

* **Catalogue** — ``devkit.store.catalog``: about 120 products of a coffee roaster with a
  bakery counter, merch, equipment, tea and gifts; 1-3 variants each with a SKU and a price;
  Zipf-like popularity with four boosted "hero" products.
* **Sign-ups** — customers are created over ``history_days`` with exponential growth
  (``SIGNUP_GROWTH_PER_YEAR``): customer ``i`` is placed at the quantile ``(i + u) / N`` of
  that distribution, so customer ids increase with ``createdAt`` as in Shopify.
* **Who buys** — ``ACCOUNT_ONLY_SHARE`` (10 %) of customers never order (newsletter
  sign-ups, abandoned accounts). The rest place a first order either minutes after the
  account was created (checkout sign-up, ``CHECKOUT_SIGNUP_SHARE``) or some days later.
* **Repeat purchases** — in the spirit of BG/NBD (Fader, Hardie & Lee 2005): each buyer has
  a purchase rate drawn from a Gamma distribution (heterogeneous customers) and a churn
  probability drawn from a Beta distribution; after every purchase the customer becomes
  inactive with that probability, otherwise the next purchase follows after an exponential
  waiting time (plus a short floor). Orders after ``end`` are never placed. This yields
  mostly one-time buyers and a long tail of loyal customers with many orders.
* **Baskets** — a lognormal per-customer basket factor scales how many lines (1-4) and
  units (mostly 1) a customer buys, so average order value is lognormal across customers;
  repeat orders often start with the customer's favourite product. Wholesale customers
  (``WHOLESALE_SHARE``) buy by the case.
* **Money** — computed in integer cents, written as strings with 2 decimals, with
  Shopify's semantics: ``subtotalPriceSet`` is the line items after discounts,
  ``totalDiscountsSet`` the discounts, ``totalPriceSet = subtotal + shipping + tax``
  (shipping ``SHIPPING_CENTS`` below ``FREE_SHIPPING_CENTS``; tax by the customer's
  province), ``currentTotalPriceSet = total - refunded`` (0 for a cancelled order).
* **Discounts, refunds, cancellations** — ``DISCOUNT_SHARE`` of orders use a code (a
  welcome code on first orders, else the season's code); ``REFUND_SHARE`` are refunded
  once, fully or partly, after the order; ``CANCEL_SHARE`` are cancelled (payment voided).
  ``Customer.amountSpent`` is the sum of ``total - refunded`` over non-cancelled orders;
  ``numberOfOrders`` counts every order.
* **Attribution** — ``Order.customerJourneySummary``: the first visit's channel (organic
  and paid Google, Facebook, Instagram, newsletter email, direct, TikTok, an affiliate)
  with UTM parameters for tagged campaign traffic (``summer_sale_2025``,
  ``newsletter_w12``…); first orders come more from search and social, repeat orders more
  from email and direct. ``customerOrderIndex`` is 1 for a customer's first order;
  ``daysToConversion`` is the days from that first visit to the order.
* **Ids and names** — order names ``#1001``… and order ids increase with ``createdAt``
  across the whole store, as Shopify numbers them.

Determinism and streaming: the catalogue has its own sub-seed; customers are generated in
blocks of ``BLOCK_SIZE`` with a sub-seed per block (``SeedSequence([seed, 1, block])``),
so any chunk is generated without the customers before it and ``iter_store_chunks`` yields
exactly the records of ``generate_store`` whatever ``chunk_size`` is. Chronological order
numbers need to know every order's time: a first pass replays only the cheap timing part
of every block and keeps one int64 per order (8 bytes; ~20 MB for a million customers);
everything else is proportional to the chunk (records are Python dicts, roughly 10 KB
per order, so a 10,000-customer chunk holds a few hundred MB).

"Deterministic" means for a given numpy version: numpy keeps its bit generator (PCG64)
stable but does not promise that every distribution method draws identically forever.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from devkit.store.catalog import Catalog, build_catalog
from devkit.store.collections import build_collections
from devkit.store.model import Record, ShopStore
from devkit.store.order_draws import draw_block
from devkit.store.purchase_timing import (
    BLOCK_SIZE,
    OrderNumbering,
    block_count,
    block_timing,
)
from devkit.store.records import block_records
from devkit.store.spec import DEFAULT_END, StoreSpec

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_END",
    "StoreChunk",
    "StoreSpec",
    "generate_store",
    "iter_store_chunks",
]


@dataclass(frozen=True)
class StoreChunk:
    """One piece of a streamed store. The first chunk carries the products only; every
    later one a run of consecutive customers together with all of their orders."""

    products: list[Record] = field(default_factory=list)
    customers: list[Record] = field(default_factory=list)
    orders: list[Record] = field(default_factory=list)


def generate_store(spec: StoreSpec) -> ShopStore:
    """The whole store in memory, built from the same chunks ``iter_store_chunks`` yields.
    Orders are inserted in order-number (chronological) order."""
    store = ShopStore(domain=spec.domain, currency=spec.currency, timezone=spec.timezone,
                      plan=spec.plan)
    orders: list[Record] = []
    for chunk in iter_store_chunks(spec, chunk_size=max(spec.customers, 1)):
        for product in chunk.products:
            store.add_product(product)
        for customer in chunk.customers:
            store.add_customer(customer)
        orders.extend(chunk.orders)
    orders.sort(key=lambda order: int(order["legacyResourceId"]))
    for order in orders:
        store.add_order(order)
    for collection in build_collections(list(store.products.values())):
        store.add_collection(collection)
    return store


def iter_store_chunks(spec: StoreSpec, chunk_size: int = 10_000) -> Iterator[StoreChunk]:
    """Stream the store: products first, then ``chunk_size`` customers at a time with
    their orders, so a million-customer store can be written without holding it whole."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    catalog = _catalog(spec)
    yield StoreChunk(products=catalog.records)
    numbering = OrderNumbering.build(spec)
    customers: list[Record] = []
    orders: list[list[Record]] = []
    for block in range(block_count(spec)):
        block_customers, block_orders = _block_records(spec, catalog, numbering, block)
        customers.extend(block_customers)
        orders.extend(block_orders)
        while len(customers) >= chunk_size:
            yield _chunk(customers[:chunk_size], orders[:chunk_size])
            del customers[:chunk_size], orders[:chunk_size]
    if customers:
        yield _chunk(customers, orders)


def _chunk(customers: list[Record], orders: list[list[Record]]) -> StoreChunk:
    return StoreChunk(customers=list(customers),
                      orders=[order for per_customer in orders for order in per_customer])


def _catalog(spec: StoreSpec) -> Catalog:
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0]))
    start = datetime.fromtimestamp(spec.start_epoch, tz=UTC)
    end = datetime.fromtimestamp(spec.end_epoch, tz=UTC)
    return build_catalog(rng, spec.products, start, end)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while building records.

    Hundreds of thousands of small acyclic dicts trigger collection after collection and
    more than double the generation time; nothing built here can form a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _block_records(spec: StoreSpec, catalog: Catalog, numbering: OrderNumbering,
                   block: int) -> tuple[list[Record], list[list[Record]]]:
    """Customers of one block and, per customer, their orders (oldest first)."""
    timing = block_timing(spec, block)
    draws = draw_block(spec, catalog, timing)
    ranks = numbering.ranks(block, timing.order_time)
    with _no_cycle_collection():
        return block_records(spec, catalog, timing, draws, ranks)
