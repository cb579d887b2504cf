"""The purchase model's per-customer predictions as customer features.

Why features: a merchant acts on predictions by segmenting on them ("likely to churn",
"high predicted value", "due for a next order"), so they are columns of the features table
every condition is evaluated against, the features file exports read, and the rows the
API pages through (``seglift.analytics.clv`` has the models and formulas).

The fit is a whole-shop figure, the predictions are per customer. So, in the sharded
day-run (``seglift.dayrun.compute``):

1. each shard computes its customers' model inputs (``model_inputs``: frequency, recency,
   age and repeat order value, ``clv.rfm_summary``) and from them the fit's sufficient
   statistics (``model_counts``: the value counts of (frequency, recency, age) and of the
   repeat buyers' (frequency, repeat order value));
2. the context step adds every shard's counts (``add_model_counts``) and fits once
   (``fit_model_counts``, ``clv.fit_clv_counts``): the fit is a function of the added
   counts alone, so one shard and many give the same parameters, to the bit, and the
   step holds counts (hundreds of thousands of rows per million customers), never every
   customer's inputs;
3. each shard applies them to its customers (``with_predictions``), elementwise.

Columns (null for customers without counted orders, and for everyone while the shop's
history cannot support the model: ``PredictionModel.reason`` says why):

- ``chance_active``: 100 x P(alive), rounded to 0.01;
- ``predicted_purchases_<h>d``: expected purchase days in the next h days (3 decimals);
- ``predicted_order_value``: Gamma-Gamma's expected order value;
- ``predicted_value_<h>d``: expected purchases x order value (unrounded purchases), money;
- ``expected_next_order_date`` / ``days_to_expected_order``: the as-of day plus the median
  wait to the next purchase of a customer still active (read it with ``chance_active``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.analytics.clv import (
    DEFAULT_HORIZONS,
    BgNbdParams,
    ClvModel,
    CustomerScores,
    GammaGammaParams,
    NotEnoughHistory,
    fit_clv_counts,
    rfm_summary,
)
from seglift.analytics.reports import history_warnings
from seglift.segments.features import FEATURES_SCHEMA, PREDICTION_FEATURES
from seglift.segments.tables import LakeTables

PURCHASE_HORIZONS = (30, 90, 365)
VALUE_HORIZONS = (90, 365)
# Every horizon a day's shard scores once: the features' and the CLV predictions'.
SCORE_HORIZONS = tuple(sorted({*PURCHASE_HORIZONS, *DEFAULT_HORIZONS}))
INPUT_COLUMNS = ("customer_id", "frequency", "recency", "age", "monetary")
INPUTS_SCHEMA = pa.schema([
    pa.field("customer_id", pa.int64()), pa.field("frequency", pa.int64()),
    pa.field("recency", pa.int64()), pa.field("age", pa.int64()),
    pa.field("monetary", pa.float64()),
])
# The fit's sufficient statistics (``ModelCounts``).
PURCHASE_KEYS = ("frequency", "recency", "age")
PURCHASE_COUNTS_SCHEMA = pa.schema([  # int32: 16 bytes a row (counts, days: far below 2**31)
    pa.field("frequency", pa.int32()), pa.field("recency", pa.int32()),
    pa.field("age", pa.int32()), pa.field("customers", pa.int32()),
])
ORDER_VALUE_KEYS = ("frequency", "monetary")
ORDER_VALUE_COUNTS_SCHEMA = pa.schema([
    pa.field("frequency", pa.int32()), pa.field("monetary", pa.float64()),
    pa.field("customers", pa.int32()),
])


class FittedBgNbd(BaseModel):
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


class FittedGammaGamma(BaseModel):
    p: float
    q: float
    v: float
    log_likelihood: float


class PredictionModel(BaseModel):
    """The shop's fitted model as the day-run's context carries it (JSON between
    invocations: floats round-trip exactly). ``bgnbd`` None: no predictions, ``reason``
    says why in words; ``gamma_gamma`` None: purchases are predicted, money is not."""

    bgnbd: FittedBgNbd | None = None
    gamma_gamma: FittedGammaGamma | None = None
    reason: str | None = None
    customers: int = 0  # customers with orders the model was fitted on
    repeat_buyers: int = 0

    @classmethod
    def of(cls, fitted: ClvModel | NotEnoughHistory, customers: int,
           repeat_buyers: int) -> PredictionModel:
        if isinstance(fitted, NotEnoughHistory):
            return cls(reason=fitted.reason, customers=customers, repeat_buyers=repeat_buyers)
        gg = fitted.gamma_gamma
        problem = fitted.gamma_gamma_problem
        return cls(
            bgnbd=FittedBgNbd(**vars(fitted.bgnbd)),
            gamma_gamma=None if gg is None else FittedGammaGamma(**vars(gg)),
            reason=None if problem is None else problem.reason,
            customers=customers, repeat_buyers=repeat_buyers)

    def clv_model(self) -> ClvModel | NotEnoughHistory:
        """The same model as ``seglift.analytics.clv``'s types (the analytics step's)."""
        bg = self.bgnbd_params()
        if bg is None:
            return NotEnoughHistory(self.reason or "the model could not be fitted",
                                    self.customers, self.repeat_buyers)
        gg = self.gamma_gamma_params()
        problem = None if gg is not None else NotEnoughHistory(
            self.reason or "order values could not be modelled", self.customers,
            self.repeat_buyers)
        return ClvModel(bg, gg, problem)

    def bgnbd_params(self) -> BgNbdParams | None:
        return None if self.bgnbd is None else BgNbdParams(**self.bgnbd.model_dump())

    def gamma_gamma_params(self) -> GammaGammaParams | None:
        return None if self.gamma_gamma is None else GammaGammaParams(
            **self.gamma_gamma.model_dump())


def model_inputs(tables: LakeTables, as_of: date, tz: str = "UTC",
                 counted: pa.Table | None = None) -> pa.Table:
    """The model's inputs for the customers of ``tables`` (a shard or the shop) who have
    counted orders, sorted by customer id (``INPUTS_SCHEMA``). ``counted``: their
    ``metrics.orders.counted_orders(None, ...)`` as of the day, when the caller has it."""
    summary = rfm_summary(tables.orders, tables.refunds, as_of, tz, counted=counted)
    return pa.Table.from_arrays(
        [pc.cast(summary[c], INPUTS_SCHEMA.field(c).type) for c in INPUT_COLUMNS],
        schema=INPUTS_SCHEMA)


@dataclass(frozen=True)
class ModelCounts:
    """The model fit's sufficient statistics over some customers (one shard's, or the
    shop's once added): ``purchases``, the value counts of every customer's (frequency,
    recency, age) (``PURCHASE_COUNTS_SCHEMA``), what BG/NBD is fitted on; and
    ``order_values``, those of the repeat buyers' (frequency, monetary) where the repeat
    order value is positive (``ORDER_VALUE_COUNTS_SCHEMA``), what Gamma-Gamma is fitted
    on. A shop's are its shards' added (each customer is in exactly one shard); a row may
    appear more than once (once per shard), the fit adds equal rows up."""

    purchases: pa.Table
    order_values: pa.Table


def model_counts(inputs: pa.Table) -> ModelCounts:
    """The sufficient statistics of ``model_inputs`` (a shard's or the shop's)."""
    purchases = _counted(inputs, PURCHASE_KEYS, PURCHASE_COUNTS_SCHEMA)
    monetary = inputs["monetary"]
    repeat = pc.and_(pc.greater(inputs["frequency"], 0), pc.and_(
        pc.is_finite(monetary), pc.greater(monetary, 0.0)))
    values = _counted(inputs.filter(pc.fill_null(repeat, False)), ORDER_VALUE_KEYS,
                      ORDER_VALUE_COUNTS_SCHEMA)
    return ModelCounts(purchases, values)


def _counted(rows: pa.Table, keys: Sequence[str], schema: pa.Schema) -> pa.Table:
    counts = rows.group_by(list(keys), use_threads=False).aggregate([("customer_id", "count")])
    return pa.Table.from_arrays([pc.cast(counts[k], schema.field(k).type) for k in keys]
                                + [pc.cast(counts["customer_id_count"], pa.int64())],
                                schema=schema)


class ModelCountsAdder:
    """Shards' ``ModelCounts`` added one part at a time: their rows are kept side by side
    (16 bytes a row) and the fit merges equal rows once, as it puts every row in its
    canonical order (``clv.value_counts``). Merging here as the parts come would cost
    more than it saves: one shard's rows are mostly distinct from another's (at
    1,000,000 customers, 16 shards' 519,000 (frequency, recency, age) rows are 366,000
    distinct ones, and the repeat buyers' 444,000 (frequency, monetary) rows 254,000)."""

    def __init__(self) -> None:
        self._purchases: list[pa.Table] = []
        self._values: list[pa.Table] = []

    def add(self, part: ModelCounts) -> None:
        self._purchases.append(part.purchases.cast(PURCHASE_COUNTS_SCHEMA))
        self._values.append(part.order_values.cast(ORDER_VALUE_COUNTS_SCHEMA))

    def total(self) -> ModelCounts:
        return ModelCounts(_joined(self._purchases, PURCHASE_COUNTS_SCHEMA),
                           _joined(self._values, ORDER_VALUE_COUNTS_SCHEMA))


def _joined(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(parts).combine_chunks() if parts else schema.empty_table()


def add_model_counts(parts: Iterable[ModelCounts]) -> ModelCounts:
    """Shards' ``ModelCounts`` added (``ModelCountsAdder``)."""
    adder = ModelCountsAdder()
    for part in parts:
        adder.add(part)
    return adder.total()


def fit_model_counts(counts: ModelCounts) -> PredictionModel:
    """The shop's model from its (added) ``ModelCounts``, or the reason there is none."""
    def numbers(table: pa.Table, name: str) -> np.ndarray:
        return table[name].to_numpy()  # in its own type (zero-copy): the fit converts rows

    bought, values = counts.purchases, counts.order_values
    customers, x = numbers(bought, "customers"), numbers(bought, "frequency")
    fitted = fit_clv_counts(
        x, numbers(bought, "recency"), numbers(bought, "age"), customers,
        numbers(values, "frequency"), numbers(values, "monetary"),
        numbers(values, "customers"))
    return PredictionModel.of(fitted, int(customers.sum(dtype=np.int64)),
                              int(customers[x > 0].sum(dtype=np.int64)))


def fit_predictions(parts: Sequence[pa.Table]) -> PredictionModel:
    """The shop's model from every shard's ``model_inputs`` (or the reason there is none):
    their counts added and fitted, as the day-run's context step fits them."""
    return fit_model_counts(add_model_counts(model_counts(p) for p in parts))


def _numbers(inputs: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    def column(name: str) -> np.ndarray:
        return inputs[name].to_numpy().astype(float) if inputs.num_rows else np.zeros(0)

    m = (inputs["monetary"].to_numpy(zero_copy_only=False).astype(float)
         if inputs.num_rows else np.zeros(0))
    return column("frequency"), column("recency"), column("age"), m


def model_scores(inputs: pa.Table, model: PredictionModel,
                 horizons: Sequence[int] = SCORE_HORIZONS) -> CustomerScores | None:
    """``model`` applied to the customers of ``inputs`` (None: no model), for the
    prediction features and the CLV predictions of the same customers alike."""
    bg = model.bgnbd_params()
    if bg is None:
        return None
    x, t_x, T, m = _numbers(inputs)
    return CustomerScores.of(bg, model.gamma_gamma_params(), x, t_x, T, m, horizons)


def prediction_columns(inputs: pa.Table, model: PredictionModel, as_of: date,
                       scores: CustomerScores | None = None) -> dict[str, pa.Array]:
    """Each prediction column for the customers of ``inputs`` (in its row order);
    ``scores``: ``model_scores`` of the same, when the caller has them."""
    rows = inputs.num_rows
    nulls = {name: pa.nulls(rows, FEATURES_SCHEMA.field(name).type)
             for name in PREDICTION_FEATURES}
    if model.bgnbd_params() is None or rows == 0:
        return nulls
    if scores is None or any(h not in scores.purchases for h in PURCHASE_HORIZONS):
        scores = model_scores(inputs, model, PURCHASE_HORIZONS)
    assert scores is not None  # the model has its BG/NBD part
    columns: dict[str, pa.Array] = dict(nulls)
    columns["chance_active"] = pa.array(np.round(100.0 * scores.p_alive, 2))
    purchases = {h: scores.purchases[h] for h in PURCHASE_HORIZONS}
    for h, values in purchases.items():
        columns[f"predicted_purchases_{h}d"] = pa.array(np.round(values, 3))
    if model.gamma_gamma_params() is not None:
        value = scores.order_value
        columns["predicted_order_value"] = _money(value)
        for h in VALUE_HORIZONS:
            columns[f"predicted_value_{h}d"] = _money(purchases[h] * value)
    wait = np.rint(scores.wait)
    finite = np.isfinite(wait)
    days = pa.array(np.where(finite, wait, 0).astype("int64"), mask=~finite)
    columns["days_to_expected_order"] = days
    base = np.datetime64(as_of.isoformat(), "D")
    dates = base + np.where(finite, wait, 0).astype("int64").astype("timedelta64[D]")
    columns["expected_next_order_date"] = pa.array(dates, pa.date32(), mask=~finite)
    return columns


def with_predictions(features: pa.Table, inputs: pa.Table, model: PredictionModel,
                     as_of: date, scores: CustomerScores | None = None) -> pa.Table:
    """``features`` (one shard's or the shop's) with its prediction columns filled from
    ``model`` and the same customers' ``model_inputs``; customers without orders stay null.
    ``scores``: ``model_scores(inputs, model)`` when the caller has them."""
    columns = prediction_columns(inputs, model, as_of, scores)
    position = pc.index_in(features["customer_id"], value_set=inputs["customer_id"]
                           .combine_chunks())
    for name in PREDICTION_FEATURES:
        at = features.schema.get_field_index(name)
        field = features.schema.field(at)
        values = pc.take(columns[name], position)
        features = features.set_column(at, field, pc.cast(values, field.type))
    return features


def _money(values: np.ndarray) -> pa.Array:
    """Estimates as money: rounded half-to-even to cents, null where undefined."""
    finite = np.isfinite(values)
    rounded = np.round(np.where(finite, values, 0.0), 2)
    return pc.cast(pc.cast(pa.array(rounded, mask=~finite), pa.decimal128(18, 2)),
                   FEATURES_SCHEMA.field("predicted_order_value").type)


def names_prediction_feature(condition: Any) -> bool:
    """Whether a condition (any node shape) compares a prediction feature: a day-run
    that only evaluates such conditions needs the model fitted, others need not."""
    if isinstance(condition, dict):
        if condition.get("feature") in PREDICTION_FEATURES:
            return True
        return any(names_prediction_feature(v) for v in condition.values())
    if isinstance(condition, list):
        return any(names_prediction_feature(v) for v in condition)
    return False


# The features table of one process (``dayrun.compute.day_features``) carries, in its
# schema metadata, why its predictions are unknown or to be read with care, so the
# editor can say so beside a count of a condition on predictions (never a silent 0).
NOTE_KEY = b"seglift.predictions"


def with_model_note(features: pa.Table, model: PredictionModel, inputs: pa.Table,
                    as_of: date) -> pa.Table:
    """``features`` with the model's reason (if any) and the history's plain warnings
    (stale, thin: ``reports.history_warnings``) in its schema metadata."""
    note = {"fitted": model.bgnbd is not None, "reason": model.reason,
            "warnings": history_warnings(inputs, as_of)}
    metadata = dict(features.schema.metadata or {})
    metadata[NOTE_KEY] = json.dumps(note).encode()
    return features.replace_schema_metadata(metadata)


def model_note(features: pa.Table) -> dict[str, Any] | None:
    """The note ``with_model_note`` left: ``{"fitted", "reason", "warnings"}`` (None:
    the prediction features were not filled)."""
    raw = (features.schema.metadata or {}).get(NOTE_KEY)
    return None if raw is None else dict(json.loads(raw))


def prediction_notes(features: pa.Table) -> list[str]:
    """What a merchant should know before trusting a count of a condition on predictions,
    in words: the model is missing (and why), or its history is stale or thin."""
    raw = (features.schema.metadata or {}).get(NOTE_KEY)
    if raw is None:
        return []
    note = json.loads(raw)
    notes = []
    if not note.get("fitted"):
        notes.append("Predictions are not available for this shop yet, so rules on them "
                     f"select nobody: {note.get('reason') or 'the model could not be fitted'}.")
    notes.extend(note.get("warnings") or [])
    return notes
