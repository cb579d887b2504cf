"""The DuckDB peer of the metrics benchmark: every daily metric and segment feature in SQL.

The same definitions as ``seglift.metrics.daily`` and ``seglift.analytics.profile``
(counted orders, refunds by the day, shop-zone days, share and lift over the same
universes), structured the way a careful SQL author would: the day's segment-independent
tables are materialised once (``prepare_day``), then each segment is a membership table
and a handful of aggregates (``segment_figures``). Our side is structured the same way
(``daily_metrics_of_counted`` and ``ProfileBase``), so the comparison is engine against
engine, not plan against plan.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from seglift.segments.timeutil import end_of_day_utc

TOP = 10
NONE_LABEL = "(none)"
# Share traits: (pairs table, universe table), as in seglift.analytics.profile.
SHARE_TRAITS = {
    "products": "everyone",
    "first_visit_sources": "buyers",
    "first_visit_campaigns": "buyers",
    "first_purchase_products": "buyers",
    "locations": "everyone",
}
ORDER_COUNT_BUCKETS = ("0", "1", "2", "3", "4+")

LOAD_SQL = """
CREATE OR REPLACE TABLE orders AS SELECT order_id, customer_id, created_at, cancelled_at,
    total_price, first_visit_source, utm_campaign FROM read_parquet($orders);
CREATE OR REPLACE TABLE refunds AS SELECT order_id, created_at, amount
    FROM read_parquet($refunds);
CREATE OR REPLACE TABLE customers AS SELECT customer_id, created_at, country_code,
    province_code FROM read_parquet($customers);
CREATE OR REPLACE TABLE line_items AS SELECT order_id, product_id
    FROM read_parquet($line_items);
"""

DAY_SQL = """
CREATE OR REPLACE TABLE counted AS
WITH o AS (
  SELECT order_id, customer_id, created_at, total_price FROM orders
  WHERE customer_id IS NOT NULL AND created_at < $cutoff
    AND (cancelled_at IS NULL OR cancelled_at >= $cutoff)),
r AS (SELECT order_id, SUM(amount) AS amount FROM refunds WHERE created_at < $cutoff
      GROUP BY order_id)
SELECT o.order_id, o.customer_id, CAST(o.created_at AT TIME ZONE $tz AS DATE) AS day,
       o.total_price - COALESCE(r.amount, 0) AS net,
       row_number() OVER (PARTITION BY o.customer_id ORDER BY o.created_at, o.order_id) AS idx
FROM o LEFT JOIN r USING (order_id);
CREATE OR REPLACE TABLE everyone AS SELECT customer_id, country_code, province_code
    FROM customers WHERE created_at < $cutoff;
CREATE OR REPLACE TABLE pcounted AS
    SELECT * FROM counted WHERE customer_id IN (SELECT customer_id FROM everyone);
CREATE OR REPLACE TABLE buyers AS SELECT DISTINCT customer_id FROM pcounted;
CREATE OR REPLACE TABLE items AS
    SELECT li.product_id AS value, p.customer_id, p.idx
    FROM line_items li JOIN pcounted p USING (order_id) WHERE li.product_id IS NOT NULL;
CREATE OR REPLACE TABLE t_products AS SELECT DISTINCT customer_id, value FROM items;
CREATE OR REPLACE TABLE t_first_visit_sources AS
    SELECT DISTINCT p.customer_id, COALESCE(o.first_visit_source, '(none)') AS value
    FROM pcounted p JOIN orders o USING (order_id) WHERE p.idx = 1;
CREATE OR REPLACE TABLE t_first_visit_campaigns AS
    SELECT DISTINCT p.customer_id, COALESCE(o.utm_campaign, '(none)') AS value
    FROM pcounted p JOIN orders o USING (order_id) WHERE p.idx = 1;
CREATE OR REPLACE TABLE t_first_purchase_products AS
    SELECT DISTINCT customer_id, value FROM items WHERE idx = 1;
CREATE OR REPLACE TABLE t_locations AS
    SELECT DISTINCT customer_id,
           COALESCE(country_code || '-' || province_code, country_code, '(none)') AS value
    FROM everyone;
CREATE OR REPLACE TABLE t_order_counts AS
    SELECT e.customer_id,
           CASE WHEN COALESCE(p.n, 0) >= 4 THEN '4+' ELSE CAST(COALESCE(p.n, 0) AS VARCHAR)
           END AS value
    FROM everyone e LEFT JOIN (SELECT customer_id, count(*) AS n FROM pcounted
                               GROUP BY customer_id) p USING (customer_id);
CREATE OR REPLACE TABLE j_second AS
    SELECT DISTINCT customer_id, value AS product_id FROM items WHERE idx = 2;
CREATE OR REPLACE TABLE j_eligible AS
    SELECT DISTINCT customer_id, value AS first_product_id FROM items
    WHERE idx = 1 AND customer_id IN (SELECT customer_id FROM j_second);
CREATE OR REPLACE TABLE j_pairs AS
    SELECT e.customer_id, e.first_product_id, s.product_id
    FROM j_eligible e JOIN j_second s USING (customer_id);
CREATE OR REPLACE TABLE j_all_pairs AS
    SELECT first_product_id, product_id, count(*) AS n FROM j_pairs GROUP BY ALL;
CREATE OR REPLACE TABLE j_all_base AS
    SELECT first_product_id, count(*) AS n FROM j_eligible GROUP BY ALL;
"""

METRICS_SQL = """
WITH n AS (SELECT * FROM counted WHERE customer_id IN (SELECT customer_id FROM m)),
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
METRIC_NAMES = ("member_count", "order_count", "net_sales", "repeaters", "interval_days",
                "f2_base", "f2_hits", "revenue_of_day")


def _share_sql(trait: str, universe: str) -> str:
    return f"""
WITH total AS (SELECT count(*) AS n FROM m WHERE customer_id IN
               (SELECT customer_id FROM {universe})),
s AS (SELECT value, count(*) AS n FROM t_{trait}
      WHERE customer_id IN (SELECT customer_id FROM m) GROUP BY value),
a AS (SELECT value, count(*) AS n FROM t_{trait} GROUP BY value)
SELECT s.value, s.n, s.n / NULLIF((SELECT n FROM total), 0), a.n,
       a.n / (SELECT count(*) FROM {universe})
FROM s JOIN a USING (value) ORDER BY s.n DESC, s.value ASC LIMIT {TOP}"""


ORDER_COUNTS_SQL = """
WITH s AS (SELECT value, count(*) AS n FROM t_order_counts
           WHERE customer_id IN (SELECT customer_id FROM m) GROUP BY value),
a AS (SELECT value, count(*) AS n FROM t_order_counts GROUP BY value),
seg_total AS (SELECT count(*) AS n FROM t_order_counts
              WHERE customer_id IN (SELECT customer_id FROM m))
SELECT b.value, COALESCE(s.n, 0), COALESCE(s.n, 0) / NULLIF((SELECT n FROM seg_total), 0),
       COALESCE(a.n, 0), COALESCE(a.n, 0) / (SELECT count(*) FROM t_order_counts)
FROM (SELECT unnest(['0', '1', '2', '3', '4+']) AS value, generate_subscripts(
      ['0', '1', '2', '3', '4+'], 1) AS position) b
LEFT JOIN s USING (value) LEFT JOIN a USING (value) ORDER BY b.position"""

JOURNEYS_SQL = f"""
WITH sp AS (SELECT first_product_id, product_id, count(*) AS n FROM j_pairs
            WHERE customer_id IN (SELECT customer_id FROM m) GROUP BY ALL),
sb AS (SELECT first_product_id, count(*) AS n FROM j_eligible
       WHERE customer_id IN (SELECT customer_id FROM m) GROUP BY ALL)
SELECT sp.first_product_id, sp.product_id, sp.n, sp.n / sb.n, ap.n, ap.n / ab.n
FROM sp JOIN sb USING (first_product_id)
JOIN j_all_pairs ap USING (first_product_id, product_id)
JOIN j_all_base ab USING (first_product_id)
ORDER BY sp.n DESC, sp.first_product_id ASC, sp.product_id ASC LIMIT {TOP}"""


def load(con: duckdb.DuckDBPyConnection, files: dict[str, str]) -> None:
    """The lake tables into DuckDB's memory (our side reads the same Parquet into Arrow)."""
    con.execute("SET enable_progress_bar = false")
    for statement in _statements(LOAD_SQL):
        names = [n for n in ("orders", "refunds", "customers", "line_items")
                 if f"${n}" in statement]
        con.execute(statement, {n: files[n] for n in names})


def prepare_day(con: duckdb.DuckDBPyConnection, as_of: date, tz: str) -> None:
    """The day's segment-independent tables: counted orders and every trait's pairs."""
    cutoff = end_of_day_utc(as_of, tz)
    for statement in _statements(DAY_SQL):
        params: dict[str, Any] = {}
        if "$cutoff" in statement:
            params["cutoff"] = cutoff
        if "$tz" in statement:
            params["tz"] = tz
        con.execute(statement, params)


def segment_figures(con: duckdb.DuckDBPyConnection, members_file: str, as_of: date,
                    window: int) -> dict[str, Any]:
    """One segment's daily metrics and feature tables (rows as tuples)."""
    con.execute("CREATE OR REPLACE TEMP TABLE m AS SELECT DISTINCT customer_id "
                "FROM read_parquet($f) WHERE customer_id IS NOT NULL", {"f": members_file})
    row = con.execute(METRICS_SQL, {"as_of": as_of, "window": window,
                                    "window_start": as_of - timedelta(days=window)}).fetchone()
    assert row is not None
    profile = {trait: con.execute(_share_sql(trait, universe)).fetchall()
               for trait, universe in SHARE_TRAITS.items()}
    profile["order_counts"] = con.execute(ORDER_COUNTS_SQL).fetchall()
    profile["product_journeys"] = con.execute(JOURNEYS_SQL).fetchall()
    return {"metrics": dict(zip(METRIC_NAMES, row, strict=True)), "profile": profile}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
