"""Daily metrics and segment features for 50 segments, against DuckDB on the same Parquet.

Setup (not timed, its own process): the benchmarks' generated store (``bench.store_cache``,
100,000 and 1,000,000 customers, quick 5,000) as lake Parquet; the first 50 templates
(instantiated from the data as in the segments benchmark) evaluated by the segment engine
and written as membership snapshots.

Timed, each side in a fresh process so its peak memory is its own, medians of 3:

- ours: read the lake into Arrow, build the day's shared parts once (the counted orders of
  every customer, ``ProfileBase``), then for every segment ``daily_metrics_of_counted``
  and ``profile_of`` (every daily metric and the seven feature tables with share and lift);
- the peer: DuckDB loading the same Parquet, materialising the same day tables, and
  computing every figure per segment in SQL (``bench.analytics_peer``).

The two answers are compared figure by figure before any number is reported, so the
benchmark can never time a wrong result. A last record times fitting BG/NBD +
Gamma-Gamma and predicting every customer's CLV (no peer).
"""

from __future__ import annotations

import math
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bench import analytics_peer
from bench.records import BenchRecord, median_seconds, run_isolated
from bench.segments_bench import instantiated_templates, read_lake, template_parameters
from bench.store_cache import bench_spec, lake_parquet
from seglift.analytics.clv import predict_clv
from seglift.analytics.profile import ProfileBase, profile_of
from seglift.metrics.daily import daily_metrics_of_counted
from seglift.metrics.orders import counted_orders
from seglift.segments.compiler import evaluate
from seglift.segments.features import compute_features

WINDOW = 90
SEGMENTS = 50
ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "cancelled_at", "total_price",
                 "first_visit_source", "utm_campaign"]


def _as_of(customers: int) -> tuple[date, str]:
    spec = bench_spec(customers)
    return spec.end.astimezone(ZoneInfo(spec.timezone)).date() - timedelta(days=1), spec.timezone


def write_segments(customers: int, folder: str) -> list[str]:
    """Setup process: the first ``SEGMENTS`` templates' members as snapshot files."""
    tables, tz, as_of = read_lake(customers)
    features = compute_features(tables, as_of, tz)
    conditions = instantiated_templates(template_parameters(tables, features))
    names = list(conditions)[:SEGMENTS]
    for name in names:
        ids = evaluate(conditions[name], features, tables, as_of, tz)
        pq.write_table(pa.table({"customer_id": ids}), Path(folder) / f"{name}.parquet")
    return names


def run_ours(customers: int, folder: str, names: list[str]) -> dict[str, Any]:
    files = lake_parquet(customers)
    as_of, tz = _as_of(customers)
    results: dict[str, Any] = {}

    def all_segments() -> None:
        orders = pq.read_table(files["orders"], columns=ORDER_COLUMNS)
        refunds = pq.read_table(files["refunds"], columns=["order_id", "created_at", "amount"])
        people = pq.read_table(files["customers"], columns=[
            "customer_id", "created_at", "country_code", "province_code"])
        items = pq.read_table(files["line_items"], columns=["order_id", "product_id"])
        counted = counted_orders(None, orders, refunds, as_of, tz)
        base = ProfileBase.build(people, orders, items, refunds, as_of, tz)
        for name in names:
            members = pq.read_table(Path(folder) / f"{name}.parquet")
            results[name] = {
                "metrics": daily_metrics_of_counted(members, counted, as_of,
                                                    conversion_window_days=WINDOW).as_values(),
                "profile": {k: t.to_pylist() for k, t in profile_of(base, members).items()},
            }

    seconds = median_seconds(all_segments, repeats=3)
    return {"seconds": seconds, "results": results,
            "orders": pq.ParquetFile(files["orders"]).metadata.num_rows}


def run_duckdb(customers: int, folder: str, names: list[str]) -> dict[str, Any]:
    files = {k: str(v) for k, v in lake_parquet(customers).items()}
    as_of, tz = _as_of(customers)
    results: dict[str, Any] = {}

    def all_segments() -> None:
        con = duckdb.connect()
        analytics_peer.load(con, files)
        analytics_peer.prepare_day(con, as_of, tz)
        for name in names:
            results[name] = analytics_peer.segment_figures(
                con, str(Path(folder) / f"{name}.parquet"), as_of, WINDOW)
        con.close()

    seconds = median_seconds(all_segments, repeats=3)
    return {"seconds": seconds, "results": results}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _metric_problems(m: dict[str, Any], p: dict[str, Any]) -> list[str]:
    problems = []
    if (m["member_count"], m["order_count"]) != (p["member_count"], p["order_count"]):
        problems.append("counts")
    for name in ("net_sales", "revenue_of_day"):
        if m[name] != Decimal(p[name]).quantize(Decimal("0.01")):
            problems.append(name)
    if m["member_count"] and abs(float(m["repeat_rate"]) - p["repeaters"] / m["member_count"]
                                 ) > 1e-4:
        problems.append("repeat_rate")
    if p["interval_days"] is not None and abs(
            float(m["avg_purchase_interval_days"]) - p["interval_days"]) > 0.006:
        problems.append("avg_purchase_interval_days")
    f2 = m[f"f2_conversion_{WINDOW}d"]
    if p["f2_base"] and abs(float(f2) - p["f2_hits"] / p["f2_base"]) > 1e-4:
        problems.append("f2_conversion")
    return problems


def profile_problems(ours: dict[str, list[dict[str, Any]]],
                     peer: dict[str, list[tuple]]) -> list[str]:
    """Where our segment profile and the peer's differ: every trait of either side, row by
    row, keys compared as text (the peer's SQL may type an id differently), shares to 1e-9."""
    problems = []
    for trait in sorted(set(ours) | set(peer)):
        rows, theirs = ours.get(trait, []), peer.get(trait, [])
        if len(rows) != len(theirs):
            problems.append(f"{trait}: {len(rows)} rows vs {len(theirs)}")
            continue
        for row, other in zip(rows, theirs, strict=True):
            mine = ([row["first_product_id"], row["product_id"]]
                    if trait == "product_journeys" else [row["value"]])
            if ([str(v) for v in mine] != [str(v) for v in other[:-4]]
                    or row["segment_customers"] != other[-4]
                    or row["all_customers"] != other[-2]
                    or not _close(row["segment_share"], other[-3])
                    or not _close(row["all_share"], other[-1])):
                problems.append(f"{trait}: {row} vs {other}")
                break
    return problems


def check_same_figures(ours: dict[str, Any], peer: dict[str, Any]) -> None:
    """Same figures for every segment, or the benchmark refuses to report."""
    for name, mine in ours.items():
        problems = (_metric_problems(mine["metrics"], peer[name]["metrics"])
                    + profile_problems(mine["profile"], peer[name]["profile"]))
        if problems:
            raise AssertionError(f"segment {name}: ours and DuckDB disagree: {problems}")


def time_clv(customers: int) -> float:
    files = lake_parquet(customers)
    as_of, tz = _as_of(customers)
    orders = pq.read_table(files["orders"])
    refunds = pq.read_table(files["refunds"])
    return median_seconds(lambda: predict_clv(orders, refunds, as_of, tz=tz), repeats=1)


def _measure(customers: int) -> list[BenchRecord]:
    lake_parquet(customers)
    with tempfile.TemporaryDirectory(prefix="metrics-bench-") as folder:
        _, _, written = run_isolated(write_segments, customers, folder)
        names: list[str] = written  # type: ignore[assignment]
        _, ours_mb, ours_result = run_isolated(run_ours, customers, folder, names)
        _, peer_mb, peer_result = run_isolated(run_duckdb, customers, folder, names)
    ours: dict[str, Any] = ours_result  # type: ignore[assignment]
    peer: dict[str, Any] = peer_result  # type: ignore[assignment]
    check_same_figures(ours["results"], peer["results"])
    _, _, clv_result = run_isolated(time_clv, customers)
    clv_seconds: float = clv_result  # type: ignore[assignment]
    label = f"metrics daily and features {customers} customers {len(names)} segments"
    return [
        BenchRecord.against(f"{label} time", ours["seconds"], "s", "duckdb",
                            peer["seconds"]),
        BenchRecord.against(f"{label} peak RSS", ours_mb, "MB", "duckdb", peer_mb),
        BenchRecord(f"{label} orders", float(ours["orders"]), "orders"),
        BenchRecord(f"metrics clv fit and predict {customers} customers", clv_seconds, "s"),
    ]


def benchmarks(quick: bool) -> list[BenchRecord]:
    sizes = (5_000,) if quick else (100_000, 1_000_000)
    return [record for size in sizes for record in _measure(size)]
