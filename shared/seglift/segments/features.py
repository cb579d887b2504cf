"""Customer features as of a day: one row per customer, from the lake, point in time.

``compute_features(tables, as_of, tz)`` is what every condition is evaluated against and
what the metrics read. Definitions (all "as of" the end of ``as_of`` in the shop's time
zone ``tz``; see ``seglift.segments.timeutil``):

- customers: those created on or before the day (a customer created later did not exist
  yet). Tags, email marketing state, address and account state are the latest synced
  values: Shopify keeps no history of them, so a backfill uses today's values.
- counted orders: orders with a customer, created on or before the day, and not
  cancelled on or before the day (an order cancelled later still counted that day).
  Cancelled orders are excluded because Shopify's own "number of orders" and the
  merchant's notion of a purchase exclude them.
- order_count, first_order_date, last_order_date (local days), first_order_month.
- total_refunded: refunds on counted orders created on or before the day.
- total_spent: sum of counted orders' total_price minus total_refunded (net, decimal).
- average_order_value: total_spent / order_count, rounded to 3 decimals; null with no
  orders. days_since_last_order / days_since_first_order: whole days to ``as_of``.
- average_days_between_orders: (last - first order day) / (order_count - 1); null for
  fewer than two orders.
- discounted_order_count: counted orders with a discount code or total_discounts > 0;
  full_price_order_count: the other counted orders.
- first_order_product_ids / second_order_product_ids: distinct products of the customer's
  1st / 2nd counted order (orders ranked by created_at, then order id);
  products_ever_bought: distinct products over all counted orders (empty list if none).
  Each list in ascending id order.
- first_order_source / _source_type / _utm_source / _utm_medium / _utm_campaign: the
  customerJourneySummary.firstVisit attribution of the first counted order.
- RFM: see ``seglift.segments.rfm`` (scores among customers with counted orders;
  PROSPECTS for customers without).
- predictions (chance_active ... days_to_expected_order): null here; they need the model
  fitted on the whole shop, and ``seglift.segments.predictions.with_predictions`` fills
  them (the day-run does, after its context step; so does ``dayrun.compute.day_features``).

Everything is computed with Arrow group_by/take over whole columns: no per-customer loop.
Aggregates keyed by customer are aligned onto the customer list with ``index_in`` +
``take`` (Arrow's hash join cannot carry list columns).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.lake.schema import MONEY
from seglift.segments.arrowutil import row_numbers
from seglift.segments.rfm import RfmThresholds, rfm_columns, rfm_value_counts
from seglift.segments.tables import LakeTables
from seglift.segments.timeutil import cutoff_scalar, local_dates

ID_LIST = pa.list_(pa.int64())

FEATURES_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("email", pa.string()),
        pa.field("customer_created_date", pa.date32()),
        pa.field("account_state", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("email_marketing_state", pa.string()),
        pa.field("country_code", pa.string()),
        pa.field("province_code", pa.string()),
        pa.field("city", pa.string()),
        pa.field("order_count", pa.int64()),
        pa.field("first_order_date", pa.date32()),
        pa.field("last_order_date", pa.date32()),
        pa.field("first_order_month", pa.string()),
        pa.field("total_spent", MONEY),
        pa.field("total_refunded", MONEY),
        pa.field("average_order_value", MONEY),
        pa.field("days_since_last_order", pa.int64()),
        pa.field("days_since_first_order", pa.int64()),
        pa.field("average_days_between_orders", pa.float64()),
        pa.field("discounted_order_count", pa.int64()),
        pa.field("full_price_order_count", pa.int64()),
        pa.field("first_order_product_ids", ID_LIST),
        pa.field("second_order_product_ids", ID_LIST),
        pa.field("products_ever_bought", ID_LIST),
        pa.field("first_order_source", pa.string()),
        pa.field("first_order_source_type", pa.string()),
        pa.field("first_order_utm_source", pa.string()),
        pa.field("first_order_utm_medium", pa.string()),
        pa.field("first_order_utm_campaign", pa.string()),
        pa.field("recency_score", pa.int8()),
        pa.field("frequency_score", pa.int8()),
        pa.field("monetary_score", pa.int8()),
        pa.field("rfm_group", pa.string()),
        # Predictions (seglift.segments.predictions): null here, filled once the shop-wide
        # model is fitted (the day-run's context step), like the RFM scores are re-scored.
        pa.field("chance_active", pa.float64()),
        pa.field("predicted_purchases_30d", pa.float64()),
        pa.field("predicted_purchases_90d", pa.float64()),
        pa.field("predicted_purchases_365d", pa.float64()),
        pa.field("predicted_order_value", MONEY),
        pa.field("predicted_value_90d", MONEY),
        pa.field("predicted_value_365d", MONEY),
        pa.field("expected_next_order_date", pa.date32()),
        pa.field("days_to_expected_order", pa.int64()),
    ]
)
PREDICTION_FEATURES: tuple[str, ...] = tuple(FEATURES_SCHEMA.names[
    FEATURES_SCHEMA.get_field_index("chance_active"):])


def existing_customers(tables: LakeTables, as_of: date, tz: str) -> pa.Table:
    """Customers created on or before ``as_of``, sorted by customer id."""
    customers = tables.customers
    created = pc.less(customers["created_at"], cutoff_scalar(as_of, tz))
    return customers.filter(created).sort_by("customer_id")


def counted_orders(
    tables: LakeTables, as_of: date, tz: str, columns: list[str] | None = None,
    counted: pa.Table | None = None,
) -> pa.Table:
    """Counted orders (see module docstring) with ``order_day`` (local date) and
    ``order_index`` (1 = the customer's first counted order), sorted by customer, index.

    ``columns`` keeps only those order columns (plus the ones the filter and sort need):
    sorting moves every kept column, so callers that need few should say so.
    ``counted``: ``seglift.metrics.orders.counted_orders(None, ...)`` of the same tables
    and day, which a caller has already made (the same rows, in the same order, with
    the same ``order_day`` and ``order_index``: the same definition): only the other
    order columns are added to it, by order id, instead of filtering and sorting the
    orders again.
    """
    if counted is not None and columns is not None:
        return _with_order_columns(counted, tables.orders, columns)
    orders = tables.orders
    if columns is not None:
        needed = ["order_id", "customer_id", "created_at", "cancelled_at"]
        orders = orders.select(list(dict.fromkeys([*needed, *columns])))
    cutoff = cutoff_scalar(as_of, tz)
    keep = pc.and_(
        pc.and_(pc.is_valid(orders["customer_id"]), pc.less(orders["created_at"], cutoff)),
        pc.or_kleene(
            pc.is_null(orders["cancelled_at"]), pc.greater_equal(orders["cancelled_at"], cutoff)
        ),
    )
    kept = orders.filter(keep).sort_by(
        [("customer_id", "ascending"), ("created_at", "ascending"), ("order_id", "ascending")]
    )
    kept = kept.append_column("order_day", local_dates(kept["created_at"], tz))
    return kept.append_column("order_index", _rank_within_runs(kept["customer_id"]))


def _with_order_columns(counted: pa.Table, orders: pa.Table, columns: list[str]) -> pa.Table:
    """``counted`` (the metrics' counted orders) with ``columns`` of its orders taken
    from ``orders`` by order id (an order id is one lake row)."""
    at = pc.index_in(counted["order_id"], value_set=orders["order_id"].combine_chunks())
    needed = ["order_id", "customer_id", "created_at", "cancelled_at"]
    names = list(dict.fromkeys([*needed, *columns]))
    table = pa.table({name: (counted[name] if name in counted.column_names
                             else pc.take(orders[name], at)) for name in names})
    table = table.append_column("order_day", counted["order_day"])
    return table.append_column("order_index", counted["order_index"])


def _rank_within_runs(sorted_keys: pa.ChunkedArray | pa.Array) -> pa.Array:
    """1-based position of each row within its run of equal keys (keys already sorted)."""
    n = len(sorted_keys)
    if n == 0:
        return pa.array([], pa.int32())
    keys = sorted_keys.combine_chunks() if isinstance(sorted_keys, pa.ChunkedArray) else sorted_keys
    positions = row_numbers(n)
    starts_run = pc.not_equal(keys[1:], keys[:-1])
    is_start = pa.concat_arrays([pa.array([True]), pc.fill_null(starts_run, True)])
    run_start = pc.cumulative_max(pc.if_else(is_start, positions, 0))
    return pc.cast(pc.add(pc.subtract(positions, run_start), 1), pa.int32())


def _align(keys: pa.Array, table: pa.Table, key: str, column: str) -> pa.Array:
    """``table[column]`` reordered to line up with ``keys`` (null where a key is absent)."""
    return _aligner(keys, table, key)(column)


def _aligner(keys: pa.Array, table: pa.Table, key: str) -> Callable[[str], pa.Array]:
    """``_align`` of each column of ``table`` asked for, the keys looked up once."""
    positions = pc.index_in(keys, value_set=table[key].combine_chunks())

    def column(name: str) -> pa.Array:
        return pc.take(table[name].combine_chunks(), positions)

    return column


def _product_lists(line_items: pa.Table, orders: pa.Table) -> dict[int | None, pa.Table]:
    """customer_id -> the ascending distinct product ids of their counted orders' line
    items: of every counted order (key None) and of their 1st and 2nd (keys 1, 2).

    The items' customer and order index are taken from the counted order by order id
    (which also drops items of cancelled and future orders); the items are sorted once
    by (customer, product) and each list is a run of that order without repeats, so a
    list is the same in a shard and in the whole shop, in the same order, every time
    (a hash aggregation's lists come in whatever order its threads saw the items)."""
    at = pc.index_in(line_items["order_id"], value_set=orders["order_id"].combine_chunks())
    keep = pc.and_(pc.is_valid(at), pc.is_valid(line_items["product_id"]))
    at = pc.filter(at, keep)
    rows = pa.table({
        "customer_id": pc.take(orders["customer_id"].combine_chunks(), at),
        "product_id": pc.cast(pc.filter(line_items["product_id"], keep), pa.int64()),
        "order_index": pc.take(orders["order_index"].combine_chunks(), at),
    }).sort_by([("customer_id", "ascending"), ("product_id", "ascending")])
    customer = rows["customer_id"].to_numpy()
    product = rows["product_id"].to_numpy()
    index = rows["order_index"].to_numpy()
    return {which: _runs_as_lists(customer, product, None if which is None else index == which)
            for which in (None, 1, 2)}


def _runs_as_lists(customer: np.ndarray, product: np.ndarray, mask: np.ndarray | None
                   ) -> pa.Table:
    """Rows sorted by (customer, product) as one list of distinct products a customer."""
    if mask is not None:
        customer, product = customer[mask], product[mask]
    new_pair = np.ones(len(customer), dtype=bool)
    new_pair[1:] = (customer[1:] != customer[:-1]) | (product[1:] != product[:-1])
    customer, product = customer[new_pair], product[new_pair]
    new_customer = np.ones(len(customer), dtype=bool)
    new_customer[1:] = customer[1:] != customer[:-1]
    starts = np.flatnonzero(new_customer)
    offsets = pa.array(np.append(starts, len(customer)), pa.int32())
    return pa.table({"customer_id": pa.array(customer[starts], pa.int64()),
                     "product_ids": pa.ListArray.from_arrays(
                         offsets, pa.array(product, pa.int64()), type=ID_LIST)})


def _money(values: pa.Array) -> pa.Array:
    return pc.cast(values, MONEY)


def compute_features(tables: LakeTables, as_of: date, tz: str = "UTC",
                     counted: pa.Table | None = None) -> pa.Table:
    """One row per customer existing at the end of ``as_of`` (shop zone ``tz``).
    ``counted``: the metrics' counted orders of the same tables and day, when the caller
    has them (``counted_orders``; the day-run's FeatureShards shares them with the
    model inputs)."""
    customers = existing_customers(tables, as_of, tz)
    ids = customers["customer_id"].combine_chunks()
    orders = counted_orders(tables, as_of, tz, columns=[
        "total_price", "total_discounts", "discount_codes", "first_visit_source",
        "first_visit_source_type", "utm_source", "utm_medium", "utm_campaign",
    ], counted=counted)

    zero = pa.scalar(0, MONEY)
    discounted = pc.or_(
        pc.greater(pc.fill_null(pc.list_value_length(orders["discount_codes"]), 0), 0),
        pc.greater(pc.fill_null(orders["total_discounts"], zero), zero),
    )
    per_order = pa.table(
        {
            "customer_id": orders["customer_id"],
            "order_id": orders["order_id"],
            "order_day": orders["order_day"],
            "total_price": orders["total_price"],
            "discounted": pc.cast(discounted, pa.int64()),
        }
    )
    stats = per_order.group_by("customer_id").aggregate(
        [
            ("order_id", "count"),
            ("order_day", "min"),
            ("order_day", "max"),
            ("total_price", "sum"),
            ("discounted", "sum"),
        ]
    )

    # Refunds created by the day, on counted orders, attributed to the order's customer.
    refunds = tables.refunds.filter(
        pc.less(tables.refunds["created_at"], cutoff_scalar(as_of, tz))
    )
    order_customer = orders.select(["order_id", "customer_id"])
    refunds = refunds.select(["order_id", "amount"]).join(order_customer, "order_id")
    refunded = refunds.group_by("customer_id").aggregate([("amount", "sum")])

    stat = _aligner(ids, stats, "customer_id")
    order_count = pc.fill_null(stat("order_id_count"), 0)
    first_day = stat("order_day_min")
    last_day = stat("order_day_max")
    gross = _money(pc.fill_null(stat("total_price_sum"), zero))
    total_refunded = _money(
        pc.fill_null(_align(ids, refunded, "customer_id", "amount_sum"), zero)
    )
    total_spent = _money(pc.subtract(gross, total_refunded))
    has_orders = pc.greater(order_count, 0)
    average_order_value = _money(
        pc.round(pc.divide(total_spent, pc.if_else(has_orders, order_count, None)), 3)
    )
    as_of_scalar = pa.scalar(as_of, pa.date32())
    days_since_last = pc.days_between(last_day, as_of_scalar)
    days_since_first = pc.days_between(first_day, as_of_scalar)
    span = pc.cast(pc.days_between(first_day, last_day), pa.float64())
    gaps = pc.if_else(pc.greater(order_count, 1), pc.subtract(order_count, 1), None)
    average_gap = pc.divide(span, pc.cast(gaps, pa.float64()))
    discounted_count = pc.fill_null(stat("discounted_sum"), 0)
    first_month = pc.strftime(pc.cast(first_day, pa.timestamp("s")), format="%Y-%m")

    # Products of the 1st, 2nd and any counted order.
    empty_list = pa.scalar([], ID_LIST)
    lists = _product_lists(tables.line_items, orders)

    def products(which: int | None) -> pa.Array:
        return _fill_list(_align(ids, lists[which], "customer_id", "product_ids"), empty_list)

    products_ever, first_products, second_products = products(None), products(1), products(2)

    first = _aligner(ids, orders.filter(pc.equal(orders["order_index"], 1)), "customer_id")

    recency, frequency, monetary, group = rfm_columns(last_day, order_count, total_spent)

    columns = {
        "customer_id": ids,
        "email": customers["email"],
        "customer_created_date": local_dates(customers["created_at"], tz),
        "account_state": customers["state"],
        "tags": customers["tags"],
        "email_marketing_state": customers["email_marketing_state"],
        "country_code": customers["country_code"],
        "province_code": customers["province_code"],
        "city": customers["city"],
        "order_count": pc.cast(order_count, pa.int64()),
        "first_order_date": first_day,
        "last_order_date": last_day,
        "first_order_month": first_month,
        "total_spent": total_spent,
        "total_refunded": total_refunded,
        "average_order_value": average_order_value,
        "days_since_last_order": days_since_last,
        "days_since_first_order": days_since_first,
        "average_days_between_orders": average_gap,
        "discounted_order_count": pc.cast(discounted_count, pa.int64()),
        "full_price_order_count": pc.cast(pc.subtract(order_count, discounted_count), pa.int64()),
        "first_order_product_ids": first_products,
        "second_order_product_ids": second_products,
        "products_ever_bought": products_ever,
        "first_order_source": first("first_visit_source"),
        "first_order_source_type": first("first_visit_source_type"),
        "first_order_utm_source": first("utm_source"),
        "first_order_utm_medium": first("utm_medium"),
        "first_order_utm_campaign": first("utm_campaign"),
        "recency_score": recency,
        "frequency_score": frequency,
        "monetary_score": monetary,
        "rfm_group": group,
    }
    for name in PREDICTION_FEATURES:
        columns[name] = pa.nulls(len(ids), FEATURES_SCHEMA.field(name).type)
    arrays = [pc.cast(columns[f.name], f.type) for f in FEATURES_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=FEATURES_SCHEMA)


def _fill_list(values: pa.Array, empty: pa.Scalar) -> pa.Array:
    """Null lists (customers without such orders) become empty lists."""
    return pc.fill_null(values, empty)


RFM_COLUMNS = ("recency_score", "frequency_score", "monetary_score", "rfm_group")


def rfm_counts(features: pa.Table) -> dict[str, pa.Table]:
    """The value counts a shard contributes to the shop's RFM quintiles
    (``seglift.segments.rfm.rfm_value_counts``)."""
    return rfm_value_counts(features["last_order_date"].combine_chunks(),
                            features["order_count"].combine_chunks(),
                            features["total_spent"].combine_chunks())


def with_rfm(features: pa.Table, thresholds: RfmThresholds) -> pa.Table:
    """``features`` of one shard with its RFM columns scored against the whole shop
    (``thresholds`` merged from every shard's ``rfm_counts``), not the shard alone."""
    columns = rfm_columns(features["last_order_date"].combine_chunks(),
                          features["order_count"].combine_chunks(),
                          features["total_spent"].combine_chunks(), thresholds)
    for name, values in zip(RFM_COLUMNS, columns, strict=True):
        at = features.schema.get_field_index(name)
        features = features.set_column(at, features.schema.field(at),
                                       pc.cast(values, features.schema.field(at).type))
    return features
