"""One shard and many give the same shop analytics: cohorts, the re-order curve, the CLV
summary and holdout check, the overlap, the journeys' funnels and the store's revenue by
month, to the cent and the
count (and the same float, for the CLV's means), and the same per-customer predictions.

The ComputeShopAnalytics step merges the parts each SegmentShards invocation leaves
(``seglift.analytics.shop``); this is the proof that sharding never changes an answer, and
that the merged figures are the whole shop's (checked against the per-customer
implementations: ``journey.overlap_matrix``, ``journey.funnel``, the cohort functions).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from seglift.analytics import journey, reports
from seglift.analytics import shop as shop_analytics
from seglift.analytics.clv import BgNbdParams, ClvModel, GammaGammaParams, NotEnoughHistory
from seglift.dayrun.compute import compute_day
from seglift.dayrun.shards import shard_ids, shard_tables
from seglift.segments.predictions import fit_predictions, model_inputs
from seglift.segments.tables import LakeTables
from tests.analytics.test_clv import REFUNDS, cdnow_orders
from tests.metrics.analytics_store import RUN_DATE, shop_store
from tests.segments.strategies import AS_OF, conditions, stores

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])

# A plausible fitted model (CDNOW's parameters, in days), so random stores too small to
# fit one still have their predictions and CLV summary merged.
MODEL = ClvModel(BgNbdParams(0.243, 30.6, 0.793, 2.426, 0.0),
                 GammaGammaParams(6.25, 3.74, 15.44, 0.0))


def _payloads(tables: LakeTables, members: dict[str, pa.Array], as_of: date, shards: int,
              model: ClvModel | NotEnoughHistory, journeys: list[list[str]]
              ) -> dict[str, Any]:
    """Every stored payload of the shop step, merged from ``shards`` shards' parts."""
    parts = []
    first_order = reports.first_order_day(tables.orders)  # the day-run context's
    for k in range(shards):
        part = shard_tables(tables, k, shards)
        cut = {s: shard_ids(ids, k, shards) for s, ids in members.items()}
        parts.append(shop_analytics.shop_shard(part.orders, part.refunds, cut, as_of,
                                               model=model, first_order=first_order))
    patterns = [p.pattern_part() for p in parts]
    added = shop_analytics.merged_patterns(patterns)  # what the shop step reads
    predictions = pa.concat_tables([p.predictions for p in parts]).sort_by("customer_id")
    return {
        "cohorts": shop_analytics.cohorts_payload(parts, as_of),
        "curve": shop_analytics.time_to_next_order_payload(parts, as_of),
        "clv": shop_analytics.clv_payload(model, shop_analytics.clv_sums_of(parts), as_of,
                                          "key"),
        "holdout": shop_analytics.holdout_payload(parts, as_of),
        "overlap": shop_analytics.overlap_payload(patterns, list(members), as_of),
        "funnels": [shop_analytics.funnel_payload(patterns, stages, as_of)
                    for stages in journeys],
        "overlap added": shop_analytics.overlap_payload(added, list(members), as_of),
        "funnels added": [shop_analytics.funnel_payload(added, stages, as_of)
                          for stages in journeys],
        "parts added": len(added),
        "predictions": predictions.to_pylist(),
        "revenue": shop_analytics.revenue_month_payloads(parts, as_of),
    }


@SETTINGS
@given(store=stores(max_customers=30), segments=st.lists(conditions(), min_size=1, max_size=4),
       shards=st.integers(2, 7), as_of_shift=st.integers(-60, 30),
       journey_picks=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=3),
                              max_size=2))
def test_one_shard_and_many_give_the_same_shop_analytics(store, segments, shards,
                                                         as_of_shift, journey_picks):
    as_of = AS_OF + timedelta(days=as_of_shift)
    named = {f"s{i}": c for i, c in enumerate(segments)}
    tables = store.tables()
    day = compute_day(tables, as_of, named, shards=1, analytics=False)
    members = {s: result.members for s, result in day.segments.items()}
    ids = list(members)
    journeys = [[ids[i % len(ids)] for i in pick] for pick in journey_picks] if ids else []
    one = _payloads(tables, members, as_of, 1, MODEL, journeys)
    many = _payloads(tables, members, as_of, shards, MODEL, journeys)
    assert many.pop("parts added") == one.pop("parts added") == 1  # the shards' added
    assert one == many
    assert (many["overlap added"], many["funnels added"]) == (many["overlap"],
                                                              many["funnels"])

    # And the merged figures are the whole shop's, as the per-customer code computes them.
    orders, refunds = tables.orders, tables.refunds
    assert many["cohorts"] == reports.cohorts_payload(orders, refunds, as_of)
    assert many["curve"] == reports.time_to_next_order_payload(orders, refunds, as_of)
    assert many["revenue"] == reports.shop_revenue_month_payloads(orders, refunds, as_of)
    snapshots = {s: pa.table({"customer_id": m}) for s, m in members.items()}
    if snapshots:
        matrix = journey.overlap_matrix(snapshots)
        pairs = {(a, b): n for a, b, n in zip(*(matrix[c].to_pylist() for c in (
            "segment_a", "segment_b", "overlap")), strict=True)}
        assert many["overlap"]["overlap"] == [[pairs[(a, b)] for b in ids] for a in ids]
    for stages, payload in zip(journeys, many["funnels"], strict=True):
        expected = journey.funnel(stages, {as_of: [snapshots[s] for s in stages]})
        assert [s["reached"] for s in payload["stages"]] == expected["reached"].to_pylist()


def test_a_fitted_shop_gives_the_same_model_summary_and_holdout_in_shards():
    """CDNOW (2,357 customers, 18 months): the day's model fitted as the day-run's context
    step fits it, the CLV summary and the holdout check fitted from merged calibration
    counts, the same in 1 and 5 shards."""
    orders = cdnow_orders()
    tables = LakeTables.of(orders=orders, refunds=REFUNDS.empty_table())
    as_of = date(1998, 6, 30)
    model = fit_predictions([model_inputs(tables, as_of)]).clv_model()
    assert isinstance(model, ClvModel)
    one = _payloads(tables, {}, as_of, 1, model, [])
    many = _payloads(tables, {}, as_of, 5, model, [])
    assert one == many
    assert one["holdout"]["status"] == "checked" and one["holdout"]["customers"] == 2357
    assert one["clv"]["status"] == "fitted" and one["clv"]["summary"]["customers"] == 2357
    assert 0 < one["clv"]["summary"]["mean_p_alive"] < 1


def test_a_young_shop_is_not_fitted_in_shards_either():
    """A model refused for a thin history: null predictions and the same reason and
    warnings in any number of shards."""
    store = shop_store()
    tables = LakeTables.of(orders=store.orders_table(), refunds=store.refunds_table())
    refused = NotEnoughHistory("too young", 30, 10)
    one = _payloads(tables, {}, RUN_DATE, 1, refused, [])
    many = _payloads(tables, {}, RUN_DATE, 3, refused, [])
    assert one == many and one["clv"]["status"] == "insufficient_data"
    assert all(row["p_alive"] is None for row in one["predictions"])


def test_exact_sums_add_to_the_same_float_in_any_grouping():
    import numpy as np

    values = np.random.default_rng(7).random(10_001) * 10.0 ** np.arange(-5, 6).repeat(
        910)[:10_001]
    whole = shop_analytics.ExactSum.of(values)
    parts = shop_analytics.add_exact([shop_analytics.ExactSum.of(values[i::3])
                                      for i in range(3)])
    assert whole.mean() == parts.mean() == float(sum(map(_fraction, values)) / len(values))
    round_trip = shop_analytics.ExactSum.model_validate_json(whole.model_dump_json())
    assert round_trip == whole


def _fraction(value: float) -> Any:
    from fractions import Fraction

    return Fraction(value)
