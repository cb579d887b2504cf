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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


# ------------------------------------------------- quintiles over shards, exactly
#
# A score depends only on ``lt(v)``, how many scored values are below ``v``:
# ``score = 1 + floor(5 * lt(v) / n)``. That is monotone in ``v``, so four boundaries say
# everything: score >= s exactly when ``v >= b_s``, ``b_s`` the smallest value with
# ``5 * lt(v) >= (s - 1) * n``. The boundaries come from every shard's value counts
# (``value_counts``, merged by ``QuintileBounds.of``), so a customer's score in a
# shard is the score a whole-shop ranking gives (``quintile_scores``), to the integer.


def value_counts(values: pa.Array, mask: pa.Array) -> pa.Table:
    """(value, count) of ``values`` where ``mask``: one shard's sufficient statistic."""
    kept = pc.filter(values, mask)
    return pa.table({"value": kept}).group_by("value").aggregate([("value", "count")]) \
        .rename_columns(["value", "count"])


@dataclass(frozen=True)
class QuintileBounds:
    """The four score boundaries of one column (None: no value reaches that score)."""

    bounds: tuple[Any, ...]  # b_2 .. b_5 as Python scalars (date, int, Decimal) or None
    type: pa.DataType

    @classmethod
    def of(cls, counts: Sequence[pa.Table], type: pa.DataType) -> QuintileBounds:
        """Merged from every shard's ``value_counts``."""
        parts = [c.cast(pa.schema([("value", type), ("count", pa.int64())])) for c in counts
                 if c.num_rows]
        if not parts:
            return cls((None, None, None, None), type)
        merged = pa.concat_tables(parts).group_by("value").aggregate([("count", "sum")])
        merged = merged.sort_by("value")
        counts_np = merged["count_sum"].to_numpy()
        below = counts_np.cumsum() - counts_np  # lt(v) per distinct value, ascending
        n = int(counts_np.sum())
        values = merged["value"]
        bounds: list[Any] = []
        for s in range(2, 6):
            need = (s - 1) * n  # 5 * lt(v) >= (s - 1) * n
            hits = (5 * below >= need).nonzero()[0]
            bounds.append(values[int(hits[0])].as_py() if len(hits) else None)
        return cls(tuple(bounds), type)

    def scores(self, values: pa.Array, mask: pa.Array) -> pa.Array:
        """Scores 1-5 of ``values`` where ``mask``; null elsewhere."""
        score = pa.array([1] * len(values), pa.int8()) if len(values) else pa.array([], pa.int8())
        score = pc.cast(score, pa.int16())
        for bound in self.bounds:
            if bound is None:
                continue
            reached = pc.fill_null(pc.greater_equal(values, pa.scalar(bound, self.type)), False)
            score = pc.add(score, pc.cast(reached, pa.int16()))
        return pc.if_else(mask, pc.cast(score, pa.int8()), pa.scalar(None, pa.int8()))


@dataclass(frozen=True)
class RfmThresholds:
    """The shop's boundaries for the three scores, from every shard's counts."""

    recency: QuintileBounds
    frequency: QuintileBounds
    monetary: QuintileBounds


def rfm_value_counts(last_order_day: pa.Array, order_count: pa.Array, total_spent: pa.Array
                     ) -> dict[str, pa.Table]:
    """One shard's value counts of the three scored columns (customers with orders)."""
    has_orders = pc.fill_null(pc.greater(order_count, 0), False)
    return {"recency": value_counts(last_order_day, has_orders),
            "frequency": value_counts(order_count, has_orders),
            "monetary": value_counts(total_spent, has_orders)}


def rfm_columns(
    last_order_day: pa.Array, order_count: pa.Array, total_spent: pa.Array,
    thresholds: RfmThresholds | None = None,
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """(recency_score, frequency_score, monetary_score, rfm_group) for aligned columns.

    ``thresholds``: the shop's quintile boundaries (``RfmThresholds``) when these columns
    are one shard of its customers; without them the columns are the whole shop.
    """
    has_orders = pc.fill_null(pc.greater(order_count, 0), False)
    if thresholds is None:
        recency = quintile_scores(last_order_day, has_orders)
        frequency = quintile_scores(order_count, has_orders)
        monetary = quintile_scores(total_spent, has_orders)
    else:
        recency = thresholds.recency.scores(last_order_day, has_orders)
        frequency = thresholds.frequency.scores(order_count, has_orders)
        monetary = thresholds.monetary.scores(total_spent, has_orders)
    fm = pc.divide(pc.add(pc.add(pc.cast(frequency, pa.int16()), pc.cast(monetary, pa.int16())),
                          1), 2)
    key = pc.add(pc.multiply(pc.cast(recency, pa.int16()), 10), fm)
    groups = pc.take(pa.array(RFM_GRID, pa.string()), key)
    return recency, frequency, monetary, pc.fill_null(groups, "PROSPECTS")
