"""Turn a block's numpy draws into Customer and Order records in Admin GraphQL shape.

Why separate: this is the only per-record Python loop of the generator, and it knows
nothing about randomness — it formats what ``devkit.store.order_draws`` decided
(timestamps as ISO 8601 UTC strings, money as strings with two decimals, ids as gids).
Values are converted to Python lists once per column before the loop, since indexing
numpy arrays element by element is several times slower.
"""

from __future__ import annotations

import numpy as np

from devkit.store import reference_data as ref
from devkit.store.catalog import Catalog
from devkit.store.model import Record, gid
from devkit.store.order_draws import BlockDraws
from devkit.store.purchase_timing import BlockTiming
from devkit.store.spec import MAX_LINES_PER_ORDER, StoreSpec

# Id bases: Shopify ids are large integers, and a distinct range per kind makes a
# misplaced id obvious in a test failure.
CUSTOMER_ID_BASE = 7_300_000_000
ORDER_ID_BASE = 5_600_000_000
LINE_ITEM_ID_BASE = 13_000_000_000
REFUND_ID_BASE = 900_000_000
VISIT_ID_BASE = 2_000_000_000
FIRST_ORDER_NUMBER = 1001
DIRECT_CHANNEL = next(i for i, c in enumerate(ref.CHANNELS) if c.source == "direct")
VIP_SPEND_CENTS = 40_000
# Shopify's title for the only variant of a product without options; such a line's name
# is the product title alone.
DEFAULT_VARIANT_TITLE = "Default Title"


def iso_strings(start_epoch: int, seconds: np.ndarray) -> list[str]:
    """ISO 8601 UTC strings (``2025-06-01T12:00:00Z``) of offsets from ``start_epoch``."""
    moments = (start_epoch + seconds).astype("datetime64[s]")
    return [text + "Z" for text in np.datetime_as_string(moments, unit="s").tolist()]


def amounts(cents: np.ndarray) -> list[str]:
    """Money strings with two decimals from integer cents."""
    return [f"{value // 100}.{value % 100:02d}" for value in cents.tolist()]


def money_bag(amount: str, currency: str) -> Record:
    """A MoneyBag. The shop sells in one currency, so both sides are the same Money object
    (one dict fewer per amount: a store holds millions of them)."""
    money = {"amount": amount, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def customer_gid(store_index: int) -> str:
    """Global id of the customer at 0-based position ``store_index`` in the store."""
    return gid("Customer", CUSTOMER_ID_BASE + store_index + 1)


def block_records(spec: StoreSpec, catalog: Catalog, timing: BlockTiming,
                  draws: BlockDraws, ranks: np.ndarray,
                  ) -> tuple[list[Record], list[list[Record]]]:
    """The block's customers and, per customer, their orders (oldest first)."""
    n = len(timing.created)
    people = draws.customers
    emails = [
        f"{ref.FIRST_NAMES[f].lower()}.{ref.LAST_NAMES[s].lower()}{timing.first_customer + i + 1}"
        f"@{ref.EMAIL_PROVIDERS[p]}"
        for i, (f, s, p) in enumerate(zip(people.first_name.tolist(), people.last_name.tolist(),
                                          people.provider.tolist(), strict=True))
    ]
    gids = [customer_gid(timing.first_customer + i) for i in range(n)]
    orders = _order_records(spec, catalog, timing, draws, ranks, emails, gids)
    customers = _customer_records(spec, timing, draws, emails, gids)
    return customers, orders


def _order_records(spec: StoreSpec, catalog: Catalog, timing: BlockTiming, draws: BlockDraws,
                   ranks: np.ndarray, emails: list[str], gids: list[str]) -> list[list[Record]]:
    cur, start = spec.currency, spec.start_epoch
    baskets, prices, outcomes = draws.baskets, draws.prices, draws.outcomes
    journey, calendar = draws.attribution, draws.calendar
    created_at = iso_strings(start, timing.order_time)
    updated_at = iso_strings(start, outcomes.updated)
    cancelled_at = iso_strings(start, outcomes.cancel_time)
    refunded_at = iso_strings(start, outcomes.refund_time)
    first_visit_at = iso_strings(start, journey.first_visit_time)
    last_visit_at = iso_strings(start, journey.last_visit_time)
    subtotal, discount, total = (amounts(prices.subtotal), amounts(prices.discount),
                                 amounts(prices.total))
    shipping, tax = amounts(prices.shipping), amounts(prices.tax)
    refund, current = amounts(outcomes.refund_amount), amounts(outcomes.kept)
    line_price, line_net = amounts(baskets.unit_price), amounts(prices.line_net)
    line_discount = amounts(prices.line_discount)
    ranks_list, customer_list = ranks.tolist(), timing.order_customer.tolist()
    index_list = timing.order_index.tolist()
    start_list, count_list = baskets.order_start.tolist(), baskets.lines_per_order.tolist()
    product_list, slot_list = baskets.product.tolist(), baskets.slot.tolist()
    units_list = baskets.units.tolist()
    percent_list, welcome_list = prices.percent.tolist(), prices.welcome.tolist()
    source_list = prices.source.tolist()
    month_list, year_list = calendar.month.tolist(), calendar.year.tolist()
    week_list = calendar.week.tolist()
    channel_list, conversion_list = journey.channel.tolist(), journey.conversion_days.tolist()
    landing_list, term_list = journey.product_landing.tolist(), journey.search_term.tolist()
    cancelled_list, refunded_list = outcomes.cancelled.tolist(), outcomes.refunded.tolist()
    full_list, fulfilled_list = outcomes.full_refund.tolist(), outcomes.fulfilled.tolist()

    orders_by_customer: list[list[Record]] = [[] for _ in range(len(timing.created))]
    for o, rank in enumerate(ranks_list):
        order_id = ORDER_ID_BASE + rank + 1
        lines: list[Record] = []
        first_line = start_list[o]
        for j in range(count_list[o]):
            li = first_line + j
            p, v = product_list[li], slot_list[li]
            title = catalog.titles[p]
            variant_title = catalog.variant_titles[p][v]
            single = variant_title == DEFAULT_VARIANT_TITLE
            lines.append({
                "__typename": "LineItem",
                "id": gid("LineItem", LINE_ITEM_ID_BASE + rank * MAX_LINES_PER_ORDER + j),
                "title": title,
                "name": title if single else f"{title} - {variant_title}",
                "variantTitle": None if single else variant_title,
                "vendor": catalog.vendors[p],
                "sku": catalog.skus[p][v],
                "quantity": units_list[li],
                "product": {"id": gid("Product", int(catalog.product_ids[p]))},
                "variant": {"id": gid("ProductVariant", int(catalog.variant_ids[p, v]))},
                "originalUnitPriceSet": money_bag(line_price[li], cur),
                "discountedTotalSet": money_bag(line_net[li], cur),
                "totalDiscountSet": money_bag(line_discount[li], cur),
            })
        codes: list[str] = []
        if percent_list[o]:
            codes = [ref.WELCOME_CODE[0] if welcome_list[o]
                     else ref.SEASONAL_CODES[month_list[o]][0]]
        status = "PAID"
        refunds: list[Record] = []
        if cancelled_list[o]:
            status = "VOIDED"
        elif refunded_list[o]:
            status = "REFUNDED" if full_list[o] else "PARTIALLY_REFUNDED"
            refunds.append({
                "__typename": "Refund",
                "id": gid("Refund", REFUND_ID_BASE + rank + 1),
                "createdAt": refunded_at[o],
                "note": "Returned by customer" if full_list[o] else "Partial refund: damaged item",
                "totalRefundedSet": money_bag(refund[o], cur),
            })
        first_visit = _visit(spec, catalog, channel_list[o], order_id, 0, first_visit_at[o],
                             product_list[first_line] if landing_list[o] else None,
                             _campaign(ref.CHANNELS[channel_list[o]], year_list[o],
                                       month_list[o], week_list[o]),
                             ref.SEARCH_TERMS[term_list[o]])
        # One session: the first visit is also the last. Otherwise the buyer came back
        # directly (typed the address, a bookmark) to complete the order.
        last_visit = first_visit if conversion_list[o] == 0 else _visit(
            spec, catalog, DIRECT_CHANNEL, order_id, 1, last_visit_at[o], None, None, None)
        c = customer_list[o]
        orders_by_customer[c].append({
            "__typename": "Order",
            "id": gid("Order", order_id),
            "legacyResourceId": str(order_id),
            "name": f"#{FIRST_ORDER_NUMBER + rank}",
            "email": emails[c],
            "createdAt": created_at[o],
            "processedAt": created_at[o],
            "updatedAt": updated_at[o],
            "cancelledAt": cancelled_at[o] if cancelled_list[o] else None,
            "cancelReason": "CUSTOMER" if cancelled_list[o] else None,
            "currencyCode": cur,
            "sourceName": ref.ORDER_SOURCES[source_list[o]],
            "discountCodes": codes,
            "test": False,
            "displayFinancialStatus": status,
            "displayFulfillmentStatus": "FULFILLED" if fulfilled_list[o] else "UNFULFILLED",
            "customer": {"id": gids[c]},
            "subtotalPriceSet": money_bag(subtotal[o], cur),
            "totalDiscountsSet": money_bag(discount[o], cur),
            "totalShippingPriceSet": money_bag(shipping[o], cur),
            "totalTaxSet": money_bag(tax[o], cur),
            "totalPriceSet": money_bag(total[o], cur),
            "totalRefundedSet": money_bag(refund[o], cur),
            "currentTotalPriceSet": money_bag(current[o], cur),
            "lineItems": lines,
            "refunds": refunds,
            "customerJourneySummary": {
                "customerOrderIndex": index_list[o] + 1,
                "daysToConversion": conversion_list[o],
                "firstVisit": first_visit,
                "lastVisit": last_visit,
            },
        })
    return orders_by_customer


def _campaign(channel: ref.Channel, year: int, month: int, week: int) -> str | None:
    """utm_campaign: the season's umbrella campaign (``summer_sale_2025``), the weekly
    newsletter (``newsletter_w12``), or the affiliate partner."""
    if channel.campaign == "seasonal":
        return f"{ref.SEASONAL_CAMPAIGNS[month]}_{year}"
    if channel.campaign == "newsletter":
        return f"newsletter_w{week}"
    if channel.campaign == "affiliate":
        return f"partner_{channel.utm_source}"
    return None


def _visit(spec: StoreSpec, catalog: Catalog, channel_index: int, order_id: int, which: int,
           occurred_at: str, landing_product: int | None, campaign: str | None,
           term: str | None) -> Record:
    """A ``CustomerVisit``: UTM parameters only for tagged campaign traffic, and the
    landing page carries them in its query string as a real tagged link would."""
    channel = ref.CHANNELS[channel_index]
    path = (f"/products/{catalog.handles[landing_product]}" if landing_product is not None
            else "/")
    landing = f"https://{spec.domain}{path}"
    utm: Record | None = None
    if channel.utm_source is not None:
        utm = {"source": channel.utm_source, "medium": channel.utm_medium,
               "campaign": campaign, "content": None,
               "term": term if channel.utm_medium == "cpc" else None}
        landing += (f"?utm_source={channel.utm_source}&utm_medium={channel.utm_medium}"
                    f"&utm_campaign={campaign}")
    return {
        "__typename": "CustomerVisit",
        "id": gid("CustomerVisit", VISIT_ID_BASE + order_id * 2 + which),
        "occurredAt": occurred_at,
        "source": channel.source,
        "sourceType": channel.source_type,
        "landingPage": landing,
        "referrerUrl": channel.referrer_url,
        "utmParameters": utm,
    }


def _customer_records(spec: StoreSpec, timing: BlockTiming, draws: BlockDraws,
                      emails: list[str], gids: list[str]) -> list[Record]:
    people, totals = draws.customers, draws.totals
    created_at = iso_strings(spec.start_epoch, timing.created)
    updated_at = iso_strings(spec.start_epoch, totals.updated)
    counts, spent = totals.order_count.tolist(), totals.spent.tolist()
    first_names, last_names = people.first_name.tolist(), people.last_name.tolist()
    places, marketing = people.place.tolist(), people.marketing.tolist()
    states = people.state.tolist()
    wholesale, club = people.wholesale.tolist(), people.club.tolist()
    newsletter = people.newsletter_tag.tolist()
    records = []
    for i, customer_id in enumerate(gids):
        first, last = ref.FIRST_NAMES[first_names[i]], ref.LAST_NAMES[last_names[i]]
        place = ref.PLACES[places[i]]
        marketing_state = ref.MARKETING_STATES[marketing[i]]
        tags: list[str] = []
        if marketing_state == "SUBSCRIBED" and newsletter[i]:
            tags.append("newsletter")
        if spent[i] >= VIP_SPEND_CENTS:
            tags.append("vip")
        if wholesale[i]:
            tags.append("wholesale")
        if club[i]:
            tags.append("coffee-club")
        records.append({
            "__typename": "Customer",
            "id": customer_id,
            "legacyResourceId": customer_id.rsplit("/", 1)[1],
            "firstName": first,
            "lastName": last,
            "displayName": f"{first} {last}",
            "createdAt": created_at[i],
            "updatedAt": updated_at[i],
            "state": ref.CUSTOMER_STATES[states[i]],
            "tags": sorted(tags),
            "note": "Wholesale account, net 30 terms" if wholesale[i] else None,
            "numberOfOrders": str(counts[i]),
            "amountSpent": {"amount": f"{spent[i] // 100}.{spent[i] % 100:02d}",
                            "currencyCode": spec.currency},
            "defaultEmailAddress": {"emailAddress": emails[i],
                                    "marketingState": marketing_state},
            "defaultAddress": {
                "city": place.city,
                "province": place.province,
                "provinceCode": place.province_code,
                "country": place.country,
                "countryCodeV2": place.country_code,
            },
        })
    return records
