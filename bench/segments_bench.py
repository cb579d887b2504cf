"""Segment engine speed: features, then every template, next to DuckDB SQL on the same data.

The store is the benchmarks' generated store (``bench.store_cache``: 100,000 and
1,000,000 customers, quick 5,000, about 3 orders each) converted by the sync's real
converter into lake Parquet files. In two fresh processes, so each peak memory is its
own:

1. ours: read the lake, ``compute_features`` as of the store's last day (timed), then
   evaluate every template (instantiated with parameters taken from the data: the most
   bought product, the most common campaign, ...) over those features, all templates in
   one timing, members kept as Arrow arrays as the segment Lambda keeps them;
2. the peer: the same template conditions compiled to SQL and run by DuckDB over the
   same Parquet files (our features file plus the lake's orders, line items and
   products for purchase conditions), members fetched as Arrow. Both sides start from
   the same features, so the comparison is condition evaluation against condition
   evaluation.

Every template's members are compared between the two engines (count and a digest of
the sorted ids); the number of templates on which they agree is reported (it should be
all of them), and any disagreement is printed, so the benchmark doubles as a
cross-check of the compiler.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.records import BenchRecord, median_seconds, run_isolated
from bench.store_cache import bench_spec, lake_parquet
from seglift.segments.catalog import FEATURES
from seglift.segments.compiler import evaluate_many
from seglift.segments.features import compute_features
from seglift.segments.tables import TABLE_NAMES, LakeTables
from seglift.segments.templates import TEMPLATES, instantiate_template
from seglift.segments.timeutil import end_of_day_utc

FULL_SIZES = (100_000, 1_000_000)
QUICK_CUSTOMERS = 5_000


# ----------------------------------------------------------------------------- the lake
def read_lake(customers: int) -> tuple[LakeTables, str, date]:
    """The generated store's lake tables, its time zone and its last day."""
    spec = bench_spec(customers)
    files = lake_parquet(customers)
    tables = LakeTables.of(**{name: pq.read_table(files[name]) for name in TABLE_NAMES})
    last_day = spec.end.astimezone(ZoneInfo(spec.timezone)).date() - timedelta(days=1)
    return tables, spec.timezone, last_day


def _digest(ids: pa.Array | pa.ChunkedArray) -> tuple[int, str]:
    """(count, hash of the sorted ids): equal memberships, equal digests."""
    values = np.sort(pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False))
    return len(values), hashlib.blake2b(values.tobytes(), digest_size=16).hexdigest()


def _most_common(values: pa.ChunkedArray | pa.Array, n: int = 1) -> list[Any]:
    counts = pc.value_counts(values.drop_null())
    order = pc.sort_indices(counts, sort_keys=[("counts", "descending"),
                                               ("values", "ascending")])
    return counts.take(order[:n]).field("values").to_pylist()


def _most_bought_collection(tables: LakeTables) -> int:
    """The collection whose products were bought most (line items), ties to the lowest id:
    a real collection of the store that selects real customers."""
    bought = pc.value_counts(tables.line_items["product_id"].drop_null())
    per_product = pa.table({"product_id": bought.field("values"),
                            "items": bought.field("counts")})
    per_collection = (tables.collection_products.select(["collection_id", "product_id"])
                      .join(per_product, "product_id")
                      .group_by("collection_id").aggregate([("items", "sum")]))
    if per_collection.num_rows == 0:
        raise ValueError("the benchmark store has no collection holding a bought product")
    ranked = per_collection.sort_by([("items_sum", "descending"),
                                     ("collection_id", "ascending")])
    return int(ranked["collection_id"][0].as_py())


def template_parameters(tables: LakeTables, features: pa.Table) -> dict[str, Any]:
    """Parameter values that select real customers of this store."""
    products = _most_common(tables.line_items["product_id"], 2)
    campaigns = _most_common(features["first_order_utm_campaign"])
    return {
        "collection_id": _most_bought_collection(tables),
        "product_id": products[0], "first_product_id": products[0],
        "second_product_id": products[1], "other_product_id": products[1],
        "variant_id": _most_common(tables.line_items["variant_id"])[0],
        "product_type": _most_common(tables.products["product_type"])[0],
        "campaign": campaigns[0] if campaigns else "none",
        "month": _most_common(features["first_order_month"])[0],
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

    Purchase conditions use the table ``ci`` (counted orders' line items with order day,
    order index and lower-case product type), ``co`` (counted orders) and ``cp`` (which
    product is in which collection, as of the last sync). Every leaf is
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
        if "collection_id" in spec:
            ids = spec["collection_id"] if isinstance(spec["collection_id"], list) else [
                spec["collection_id"]]
            return (f"product_id IN (SELECT product_id FROM cp WHERE collection_id IN "
                    f"({', '.join(map(str, ids))}))")
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
        source = "ci" if any(k in spec for k in ("product_id", "variant_id", "collection_id",
                                                  "product_type")) \
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


def duckdb_connection(features: Path, lake: dict[str, Path], as_of: date,
                      tz: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with views over the Parquet files: features ``f``, counted orders
    ``co_view`` and their items ``ci_view`` (the conditions read tables ``co``/``ci``,
    materialised from the views once per run), collections' products ``cp``."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET TimeZone = '{tz}'")
    cutoff = end_of_day_utc(as_of, tz).strftime("%Y-%m-%d %H:%M:%S+00")
    con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{features}')")
    con.execute(f"CREATE VIEW cp AS SELECT collection_id, product_id "
                f"FROM read_parquet('{lake['collection_products']}')")
    con.execute(f"""
        CREATE VIEW co_view AS
        SELECT order_id, customer_id,
               CAST(timezone('{tz}', created_at) AS DATE) AS order_day,
               row_number() OVER (PARTITION BY customer_id ORDER BY created_at, order_id)
                   AS order_index
        FROM read_parquet('{lake["orders"]}')
        WHERE customer_id IS NOT NULL AND created_at < TIMESTAMPTZ '{cutoff}'
          AND (cancelled_at IS NULL OR cancelled_at >= TIMESTAMPTZ '{cutoff}')""")
    con.execute(f"""
        CREATE VIEW ci_view AS
        SELECT li.order_id, li.product_id, li.variant_id, co.customer_id, co.order_day,
               co.order_index, lower(p.product_type) AS product_type
        FROM read_parquet('{lake["line_items"]}') li
        JOIN co_view co USING (order_id)
        LEFT JOIN read_parquet('{lake["products"]}') p USING (product_id)""")
    return con


# ----------------------------------------------------------------------------- benchmark
Digests = dict[str, tuple[int, str]]


def run_ours(customers: int, features_path: str) -> dict[str, Any]:
    """Fresh process: features and every template; writes the features for the peer."""
    tables, tz, as_of = read_lake(customers)
    features = compute_features(tables, as_of, tz)
    features_seconds = median_seconds(lambda: compute_features(tables, as_of, tz), repeats=3)
    pq.write_table(features, features_path)
    conditions = instantiated_templates(template_parameters(tables, features))
    members: dict[str, pa.Array] = {}

    def evaluate_all() -> None:
        members.update(evaluate_many(conditions, features, tables, as_of, tz))

    seconds = median_seconds(evaluate_all, repeats=3)
    return {"features_seconds": features_seconds, "seconds": seconds,
            "conditions": conditions, "as_of": as_of, "tz": tz,
            "orders": tables.orders.num_rows,
            "digests": {tid: _digest(ids) for tid, ids in members.items()}}


def run_duckdb(customers: int, features_path: str, sql: dict[str, str], as_of: date,
               tz: str) -> dict[str, Any]:
    """Fresh process: the same conditions as SQL over the same Parquet, members as Arrow."""
    members: dict[str, pa.Array] = {}
    con = duckdb_connection(Path(features_path), lake_parquet(customers), as_of, tz)

    def duckdb_all() -> None:
        # The day's counted orders and their items, materialised once for all templates
        # (as ``evaluate_many`` builds them once).
        con.execute("CREATE OR REPLACE TEMP TABLE co AS SELECT * FROM co_view")
        con.execute("CREATE OR REPLACE TEMP TABLE ci AS SELECT * FROM ci_view")
        for tid, where in sql.items():
            members[tid] = con.sql(
                f"SELECT customer_id FROM f WHERE {where} ORDER BY customer_id"
            ).to_arrow_table()["customer_id"]

    seconds = median_seconds(duckdb_all, repeats=3)
    con.close()
    return {"seconds": seconds, "digests": {tid: _digest(ids) for tid, ids in members.items()}}


def _measure(size: int) -> list[BenchRecord]:
    lake_parquet(size)  # build the cache outside the measured processes
    with tempfile.TemporaryDirectory(prefix="segments-bench-") as tmp:
        features_path = str(Path(tmp) / "features.parquet")
        _, ours_mb, result = run_isolated(run_ours, size, features_path)
        ours: dict[str, Any] = result  # type: ignore[assignment]
        compiler = SqlCompiler(ours["as_of"])
        sql = {tid: compiler.compile(c) for tid, c in ours["conditions"].items()}
        _, peer_mb, peer_result = run_isolated(run_duckdb, size, features_path, sql,
                                               ours["as_of"], ours["tz"])
        peer: dict[str, Any] = peer_result  # type: ignore[assignment]
    ours_digests: Digests = ours["digests"]
    peer_digests: Digests = peer["digests"]
    agreeing = sum(ours_digests[tid] == peer_digests[tid] for tid in ours_digests)
    for tid, digest in ours_digests.items():
        if digest != peer_digests[tid]:
            print(f"   MISMATCH {tid}: ours {digest[0]} vs duckdb {peer_digests[tid][0]}",
                  file=sys.stderr)
    n = len(ours_digests)
    return [
        BenchRecord(f"segments features {size} customers", ours["features_seconds"], "s"),
        BenchRecord(f"segments features {size} customers throughput",
                    size / ours["features_seconds"], "customers/s"),
        BenchRecord.against(f"segments evaluate {n} templates {size} customers",
                            ours["seconds"], "s", "duckdb sql", peer["seconds"]),
        BenchRecord.against(f"segments {size} customers features+templates peak RSS", ours_mb,
                            "MB", "duckdb sql", peer_mb),
        BenchRecord(f"segments {size} customers templates agreeing with duckdb", agreeing,
                    f"of {n}"),
        BenchRecord(f"segments {size} customers template members total",
                    sum(d[0] for d in ours_digests.values()), "members"),
        BenchRecord(f"segments {size} customers orders in lake", ours["orders"], "orders"),
    ]


def benchmarks(quick: bool = False) -> list[BenchRecord]:
    sizes = (QUICK_CUSTOMERS,) if quick else FULL_SIZES
    return [record for size in sizes for record in _measure(size)]


if __name__ == "__main__":  # pragma: no cover
    for record in benchmarks(quick="--quick" in sys.argv):
        print(record)
