"""The store generator: deterministic, streamable, internally consistent, and shaped like
a real merchant's data."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.store.describe import describe_store
from devkit.store.generator import (
    BLOCK_SIZE,
    DEFAULT_END,
    StoreSpec,
    generate_store,
    iter_store_chunks,
)
from tests.store.invariants import assert_store_consistent, money


@pytest.fixture(scope="module")
def default_store():
    return generate_store(StoreSpec())


def test_same_spec_generates_the_same_store():
    spec = StoreSpec(customers=250, seed=7)
    first, second = generate_store(spec), generate_store(spec)
    assert first.customers == second.customers
    assert first.orders == second.orders
    assert first.products == second.products
    assert list(first.orders) == list(second.orders)


def test_another_seed_generates_another_store():
    first = generate_store(StoreSpec(customers=250, seed=7))
    second = generate_store(StoreSpec(customers=250, seed=8))
    assert first.orders != second.orders
    assert first.products != second.products


@pytest.mark.parametrize("chunk_size", [1, 97, BLOCK_SIZE, 5_000])
def test_streamed_chunks_are_exactly_the_whole_store(chunk_size):
    spec = StoreSpec(customers=BLOCK_SIZE + 150 if chunk_size > 1 else 120, seed=3)
    whole = generate_store(spec)
    chunks = list(iter_store_chunks(spec, chunk_size=chunk_size))
    assert chunks[0].products and not chunks[0].customers and not chunks[0].orders
    assert all(not chunk.products for chunk in chunks[1:])
    assert all(1 <= len(chunk.customers) <= chunk_size for chunk in chunks[1:])
    for chunk in chunks[1:]:
        in_chunk = {customer["id"] for customer in chunk.customers}
        assert all(order["customer"]["id"] in in_chunk for order in chunk.orders)
    assert {p["id"]: p for p in chunks[0].products} == whole.products
    assert {c["id"]: c for chunk in chunks for c in chunk.customers} == whole.customers
    assert {o["id"]: o for chunk in chunks for o in chunk.orders} == whole.orders


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        next(iter_store_chunks(StoreSpec(customers=5), chunk_size=0))


def test_invalid_spec_says_what_to_fix():
    with pytest.raises(ValueError, match="customers must be >= 0") as raised:
        StoreSpec(customers=-1, end=datetime(2026, 1, 1))
    assert "timezone-aware" in str(raised.value)


def test_default_store_is_consistent(default_store):
    assert_store_consistent(default_store, DEFAULT_END)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    customers=st.integers(0, 60),
    seed=st.integers(0, 2**32),
    history_days=st.integers(1, 500),
    products=st.integers(4, 30),
    end_offset_days=st.integers(-3000, 3000),
)
def test_any_small_store_is_consistent(customers, seed, history_days, products,
                                       end_offset_days):
    end = DEFAULT_END + timedelta(days=end_offset_days, seconds=seed % 86_400)
    spec = StoreSpec(customers=customers, seed=seed, history_days=history_days,
                     products=products, end=end)
    store = generate_store(spec)
    assert len(store.customers) == customers
    assert len(store.products) == products
    assert_store_consistent(store, end)
    start = (end - timedelta(days=history_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(customer["createdAt"] >= start for customer in store.customers.values())


def test_shape_looks_like_a_real_shop(default_store):
    customers = list(default_store.customers.values())
    orders = list(default_store.orders.values())
    counts = Counter(int(c["numberOfOrders"]) for c in customers)
    buyers = len(customers) - counts[0]
    assert 0.07 <= counts[0] / len(customers) <= 0.16, "about 10% never order"
    assert 0.45 <= counts[1] / buyers <= 0.75, "most buyers buy once"
    assert sum(v for k, v in counts.items() if k >= 5) / buyers >= 0.05, "a loyal tail"
    assert max(counts) >= 10
    share = lambda predicate: sum(map(predicate, orders)) / len(orders)  # noqa: E731
    assert 0.11 <= share(lambda o: bool(o["discountCodes"])) <= 0.19
    assert 0.03 <= share(lambda o: bool(o["refunds"])) <= 0.07
    assert 0.003 <= share(lambda o: bool(o["cancelledAt"])) <= 0.02
    refunds = [o for o in orders if o["refunds"]]
    full = sum(money(o["totalRefundedSet"]) == money(o["totalPriceSet"]) for o in refunds)
    assert 0 < full < len(refunds), "refunds are sometimes full, sometimes partial"
    lines = [line for o in orders for line in o["lineItems"]]
    assert sum(line["quantity"] == 1 for line in lines) / len(lines) > 0.8
    assert Counter(len(o["lineItems"]) for o in orders).most_common(1)[0][0] == 1
    totals = sorted(float(money(o["totalPriceSet"])) for o in orders)
    assert 30 <= statistics.median(totals) <= 150
    assert totals[int(0.95 * len(totals))] > 2 * statistics.median(totals), "AOV has a tail"


def test_a_few_hero_products_sell_most(default_store):
    sold = Counter(line["product"]["id"] for o in default_store.orders.values()
                   for line in o["lineItems"])
    top_five = sum(count for _, count in sold.most_common(5))
    assert top_five / sum(sold.values()) >= 0.15
    kinds = Counter(p["productType"] for p in default_store.products.values())
    assert len(kinds) >= 5 and kinds.most_common(1)[0][0] == "Coffee"
    for product in default_store.products.values():
        assert 1 <= len(product["variants"]) <= 3
        assert all(v["sku"] and re.match(r"^\d+\.\d{2}$", v["price"])
                   for v in product["variants"])


def test_signups_grow_over_time(default_store):
    created = [c["createdAt"] for c in default_store.customers.values()]
    first_year = sum(stamp < "2025-11-24" for stamp in created)
    assert len(created) - first_year > 1.2 * first_year
    assert created == sorted(created), "customer ids increase with createdAt"


def test_attribution_has_campaigns_and_repeat_orders_come_back_by_email(default_store):
    orders = list(default_store.orders.values())
    first_orders = [o for o in orders if o["customerJourneySummary"]["customerOrderIndex"] == 1]
    repeat_orders = [o for o in orders if o["customerJourneySummary"]["customerOrderIndex"] > 1]
    sources = lambda batch: Counter(  # noqa: E731
        o["customerJourneySummary"]["firstVisit"]["source"] for o in batch)
    first_sources, repeat_sources = sources(first_orders), sources(repeat_orders)
    assert {"google", "facebook", "instagram", "email", "direct", "tiktok"} <= set(first_sources)
    email_share = lambda counter: counter["email"] / sum(counter.values())  # noqa: E731
    assert email_share(repeat_sources) > 2 * email_share(first_sources)
    campaigns = {o["customerJourneySummary"]["firstVisit"]["utmParameters"]["campaign"]
                 for o in orders if o["customerJourneySummary"]["firstVisit"]["utmParameters"]}
    assert any(re.fullmatch(r"summer_sale_20\d\d", c) for c in campaigns)
    assert any(re.fullmatch(r"newsletter_w\d+", c) for c in campaigns)
    for order in orders:
        visit = order["customerJourneySummary"]["firstVisit"]
        if visit["source"] == "direct":
            assert visit["utmParameters"] is None and visit["sourceType"] is None
    conversion = Counter(o["customerJourneySummary"]["daysToConversion"] == 0 for o in orders)
    assert conversion[True] > 0 and conversion[False] > 0


def test_customer_profile_fields(default_store):
    customers = list(default_store.customers.values())
    states = Counter(c["defaultEmailAddress"]["marketingState"] for c in customers)
    assert set(states) == {"SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"}
    tags = Counter(tag for c in customers for tag in c["tags"])
    assert {"vip", "newsletter", "wholesale"} <= set(tags)
    for customer in customers:
        if "vip" in customer["tags"]:
            assert float(customer["amountSpent"]["amount"]) >= 400
    emails = [c["defaultEmailAddress"]["emailAddress"] for c in customers]
    assert len(set(emails)) == len(emails)
    countries = Counter(c["defaultAddress"]["countryCodeV2"] for c in customers)
    assert countries.most_common(1)[0][0] == "US" and len(countries) >= 4


def test_describe_store_summarises_the_store(default_store):
    summary = describe_store(default_store)
    orders = list(default_store.orders.values())
    assert summary["customers"] == 3000
    assert summary["orders"] == len(orders)
    assert summary["line_items"] == sum(len(o["lineItems"]) for o in orders)
    assert summary["refunds"] == sum(len(o["refunds"]) for o in orders)
    assert summary["customers_with_orders"] + summary["customers_without_orders"] == 3000
    assert 0.25 <= summary["repeat_buyer_share"] <= 0.55
    spent = sum(float(c["amountSpent"]["amount"]) for c in default_store.customers.values())
    assert float(summary["net_revenue"]) == pytest.approx(spent, abs=0.01)
    assert summary["first_order_at"] < summary["last_order_at"] < "2026-11-24"
    assert summary["first_order_at"] >= "2024-11-24"
    assert datetime.fromisoformat(summary["last_order_at"]).tzinfo == UTC


def test_shape_knobs_make_the_heavier_benchmark_shop():
    """The benchmarks' shape (about 3 orders a customer, 2-3 lines an order) comes from two
    knobs; the default shop stays lighter and its stores unchanged."""

    def shape(spec: StoreSpec) -> tuple[float, float]:
        store = generate_store(spec)
        orders = list(store.orders.values())
        lines = sum(len(o["lineItems"]) for o in orders)
        return len(orders) / len(store.customers), lines / len(orders)

    light = shape(StoreSpec(customers=2000, seed=3))
    heavy = shape(StoreSpec(customers=2000, seed=3, repeat_scale=1.75,
                            extra_line_probability=0.45))
    assert light[0] < 2.2 and light[1] < 1.6
    assert 2.6 < heavy[0] < 3.5 and 2.1 < heavy[1] < 2.8
    assert_store_consistent(generate_store(StoreSpec(customers=300, seed=3, repeat_scale=1.75,
                                                     extra_line_probability=0.45)), DEFAULT_END)


def test_shape_knobs_are_validated():
    with pytest.raises(ValueError, match="repeat_scale must be > 0"):
        StoreSpec(repeat_scale=0)
    with pytest.raises(ValueError, match="extra_line_probability must be between 0 and 1"):
        StoreSpec(extra_line_probability=1.5)
