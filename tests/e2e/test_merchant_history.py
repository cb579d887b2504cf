"""A merchant's own exports through the whole product, checked figure by figure.

An order export and a customer export are written here from known customers (EUR, shop
in Europe/Berlin, orders placed around local midnight, cancellations and refunds, two
years of history), imported as ``seglift serve --import`` does, installed, synced and run
by the daily schedule (today) and by the workflow for a past day. Every figure the API
serves is checked against a brute-force reading of the rows written here: members
exactly, money to the cent, as of the past day and as of today.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest

from devkit.import_orders import load_merchant_store
from devkit.local_stack import local_stack

pytestmark = pytest.mark.e2e

SHOP = "history-eu.myshopify.com"
ZONE = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
PAST_DAYS_AGO = 200
ORDER_COLUMNS = ["Name", "Email", "Financial Status", "Accepts Marketing", "Currency",
                 "Subtotal", "Shipping", "Taxes", "Total", "Created at", "Cancelled at",
                 "Refunded Amount", "Lineitem quantity", "Lineitem name", "Lineitem price",
                 "Billing Name", "Billing Country", "Tags"]
CUSTOMER_COLUMNS = ["Customer ID", "First Name", "Last Name", "Email",
                    "Accepts Email Marketing", "Default Address City",
                    "Default Address Province Code", "Default Address Country Code",
                    "Total Spent", "Total Orders", "Note", "Tags"]


@dataclass
class Order:
    name: str
    email: str
    placed: datetime  # shop-local, aware
    total: Decimal
    cancelled: datetime | None = None
    refunded: Decimal = Decimal("0.00")


@dataclass
class Customer:
    email: str
    country: str
    subscribed: bool
    tags: list[str] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


def known_customers(today: date) -> list[Customer]:
    """60 customers, 0-6 orders each over two years; some at 00:30 local time (the day
    before in UTC), some cancelled, some partly refunded."""
    rng = random.Random(16)
    customers, number = [], 1000
    for index in range(60):
        customer = Customer(email=f"kunde{index}@example.de",
                            country=rng.choice(["DE", "DE", "AT", "FR"]),
                            subscribed=rng.random() < 0.5,
                            tags=["vip"] if index % 7 == 0 else [])
        days = sorted(rng.sample(range(3, 730), rng.choice([0, 1, 1, 2, 3, 4, 6])),
                      reverse=True)
        for days_ago in days:
            number += 1
            clock = time(0, 30) if rng.random() < 0.3 else time(rng.randint(6, 22),
                                                                  rng.randint(0, 59))
            placed = datetime.combine(today - timedelta(days=days_ago), clock, ZONE)
            total = Decimal(rng.randint(500, 25000)) / 100
            order = Order(f"#{number}", customer.email, placed, total)
            roll = rng.random()
            if roll < 0.08:
                order.cancelled = placed + timedelta(days=rng.randint(0, 30))
            elif roll < 0.2:
                order.refunded = (total * Decimal(rng.choice(["0.25", "0.5", "1"]))
                                  ).quantize(CENT)
            customer.orders.append(order)
        customers.append(customer)
    # Orders 30 minutes after local midnight, the day before in UTC: on the day after the
    # past day checked and on the first of a month, so a day cut in UTC shows.
    edge = Customer(email="mitternacht@example.de", country="DE", subscribed=True)
    after_past = today - timedelta(days=PAST_DAYS_AGO - 1)
    first_of_month = (today - timedelta(days=100)).replace(day=1)
    for number, placed_day in ((9001, today - timedelta(days=400)),
                               (9002, after_past), (9003, first_of_month)):
        edge.orders.append(Order(f"#{number}", edge.email,
                                 datetime.combine(placed_day, time(0, 30), ZONE),
                                 Decimal("19.99")))
    customers.append(edge)
    return customers


def write_exports(folder, customers: list[Customer]) -> tuple[str, str]:
    orders_path, customers_path = folder / "orders_export.csv", folder / "customers_export.csv"
    rows = sorted((o for c in customers for o in c.orders), key=lambda o: o.placed,
                  reverse=True)  # Shopify exports newest first
    with orders_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORDER_COLUMNS)
        for order in rows:
            stamp = order.placed.strftime("%Y-%m-%d %H:%M:%S %z")
            writer.writerow([order.name, order.email, "paid", "no", "EUR", order.total,
                             "0.00", "0.00", order.total, stamp,
                             order.cancelled.strftime("%Y-%m-%d %H:%M:%S %z")
                             if order.cancelled else "", order.refunded, 1, "Kaffee",
                             order.total, "Kim Kunde", "DE", ""])
    with customers_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CUSTOMER_COLUMNS)
        for index, customer in enumerate(customers):
            writer.writerow([index + 1, "Kim", f"Kunde {index}", customer.email,
                             "yes" if customer.subscribed else "no", "Stadt", "",
                             customer.country, "", "", "", ", ".join(customer.tags)])
    return str(orders_path), str(customers_path)


# ---------------------------------------------------------------- the reference


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def counted(customer: Customer, day: date) -> list[Order]:
    """Orders that count on ``day``: placed by then and not cancelled by then."""
    return [o for o in customer.orders if local_day(o.placed) <= day
            and not (o.cancelled and local_day(o.cancelled) <= day)]


def net(order: Order, day: date) -> Decimal:
    # The export has no refund date: the importer dates a refund at the order's latest
    # event (its creation here), so a refund counts from the order's own day.
    return order.total - (order.refunded if local_day(order.placed) <= day else 0)


def repeat_members(customers: list[Customer], day: date) -> list[Customer]:
    return [c for c in customers if len(counted(c, day)) >= 2]


def segment_figures(members: list[Customer], day: date) -> dict[str, Decimal | int]:
    orders = [o for c in members for o in counted(c, day)]
    net_sales = sum((net(o, day) for o in orders), Decimal("0"))
    return {"member_count": len(members), "order_count": len(orders),
            "net_sales": net_sales.quantize(CENT, ROUND_HALF_EVEN),
            "ltv": (net_sales / len(members)).quantize(CENT, ROUND_HALF_EVEN),
            "aov": (net_sales / len(orders)).quantize(CENT, ROUND_HALF_EVEN)}


def month_figures(members: list[Customer], day: date) -> dict[str, dict[str, object]]:
    months: dict[str, dict[str, object]] = {}
    for customer in members:
        for position, order in enumerate(sorted(counted(customer, day),
                                                key=lambda o: o.placed)):
            month = local_day(order.placed).strftime("%Y-%m")
            entry = months.setdefault(month, {"new": 0, "returning": 0,
                                              "net": Decimal("0")})
            entry["new" if position == 0 else "returning"] += 1
            entry["net"] += net(order, day)
    return months


# ---------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    today = datetime.now(UTC).astimezone(ZONE).date()
    customers = known_customers(today)
    orders_path, customers_path = write_exports(tmp_path_factory.mktemp("exports"), customers)
    imported = load_merchant_store(orders_path, SHOP, customers_path=customers_path)
    assert imported.ok, imported.orders.errors + (imported.customers.errors
                                                  if imported.customers else [])
    with local_stack([imported.store], log_level="WARNING") as stack:
        api = stack.api(SHOP)
        segments = {
            "repeat": api.post("/segments", {"name": "Repeat", "shopify_query":
                                             "number_of_orders >= 2"}),
            "vip": api.post("/segments", {"name": "VIP", "shopify_query":
                                          "customer_tags CONTAINS 'vip'"}),
            "subscribed_de": api.post("/segments", {"name": "Subscribed in DE",
                                                    "shopify_query":
                                                    "email_subscription_status = 'SUBSCRIBED'"
                                                    " AND customer_countries CONTAINS 'DE'"}),
        }
        stack.cloud.fire_schedule()
        executions = stack.cloud.wait_for_executions(timeout_s=600)
        day = date.fromisoformat(api.get(f"/segments/{segments['repeat']['id']}")[
            "last_evaluated_on"])
        past = day - timedelta(days=PAST_DAYS_AGO)
        sfn = stack.cloud.client("stepfunctions")
        sfn.start_execution(stateMachineArn=stack.cloud.physical("PipelineStateMachine"),
                            name="history-past-day",
                            input=json.dumps({"shop": SHOP, "run_date": past.isoformat()}))
        executions += stack.cloud.wait_for_executions(timeout_s=600)
        yield {"api": api, "segments": segments, "customers": customers, "day": day,
               "past": past, "executions": executions, "imported": imported}


def test_the_shop_is_installed_with_the_files_currency_and_time_zone(run):
    assert {e["status"] for e in run["executions"]} == {"SUCCEEDED"}
    shop = run["api"].get("/shop")
    assert (shop["currency"], shop["timezone"]) == ("EUR", "Europe/Berlin")
    assert run["day"] == datetime.now(UTC).astimezone(ZONE).date()


def _point(api, segment_id: str, day: date) -> dict:
    series = api.get(f"/segments/{segment_id}/metrics?start={day}&end={day}")
    (point,) = series["points"]
    return point


@pytest.mark.parametrize("when", ["past", "day"])
def test_segment_metrics_match_the_reference_to_the_cent(run, when):
    day, api = run[when], run["api"]
    expected = segment_figures(repeat_members(run["customers"], day), day)
    point = _point(api, run["segments"]["repeat"]["id"], day)
    assert int(point["values"]["member_count"]) == expected["member_count"]
    assert int(point["values"]["order_count"]) == expected["order_count"]
    for name in ("net_sales", "ltv", "aov"):
        assert point["money"][name] == {"amount": str(expected[name]), "currency": "EUR"}, name


def existed(customer: Customer, day: date, customers: list[Customer]) -> bool:
    """A customer exists from their first order; one who never ordered from the export's
    last order (the customer export carries no sign-up date)."""
    placed = [o.placed for o in customer.orders] or [
        max(o.placed for c in customers for o in c.orders)]
    return local_day(min(placed)) <= day


@pytest.mark.parametrize("when", ["past", "day"])
def test_tag_consent_and_country_conditions_work_on_the_customer_export(run, when):
    api, customers, day = run["api"], run["customers"], run[when]
    vip = _point(api, run["segments"]["vip"]["id"], day)
    assert int(vip["values"]["member_count"]) == sum(
        "vip" in c.tags and existed(c, day, customers) for c in customers) > 0
    subscribed = _point(api, run["segments"]["subscribed_de"]["id"], day)
    assert int(subscribed["values"]["member_count"]) == sum(
        c.subscribed and c.country == "DE" and existed(c, day, customers)
        for c in customers) > 0


def test_revenue_by_month_covers_the_whole_history_to_the_cent(run):
    api, customers, day, past = run["api"], run["customers"], run["day"], run["past"]
    segment_id = run["segments"]["repeat"]["id"]
    first = min(local_day(o.placed) for c in customers for o in c.orders)
    body = api.get(f"/segments/{segment_id}/revenue?start={first}&end={day}")
    assert body["missing_months"] == [] and body["note"] is None
    points = {p["period"]: p for p in body["points"]}
    assert min(points) == first.strftime("%Y-%m") and len(points) > 12
    today_months = month_figures(repeat_members(customers, day), day)
    past_months = month_figures(repeat_members(customers, past), past)
    for month, point in points.items():
        # The past day's run stored its own month again (as of that day, its members).
        reference = past_months if month == past.strftime("%Y-%m") else today_months
        entry = reference.get(month, {"new": 0, "returning": 0, "net": Decimal("0")})
        assert point["new"]["orders"] == entry["new"], month
        assert point["returning"]["orders"] == entry["returning"], month
        assert Decimal(point["total"]["net_sales"]["amount"]) == entry["net"], month
        assert point["total"]["net_sales"]["currency"] == "EUR"


def test_preview_and_explain_as_of_a_past_day_match_the_reference(run):
    api, customers, past, day = run["api"], run["customers"], run["past"], run["day"]
    for when in (past, day):
        # A day the segments function does not hold is computed as a job first.
        preview = api.answer(api.post("/segments/preview", {
            "shopify_query": "number_of_orders >= 2", "as_of": when.isoformat()}))
        assert preview["as_of"] == when.isoformat()
        assert preview["member_count"] == len(repeat_members(customers, when))
    # Two orders by the past day in UTC, one in Berlin: a member only from the next day.
    edge = next(c for c in run["imported"].store.customers.values()
                if c["defaultEmailAddress"]["emailAddress"] == "mitternacht@example.de")
    segment_id = run["segments"]["repeat"]["id"]
    then = api.answer(api.get(f"/segments/{segment_id}/explain?customer_id="
                              f"{edge['legacyResourceId']}&as_of={past}"))
    after = api.answer(api.get(f"/segments/{segment_id}/explain?customer_id="
                               f"{edge['legacyResourceId']}&as_of={past + timedelta(days=1)}"))
    assert (then["member"], after["member"]) == (False, True)


def test_the_past_days_run_leaves_each_segments_current_count_alone(run):
    """The workflow for the past day ran after today's: segments still show today."""
    api, customers, day = run["api"], run["customers"], run["day"]
    vip = api.get(f"/segments/{run['segments']['vip']['id']}")
    assert vip["last_evaluated_on"] == day.isoformat()
    assert vip["member_count"] == sum("vip" in c.tags for c in customers)
    repeat = api.get(f"/segments/{run['segments']['repeat']['id']}")
    assert repeat["member_count"] == len(repeat_members(customers, day))
