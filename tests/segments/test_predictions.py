"""Prediction features: every value against a brute-force reference (plain Python and
mpmath, from the store's own rows and the published formulas), the same features in one
shard and many, the model carried exactly between the day-run's invocations, and the
templates that use them."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import mpmath
import pyarrow as pa
import pytest

from seglift.analytics.clv import fit_clv_model, forecast_clv
from seglift.dayrun.compute import (
    DayContext,
    compute_day,
    day_context,
    day_features,
    shard_features,
)
from seglift.dayrun.shards import shard_tables
from seglift.segments.compiler import evaluate
from seglift.segments.conditions import validate_condition
from seglift.segments.features import PREDICTION_FEATURES, compute_features
from seglift.segments.predictions import names_prediction_feature, prediction_notes
from seglift.segments.templates import instantiate_template, list_templates
from tests.segments.prediction_store import AS_OF, modelled_store, reference_inputs


@pytest.fixture(scope="module")
def shop():
    store = modelled_store()
    tables = store.tables()
    features = day_features(tables, AS_OF)
    return store, tables, features


def _rows(features: pa.Table) -> dict[int, dict]:
    return {r["customer_id"]: r for r in features.to_pylist()}


def _expected_purchases(r, alpha, a, b, x, t_x, T, t):
    """FHL 2005 equation (10), with mpmath's own 2F1 (no Euler transformation)."""
    mp = mpmath.mpf
    z = mp(t) / (alpha + T + t)
    hyp = mpmath.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / mp(a - 1)
    body = 1 - ((alpha + T) / mp(alpha + T + t)) ** (r + x) * hyp
    odds = a / mp(b + x - 1) * ((alpha + T) / mp(alpha + t_x)) ** (r + x) if x > 0 else 0
    return float(head * body / (1 + odds))


def test_the_model_is_fitted_on_the_shops_inputs_as_the_analytics_step_fits_it(shop):
    store, tables, _ = shop
    reference = reference_inputs(store, AS_OF)
    first = shard_features(tables, AS_OF)
    inputs = {r["customer_id"]: r for r in first.inputs.to_pylist()}
    assert set(inputs) == set(reference)
    for customer, want in reference.items():
        got = inputs[customer]
        assert (got["frequency"], got["recency"], got["age"]) == (
            want["x"], want["t_x"], want["T"]), customer
        if want["m"] is None:
            assert got["monetary"] is None
        else:
            assert got["monetary"] == pytest.approx(want["m"], rel=1e-12)
    analytics = forecast_clv(tables.orders, tables.refunds, AS_OF).model
    for shards in (1, 4):  # the day-run's fit is the analytics step's, to the bit
        parts = [shard_features(shard_tables(tables, k, shards), AS_OF).stats
                 for k in range(shards)]
        model = day_context(parts).predictions
        assert model.bgnbd.model_dump() == vars(analytics.bgnbd)
        assert model.gamma_gamma.model_dump() == vars(analytics.gamma_gamma)
    ids = sorted(reference)
    x, t_x, T = ([float(reference[c][k]) for c in ids] for k in ("x", "t_x", "T"))
    m = [math.nan if reference[c]["m"] is None else reference[c]["m"] for c in ids]
    brute = fit_clv_model(*(pa.array(v).to_numpy() for v in (x, t_x, T, m)))
    assert analytics.bgnbd.r == pytest.approx(brute.bgnbd.r, rel=1e-6)
    assert analytics.gamma_gamma is not None and brute.gamma_gamma is not None
    assert analytics.gamma_gamma.q == pytest.approx(brute.gamma_gamma.q, rel=1e-6)


def test_every_prediction_feature_matches_a_brute_force_reference(shop):
    store, tables, features = shop
    model = forecast_clv(tables.orders, tables.refunds, AS_OF).model
    bg, gg = model.bgnbd, model.gamma_gamma
    r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
    p, q, v = gg.p, gg.q, gg.v
    reference = reference_inputs(store, AS_OF)
    rows = _rows(features)
    assert len(rows) == 320  # the customer created after the day is not one yet
    checked = 0
    for customer, row in rows.items():
        if customer not in reference:  # no counted order: nothing to predict
            assert all(row[name] is None for name in PREDICTION_FEATURES), customer
            continue
        ref = reference[customer]
        x, t_x, T, m = ref["x"], ref["t_x"], ref["T"], ref["m"]
        alive = 1.0 if x == 0 else 1.0 / (1.0 + a / (b + x - 1)
                                          * ((alpha + T) / (alpha + t_x)) ** (r + x))
        assert row["chance_active"] == pytest.approx(100 * alive, abs=0.0051), customer
        purchases = {}
        for h in (30, 90, 365):
            purchases[h] = _expected_purchases(r, alpha, a, b, x, t_x, T, h)
            assert row[f"predicted_purchases_{h}d"] == pytest.approx(
                purchases[h], abs=0.00051), (customer, h)
        if x > 0 and m is not None and m > 0:
            value = p * (v + x * m) / (p * x + q - 1)
        else:
            value = p * v / (q - 1)
        assert float(row["predicted_order_value"]) == pytest.approx(value, abs=0.0051)
        for h in (90, 365):
            assert float(row[f"predicted_value_{h}d"]) == pytest.approx(
                purchases[h] * value, abs=0.0051), (customer, h)
        wait = (alpha + T) * (2 ** (1 / (r + x)) - 1)
        assert abs(row["days_to_expected_order"] - wait) <= 0.5 + 1e-9, customer
        assert row["expected_next_order_date"] == AS_OF + timedelta(
            days=row["days_to_expected_order"])
        checked += 1
    assert checked > 250
    assert sum(1 for c in reference if reference[c]["x"] > 0) >= 100


def test_predictions_are_null_when_the_history_cannot_support_the_model():
    store = modelled_store()
    tables = store.tables()
    young = AS_OF.replace(year=2024, month=1, day=20)  # three weeks of orders
    features = day_features(tables, young)
    assert features["order_count"].to_pylist().count(0) < features.num_rows
    for name in PREDICTION_FEATURES:
        assert features[name].null_count == features.num_rows, name


def test_compute_features_alone_leaves_predictions_unknown(shop):
    _, tables, _ = shop
    features = compute_features(tables, AS_OF)
    assert all(features[name].null_count == features.num_rows for name in PREDICTION_FEATURES)


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_one_shard_and_many_give_the_same_predictions_and_members(shop, shards):
    _, tables, _ = shop
    conditions = {
        "churn": instantiate_template("predicted-likely-to-churn", {}).condition,
        "value": instantiate_template("predicted-high-value", {"min_value": 100}).condition,
        "due": instantiate_template("predicted-due-next-order", {}).condition,
    }
    one = compute_day(tables, AS_OF, conditions, shards=1)
    many = compute_day(tables, AS_OF, conditions, shards=shards)
    assert _rows(one.features) == _rows(many.features)
    for segment_id in conditions:
        assert one.segments[segment_id].members.to_pylist() == \
            many.segments[segment_id].members.to_pylist()
        assert one.segments[segment_id].metrics == many.segments[segment_id].metrics
    assert len(one.segments["churn"].members) > 0
    assert len(one.segments["due"].members) > 0


def test_the_context_carries_the_model_between_invocations_exactly(shop):
    _, tables, _ = shop
    context = day_context([shard_features(tables, AS_OF).stats])
    assert context.predictions is not None and context.predictions.bgnbd is not None
    again = DayContext.model_validate_json(context.model_dump_json())
    assert again == context
    assert again.predictions.bgnbd.alpha == context.predictions.bgnbd.alpha


def test_the_daily_features_and_a_preview_agree(shop):
    """The day-run's features (sharded) and the editor's (``day_features``) are the same."""
    _, tables, features = shop
    day = compute_day(tables, AS_OF, {}, predictions=True, shards=3)
    assert _rows(day.features) == _rows(features)


def test_a_backfill_of_other_segments_fits_no_model(shop):
    _, tables, _ = shop
    day = compute_day(tables, AS_OF, {"buyers": {"feature": "order_count", "op": ">=",
                                                 "value": 1}}, shards=2)
    assert day.features["chance_active"].null_count == day.features.num_rows
    named = compute_day(tables, AS_OF, {"due": {"and": [
        {"feature": "order_count", "op": ">=", "value": 1},
        {"not": {"feature": "chance_active", "op": "<", "value": 50}}]}}, shards=2)
    assert named.features["chance_active"].null_count < named.features.num_rows


def test_names_prediction_feature_finds_them_anywhere_in_a_condition():
    assert names_prediction_feature({"or": [{"feature": "order_count", "op": ">", "value": 1},
                                            {"not": {"feature": "days_to_expected_order",
                                                     "op": "<=", "value": 7}}]})
    assert not names_prediction_feature({"feature": "order_count", "op": ">", "value": 1})


@pytest.mark.parametrize("template", list_templates("predictions"), ids=lambda t: t.id)
def test_prediction_templates_select_what_their_description_says(shop, template):
    _, tables, features = shop
    instance = instantiate_template(template.id, {})
    condition = validate_condition(instance.condition)
    members = set(evaluate(condition, features, tables, AS_OF).to_pylist())
    rows = _rows(features)
    params = {p.name: p.default for p in template.parameters}
    expected = {c for c, r in rows.items() if _template_rule(template.id, r, params)}
    assert members == expected
    assert members, template.id


def _template_rule(template_id: str, row: dict, params: dict) -> bool:
    """Each prediction template's story in plain Python (unknown values select nobody)."""
    if template_id == "predicted-likely-to-churn":
        return row["order_count"] >= 2 and row["chance_active"] is not None and \
            row["chance_active"] < params["max_chance"]
    if template_id == "predicted-high-value":
        return row["predicted_value_365d"] is not None and \
            row["predicted_value_365d"] >= Decimal(params["min_value"])
    if template_id == "predicted-due-next-order":
        return row["chance_active"] is not None and \
            row["chance_active"] >= params["min_chance"] and \
            row["days_to_expected_order"] <= params["days"]
    if template_id == "predicted-buyers-next-90-days":
        return row["predicted_purchases_90d"] is not None and \
            row["predicted_purchases_90d"] >= params["min_purchases"]
    raise AssertionError(f"no rule for {template_id}")


def test_the_editors_features_say_why_predictions_are_unknown_or_stale(shop):
    _, tables, features = shop
    assert prediction_notes(features) == []  # fitted on a fresh, long history
    young = day_features(tables, AS_OF.replace(year=2024, month=1, day=20))
    notes = prediction_notes(young)
    assert notes[0].startswith("Predictions are not available for this shop yet")
    assert "repeat buyers" in notes[0] or "customers" in notes[0]
    late = day_features(tables, AS_OF + timedelta(days=200))  # the history ended long ago
    assert any("days before" in n for n in prediction_notes(late))
    assert prediction_notes(compute_features(tables, AS_OF)) == []  # no model asked for
