"""Everything random about a block's customers and orders, drawn as whole numpy columns.

Why separate: the draws are the behavioural model (baskets, discounts, refunds,
attribution) and read best as vector arithmetic; turning them into Admin-GraphQL dicts is
a different job (``devkit.store.records``). All money is integer cents here.

The draws continue the block's generator after the purchase timing, in a fixed order, so
a block's records depend only on the spec and the block index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devkit.store import reference_data as ref
from devkit.store.catalog import Catalog
from devkit.store.purchase_timing import BlockTiming
from devkit.store.spec import MAX_LINES_PER_ORDER, SECONDS_PER_DAY, StoreSpec

# Customers.
BASKET_SIGMA = 0.5
WHOLESALE_SHARE = 0.01
CLUB_SHARE = 0.06
NEWSLETTER_TAG_SHARE = 0.85

# Baskets.
EXTRA_UNIT_RATE = 0.12
MAX_EXTRA_UNITS = 4
FAVOURITE_REORDER_SHARE = 0.35
WHOLESALE_CASE = 6

# Prices.
FREE_SHIPPING_CENTS = 5_000
SHIPPING_CENTS = 695
DISCOUNT_SHARE = 0.15
WELCOME_CODE_SHARE = 0.6
POS_SOURCE = ref.ORDER_SOURCES.index("pos")

# What happens after the order.
CANCEL_SHARE = 0.01
REFUND_SHARE = 0.05
FULL_REFUND_SHARE = 0.45

# Attribution.
SAME_SESSION_SHARE = 0.5
CONVERSION_DAYS_P = 0.2
MAX_CONVERSION_DAYS = 60
PRODUCT_LANDING_SHARE = 0.6


def _weights(values: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array / array.sum()


def _pick(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=_weights(weights))


@dataclass(frozen=True)
class CustomerDraws:
    """Per-customer traits of one block (arrays of length n)."""

    first_name: np.ndarray
    last_name: np.ndarray
    provider: np.ndarray
    place: np.ndarray
    marketing: np.ndarray
    state: np.ndarray
    basket: np.ndarray  # lognormal basket factor: scales lines and units
    wholesale: np.ndarray
    club: np.ndarray
    newsletter_tag: np.ndarray
    favourite: np.ndarray  # product position the customer tends to reorder
    update_lag: np.ndarray  # seconds between the last change and updatedAt

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, catalog: Catalog) -> CustomerDraws:
        places = tuple(place.weight for place in ref.PLACES)
        return cls(
            first_name=rng.integers(len(ref.FIRST_NAMES), size=n),
            last_name=rng.integers(len(ref.LAST_NAMES), size=n),
            provider=_pick(rng, ref.EMAIL_PROVIDER_WEIGHTS, n),
            place=_pick(rng, places, n),
            marketing=_pick(rng, ref.MARKETING_STATE_WEIGHTS, n),
            state=_pick(rng, ref.CUSTOMER_STATE_WEIGHTS, n),
            basket=rng.lognormal(0.0, BASKET_SIGMA, n),
            wholesale=rng.random(n) < WHOLESALE_SHARE,
            club=rng.random(n) < CLUB_SHARE,
            newsletter_tag=rng.random(n) < NEWSLETTER_TAG_SHARE,
            favourite=rng.choice(len(catalog.records), size=n, p=catalog.popularity),
            update_lag=rng.integers(0, SECONDS_PER_DAY, n),
        )


@dataclass(frozen=True)
class Baskets:
    """Line items, flattened: the lines of one order are contiguous."""

    lines_per_order: np.ndarray  # (orders,)
    order_start: np.ndarray  # (orders,) index of each order's first line
    line_order: np.ndarray  # (lines,) order position of each line
    product: np.ndarray  # (lines,) product position in the catalogue
    slot: np.ndarray  # (lines,) variant slot
    units: np.ndarray
    unit_price: np.ndarray
    gross: np.ndarray  # unit_price * units


@dataclass(frozen=True)
class Calendar:
    """Calendar fields of each order's time (UTC), for seasonal codes and campaigns."""

    month: np.ndarray  # 0-11
    year: np.ndarray
    week: np.ndarray  # 1-53, week of the year counted from 1 January


@dataclass(frozen=True)
class Prices:
    percent: np.ndarray  # discount percent per order, 0 without a code
    welcome: np.ndarray  # the code is the welcome code
    source: np.ndarray  # index into ORDER_SOURCES
    line_discount: np.ndarray  # (lines,)
    line_net: np.ndarray  # (lines,)
    subtotal: np.ndarray  # after discounts
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray


@dataclass(frozen=True)
class Outcomes:
    """Cancellation, refund and fulfilment of each order, and what the customer kept paying."""

    cancelled: np.ndarray
    cancel_time: np.ndarray
    refunded: np.ndarray
    full_refund: np.ndarray
    refund_amount: np.ndarray
    refund_time: np.ndarray
    fulfilled: np.ndarray
    updated: np.ndarray
    kept: np.ndarray  # total - refunds; 0 for a cancelled order


@dataclass(frozen=True)
class Attribution:
    channel: np.ndarray  # index into CHANNELS
    conversion_days: np.ndarray
    first_visit_time: np.ndarray
    last_visit_time: np.ndarray
    product_landing: np.ndarray  # the first visit landed on the first line's product page
    search_term: np.ndarray


@dataclass(frozen=True)
class CustomerTotals:
    order_count: np.ndarray
    spent: np.ndarray  # cents, sum of ``kept``
    updated: np.ndarray  # seconds since history start


@dataclass(frozen=True)
class BlockDraws:
    customers: CustomerDraws
    baskets: Baskets
    calendar: Calendar
    prices: Prices
    outcomes: Outcomes
    attribution: Attribution
    totals: CustomerTotals


def draw_block(spec: StoreSpec, catalog: Catalog, timing: BlockTiming) -> BlockDraws:
    """All draws of one block, continuing ``timing.rng`` in a fixed order."""
    rng = timing.rng
    customers = CustomerDraws.draw(rng, len(timing.created), catalog)
    baskets = _draw_baskets(rng, catalog, customers, timing, spec.extra_line_probability)
    calendar = _calendar(spec, timing.order_time)
    prices = _draw_prices(rng, customers, timing, baskets, calendar)
    outcomes = _draw_outcomes(rng, spec, timing.order_time, prices.total)
    attribution = _draw_attribution(rng, timing)
    totals = _customer_totals(spec, customers, timing, outcomes)
    return BlockDraws(customers, baskets, calendar, prices, outcomes, attribution, totals)


def _distinct_products(rng: np.random.Generator, product: np.ndarray, position: np.ndarray,
                       count: int) -> np.ndarray:
    """Shift a line's product while it repeats an earlier line of the same order, so an
    order never lists one product twice (Shopify merges such lines into one)."""
    for _ in range(4 * MAX_LINES_PER_ORDER):
        clash = np.zeros(len(product), dtype=bool)
        for back in range(1, MAX_LINES_PER_ORDER):
            clash |= (position >= back) & (product == np.roll(product, back))
        if not clash.any():
            break
        product = np.where(clash, (product + 1 + rng.integers(0, count, len(product))) % count,
                           product)
    return product


def _draw_baskets(rng: np.random.Generator, catalog: Catalog, people: CustomerDraws,
                  timing: BlockTiming, extra_line_probability: float) -> Baskets:
    cust = timing.order_customer
    extra_line_p = np.clip(extra_line_probability * people.basket[cust], 0.02, 0.85)
    lines_per_order = 1 + rng.binomial(MAX_LINES_PER_ORDER - 1, extra_line_p)
    line_order = np.repeat(np.arange(len(cust)), lines_per_order)
    order_start = np.cumsum(lines_per_order) - lines_per_order
    position = np.arange(len(line_order)) - order_start[line_order]
    line_customer = cust[line_order]
    product = rng.choice(len(catalog.records), size=len(line_order), p=catalog.popularity)
    favourite_first = ((position == 0) & (timing.order_index[line_order] > 0)
                       & (rng.random(len(line_order)) < FAVOURITE_REORDER_SHARE))
    product = np.where(favourite_first, people.favourite[line_customer], product)
    product = _distinct_products(rng, product, position, len(catalog.records))
    # Squaring a uniform draw favours the first (smallest, cheapest) variant: most people
    # buy the 12 oz bag, few the 5 lb one.
    slot = (rng.random(len(line_order)) ** 2 * catalog.variant_count[product]).astype(np.int64)
    units = 1 + np.minimum(rng.poisson(EXTRA_UNIT_RATE * people.basket[line_customer]),
                           MAX_EXTRA_UNITS)
    units = np.where(people.wholesale[line_customer], units * WHOLESALE_CASE, units)
    unit_price = catalog.price_cents[product, slot]
    return Baskets(lines_per_order=lines_per_order, order_start=order_start,
                   line_order=line_order, product=product, slot=slot, units=units,
                   unit_price=unit_price, gross=unit_price * units)


def _calendar(spec: StoreSpec, order_time: np.ndarray) -> Calendar:
    moments = (spec.start_epoch + order_time).astype("datetime64[s]")
    days_into_year = moments.astype("datetime64[D]") - moments.astype("datetime64[Y]")
    return Calendar(month=moments.astype("datetime64[M]").astype(np.int64) % 12,
                    year=moments.astype("datetime64[Y]").astype(np.int64) + 1970,
                    week=days_into_year.astype(np.int64) // 7 + 1)


def _draw_prices(rng: np.random.Generator, people: CustomerDraws, timing: BlockTiming,
                 baskets: Baskets, calendar: Calendar) -> Prices:
    """Discount codes, then Shopify's arithmetic: subtotal after discounts, free shipping
    above a threshold (and for pick-up and wholesale), tax by the customer's province."""
    n_orders = len(timing.order_time)
    cust = timing.order_customer
    discounted = rng.random(n_orders) < DISCOUNT_SHARE
    welcome = (timing.order_index == 0) & (rng.random(n_orders) < WELCOME_CODE_SHARE)
    seasonal_pct = np.array([pct for _, pct in ref.SEASONAL_CODES])[calendar.month]
    percent = np.where(discounted, np.where(welcome, ref.WELCOME_CODE[1], seasonal_pct), 0)
    line_discount = (baskets.gross * percent[baskets.line_order] + 50) // 100
    line_net = baskets.gross - line_discount
    if n_orders:
        subtotal = np.add.reduceat(line_net, baskets.order_start)
        discount = np.add.reduceat(line_discount, baskets.order_start)
    else:
        subtotal = discount = np.zeros(0, dtype=np.int64)
    source = _pick(rng, ref.ORDER_SOURCE_WEIGHTS, n_orders)
    tax_rate = np.array([place.tax_rate for place in ref.PLACES])[people.place[cust]]
    free_shipping = ((subtotal >= FREE_SHIPPING_CENTS) | (source == POS_SOURCE)
                     | people.wholesale[cust])
    shipping = np.where(free_shipping, 0, SHIPPING_CENTS)
    tax = np.floor(subtotal * tax_rate + 0.5).astype(np.int64)
    return Prices(percent=percent, welcome=welcome, source=source, line_discount=line_discount,
                  line_net=line_net, subtotal=subtotal, discount=discount, shipping=shipping,
                  tax=tax, total=subtotal + shipping + tax)


def _draw_outcomes(rng: np.random.Generator, spec: StoreSpec, when: np.ndarray,
                   total: np.ndarray) -> Outcomes:
    """Cancellations within two days, one refund (full or partial) 2-30 days later, and
    fulfilment within three days; nothing happens after the end of the history."""
    n_orders, horizon = len(when), spec.horizon
    cancelled = rng.random(n_orders) < CANCEL_SHARE
    cancel_time = np.maximum(np.minimum(
        when + rng.integers(1_800, 2 * SECONDS_PER_DAY, n_orders), horizon - 1), when)
    refunded = ~cancelled & (rng.random(n_orders) < REFUND_SHARE)
    full_refund = rng.random(n_orders) < FULL_REFUND_SHARE
    refund_fraction = rng.uniform(0.15, 0.7, n_orders)
    partial = np.clip(np.floor(total * refund_fraction), 1, total)
    refund_amount = np.where(refunded, np.where(full_refund, total, partial), 0).astype(np.int64)
    refund_time = np.maximum(np.minimum(
        when + rng.integers(2 * SECONDS_PER_DAY, 30 * SECONDS_PER_DAY, n_orders), horizon),
        when + 1)
    fulfil_time = when + rng.integers(SECONDS_PER_DAY // 6, 3 * SECONDS_PER_DAY, n_orders)
    fulfilled = ~cancelled & (fulfil_time <= horizon)
    updated = np.maximum.reduce([
        when,
        np.where(fulfilled, fulfil_time, when),
        np.where(cancelled, cancel_time, when),
        np.where(refunded, refund_time, when),
    ])
    return Outcomes(cancelled=cancelled, cancel_time=cancel_time, refunded=refunded,
                    full_refund=full_refund, refund_amount=refund_amount,
                    refund_time=refund_time, fulfilled=fulfilled, updated=updated,
                    kept=np.where(cancelled, 0, total - refund_amount))


def _draw_attribution(rng: np.random.Generator, timing: BlockTiming) -> Attribution:
    """First orders come more from search and social, repeat orders more from email and
    direct; half the orders convert in the first session, the rest days later."""
    when = timing.order_time
    n_orders = len(when)
    first_cumulative = np.cumsum(_weights(tuple(c.first_order_weight for c in ref.CHANNELS)))
    repeat_cumulative = np.cumsum(_weights(tuple(c.repeat_order_weight for c in ref.CHANNELS)))
    draw = rng.random(n_orders)
    channel = np.where(
        timing.order_index == 0,
        np.searchsorted(first_cumulative, draw, side="right"),
        np.searchsorted(repeat_cumulative, draw, side="right"),
    ).clip(0, len(ref.CHANNELS) - 1)
    same_session = rng.random(n_orders) < SAME_SESSION_SHARE
    conversion_days = np.where(
        same_session, 0,
        np.minimum(rng.geometric(CONVERSION_DAYS_P, n_orders), MAX_CONVERSION_DAYS))
    session_lead = rng.integers(120, 3_600, n_orders)
    return Attribution(
        channel=channel,
        conversion_days=conversion_days,
        first_visit_time=when - conversion_days * SECONDS_PER_DAY - session_lead,
        last_visit_time=when - rng.integers(60, 1_800, n_orders),
        product_landing=rng.random(n_orders) < PRODUCT_LANDING_SHARE,
        search_term=rng.integers(len(ref.SEARCH_TERMS), size=n_orders),
    )


def _customer_totals(spec: StoreSpec, people: CustomerDraws, timing: BlockTiming,
                     outcomes: Outcomes) -> CustomerTotals:
    """numberOfOrders, amountSpent and updatedAt consistent with the customer's orders."""
    n = len(timing.created)
    cust = timing.order_customer
    spent = np.zeros(n, dtype=np.int64)
    np.add.at(spent, cust, outcomes.kept)
    last_change = timing.created.copy()
    np.maximum.at(last_change, cust, outcomes.updated)
    updated = np.maximum(np.minimum(last_change + people.update_lag, spec.horizon), last_change)
    return CustomerTotals(order_count=np.bincount(cust, minlength=n), spent=spent,
                          updated=updated)
