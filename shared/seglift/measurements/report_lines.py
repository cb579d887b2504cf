"""A few lines for the demo's report: one measurement and one experiment through the API.

Duck-typed on the demo's API client (``get(path) -> dict``, ``post(path, body) -> dict``,
``follow(job) -> result`` following a 202's job to its result)
so the demo can call it without this package knowing the devkit. No pyarrow.

The demo's store is history, so the period is the 30 days up to the segment's last
evaluation: the figures show what the segment's customers bought then, as a measurement
of a campaign sent 30 days earlier would. A past period is measured with the members the
segment had when it began, so the segment's history back to the day before is computed
first (a backfill through the API, as the dashboard's "compute history" does).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

PERIOD_DAYS = 30
WAIT_SECONDS = 60.0


def _wait_for_results(api: Any, measurement_id: str, wait_seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        measurement = api.get(f"/measurements/{measurement_id}")
        if measurement.get("results") or time.monotonic() > deadline:
            return measurement
        time.sleep(0.5)


def _history(api: Any, segment: dict[str, Any], start: date, end: date,
             wait_seconds: float) -> None:
    """The condition segment's members for every day of ``start``..``end``, computed and
    awaited (a list segment's members are fixed: nothing to compute)."""
    if segment.get("kind", "condition") != "condition":
        return
    path = f"/segments/{segment['id']}/backfill"
    api.post(path, {"start": start.isoformat(), "end": end.isoformat()})
    deadline = time.monotonic() + wait_seconds
    while api.get(f"{path}?start={start}&end={end}")["status"] != "done":
        if time.monotonic() > deadline:
            return  # the measurement then says plainly which day is missing
        time.sleep(0.5)


def _money(value: dict[str, str] | None) -> str:
    return "-" if not value else f"{value['amount']} {value['currency']}"


def measurement_report_lines(api: Any, shop: str, wait_seconds: float = WAIT_SECONDS
                             ) -> list[str]:
    """Measure the largest evaluated segment and run a 2-group experiment with a holdout."""
    segments = [s for s in api.get("/segments?limit=100")["items"]
                if s.get("last_evaluated_on") and (s.get("member_count") or 0) >= 2]
    if not segments:
        return [f"measurements ({shop}): no evaluated segment with customers to measure"]
    segment = max(segments, key=lambda s: s["member_count"])
    end = date.fromisoformat(segment["last_evaluated_on"])
    first = end - timedelta(days=PERIOD_DAYS - 1)
    period = {"start": first.isoformat(), "end": end.isoformat()}
    _history(api, segment, first - timedelta(days=1), end, wait_seconds)
    created = api.post("/measurements", {
        "name": f"Demo: {segment['name']}", "segment_id": segment["id"], "period": period,
        "notes": "demo measurement of the last 30 days",
    })
    measurement = _wait_for_results(api, created["id"], wait_seconds)
    lines = [f"measurement '{measurement['name']}' {period['start']}..{period['end']} "
             f"({measurement['status']})"]
    results = measurement.get("results")
    if not results:
        lines.append("  results not computed yet")
    else:
        lines.append(
            f"  customers {results['customers']:,}, converted {results['converted']:,} "
            f"(CVR {float(results['cvr']) * 100:.2f}%), orders {results['orders']:,}, "
            f"revenue {_money(results['revenue'])}, AOV {_money(results.get('aov'))}, "
            f"per customer {_money(results.get('revenue_per_customer'))}"
        )
        for product in (results.get("products") or [])[:3]:
            lines.append(f"    {product.get('title') or product['product_id']}: "
                         f"{product['quantity']} sold to {product['customers']} customers, "
                         f"{_money(product['sales'])}")
    # A job (the split can outlast a request at a large shop): followed to the experiment.
    experiment = api.follow(api.post("/experiments", {
        "name": f"Demo A/B: {segment['name']}", "segment_id": segment["id"], "groups": 2,
        "holdout": True, "seed": 7, "stratify_by": "rfm_group", "period": period,
    }))
    for group in experiment["groups"]:
        _wait_for_results(api, group["measurement_id"], wait_seconds)
    experiment = api.get(f"/experiments/{experiment['id']}")
    sizes = ", ".join(f"{g['label']} {g['customers']:,}" for g in experiment["groups"])
    lines.append(f"experiment (seed {experiment['seed']}, stratified by RFM group): {sizes}")
    for comparison in experiment["comparisons"]:
        lines.append(f"  {comparison['group']} vs {comparison['control']}: "
                     f"{comparison['verdict']}")
    return lines
