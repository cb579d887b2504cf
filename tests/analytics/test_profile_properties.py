"""Segment features (share and lift) agree with a customer-by-customer reference on random
stores, for many segments profiled from one shared day base."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.analytics.profile import ProfileBase, profile_of
from seglift.lake.schema import CUSTOMERS
from tests.metrics.store import Store, at, members

AS_OF = date(2025, 4, 30)
CUTOFF = at(AS_OF + timedelta(days=1), 0)
CUSTOMER_IDS = list(range(1, 9))
PRODUCTS = [10, 11, 12, 13]
NONE = "(none)"


@st.composite
def shops(draw: st.DrawFn) -> tuple[pa.Table, Store]:
    people = []
    for cid in CUSTOMER_IDS:
        joined = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 130)))
        people.append({"customer_id": cid, "created_at": at(joined, 0),
                       "updated_at": at(joined, 0),
                       "country_code": draw(st.sampled_from([None, "US", "DE"])),
                       "province_code": draw(st.sampled_from([None, "NY", "BY"]))})
    store = Store()
    for order_id in range(1, draw(st.integers(0, 22)) + 1):
        day = date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 140)))
        cancelled = (day + timedelta(days=draw(st.integers(0, 20)))).isoformat() \
            if draw(st.integers(0, 5)) == 0 else None
        store.order(order_id, draw(st.sampled_from([*CUSTOMER_IDS, None])), day.isoformat(),
                    "10.00", hour=draw(st.integers(0, 23)), cancelled=cancelled,
                    products=tuple(draw(st.lists(st.sampled_from(PRODUCTS), max_size=3,
                                                 unique=True))),
                    source=draw(st.sampled_from([None, "google", "email"])),
                    campaign=draw(st.sampled_from([None, "summer", "Summer"])))
    return pa.Table.from_pylist(people, schema=CUSTOMERS), store


def _divide(n: int, total: int) -> float | None:
    return n / total if total else None


def _rows(seg: dict[Any, set[int]], every: dict[Any, set[int]], segment: set[int],
          universe: set[int], top: int = 10) -> list[tuple]:
    seg_total = len(segment & universe)
    counts = {v: len(c & segment) for v, c in seg.items() if c & segment}
    chosen = sorted(counts, key=lambda v: (-counts[v], v))[:top]
    rows = []
    for value in chosen:
        share, all_share = _divide(counts[value], seg_total), _divide(len(every[value]),
                                                                      len(universe))
        rows.append((value, counts[value], share, len(every[value]), all_share))
    return rows


def reference(people: pa.Table, store: Store, segment: set[int]) -> dict[str, list[tuple]]:
    everyone = {r["customer_id"]: r for r in people.to_pylist() if r["created_at"] < CUTOFF}
    counted = sorted(
        (o for o in store.orders if o["customer_id"] in everyone and o["created_at"] < CUTOFF
         and (o["cancelled_at"] is None or o["cancelled_at"] >= CUTOFF)),
        key=lambda o: (o["created_at"], o["order_id"]))
    orders_of: dict[int, list[dict]] = defaultdict(list)
    for order in counted:
        orders_of[order["customer_id"]].append(order)
    products_of = defaultdict(set)
    for item in store.line_items:
        products_of[item["order_id"]].add(item["product_id"])
    buyers = set(orders_of)
    traits: dict[str, tuple[dict[Any, set[int]], set[int]]] = {
        name: (defaultdict(set), universe) for name, universe in (
            ("products", set(everyone)), ("first_visit_sources", buyers),
            ("first_visit_campaigns", buyers), ("first_purchase_products", buyers),
            ("locations", set(everyone)))}
    for cid, own in orders_of.items():
        first = own[0]
        traits["first_visit_sources"][0][first["first_visit_source"] or NONE].add(cid)
        traits["first_visit_campaigns"][0][first["utm_campaign"] or NONE].add(cid)
        for order in own:
            for product in products_of[order["order_id"]]:
                traits["products"][0][product].add(cid)
        for product in products_of[first["order_id"]]:
            traits["first_purchase_products"][0][product].add(cid)
    for cid, row in everyone.items():
        country, province = row["country_code"], row["province_code"]
        label = f"{country}-{province}" if country and province else country or NONE
        traits["locations"][0][label].add(cid)
    result = {name: _rows(by_value, by_value, segment, universe)
              for name, (by_value, universe) in traits.items()}

    def bucket(cid: int) -> str:
        n = len(orders_of.get(cid, []))
        return "4+" if n >= 4 else str(n)

    seg_people = segment & set(everyone)
    result["order_counts"] = [
        (label, sum(bucket(c) == label for c in seg_people),
         _divide(sum(bucket(c) == label for c in seg_people), len(seg_people)),
         sum(bucket(c) == label for c in everyone),
         _divide(sum(bucket(c) == label for c in everyone), len(everyone)))
        for label in ("0", "1", "2", "3", "4+")]

    pairs: dict[tuple[int, int], set[int]] = defaultdict(set)
    base: dict[int, set[int]] = defaultdict(set)
    for cid, own in orders_of.items():
        if len(own) < 2:
            continue
        firsts = products_of[own[0]["order_id"]]
        seconds = products_of[own[1]["order_id"]]
        if not seconds:
            continue  # a second order with no product lines is no journey step
        for f in firsts:
            base[f].add(cid)
            for s in seconds:
                pairs[(f, s)].add(cid)
    counts = {k: len(c & segment) for k, c in pairs.items() if c & segment}
    chosen = sorted(counts, key=lambda k: (-counts[k], k))[:10]
    result["product_journeys"] = [
        ((f, s), counts[(f, s)], _divide(counts[(f, s)], len(base[f] & segment)),
         len(pairs[(f, s)]), _divide(len(pairs[(f, s)]), len(base[f])))
        for f, s in chosen]
    return result


def _as_tuples(name: str, table: pa.Table) -> list[tuple]:
    rows = table.to_pylist()
    if name == "product_journeys":
        return [((r["first_product_id"], r["product_id"]), r["segment_customers"],
                 r["segment_share"], r["all_customers"], r["all_share"]) for r in rows]
    return [(r["value"], r["segment_customers"], r["segment_share"], r["all_customers"],
             r["all_share"]) for r in rows]


def _rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(v, 12) if isinstance(v, float) else v for v in row) for row in rows]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shop=shops(), segments=st.lists(st.sets(st.sampled_from([*CUSTOMER_IDS, 99])),
                                       min_size=1, max_size=3))
def test_every_feature_table_matches_the_reference(shop, segments):
    people, store = shop
    base = ProfileBase.build(people, store.orders_table(), store.line_items_table(),
                             store.refunds_table(), AS_OF)
    for segment in segments:
        got = profile_of(base, members(*sorted(segment)))
        expected = reference(people, store, segment)
        for name, rows in expected.items():
            assert _rounded(_as_tuples(name, got[name])) == _rounded(rows), name
        for name, table in got.items():
            for row in table.to_pylist():
                if row["all_share"] and row["segment_share"] is not None:
                    assert row["lift"] == pytest.approx(row["segment_share"] / row["all_share"])
                else:
                    assert row["lift"] is None, name
