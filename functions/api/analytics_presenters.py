"""Stored analytics payloads (JSON written by the metrics function) -> response bodies.

The payload formats are those of ``seglift.analytics.reports``; money there is a decimal
string and becomes ``{"amount", "currency"}`` here with the shop's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from api.analytics_models import (
    BgNbdOut,
    ClvHorizonOut,
    ClvOut,
    ClvSummaryOut,
    CohortLtvCell,
    CohortOut,
    FunnelDay,
    FunnelStage,
    GammaGammaOut,
    HoldoutOut,
    JourneyOut,
    OverlapOut,
    OverlapPair,
    ReorderPoint,
    RevenuePart,
    RevenuePoint,
    SegmentProfileOut,
    TraitOut,
    TransitionCell,
)
from api.models import Money


def money(amount: Any, currency: str) -> Money:
    return Money(amount=str(amount), currency=currency)


def optional_money(amount: Any, currency: str) -> Money | None:
    return None if amount is None else money(amount, currency)


def trait_out(row: Mapping[str, Any]) -> TraitOut:
    """A stored trait row; a product journey's second product is its ``value``."""
    fields = dict(row)
    if "value" not in fields and "product_id" in fields:
        fields["value"] = fields.pop("product_id")
    return TraitOut.model_validate({k: (None if v is None else (str(v) if k in _TEXT else v))
                                    for k, v in fields.items() if k in TraitOut.model_fields})


def profile_out(segment_id: str, item: Any) -> SegmentProfileOut:
    payload = item.payload
    traits = {name: [trait_out(row) for row in rows]
              for name, rows in payload.get("traits", {}).items()}
    return SegmentProfileOut(segment_id=segment_id, day=date.fromisoformat(item.sort_key),
                             member_count=int(payload.get("member_count", 0)),
                             top=int(payload.get("top", 0)), traits=traits)


_TEXT = ("value", "title", "first_product_id", "first_title")


def revenue_point(item: Any, currency: str) -> RevenuePoint:
    p = item.payload

    def part(orders: str, net: str) -> RevenuePart:
        return RevenuePart(orders=int(p[orders]), net_sales=money(p[net], currency))

    return RevenuePoint(
        period=item.sort_key,
        new=part("new_orders", "new_net_sales"),
        returning=part("returning_orders", "returning_net_sales"),
        total=part("orders", "net_sales"),
        as_of=date.fromisoformat(p["as_of"]),
    )


def cohort_out(row: Mapping[str, Any], currency: str) -> CohortOut:
    return CohortOut(cohort=row["cohort"], customers=int(row["customers"]),
                     net_sales=money(row["net_sales"], currency),
                     ltv=money(row["ltv"], currency), repeat_rate=str(row["repeat_rate"]))


def ltv_cell(row: Mapping[str, Any], currency: str) -> CohortLtvCell:
    return CohortLtvCell(cohort=row["cohort"], months_since_first=int(row["months_since_first"]),
                         cumulative_ltv=money(row["cumulative_ltv"], currency))


def reorder_point(row: Mapping[str, Any]) -> ReorderPoint:
    return ReorderPoint(days=int(row["days"]), customers=int(row["customers"]),
                        reordered=int(row["reordered"]), share=str(row["share"]))


def clv_out(item: Any, currency: str) -> ClvOut:
    p = item.payload
    summary = p.get("summary")
    return ClvOut(
        as_of=date.fromisoformat(p.get("as_of", item.sort_key)),
        status=p.get("status", "fitted"),
        reason=p.get("reason"),
        warnings=list(p.get("warnings") or []),
        holdout=HoldoutOut(**p["holdout"]) if p.get("holdout") else None,
        bgnbd=BgNbdOut(**p["bgnbd"]) if p.get("bgnbd") else None,
        gamma_gamma=GammaGammaOut(**p["gamma_gamma"]) if p.get("gamma_gamma") else None,
        summary=None if not summary else ClvSummaryOut(
            customers=int(summary["customers"]),
            mean_p_alive=summary.get("mean_p_alive"),
            likely_alive=int(summary.get("likely_alive", 0)),
            mean_expected_order_value=optional_money(
                summary.get("mean_expected_order_value"), currency),
            horizons=[ClvHorizonOut(
                days=int(h["days"]), mean_expected_purchases=h.get("mean_expected_purchases"),
                total_clv=optional_money(h.get("total_clv"), currency),
                mean_clv=optional_money(h.get("mean_clv"), currency),
            ) for h in summary.get("horizons", [])],
        ),
    )


def overlap_out(item: Any, wanted: Sequence[str]) -> OverlapOut:
    p = item.payload
    at = {segment_id: i for i, segment_id in enumerate(p["segment_ids"])}
    matrix = p["overlap"]
    pairs = []
    for a in wanted:  # a handful of segments asked for
        for b in wanted:
            both = int(matrix[at[a]][at[b]])
            size = int(matrix[at[a]][at[a]])
            pairs.append(OverlapPair(segment_a=a, segment_b=b, overlap=both,
                                     share_of_a=both / size if size else None))
    return OverlapOut(day=date.fromisoformat(item.sort_key), segment_ids=list(wanted),
                      sizes={s: int(matrix[at[s]][at[s]]) for s in wanted}, pairs=pairs)


def journey_out(record: Any) -> JourneyOut:
    return JourneyOut(id=record.journey_id, name=record.name, stages=list(record.stages),
                      created_at=record.created_at)


def transition_cells(payload: Mapping[str, Any], currency: str) -> list[TransitionCell]:
    return [TransitionCell(from_stage=c["from_stage"], to_stage=c["to_stage"],
                           customers=int(c["customers"]),
                           net_sales=money(c["net_sales"], currency))
            for c in payload.get("cells", [])]


def funnel_day(item: Any) -> FunnelDay:
    return FunnelDay(day=date.fromisoformat(item.sort_key), stages=[
        FunnelStage(segment_id=s["segment_id"], reached=int(s["reached"]),
                    conversion=s.get("conversion"))
        for s in item.payload.get("stages", [])
    ])
