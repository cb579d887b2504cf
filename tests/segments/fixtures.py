"""The hand-checked "journey store": eight customers whose stories the tests spell out.

As of 2024-06-30 (UTC):
  1  one order 2024-06-05 (Shirt), utm_campaign spring, subscribed, tagged vip
  2  orders 2024-03-01 (Mug) and 2024-06-25 (Shirt)
  3  five orders of 100 on 01-05, 02-05, 03-05, 04-05, 06-05; Shirt first, Mug second
  4  one discounted order 2023-10-01 (Poster), from utm_campaign summer
  5  no orders, subscribed, signed up 2024-06-20
  6  orders 2023-06-01, 2023-09-01, 2024-02-01 (all Mug)
  7  one order, cancelled the next day
  8  signed up 2024-07-05, after the day: not a customer yet
"""

from __future__ import annotations

from datetime import date

from tests.segments.builder import StoreBuilder

AS_OF = date(2024, 6, 30)
SHIRT, MUG, POSTER = 1, 2, 3
HOME = 9  # a collection: the mug and the poster


def journey_store() -> StoreBuilder:
    s = StoreBuilder().product(SHIRT, "Shirt").product(MUG, "Mug").product(POSTER, "Poster")
    s.collection(HOME, "Home", [MUG, POSTER]).collection(10, "Empty", [])
    s.customer(1, tags=["vip"], marketing="SUBSCRIBED", country="CA", province="ON")
    s.customer(2).customer(3).customer(4, tags=["VIP"], country="FR", province=None)
    s.customer(5, created="2024-06-20", marketing="SUBSCRIBED")
    s.customer(6).customer(7).customer(8, created="2024-07-05")
    s.order(101, 1, "2024-06-05", "40", products=[SHIRT], utm_campaign="spring",
            utm_source="google", source="google", source_type="SEO")
    s.order(201, 2, "2024-03-01", "15", products=[MUG])
    s.order(202, 2, "2024-06-25", "40", products=[SHIRT])
    for i, month in enumerate(["01", "02", "03", "04", "06"]):
        s.order(301 + i, 3, f"2024-{month}-05", "100", products=[SHIRT] if i == 0 else [MUG])
    s.order(401, 4, "2023-10-01", "30", products=[POSTER], discount_codes=["WELCOME10"],
            discounts="3", utm_campaign="summer")
    for i, day in enumerate(["2023-06-01", "2023-09-01", "2024-02-01"]):
        s.order(601 + i, 6, day, "60", products=[MUG])
    s.order(701, 7, "2024-05-01", "25", products=[SHIRT], cancelled="2024-05-02")
    return s
