"""A segment's traits with share and lift against all customers, computed by hand."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from seglift.analytics.profile import ProfileBase, profile_of, segment_profile
from seglift.lake.schema import CUSTOMERS
from tests.metrics.store import Store, at, members

AS_OF = date(2025, 6, 30)


def customers(*rows: tuple[int, str | None, str | None]) -> pa.Table:
    return pa.Table.from_pylist([
        {"customer_id": cid, "created_at": at("2025-01-01", 0), "updated_at": at("2025-01-01", 0),
         "country_code": country, "province_code": province}
        for cid, country, province in rows
    ], schema=CUSTOMERS)


@pytest.fixture
def profile():
    people = customers((1, "US", "NY"), (2, "US", "NY"), (3, "US", "CA"), (4, "DE", None),
                       (5, None, None))
    s = Store()
    # 1: first order products 10+11 from google/summer; second order product 12.
    s.order(1, 1, "2025-01-01", "10.00", products=(10, 11), source="google", campaign="summer")
    s.order(2, 1, "2025-02-01", "10.00", products=(12,))
    # 2: first order product 10 from google (no campaign); second order product 12; third.
    s.order(3, 2, "2025-01-05", "10.00", products=(10,), source="google")
    s.order(4, 2, "2025-03-01", "10.00", products=(12, 10))
    s.order(5, 2, "2025-04-01", "10.00", products=(13,))
    # 3: one order of product 11 from facebook/summer.
    s.order(6, 3, "2025-01-07", "10.00", products=(11,), source="facebook", campaign="summer")
    # 4: first order product 10 (email), second order product 13.
    s.order(7, 4, "2025-02-07", "10.00", products=(10,), source="email")
    s.order(8, 4, "2025-02-08", "10.00", products=(13,))
    # 5: no orders.
    return segment_profile(members(1, 2, 5), people, s.orders_table(), s.line_items_table(),
                           s.refunds_table(), AS_OF)


def row(table: pa.Table, value) -> dict:
    return next(r for r in table.to_pylist() if r["value"] == value)


def test_products_ever_bought_share_of_all_members(profile):
    # Segment {1, 2, 5}: product 10 by 1 and 2 -> 2/3; all 5 customers: 1, 2, 4 -> 3/5.
    ten = row(profile["products"], 10)
    assert (ten["segment_customers"], ten["all_customers"]) == (2, 3)
    assert ten["segment_share"] == pytest.approx(2 / 3)
    assert ten["all_share"] == pytest.approx(3 / 5)
    assert ten["lift"] == pytest.approx((2 / 3) / (3 / 5))
    # Ordered by segment customers, then value: 10 (2), 12 (2), 11 (1), 13 (1).
    assert profile["products"]["value"].to_pylist() == [10, 12, 11, 13]


def test_first_visit_sources_and_campaigns_are_shares_of_buyers(profile):
    # Segment buyers: 1, 2 (both google). All buyers: 1, 2, 3, 4 (google twice).
    google = row(profile["first_visit_sources"], "google")
    assert (google["segment_share"], google["all_share"], google["lift"]) == (1.0, 0.5, 2.0)
    campaigns = {r["value"]: r["segment_customers"]
                 for r in profile["first_visit_campaigns"].to_pylist()}
    assert campaigns == {"summer": 1, "(none)": 1}


def test_first_purchase_products(profile):
    eleven = row(profile["first_purchase_products"], 11)
    # Segment buyers 1, 2: 11 in 1's first order -> 1/2; all buyers: 1 and 3 -> 2/4.
    assert (eleven["segment_share"], eleven["all_share"], eleven["lift"]) == (0.5, 0.5, 1.0)


def test_locations(profile):
    ny = row(profile["locations"], "US-NY")
    assert (ny["segment_customers"], ny["segment_share"]) == (2, pytest.approx(2 / 3))
    assert (ny["all_customers"], ny["all_share"]) == (2, 0.4)
    assert row(profile["locations"], "(none)")["segment_customers"] == 1


def test_order_count_distribution_lists_every_bucket(profile):
    got = {r["value"]: (r["segment_customers"], r["all_customers"])
           for r in profile["order_counts"].to_pylist()}
    # Segment: 5 -> 0, 1 -> 2, 2 -> 3. All: 5 -> 0, 3 -> 1, 1 and 4 -> 2, 2 -> 3.
    assert got == {"0": (1, 1), "1": (0, 1), "2": (1, 2), "3": (1, 1), "4+": (0, 0)}
    assert row(profile["order_counts"], "4+")["lift"] is None


def test_product_journeys_are_conditional_on_the_first_product(profile):
    journeys = {(r["first_product_id"], r["product_id"]): r
                for r in profile["product_journeys"].to_pylist()}
    # Segment: first 10 then 12 for both 1 and 2 -> 2 of the 2 with 10 first and a 2nd order.
    # All: 10 first and a 2nd order: 1, 2, 4; 12 second: 1, 2 -> 2/3.
    ten_twelve = journeys[(10, 12)]
    assert (ten_twelve["segment_customers"], ten_twelve["segment_share"]) == (2, 1.0)
    assert ten_twelve["all_share"] == pytest.approx(2 / 3)
    assert ten_twelve["lift"] == pytest.approx(1.5)
    # 2's second order also had product 10 again.
    assert journeys[(10, 10)]["segment_share"] == 0.5


def test_one_base_serves_every_segment_of_the_day():
    """Profiling many segments of a day builds the segment-independent base once; each
    segment's tables are exactly what ``segment_profile`` gives it alone."""
    people = customers((1, "US", "NY"), (2, "US", "NY"), (3, "US", "CA"), (4, "DE", None))
    s = Store()
    s.order(1, 1, "2025-01-01", "10.00", products=(10, 11), source="google", campaign="summer")
    s.order(2, 1, "2025-02-01", "10.00", products=(12,))
    s.order(3, 2, "2025-01-05", "10.00", products=(10,), source="google")
    s.order(4, 3, "2025-03-01", "10.00", products=(12, 10))
    s.order(5, 3, "2025-04-01", "10.00", products=(13,))
    lake = (people, s.orders_table(), s.line_items_table(), s.refunds_table())
    base = ProfileBase.build(*lake, AS_OF)
    for segment in (members(1, 2), members(3), members(1, 2, 3, 4), members(9)):
        shared = profile_of(base, segment)
        alone = segment_profile(segment, *lake, AS_OF)
        assert {k: t.to_pylist() for k, t in shared.items()} == {
            k: t.to_pylist() for k, t in alone.items()}
