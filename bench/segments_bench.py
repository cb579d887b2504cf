"""Segment engine speed: features, then every template, next to DuckDB SQL on the same data.

The store comes from ``devkit.store.generator`` (100,000 customers; quick 5,000) and goes
through the sync's real converter (``seglift.lake.convert.BulkJsonlConverter``) from
bulk-style JSONL, so the lake tables are what a sync writes. We measure

1. ``compute_features`` for the whole store as of the generator's last day;
2. evaluating every template (instantiated with parameters taken from the data: the most
   bought product, the most common campaign, ...) over those features, all templates in
   one timing;
3. the peer: the same template conditions compiled to SQL and run by DuckDB over the
   same Parquet files (our features file plus the lake's orders, line items and
   products for purchase conditions). Both sides start from the same features, so the
   comparison is condition evaluation against condition evaluation.

Every template's members are also compared between the two engines; the number of
templates on which they agree is reported (it should be all of them), and any
disagreement is printed, so the benchmark doubles as a cross-check of the compiler.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bench.records import BenchRecord, median_seconds
from devkit.store.generator import StoreSpec, iter_store_chunks
from seglift.lake.convert import BulkJsonlConverter
from seglift.segments.catalog import FEATURES
from seglift.segments.compiler import evaluate
from seglift.segments.features import compute_features
from seglift.segments.tables import TABLE_NAMES, LakeTables
from seglift.segments.templates import TEMPLATES, instantiate_template
from seglift.segments.timeutil import end_of_day_utc

FULL_CUSTOMERS = 100_000
QUICK_CUSTOMERS = 5_000


# ----------------------------------------------------------------------------- the lake
def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode() if records else b""


def _order_lines(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders as a bulk operation writes them: line items on their own lines after the
    order, pointing back with ``__parentId``."""
    lines = []
    for order in orders:
        lines.append({k: v for k, v in order.items() if k != "lineItems"})
        lines.extend({**item, "__parentId": order["id"]} for item in order["lineItems"])
    return lines


def build_lake(customers: int) -> tuple[LakeTables, str, date]:
    """The generated store's lake tables, its time zone and its last day."""
    spec = StoreSpec(customers=customers)
    converters = {r: BulkJsonlConverter(r, lambda line, why: None)
                  for r in ("customers", "products", "orders")}
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLE_NAMES}
    for chunk in iter_store_chunks(spec, chunk_size=10_000):
        for resource, records in (("products", chunk.products),
                                  ("customers", chunk.customers),
                                  ("orders", _order_lines(chunk.orders))):
            if records:
                for name, table in converters[resource].convert_block(_jsonl(records)).items():
                    parts[name].append(table)
    for name, table in converters["orders"].finish().items():
        parts[name].append(table)
    tables = LakeTables.of(**{n: pa.concat_tables(p) if p else None for n, p in parts.items()})
    last_day = spec.end.astimezone(ZoneInfo(spec.timezone)).date() - timedelta(days=1)
    return tables, spec.timezone, last_day


def template_parameters(tables: LakeTables, features: pa.Table) -> dict[str, Any]:
    """Parameter values that select real customers of this store."""
    items = tables.line_items
    products = Counter(items["product_id"].drop_null().to_pylist()).most_common(2)
    variants = Counter(items["variant_id"].drop_null().to_pylist()).most_common(1)
    types = Counter(tables.products["product_type"].drop_null().to_pylist()).most_common(1)
    campaigns = Counter(features["first_order_utm_campaign"].drop_null().to_pylist())
    months = Counter(features["first_order_month"].drop_null().to_pylist())
    return {
        "product_id": products[0][0], "first_product_id": products[0][0],
        "second_product_id": products[1][0], "other_product_id": products[1][0],
        "variant_id": variants[0][0], "product_type": types[0][0],
        "campaign": campaigns.most_common(1)[0][0] if campaigns else "none",
        "month": months.most_common(1)[0][0],
    }


def instantiated_templates(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        t.id: instantiate_template(t.id, {p.name: params[p.name] for p in t.parameters
                                          if p.default is None}).condition
        for t in TEMPLATES
    }


# ----------------------------------------------------------------------------- the peer
def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(value)


class SqlCompiler:
    """Condition JSON -> a DuckDB boolean expression over ``f`` (the features file).

    Purchase conditions use the view ``ci`` (counted orders' line items with order day,
    order index and lower-case product type) and ``co`` (counted orders). Every leaf is
    wrapped in COALESCE(..., FALSE): a comparison on NULL is false, as in the engine.
    """

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of

    def day(self, value: Any) -> str:
        if isinstance(value, dict):
            value = (self.as_of - timedelta(days=value["days_ago"])).isoformat()
        return f"DATE '{value}'"

    def compile(self, node: dict[str, Any]) -> str:
        if "and" in node:
            return "(" + " AND ".join(self.compile(c) for c in node["and"]) + ")"
        if "or" in node:
            return "(" + " OR ".join(self.compile(c) for c in node["or"]) + ")"
        if "not" in node:
            return f"(NOT {self.compile(node['not'])})"
        return f"COALESCE({self.leaf(node)}, FALSE)"

    def leaf(self, node: dict[str, Any]) -> str:
        if "has_tag" in node:
            return f"list_contains(list_transform(f.tags, lambda x: lower(x)), " \
                   f"{_literal(node['has_tag'].lower())})"
        if "first_order_from" in node:
            return " AND ".join(f"lower(f.first_order_{k}) = {_literal(v.lower())}"
                                for k, v in node["first_order_from"].items())
        if "bought" in node:
            return self.bought(node["bought"])
        if "nth_order" in node:
            spec = node["nth_order"]
            return (f"f.customer_id IN (SELECT customer_id FROM ci WHERE order_index = "
                    f"{spec['n']} AND {self.item(spec['contains'])})")
        return self.comparison(node)

    def item(self, spec: dict[str, Any]) -> str:
        for key in ("product_id", "variant_id"):
            if key in spec:
                ids = spec[key] if isinstance(spec[key], list) else [spec[key]]
                return f"{key} IN ({', '.join(map(str, ids))})"
        if "product_type" in spec:
            names = spec["product_type"] if isinstance(spec["product_type"], list) else [
                spec["product_type"]]
            return f"product_type IN ({', '.join(_literal(n.lower()) for n in names)})"
        return "TRUE"

    def window(self, spec: dict[str, Any]) -> str:
        if "within_days" in spec:
            return (f"order_day > {self.day({'days_ago': spec['within_days']})} "
                    f"AND order_day <= {self.day({'days_ago': 0})}")
        if "before_days_ago" in spec:
            return f"order_day < {self.day({'days_ago': spec['before_days_ago']})}"
        if "between" in spec:
            low, high = spec["between"]
            return f"order_day BETWEEN {self.day(low)} AND {self.day(high)}"
        return "TRUE"

    def bought(self, spec: dict[str, Any]) -> str:
        source = "ci" if any(k in spec for k in ("product_id", "variant_id", "product_type")) \
            else "co"
        count = (f"COALESCE((SELECT count(DISTINCT order_id) FROM {source} "
                 f"WHERE {source}.customer_id = f.customer_id AND {self.item(spec)} "
                 f"AND {self.window(spec)}), 0)")
        test = f"{count} >= {spec.get('at_least', 1)}"
        if "at_most" in spec:
            test += f" AND {count} <= {spec['at_most']}"
        return test

    def comparison(self, node: dict[str, Any]) -> str:
        name, op, value = node["feature"], node["op"], node.get("value")
        kind = FEATURES[name].kind
        column = f"f.{name}"
        if op == "is null":
            return f"{column} IS NULL"
        if op == "is not null":
            return f"{column} IS NOT NULL"
        if kind in ("string_list", "id_list"):
            # The peer's SQL covers what the templates use; a new template that needs more
            # must extend this translation before it can be benchmarked against DuckDB.
            raise ValueError(f"the DuckDB translation has no list operator {op!r} yet")
        if kind == "date":
            if op == "in last days":
                return (f"{column} > {self.day({'days_ago': value})} AND "
                        f"{column} <= {self.day({'days_ago': 0})}")
            if op == "more than days ago":
                return f"{column} < {self.day({'days_ago': value})}"
            if op == "between":
                return f"{column} BETWEEN {self.day(value[0])} AND {self.day(value[1])}"
            return f"{column} {op} {self.day(value)}"
        if kind == "string":
            column, value = f"lower({column})", value.lower()
        if kind == "money":
            column = f"CAST({column} AS DOUBLE)"
        if op == "between":
            return f"{column} BETWEEN {_literal(value[0])} AND {_literal(value[1])}"
        if op in ("in", "not in"):
            return f"{column} {op.upper()} ({', '.join(map(_literal, value))})"
        return f"{column} {op} {_literal(value)}"


def duckdb_connection(folder: Path, as_of: date, tz: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with views over the Parquet files: features, counted orders, their items."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{tz}'")
    cutoff = end_of_day_utc(as_of, tz).strftime("%Y-%m-%d %H:%M:%S+00")
    con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{folder / 'features.parquet'}')")
    con.execute(f"""
        CREATE VIEW co AS
        SELECT order_id, customer_id,
               CAST(timezone('{tz}', created_at) AS DATE) AS order_day,
               row_number() OVER (PARTITION BY customer_id ORDER BY created_at, order_id)
                   AS order_index
        FROM read_parquet('{folder / 'orders.parquet'}')
        WHERE customer_id IS NOT NULL AND created_at < TIMESTAMPTZ '{cutoff}'
          AND (cancelled_at IS NULL OR cancelled_at >= TIMESTAMPTZ '{cutoff}')""")
    con.execute(f"""
        CREATE VIEW ci AS
        SELECT li.order_id, li.product_id, li.variant_id, co.customer_id, co.order_day,
               co.order_index, lower(p.product_type) AS product_type
        FROM read_parquet('{folder / 'line_items.parquet'}') li
        JOIN co USING (order_id)
        LEFT JOIN read_parquet('{folder / 'products.parquet'}') p USING (product_id)""")
    return con


def duckdb_members(con: duckdb.DuckDBPyConnection, sql: dict[str, str]) -> dict[str, list[int]]:
    return {
        tid: [row[0] for row in con.execute(
            f"SELECT customer_id FROM f WHERE {where} ORDER BY customer_id").fetchall()]
        for tid, where in sql.items()
    }


# ----------------------------------------------------------------------------- benchmark
def benchmarks(quick: bool = False) -> list[BenchRecord]:
    size = QUICK_CUSTOMERS if quick else FULL_CUSTOMERS
    tables, tz, as_of = build_lake(size)
    features = compute_features(tables, as_of, tz)
    features_seconds = median_seconds(lambda: compute_features(tables, as_of, tz), repeats=3)

    conditions = instantiated_templates(template_parameters(tables, features))
    ours: dict[str, list[int]] = {}

    def evaluate_all() -> None:
        for tid, condition in conditions.items():
            ours[tid] = evaluate(condition, features, tables, as_of, tz).to_pylist()

    ours_seconds = median_seconds(evaluate_all, repeats=3)

    compiler = SqlCompiler(as_of)
    sql = {tid: compiler.compile(condition) for tid, condition in conditions.items()}
    with tempfile.TemporaryDirectory(prefix="segments-bench-") as tmp:
        folder = Path(tmp)
        pq.write_table(features, folder / "features.parquet")
        for name in ("orders", "line_items", "products"):
            pq.write_table(getattr(tables, name), folder / f"{name}.parquet")
        con = duckdb_connection(folder, as_of, tz)
        peer: dict[str, list[int]] = {}

        def duckdb_all() -> None:
            peer.update(duckdb_members(con, sql))

        peer_seconds = median_seconds(duckdb_all, repeats=3)
        con.close()

    agreeing = sum(ours[tid] == peer[tid] for tid in conditions)
    for tid in conditions:
        if ours[tid] != peer[tid]:
            print(f"   MISMATCH {tid}: ours {len(ours[tid])} vs duckdb {len(peer[tid])}",
                  file=sys.stderr)
    members = sum(len(v) for v in ours.values())
    n = len(conditions)
    return [
        BenchRecord(f"segments features {size} customers", features_seconds, "s"),
        BenchRecord(f"segments features {size} customers throughput",
                    size / features_seconds, "customers/s"),
        BenchRecord.against(f"segments evaluate {n} templates {size} customers",
                            ours_seconds, "s", "duckdb sql", peer_seconds),
        BenchRecord(f"segments {size} customers templates agreeing with duckdb", agreeing,
                    f"of {n}"),
        BenchRecord(f"segments {size} customers template members total", members, "members"),
        BenchRecord(f"segments {size} customers orders in lake", tables.orders.num_rows,
                    "orders"),
    ]


if __name__ == "__main__":  # pragma: no cover
    for record in benchmarks(quick="--quick" in sys.argv):
        print(record)
