"""Daily segment metrics over a generated store, against DuckDB on the same Parquet.

Setup (not timed): ``devkit.store.generator`` builds the store; its orders and refunds
become lake-schema Parquet files; five segments (all buyers, repeat buyers, one-time
buyers, big spenders, every third customer) become membership snapshots.

Timed, in the same run: ours reads the Parquet with pyarrow and calls
``seglift.metrics.daily.daily_metrics`` for every segment; the peer is DuckDB computing
the same figures (same definitions: counted orders, refunds by the day, shop-zone days)
in SQL from the same files. The two answers are compared figure by figure before any
number is reported, so the benchmark can never time a wrong result. A last record times
fitting BG/NBD + Gamma-Gamma and predicting every customer's CLV (no peer).
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.records import BenchRecord, median_seconds
from devkit.store.generator import StoreSpec, iter_store_chunks
from seglift.analytics.clv import predict_clv
from seglift.lake.schema import ORDERS, REFUNDS
from seglift.metrics.daily import daily_metrics
from seglift.segments.timeutil import end_of_day_utc

WINDOW = 90


def _legacy(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def _ts(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def _money(bag: dict | None) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"]) if bag else Decimal(0)


def _lake(spec: StoreSpec) -> tuple[pa.Table, pa.Table]:
    """The store's orders and refunds as lake tables (setup only: a plain record loop)."""
    orders: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    for chunk in iter_store_chunks(spec, chunk_size=20_000):
        for o in chunk.orders:
            order_id = _legacy(o["id"])
            customer = o.get("customer")
            created = _ts(o["createdAt"])
            orders.append({
                "order_id": order_id,
                "customer_id": _legacy(customer["id"]) if customer else None,
                "created_at": created, "updated_at": _ts(o["updatedAt"]),
                "cancelled_at": _ts(o.get("cancelledAt")),
                "total_price": _money(o["totalPriceSet"]),
                "total_refunded": _money(o.get("totalRefundedSet")),
            })
            for r in o.get("refunds") or []:
                refunds.append({
                    "refund_id": _legacy(r["id"]), "order_id": order_id,
                    "customer_id": orders[-1]["customer_id"], "created_at": _ts(r["createdAt"]),
                    "amount": _money(r.get("totalRefundedSet")),
                })
    return (pa.Table.from_pylist(orders, schema=ORDERS),
            pa.Table.from_pylist(refunds, schema=REFUNDS) if refunds else REFUNDS.empty_table())


def _segments(orders: pa.Table) -> dict[str, pa.Table]:
    valid = orders.filter(pc.and_(pc.is_valid(orders["customer_id"]),
                                  pc.is_null(orders["cancelled_at"])))
    per = valid.group_by("customer_id").aggregate([("order_id", "count"),
                                                   ("total_price", "sum")])
    ids = per["customer_id"]
    big = pc.quantile(pc.cast(per["total_price_sum"], pa.float64()), q=0.8)[0].as_py()

    def snapshot(mask: Any) -> pa.Table:
        return pa.table({"customer_id": ids.filter(mask)}).sort_by("customer_id")

    return {
        "buyers": snapshot(pc.greater(per["order_id_count"], 0)),
        "repeat": snapshot(pc.greater_equal(per["order_id_count"], 2)),
        "one_time": snapshot(pc.equal(per["order_id_count"], 1)),
        "big_spenders": snapshot(pc.greater_equal(
            pc.cast(per["total_price_sum"], pa.float64()), big)),
        "every_third": snapshot(pc.equal(pc.bit_wise_and(ids, 3), 0)),
    }


PEER_SQL = """
WITH m AS (SELECT DISTINCT customer_id FROM read_parquet($members)),
o AS (
  SELECT o.order_id, o.customer_id, o.created_at, o.total_price,
         CAST(o.created_at AT TIME ZONE $tz AS DATE) AS day
  FROM read_parquet($orders) o JOIN m USING (customer_id)
  WHERE o.created_at < $cutoff AND (o.cancelled_at IS NULL OR o.cancelled_at >= $cutoff)),
r AS (SELECT order_id, SUM(amount) AS amount FROM read_parquet($refunds)
      WHERE created_at < $cutoff GROUP BY order_id),
n AS (SELECT o.customer_id, o.day, o.total_price - COALESCE(r.amount, 0) AS net,
             row_number() OVER (PARTITION BY o.customer_id ORDER BY o.created_at, o.order_id)
               AS idx
      FROM o LEFT JOIN r USING (order_id)),
c AS (SELECT customer_id, count(*) AS cnt, min(day) AS first_day, max(day) AS last_day,
             min(CASE WHEN idx = 2 THEN day END) AS second_day
      FROM n GROUP BY customer_id)
SELECT
  (SELECT count(*) FROM m) AS member_count,
  (SELECT count(*) FROM n) AS order_count,
  (SELECT COALESCE(sum(net), 0) FROM n) AS net_sales,
  (SELECT count(*) FROM c WHERE cnt >= 2) AS repeaters,
  (SELECT avg((last_day - first_day) / (cnt - 1)) FROM c WHERE cnt >= 2) AS interval_days,
  (SELECT count(*) FROM c WHERE first_day <= $window_start) AS f2_base,
  (SELECT count(*) FROM c WHERE first_day <= $window_start
                            AND second_day - first_day <= $window) AS f2_hits,
  (SELECT COALESCE(sum(net), 0) FROM n WHERE day = $as_of) AS revenue_of_day
"""


def _peer(con: duckdb.DuckDBPyConnection, files: dict[str, str], as_of: date,
          tz: str) -> dict[str, dict[str, Any]]:
    answers = {}
    for name in files["segments"].split(","):
        row = con.execute(PEER_SQL, {
            "members": f"{files['dir']}/{name}.parquet", "orders": files["orders"],
            "refunds": files["refunds"], "tz": tz, "cutoff": end_of_day_utc(as_of, tz),
            "as_of": as_of, "window": WINDOW, "window_start": as_of - timedelta(days=WINDOW),
        }).fetchone()
        answers[name] = dict(zip(
            ["member_count", "order_count", "net_sales", "repeaters", "interval_days",
             "f2_base", "f2_hits", "revenue_of_day"], row, strict=True))
    return answers


def _ours(files: dict[str, str], as_of: date, tz: str) -> dict[str, Any]:
    orders = pq.read_table(files["orders"], columns=[
        "order_id", "customer_id", "created_at", "cancelled_at", "total_price"])
    refunds = pq.read_table(files["refunds"], columns=["order_id", "created_at", "amount"])
    return {
        name: daily_metrics(pq.read_table(f"{files['dir']}/{name}.parquet"), orders, refunds,
                            as_of, tz=tz, conversion_window_days=WINDOW)
        for name in files["segments"].split(",")
    }


def _check(ours: dict[str, Any], peer: dict[str, dict[str, Any]]) -> None:
    """Same figures, or the benchmark refuses to report."""
    for name, m in ours.items():
        p = peer[name]
        problems = []
        if (m.member_count, m.order_count) != (p["member_count"], p["order_count"]):
            problems.append("counts")
        if m.net_sales != Decimal(p["net_sales"]).quantize(Decimal("0.01")):
            problems.append("net_sales")
        if m.revenue_of_day != Decimal(p["revenue_of_day"]).quantize(Decimal("0.01")):
            problems.append("revenue_of_day")
        if m.member_count and abs(float(m.repeat_rate) - p["repeaters"] / m.member_count) > 1e-4:
            problems.append("repeat_rate")
        if p["interval_days"] is not None and abs(
                float(m.avg_purchase_interval_days) - p["interval_days"]) > 0.006:
            problems.append("avg_purchase_interval_days")
        if p["f2_base"] and abs(float(m.f2_conversion) - p["f2_hits"] / p["f2_base"]) > 1e-4:
            problems.append("f2_conversion")
        if problems:
            raise AssertionError(f"segment {name}: ours and DuckDB disagree on {problems}")


def benchmarks(quick: bool) -> list[BenchRecord]:
    customers = 5_000 if quick else 100_000
    spec = StoreSpec(customers=customers)
    tz = spec.timezone
    as_of = spec.end.date() - timedelta(days=1)
    orders, refunds = _lake(spec)
    segments = _segments(orders)
    with tempfile.TemporaryDirectory() as tmp:
        files = {"dir": tmp, "orders": f"{tmp}/orders.parquet",
                 "refunds": f"{tmp}/refunds.parquet", "segments": ",".join(segments)}
        pq.write_table(orders, files["orders"])
        pq.write_table(refunds, files["refunds"])
        for name, table in segments.items():
            pq.write_table(table, Path(tmp) / f"{name}.parquet")
        con = duckdb.connect()
        _check(_ours(files, as_of, tz), _peer(con, files, as_of, tz))
        ours = median_seconds(lambda: _ours(files, as_of, tz))
        peer = median_seconds(lambda: _peer(con, files, as_of, tz))
    # Predicted CLV has no peer here (no BG/NBD in DuckDB): its own time, one run.
    clv = median_seconds(lambda: predict_clv(orders, refunds, as_of, tz=tz), repeats=1)
    label = f"metrics daily {customers} customers {len(segments)} segments"
    return [
        BenchRecord.against(f"{label} time", ours, "s", "duckdb", peer),
        BenchRecord(f"{label} orders", float(orders.num_rows), "orders"),
        BenchRecord(f"metrics clv fit and predict {customers} customers", clv, "s"),
    ]
