"""The shop's analytics of a day (cohorts, re-order curve, CLV, overlap, funnels) from
customer shards, merged exactly.

Why: every one of these figures needs every customer, and one invocation reading a whole
shop does not fit a Lambda's memory and time at millions of customers. Each figure is
instead made from sufficient statistics that are sums over customers, so a shop's are its
shards' added (each customer's orders and memberships are in exactly one shard,
``seglift.dayrun.shards``):

- cohorts: per cohort month its customers, net sales and repeat customers, and per
  (cohort, month since the first order) the net sales (``cohorts.cohort_sums``);
- the re-order curve: per point, the eligible customers and those who re-ordered
  (``cohorts.curve_counts``);
- CLV: the model is the day's (fitted once by the day-run's context step on every
  shard's inputs); each shard applies it to its own customers (the predictions file is
  the shards' files one after another) and sums what the summary needs: counts, decimal
  sums (exact) and float sums kept exactly (``ExactSum``, so a mean is the same float
  whatever the shard count); the holdout check's calibration value counts
  (``clv_holdout.holdout_sums``);
- the store's revenue by month: exact month sums of new and returning orders and net
  sales (``revenue.revenue_sums_of_counted``);
- overlap and funnels: the value counts of customers' membership *patterns* (which of
  the day's segments each customer is in): every intersection and every journey's
  furthest stage is a function of them, for any set of segments.

``shop_shard`` computes one shard's part (in the day-run's SegmentShards invocation, or
over the whole shop in one process); the ``*_payload`` functions turn the added parts
into the stored JSON (``reports``' shapes). One shard and many give the same payloads
(tests/dayrun's property test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.analytics import cohorts, reports
from seglift.analytics.clv import (
    DEFAULT_HORIZONS,
    ClvModel,
    CustomerScores,
    NotEnoughHistory,
    predictions_of,
    rfm_summary,
)
from seglift.analytics.clv_holdout import (
    CALIBRATION_SCHEMA,
    HOLDOUT_DAYS,
    add_holdout_sums,
    holdout_of_sums,
    holdout_sums,
)
from seglift.analytics.revenue import (
    REVENUE_SUMS_SCHEMA,
    RevenueSums,
    add_revenue_sums,
    revenue_sums_of_counted,
)
from seglift.metrics.orders import counted_orders

PATTERNS_SCHEMA = pa.schema([pa.field("pattern", pa.binary()),
                             pa.field("customers", pa.int64())])
_HALF = 26  # a float's 53-bit significand is summed as two 26/27-bit halves


# ------------------------------------------------------------- exact float sums


class ExactSum(BaseModel):
    """The exact sum of finite floats: ``terms[e]`` is an integer, the sum is
    sum(terms[e] * 2**e). Shards' sums add exactly, so a mean made from them is the same
    float whatever the order or the number of shards the values came in."""

    terms: dict[int, int] = {}
    count: int = 0  # finite values summed

    @classmethod
    def of(cls, values: np.ndarray) -> ExactSum:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return cls()
        significand, exponent = np.frexp(values)  # value = significand * 2**exponent
        whole = np.ldexp(significand, 53).astype(np.int64)  # exact: |whole| < 2**53
        high = whole >> _HALF
        low = whole - (high << _HALF)
        keys, where = np.unique(exponent, return_inverse=True)
        # Sums of integers below 2**27, for fewer than 2**26 values: exact in a float.
        highs = np.bincount(where, weights=high, minlength=len(keys))
        lows = np.bincount(where, weights=low, minlength=len(keys))
        terms = {int(e) - 53: (int(h) << _HALF) + int(lo)
                 for e, h, lo in zip(keys, highs, lows, strict=True)}
        return cls(terms=terms, count=len(values))

    def plus(self, other: ExactSum) -> ExactSum:
        terms = dict(self.terms)
        for e, t in other.terms.items():
            terms[e] = terms.get(e, 0) + t
        return ExactSum(terms=terms, count=self.count + other.count)

    def value(self) -> Fraction:
        return sum((Fraction(t) * Fraction(2) ** e for e, t in self.terms.items()),
                   Fraction(0))

    def mean(self) -> float | None:
        """The mean of the values summed, correctly rounded (None: no value)."""
        return float(self.value() / self.count) if self.count else None


def add_exact(parts: Sequence[ExactSum]) -> ExactSum:
    total = ExactSum()
    for part in parts:
        total = total.plus(part)
    return total


# ------------------------------------------------------------- CLV summary


class HorizonSums(BaseModel):
    purchases: ExactSum  # expected purchases over the horizon (finite values)
    clv_count: int = 0  # customers with a CLV in money
    clv_sum: Decimal | None = None  # their CLVs' sum (None: nobody has one)


class ClvSums(BaseModel):
    """What the stored CLV summary and its history warnings need, summed over customers."""

    fitted: bool
    customers: int
    p_alive: ExactSum
    likely_alive: int
    order_value_count: int
    order_value_sum: Decimal | None
    horizons: dict[int, HorizonSums]
    repeat_buyers: int
    least_silence: int | None  # min(age - recency) in days
    longest_age: int | None


def _decimal_sum(column: pa.ChunkedArray | pa.Array) -> tuple[int, Decimal | None]:
    valid = int(pc.count(column).as_py() or 0)
    return valid, (pc.sum(column).as_py() if valid else None)


def clv_sums(predictions: pa.Table, fitted: bool) -> ClvSums:
    """The summary's sums of one shard's (or the shop's) predictions table."""
    rows = predictions.num_rows
    p_alive = predictions["p_alive"].to_numpy(zero_copy_only=False).astype(float)
    horizons: dict[int, HorizonSums] = {}
    for name in predictions.column_names:
        if name.startswith("clv_") and name.endswith("d"):
            h = int(name[len("clv_"):-1])
            count, total = _decimal_sum(predictions[name])
            horizons[h] = HorizonSums(
                purchases=ExactSum.of(predictions[f"expected_purchases_{h}d"].to_numpy(
                    zero_copy_only=False).astype(float)), clv_count=count, clv_sum=total)
    value_count, value_sum = _decimal_sum(predictions["expected_order_value"])
    silence = pc.subtract(predictions["age"], predictions["recency"])
    return ClvSums(
        fitted=fitted, customers=rows, p_alive=ExactSum.of(p_alive),
        likely_alive=int(np.count_nonzero(p_alive >= 0.5)),
        order_value_count=value_count, order_value_sum=value_sum, horizons=horizons,
        repeat_buyers=int(pc.sum(pc.greater(predictions["frequency"], 0)).as_py() or 0),
        least_silence=pc.min(silence).as_py() if rows else None,
        longest_age=pc.max(predictions["age"]).as_py() if rows else None)


def add_clv_sums(parts: Sequence[ClvSums]) -> ClvSums:
    def add_decimal(values: Sequence[Decimal | None]) -> Decimal | None:
        present = [v for v in values if v is not None]
        return sum(present, Decimal(0)) if present else None

    def extreme(values: Sequence[int | None], pick: Any) -> int | None:
        present = [v for v in values if v is not None]
        return pick(present) if present else None

    horizons = sorted({h for p in parts for h in p.horizons})
    return ClvSums(
        fitted=all(p.fitted for p in parts) if parts else False,
        customers=sum(p.customers for p in parts),
        p_alive=add_exact([p.p_alive for p in parts]),
        likely_alive=sum(p.likely_alive for p in parts),
        order_value_count=sum(p.order_value_count for p in parts),
        order_value_sum=add_decimal([p.order_value_sum for p in parts]),
        horizons={h: HorizonSums(
            purchases=add_exact([p.horizons[h].purchases for p in parts if h in p.horizons]),
            clv_count=sum(p.horizons[h].clv_count for p in parts if h in p.horizons),
            clv_sum=add_decimal([p.horizons[h].clv_sum for p in parts if h in p.horizons]))
            for h in horizons},
        repeat_buyers=sum(p.repeat_buyers for p in parts),
        least_silence=extreme([p.least_silence for p in parts], min),
        longest_age=extreme([p.longest_age for p in parts], max))


def _decimal_mean(total: Decimal | None, count: int) -> Decimal | None:
    if not count or total is None:
        return None
    return (Decimal(total) / count).quantize(Decimal("0.01"))


def clv_payload(model: ClvModel | NotEnoughHistory, sums: ClvSums, as_of: date,
                predictions_key: str | None) -> dict[str, Any]:
    """The stored CLV document (``reports.clv_fitted_payload``, or why there is no model)
    from the shards' added sums."""
    warnings = reports.history_warnings_of(sums.customers, sums.repeat_buyers,
                                           sums.least_silence, sums.longest_age, as_of)
    if isinstance(model, NotEnoughHistory):
        return {**reports.clv_not_fitted_payload(as_of, model.reason, predictions_key),
                "warnings": warnings}
    summary: dict[str, Any] = {
        "customers": sums.customers,
        "mean_p_alive": sums.p_alive.mean(),
        "likely_alive": sums.likely_alive,
        "mean_expected_order_value": reports.json_value(
            _decimal_mean(sums.order_value_sum, sums.order_value_count)),
        "horizons": [{
            "days": h,
            "mean_expected_purchases": sums.horizons[h].purchases.mean(),
            # Null when the model gives no finite value for anyone (a degenerate fit).
            "total_clv": reports.json_value(sums.horizons[h].clv_sum),
            "mean_clv": reports.json_value(_decimal_mean(sums.horizons[h].clv_sum,
                                                         sums.horizons[h].clv_count)),
        } for h in sorted(sums.horizons)],
    }
    return reports.clv_fitted_payload(model, summary, as_of, predictions_key, warnings)


# ------------------------------------------------------------- membership patterns


def membership_patterns(members: Mapping[str, pa.Array]) -> pa.Table:
    """Value counts of the customers' membership patterns (``PATTERNS_SCHEMA``): bit j of
    a pattern (little-endian bytes) is the j-th segment of ``members``; customers in no
    segment are not counted. A loop over segments, never customers."""
    names = list(members)
    ids = [np.asarray(pa.array(members[n], pa.int64()).to_numpy(zero_copy_only=False),
                      np.int64) for n in names]
    everyone = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    if len(everyone) == 0:
        return PATTERNS_SCHEMA.empty_table()
    width = (len(names) + 7) // 8
    bits = np.zeros((len(everyone), width), np.uint8)
    for j, segment in enumerate(ids):
        at = np.searchsorted(everyone, segment)  # a repeated id sets its bit again
        bits[at, j // 8] |= np.uint8(1 << (j % 8))
    rows, counts = _unique_rows(bits)
    data = np.ascontiguousarray(rows).tobytes()
    offsets = np.arange(len(rows) + 1, dtype=np.int32) * width
    patterns = pa.Array.from_buffers(pa.binary(), len(rows),
                                     [None, pa.py_buffer(offsets.tobytes()),
                                      pa.py_buffer(data)])
    return pa.Table.from_arrays([patterns, pa.array(counts, pa.int64())],
                                schema=PATTERNS_SCHEMA)


def _unique_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(bits, axis=0, return_counts=True)`` (rows in the same, lexicographic
    order) without its row-by-row comparisons: up to 64 segments a row is one
    big-endian integer, whose order is the rows' byte order; wider rows compare as
    opaque bytes (``memcmp``, the same order)."""
    count, width = bits.shape
    if width <= 8:
        padded = np.zeros((count, 8), np.uint8)
        padded[:, :width] = bits
        keys, counts = np.unique(padded.view(">u8").ravel(), return_counts=True)
        rows = keys.astype(">u8").view(np.uint8).reshape(-1, 8)[:, :width]
        return np.ascontiguousarray(rows), counts
    keys, counts = np.unique(np.ascontiguousarray(bits).view(f"V{width}").ravel(),
                             return_counts=True)
    return keys.view(np.uint8).reshape(-1, width), counts


def _pattern_bits(patterns: pa.Table, positions: Sequence[int]) -> np.ndarray:
    """A 0/1 int64 matrix: one row per pattern, one column per asked bit position."""
    column = patterns["pattern"].combine_chunks()
    if len(column) == 0:
        return np.zeros((0, len(positions)), np.int64)
    width = len(column[0].as_py())
    start = column.offset * width
    data = np.frombuffer(column.buffers()[2], np.uint8)[start:start + len(column) * width]
    bits = np.unpackbits(data.reshape(len(column), width), axis=1, bitorder="little")
    return bits[:, list(positions)].astype(np.int64)


@dataclass(frozen=True)
class PatternPart:
    """One shard's membership patterns and the segment each bit stands for."""

    segments: list[str]
    patterns: pa.Table

    def bits(self, segment_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(patterns x segment_ids 0/1 matrix, customers per pattern)."""
        at = {s: i for i, s in enumerate(self.segments)}
        missing = [s for s in segment_ids if s not in at]
        if missing:
            raise LookupError(f"segments {missing} have no memberships in a shard")
        return (_pattern_bits(self.patterns, [at[s] for s in segment_ids]),
                self.patterns["customers"].to_numpy().astype(np.int64))


def merged_patterns(parts: Sequence[PatternPart]) -> list[PatternPart]:
    """The shards' pattern counts added into one part when their bits name the same
    segments (the day-run's shards all do): a pattern is in most shards, so the shop has
    a fraction of the shards' rows together (20,000 of 137,000 at a million customers),
    and the overlap's and funnels' matrix work is done once over them. Integer sums: the
    payloads are the same. Parts whose segments differ are returned as they are."""
    if len(parts) < 2 or any(p.segments != parts[0].segments for p in parts):
        return list(parts)
    added = pa.concat_tables([p.patterns.cast(PATTERNS_SCHEMA) for p in parts]).group_by(
        "pattern").aggregate([("customers", "sum")])
    return [PatternPart(list(parts[0].segments), pa.Table.from_arrays(
        [added["pattern"], added["customers_sum"]], schema=PATTERNS_SCHEMA))]


def overlap_payload(parts: Sequence[PatternPart], segment_ids: Sequence[str],
                    as_of: date) -> dict[str, Any]:
    """Member counts of every segment and of every pair (``reports.overlap_payload``'s
    shape): the patterns' Gram matrix, integers, added over shards."""
    ids = list(segment_ids)
    counts = np.zeros((len(ids), len(ids)), np.int64)
    for part in parts:
        bits, customers = part.bits(ids)
        counts += bits.T @ (bits * customers[:, None])  # integer matmul: exact
    matrix = counts.tolist()
    return {"as_of": as_of.isoformat(), "segment_ids": ids,
            "sizes": [matrix[i][i] for i in range(len(ids))], "overlap": matrix}


def funnel_payload(parts: Sequence[PatternPart], stages: Sequence[str], day: date
                   ) -> dict[str, Any]:
    """How many customers reached each stage of a journey (``reports.funnel_payload``'s
    shape): a customer reached every stage up to their furthest one."""
    reached = np.zeros(len(stages), np.int64)
    for part in parts:
        bits, customers = part.bits(stages)
        furthest = np.full(len(customers), -1)
        for index in range(len(stages)):  # a loop over stages, never customers
            furthest = np.where(bits[:, index] == 1, index, furthest)
        for index in range(len(stages)):
            reached[index] += int(customers[furthest >= index].sum())
    rows, previous = [], None
    for index, stage in enumerate(stages):
        count = int(reached[index])
        rows.append({"segment_id": stage, "reached": count,
                     "conversion": None if previous is None or previous == 0
                     else count / previous})
        previous = count
    return {"day": day.isoformat(), "stages": rows}


# ------------------------------------------------------------- one shard's part


class CohortSizes(BaseModel):
    """``cohorts.COHORT_SIZES_SCHEMA``'s columns."""

    cohort_month_index: list[int]
    customers: list[int]
    net: list[Decimal]
    repeaters: list[int]


class CohortCells(BaseModel):
    """``cohorts.COHORT_CELLS_SCHEMA``'s columns."""

    cohort_month_index: list[int]
    months_since_first: list[int]
    net: list[Decimal]


class CurveCounts(BaseModel):
    """``cohorts.CURVE_COUNTS_SCHEMA``'s columns."""

    days: list[int]
    customers: list[int]
    reordered: list[int]


class ShopSums(BaseModel):
    """One shard's small sums (JSON between invocations; exact: ints and decimals)."""

    cohort_sizes: CohortSizes
    cohort_cells: CohortCells
    curve: CurveCounts
    clv: ClvSums | None = None  # None: no model for the day
    holdout_actual: list[int]
    revenue: RevenueSums  # the store's revenue month sums (whole history)
    segments: list[str]  # bit order of the shard's membership patterns


@dataclass(frozen=True)
class ShopShard:
    """One shard's part of the shop's analytics."""

    sums: ShopSums
    calibration: pa.Table  # clv_holdout.CALIBRATION_SCHEMA
    patterns: pa.Table  # PATTERNS_SCHEMA
    predictions: pa.Table | None = None  # the shard's CLV predictions (streamed, not kept)

    def pattern_part(self) -> PatternPart:
        return PatternPart(self.sums.segments, self.patterns)


def shop_shard(orders: pa.Table, refunds: pa.Table, members: Mapping[str, pa.Array],
               as_of: date, tz: str = "UTC",
               model: ClvModel | NotEnoughHistory | None = None,
               inputs: pa.Table | None = None,
               horizons: tuple[int, ...] = DEFAULT_HORIZONS,
               first_order: date | None = None,
               counted: pa.Table | None = None,
               scores: CustomerScores | None = None) -> ShopShard:
    """The part of one shard (or of the whole shop): ``orders`` and ``refunds`` are its
    customers', ``members`` its part of each segment of the day. ``model``: the day's
    purchase model (None: no CLV part); ``inputs``: the shard's ``rfm_summary`` as of the
    day (the day-run's model inputs, computed here when absent); ``first_order``: the
    shop's first order day (the day-run's context; ``orders``' own when absent), where the
    store's revenue by month starts. ``counted`` (``counted_orders(None, ...)`` as of the
    day) and ``scores`` (``model`` applied to ``inputs``' rows): what the day-run's
    SegmentShards has already computed for the same customers."""
    if counted is None:
        counted = counted_orders(None, orders, refunds, as_of, tz)
    if first_order is None:
        first_order = reports.first_order_day(orders, tz)
    revenue = revenue_sums_of_counted(counted, reports.revenue_start(first_order, as_of),
                                      as_of, "month")
    sizes, cells = cohorts.cohort_sums(counted)
    curve = cohorts.curve_counts(counted, as_of)
    calibration, actual = holdout_sums(orders, refunds, as_of, tz, HOLDOUT_DAYS, now=inputs)
    predictions, clv = None, None
    if model is not None:
        summary = rfm_summary(orders, refunds, as_of, tz) if inputs is None else inputs
        predictions = predictions_of(summary, model, as_of, horizons,
                                     scores if inputs is not None else None)
        clv = clv_sums(predictions, not isinstance(model, NotEnoughHistory))
    sums = ShopSums(cohort_sizes=CohortSizes.model_validate(sizes.to_pydict()),
                    cohort_cells=CohortCells.model_validate(cells.to_pydict()),
                    curve=CurveCounts.model_validate(curve.to_pydict()), clv=clv,
                    holdout_actual=actual, segments=list(members),
                    revenue=RevenueSums.model_validate(revenue.to_pydict()))
    return ShopShard(sums, calibration, membership_patterns(members), predictions)


# ------------------------------------------------------------- the shop's payloads


def cohorts_payload(parts: Sequence[ShopShard], as_of: date) -> dict[str, Any]:
    """``reports.cohorts_payload`` from the shards' cohort sums."""
    sizes, cells = cohorts.add_cohort_sums([
        (pa.table(p.sums.cohort_sizes.model_dump(), schema=cohorts.COHORT_SIZES_SCHEMA),
         pa.table(p.sums.cohort_cells.model_dump(), schema=cohorts.COHORT_CELLS_SCHEMA))
        for p in parts])
    return reports.cohorts_payload_of(cohorts.cohort_summary_of_sums(sizes),
                                      cohorts.cohort_ltv_of_sums(sizes, cells, as_of), as_of)


def time_to_next_order_payload(parts: Sequence[ShopShard], as_of: date) -> dict[str, Any]:
    """``reports.time_to_next_order_payload`` from the shards' curve counts."""
    counts = cohorts.add_curve_counts([pa.table(p.sums.curve.model_dump(),
                                                schema=cohorts.CURVE_COUNTS_SCHEMA)
                                       for p in parts])
    return {"as_of": as_of.isoformat(),
            "curve": reports.table_rows(cohorts.curve_of_counts(counts))}


def holdout_payload(parts: Sequence[ShopShard], as_of: date) -> dict[str, Any]:
    """``clv_holdout.holdout_check`` from the shards' calibration counts."""
    calibration, actual = add_holdout_sums([(p.calibration.cast(CALIBRATION_SCHEMA),
                                             p.sums.holdout_actual) for p in parts])
    return holdout_of_sums(calibration, actual, as_of, HOLDOUT_DAYS)


def revenue_month_payloads(parts: Sequence[ShopShard], as_of: date
                           ) -> dict[str, dict[str, Any]]:
    """``reports.shop_revenue_month_payloads`` from the shards' exact month sums."""
    sums = add_revenue_sums([p.sums.revenue.table()
                             for p in parts])
    return reports.revenue_month_payloads_of_sums(sums.cast(REVENUE_SUMS_SCHEMA), as_of)


def clv_sums_of(parts: Sequence[ShopShard]) -> ClvSums:
    """The shards' CLV sums added; LookupError when a shard has none (no day model)."""
    if any(p.sums.clv is None for p in parts):
        raise LookupError("the day's purchase model was not applied in every shard")
    return add_clv_sums([p.sums.clv for p in parts if p.sums.clv is not None])
