"""Paging with cursors, sort keys and search filters returns exactly what Shopify would."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.shopify_emulator.connections import (
    PAGINATION_LIMIT,
    Ordering,
    build_connection,
)
from devkit.shopify_emulator.search import compile_search
from devkit.store.model import numeric_id

from .conftest import customer, post

PAGE_QUERY = """
query Page($first: Int, $after: String, $query: String, $sortKey: CustomerSortKeys,
           $reverse: Boolean) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { id updatedAt tags } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def walk(emulator, **variables):
    """All ids a client collects by following endCursor."""
    ids, after, pages = [], None, 0
    while True:
        _, _, body = post(emulator, PAGE_QUERY, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["customers"]
        ids += [edge["node"]["id"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            return ids, pages
        after = connection["pageInfo"]["endCursor"]


def test_following_cursors_visits_every_customer_once(emulator, store):
    ids, pages = walk(emulator, first=7)
    assert ids == list(store.customers)
    assert pages == 5


def test_an_incremental_filter_on_updated_at(emulator, store):
    query = "updated_at:>='2026-01-20T00:00:00Z'"
    ids, _ = walk(emulator, first=4, query=query, sortKey="UPDATED_AT")
    expected = sorted(
        (c for c in store.customers.values() if c["updatedAt"] >= "2026-01-20T00:00:00Z"),
        key=lambda c: (c["updatedAt"], numeric_id(c["id"])),
    )
    assert ids == [c["id"] for c in expected]
    assert ids  # the filter must select something for the test to mean anything


def test_reverse_order_and_and_joined_terms(emulator, store):
    ids, _ = walk(emulator, first=2, query="tag:vip AND id:>10", reverse=True)
    assert ids == [f"gid://shopify/Customer/{n}" for n in (30, 25, 20, 15)]


def test_page_info_on_the_first_and_a_later_page(emulator):
    _, _, first = post(emulator, PAGE_QUERY, {"first": 10})
    info = first["data"]["customers"]["pageInfo"]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)
    _, _, second = post(emulator, PAGE_QUERY, {"first": 10, "after": info["endCursor"]})
    assert second["data"]["customers"]["pageInfo"]["hasPreviousPage"] is True
    assert second["data"]["customers"]["edges"][0]["node"]["id"] == "gid://shopify/Customer/11"


def test_last_and_before_page_backwards(emulator):
    document = """query($before: String) { customers(last: 3, before: $before) {
        nodes { id } pageInfo { hasPreviousPage startCursor } } }"""
    _, _, body = post(emulator, document, {"before": None})
    page = body["data"]["customers"]
    assert [n["id"] for n in page["nodes"]] == [f"gid://shopify/Customer/{n}" for n in (28, 29, 30)]
    _, _, body = post(emulator, document, {"before": page["pageInfo"]["startCursor"]})
    assert [n["id"] for n in body["data"]["customers"]["nodes"]] == [
        f"gid://shopify/Customer/{n}" for n in (25, 26, 27)
    ]


def test_unknown_search_fields_are_ignored_with_a_warning(emulator):
    _, _, body = post(emulator, PAGE_QUERY, {"first": 250, "query": "shoe_size:42"})
    assert len(body["data"]["customers"]["edges"]) == 30
    [search] = body["extensions"]["search"]
    assert search["warnings"] == [
        {"field": "shoe_size", "message": "Invalid search field for this query."}
    ]


def test_counts_follow_the_filter_and_saturate_at_the_limit(emulator):
    _, _, body = post(
        emulator,
        """{ vip: customersCount(query: "tag:vip") { count precision }
             capped: customersCount(limit: 10) { count precision }
             orders: ordersCount { count precision } }""",
    )
    assert body["data"]["vip"] == {"count": 6, "precision": "EXACT"}
    assert body["data"]["capped"] == {"count": 10, "precision": "AT_LEAST"}
    assert body["data"]["orders"] == {"count": 30, "precision": "EXACT"}


def test_a_customers_orders_are_a_connection(emulator):
    _, _, body = post(
        emulator,
        '{ customer(id: "gid://shopify/Customer/5") { orders(first: 1) { nodes { id } '
        "pageInfo { hasNextPage } } } }",
    )
    orders = body["data"]["customer"]["orders"]
    assert orders == {"nodes": [{"id": "gid://shopify/Order/5"}], "pageInfo": {"hasNextPage": True}}


def test_cursor_pagination_stops_at_25000_objects():
    records = [{"id": f"gid://shopify/Customer/{n}"} for n in range(1, PAGINATION_LIMIT + 11)]
    ordering = Ordering.build(records, "customers", None, "ID")
    page = build_connection(
        ordering, {"first": 250, "after": ordering.encode_cursor(24_899)}, "customers"
    )
    assert len(page["nodes"]) == 100  # truncated at the 25,000th object
    with pytest.raises(Exception, match="limited to 25000"):
        build_connection(
            ordering, {"first": 250, "after": page["pageInfo"]["endCursor"]}, "customers"
        )


# ---- search syntax against a brute-force reference -------------------------------------

DAYS = [f"2026-01-{d:02d}T12:00:00Z" for d in range(1, 29)]
customers_strategy = st.lists(
    st.tuples(st.sampled_from(DAYS), st.sets(st.sampled_from(["vip", "new", "churn"]))),
    min_size=0,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=customers_strategy,
    op=st.sampled_from([">", ">=", "<", "<="]),
    day=st.sampled_from(DAYS),
    tag=st.sampled_from(["vip", "new", "churn"]),
    min_id=st.integers(0, 40),
)
def test_search_terms_match_a_brute_force_filter(rows, op, day, tag, min_id):
    records = [
        customer(n, updated=updated, tags=tuple(sorted(tags)))
        for n, (updated, tags) in enumerate(rows, start=1)
    ]
    moment = datetime.fromisoformat(day)
    compare = {
        ">": lambda a: a > moment,
        ">=": lambda a: a >= moment,
        "<": lambda a: a < moment,
        "<=": lambda a: a <= moment,
    }[op]
    query = f"updated_at:{op}'{day}' AND tag:{tag.upper()} id:>{min_id}"
    predicate = compile_search("customers", query).predicate
    expected = [
        r["id"]
        for r in records
        if compare(datetime.fromisoformat(r["updatedAt"]))
        and tag in r["tags"]
        and numeric_id(r["id"]) > min_id
    ]
    assert [r["id"] for r in records if predicate(r)] == expected


@settings(max_examples=40, deadline=None)
@given(rows=customers_strategy, size=st.integers(1, 9), reverse=st.booleans())
def test_walking_pages_yields_the_sorted_filtered_list(rows, size, reverse):
    records = [customer(n, updated=updated) for n, (updated, _) in enumerate(rows, start=1)]
    ordering = Ordering.build(records, "customers", None, "UPDATED_AT")
    expected = [
        r["id"]
        for r in sorted(
            records, key=lambda r: (r["updatedAt"], numeric_id(r["id"])), reverse=reverse
        )
    ]
    seen, after = [], None
    while True:
        page = build_connection(
            ordering, {"first": size, "after": after, "reverse": reverse}, "customers"
        )
        seen += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
