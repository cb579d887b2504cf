"""Strata for balanced experiment splits, from the features file (pyarrow).

- ``rfm_group``: the customer's RFM group in the features (``seglift.segments.rfm``).
- ``ltv_band``: "no_orders" for customers who never ordered, else the quartile of their
  ``total_spent`` *within the list* ("q1" lowest .. "q4" highest), by rank so ties and
  skewed spending still give four nearly equal bands.
Customers missing from the features get "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

UNKNOWN = "unknown"


def strata_of(features: pa.Table, customer_ids: Sequence[int], by: str) -> dict[int, str]:
    ids = pa.array(sorted(set(customer_ids)), pa.int64())
    rows = features.filter(pc.is_in(features["customer_id"], value_set=ids))
    if by == "rfm_group":
        labels = pc.fill_null(rows["rfm_group"], UNKNOWN)
    elif by == "ltv_band":
        spent = pc.cast(pc.fill_null(rows["total_spent"], 0), pa.float64())
        orders = pc.fill_null(rows["order_count"], 0)
        buyers = pc.greater(orders, 0)
        ranks = pc.rank(pc.if_else(buyers, spent, -1.0), sort_keys="ascending",
                        tiebreaker="first")
        non_buyers = pc.sum(pc.cast(pc.invert(buyers), pa.int64())).as_py() or 0
        buyer_count = max(rows.num_rows - non_buyers, 1)
        quartile = pc.add(pc.floor(pc.divide(
            pc.multiply(pc.cast(pc.subtract(ranks, non_buyers + 1), pa.float64()), 4.0),
            float(buyer_count))), 1.0)
        names = pc.binary_join_element_wise(
            "q", pc.cast(pc.cast(quartile, pa.int64()), pa.string()), "")
        labels = pc.if_else(buyers, names, "no_orders")
    else:
        raise ValueError(f"unknown stratification {by!r}; use rfm_group or ltv_band")
    found = dict(zip(rows["customer_id"].to_pylist(), labels.to_pylist(), strict=True))
    return {int(c): found.get(int(c), UNKNOWN) for c in ids.to_pylist()}
