"""Hypothesis strategies: small random stores and random conditions over them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.segments.builder import StoreBuilder

AS_OF = date(2024, 6, 30)
TAGS = ["vip", "VIP", "wholesale", "newsletter", "b2b"]
CAMPAIGNS = [None, "spring", "summer", "Spring"]
PRODUCTS = [1, 2, 3, 4]
TYPES = {1: "Shirt", 2: "Shirt", 3: "Mug", 4: "Poster"}
CITIES = [None, "Paris", "paris", "Berlin", "New York"]
STATES = ["SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"]


# Days that line up with AS_OF (day 181 of 2024) in steps of 15, so random windows often
# fall exactly on an order's day: the boundaries are where engines go wrong.
ALIGNED_DAYS = [181 - 15 * k for k in range(13)]
DAY = st.one_of(st.sampled_from(ALIGNED_DAYS), st.integers(0, 200))
SPAN = st.one_of(st.sampled_from([15 * k for k in range(1, 13)]), st.integers(1, 200))


def _day(offset: int) -> str:
    return (date(2024, 1, 1) + timedelta(days=offset)).isoformat()


@st.composite
def stores(draw: st.DrawFn, max_customers: int = 12) -> StoreBuilder:
    store = StoreBuilder()
    for product_id, product_type in TYPES.items():
        store.product(product_id, product_type)
    # Collections overlap (product 3 is in both); collection 3 is not in the store.
    store.collection(1, "Starters", [1, 3]).collection(2, "Extras", [3, 4])
    n = draw(st.integers(1, max_customers))
    order_id = 1000
    for customer_id in range(1, n + 1):
        store.customer(
            customer_id,
            created=_day(draw(DAY)),
            tags=draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True)),
            marketing=draw(st.sampled_from(STATES)),
            city=draw(st.sampled_from(CITIES)),
        )
        for _ in range(draw(st.integers(0, 4))):
            order_id += 1
            day = draw(DAY)
            cancelled = draw(st.sampled_from([None, None, None, day + 1, day + 100]))
            refunds = draw(st.sampled_from([[], [], [(_day(day + 2), "5")],
                                            [(_day(day + 300), "3")]]))
            store.order(
                order_id,
                customer_id,
                _day(day),
                total=draw(st.sampled_from(["10", "25.5", "40", "99.99"])),
                products=draw(st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=3,
                                       unique=True)),
                cancelled=_day(cancelled) if cancelled is not None else None,
                refunds=refunds,
                utm_campaign=draw(st.sampled_from(CAMPAIGNS)),
                hour=draw(st.integers(0, 23)),
            )
    return store


def _date_value() -> st.SearchStrategy[Any]:
    return st.one_of(
        DAY.map(_day),
        SPAN.map(lambda n: {"days_ago": n}),
    )


def date_leaves() -> st.SearchStrategy[dict[str, Any]]:
    """Date comparisons and order windows only: where off-by-one-day errors live."""
    ops = ["=", "!=", "<", "<=", ">", ">=", "between", "in last days", "more than days ago"]

    def comparison(feature: str, op: str, a: Any, b: Any, n: int) -> dict[str, Any]:
        if op == "between":
            return {"feature": feature, "op": op, "value": [a, b]}
        if op in ("in last days", "more than days ago"):
            return {"feature": feature, "op": op, "value": n}
        return {"feature": feature, "op": op, "value": a}

    window = st.one_of(
        SPAN.map(lambda n: {"within_days": n}),
        SPAN.map(lambda n: {"before_days_ago": n}),
        st.tuples(_date_value(), _date_value()).map(lambda b: {"between": list(b)}),
    )
    return st.one_of(
        st.builds(comparison, st.sampled_from(["first_order_date", "last_order_date",
                                                "customer_created_date"]),
                  st.sampled_from(ops), _date_value(), _date_value(), SPAN),
        st.builds(lambda w, n: {"bought": {**w, "at_least": n}}, window, st.integers(1, 2)),
    )


def leaves() -> st.SearchStrategy[dict[str, Any]]:
    ops = ["=", "!=", "<", "<=", ">", ">="]
    item = st.one_of(
        st.sampled_from(PRODUCTS).map(lambda p: {"product_id": p}),
        st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=2).map(
            lambda ps: {"product_id": ps}),
        st.sampled_from(PRODUCTS).map(lambda p: {"variant_id": p * 10}),
        st.sampled_from(["shirt", "MUG", "Poster"]).map(lambda t: {"product_type": t}),
        st.sampled_from([1, 2, [1, 2], 3]).map(lambda c: {"collection_id": c}),
    )
    window = st.one_of(
        st.just({}),
        SPAN.map(lambda n: {"within_days": n}),
        SPAN.map(lambda n: {"before_days_ago": n}),
        st.tuples(_date_value(), _date_value()).map(lambda b: {"between": list(b)}),
    )
    bought = st.tuples(st.one_of(st.just({}), item), window, st.integers(0, 3),
                       st.one_of(st.none(), st.integers(3, 4))).map(
        lambda t: {"bought": {**t[0], **t[1], "at_least": t[2],
                              **({"at_most": t[3]} if t[3] is not None else {})}}
    )
    return st.one_of(
        st.builds(lambda op, v: {"feature": "order_count", "op": op, "value": v},
                  st.sampled_from(ops), st.integers(0, 4)),
        st.builds(lambda v: {"feature": "order_count", "op": "in", "value": v},
                  st.lists(st.integers(0, 4), min_size=1, max_size=3)),
        st.builds(lambda op, v: {"feature": "total_spent", "op": op, "value": v},
                  st.sampled_from(ops), st.sampled_from([0, 10, 20.5, 35, 49.99, 100])),
        st.builds(lambda lo, hi: {"feature": "total_spent", "op": "between", "value": [lo, hi]},
                  st.sampled_from([0, 10, 30]), st.sampled_from([30, 80, 200])),
        st.builds(lambda op, v: {"feature": "last_order_date", "op": op, "value": v},
                  st.sampled_from(ops), _date_value()),
        st.builds(lambda op, n: {"feature": "first_order_date", "op": op, "value": n},
                  st.sampled_from(["in last days", "more than days ago"]), SPAN),
        st.builds(lambda op: {"feature": "last_order_date", "op": op},
                  st.sampled_from(["is null", "is not null"])),
        st.builds(lambda t: {"has_tag": t}, st.sampled_from(TAGS)),
        st.builds(lambda op, t: {"feature": "tags", "op": op, "value": t},
                  st.sampled_from(["contains", "not contains"]), st.sampled_from(TAGS)),
        st.builds(lambda op, ts: {"feature": "tags", "op": op, "value": ts},
                  st.sampled_from(["contains any", "contains all"]),
                  st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)),
        st.builds(lambda op, p: {"feature": "products_ever_bought", "op": op, "value": p},
                  st.sampled_from(["contains", "not contains"]), st.sampled_from(PRODUCTS)),
        st.builds(lambda op: {"feature": "first_order_product_ids", "op": op},
                  st.sampled_from(["is empty", "is not empty"])),
        st.builds(lambda op, c: {"feature": "city", "op": op, "value": c},
                  st.sampled_from(["=", "!=", "contains", "starts with"]),
                  st.sampled_from(["Paris", "berlin", "new", "York"])),
        st.builds(lambda v: {"feature": "email_marketing_state", "op": "in", "value": v},
                  st.lists(st.sampled_from(STATES), min_size=1, max_size=2)),
        st.builds(lambda g: {"feature": "rfm_group", "op": "=", "value": g},
                  st.sampled_from(["CHAMPIONS", "PROSPECTS", "AT_RISK", "NEW", "PROMISING"])),
        st.builds(lambda c: {"first_order_from": {"utm_campaign": c}},
                  st.sampled_from(["spring", "SUMMER"])),
        st.builds(lambda n, i: {"nth_order": {"n": n, "contains": i}}, st.integers(1, 3), item),
        bought,
    )


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaves(),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda cs: {"and": cs}),
            st.lists(children, min_size=1, max_size=3).map(lambda cs: {"or": cs}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=6,
    )
