"""RFM scores and Shopify's RFM group names, vectorised.

Scores (1-5, 5 = best) are quintiles among customers with at least one counted order;
customers without orders get null scores and the group PROSPECTS.

- recency: the last order day; the most recent fifth scores 5;
- frequency: order_count; monetary: total_spent (net of refunds).
A score is ``1 + floor(5 * (rank - 1) / n)`` where ``rank`` is the ascending rank with
ties given the lowest rank ("min"), so equal values always share a score (with many
one-order customers, all of them score frequency 1, as in Shopify).

Groups follow Shopify (Admin API enum ``CustomerRfmGroup``; Shopify's help centre: "a
customer's RFM group is determined based on the recency score R and the average of their
frequency and monetary scores (F + M) / 2"). We round that average half up
(``FM = (F + M + 1) // 2``). Shopify publishes the groups' descriptions but not a
threshold table, so the grid below is our reading of those descriptions, chosen to cover
every (R, FM) pair exactly once:

    R \\ FM      1-2              3                 4                5
    5           NEW              ACTIVE            CHAMPIONS         CHAMPIONS
    4           PROMISING        ACTIVE            LOYAL             LOYAL
    3           PROMISING        NEEDS_ATTENTION   LOYAL             LOYAL
    2           ALMOST_LOST      AT_RISK           AT_RISK           PREVIOUSLY_LOYAL
    1           DORMANT          AT_RISK           AT_RISK           PREVIOUSLY_LOYAL

(CHAMPIONS "very recent purchases, many orders, most spend"; LOYAL "recent purchases,
many orders, most spend"; ACTIVE/NEEDS_ATTENTION "recent purchases, some orders, moderate
spend"; NEW "very recent purchases, few orders, low spend"; PROMISING "recent purchases,
few orders, low spend"; AT_RISK "without recent purchases, strong history";
PREVIOUSLY_LOYAL "without recent purchases, very strong history"; ALMOST_LOST "without
recent purchases, fewer orders, lower spend"; DORMANT "without recent orders,
infrequent, low spend"; PROSPECTS "no orders yet".)
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from seglift.segments.arrowutil import row_numbers


def _grid() -> list[str | None]:
    """Group name indexed by ``R * 10 + FM`` (R, FM in 1..5)."""
    rows = {
        5: ["NEW", "NEW", "ACTIVE", "CHAMPIONS", "CHAMPIONS"],
        4: ["PROMISING", "PROMISING", "ACTIVE", "LOYAL", "LOYAL"],
        3: ["PROMISING", "PROMISING", "NEEDS_ATTENTION", "LOYAL", "LOYAL"],
        2: ["ALMOST_LOST", "ALMOST_LOST", "AT_RISK", "AT_RISK", "PREVIOUSLY_LOYAL"],
        1: ["DORMANT", "DORMANT", "AT_RISK", "AT_RISK", "PREVIOUSLY_LOYAL"],
    }
    table: list[str | None] = [None] * 56
    for r, names in rows.items():
        for fm, name in enumerate(names, start=1):
            table[r * 10 + fm] = name
    return table


RFM_GRID: list[str | None] = _grid()


def rfm_group_of(recency: int | None, frequency: int | None, monetary: int | None) -> str:
    """The group of one customer's scores (the scalar reference of ``rfm_columns``)."""
    if recency is None or frequency is None or monetary is None:
        return "PROSPECTS"
    return RFM_GRID[recency * 10 + (frequency + monetary + 1) // 2]  # type: ignore[return-value]


def quintile_scores(values: pa.Array, mask: pa.Array) -> pa.Array:
    """Scores 1-5 of ``values`` among rows where ``mask`` is true; null elsewhere."""
    n_valid = pc.sum(pc.cast(mask, pa.int64())).as_py() or 0
    scores = pa.nulls(len(values), pa.int8())
    if n_valid == 0:
        return scores
    masked_positions = pc.indices_nonzero(mask)
    subset = pc.take(values, masked_positions)
    ranks = pc.rank(subset, sort_keys="ascending", tiebreaker="min")
    bucket = pc.add(
        pc.floor(pc.divide(pc.multiply(pc.cast(pc.subtract(ranks, 1), pa.float64()), 5.0),
                           float(n_valid))),
        1.0,
    )
    subset_scores = pc.cast(bucket, pa.int8())
    # Scatter back: position i of the full array gets the score of its masked index.
    index_of = pc.index_in(row_numbers(len(values)),
                           value_set=pc.cast(masked_positions, pa.int64()))
    return pc.take(subset_scores, index_of)


def rfm_columns(
    last_order_day: pa.Array, order_count: pa.Array, total_spent: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(recency_score, frequency_score, monetary_score, rfm_group) for aligned columns."""
    has_orders = pc.fill_null(pc.greater(order_count, 0), False)
    recency = quintile_scores(last_order_day, has_orders)
    frequency = quintile_scores(order_count, has_orders)
    monetary = quintile_scores(total_spent, has_orders)
    fm = pc.divide(pc.add(pc.add(pc.cast(frequency, pa.int16()), pc.cast(monetary, pa.int16())),
                          1), 2)
    key = pc.add(pc.multiply(pc.cast(recency, pa.int16()), 10), fm)
    groups = pc.take(pa.array(RFM_GRID, pa.string()), key)
    return recency, frequency, monetary, pc.fill_null(groups, "PROSPECTS")
