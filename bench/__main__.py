"""``make bench``: run every ``bench/*_bench.py``, print a table, write .bench/results.json.

    python -m bench            full sizes
    python -m bench --quick    small sizes, a smoke run of the harness
    python -m bench sync       only modules whose name starts with "sync"
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import bench
from bench.records import BenchRecord

RESULTS = Path(".bench/results.json")


def _modules(prefixes: list[str]) -> list[str]:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.endswith("_bench")
    )
    return [n for n in names if not prefixes or any(n.startswith(p) for p in prefixes)]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("areas", nargs="*", help="only benchmark modules with these prefixes")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args(argv)

    records: list[BenchRecord] = []
    for name in _modules(args.areas):
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{name}")
        for record in module.benchmarks(quick=args.quick):
            print(f"   {record.name}: {_fmt(record.value)} {record.unit}", file=sys.stderr)
            records.append(record)

    header = (
        f"{'benchmark':<58} {'value':>14} {'unit':<12} {'peer':<22} "
        f"{'peer value':>12} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in records:
        print(
            f"{r.name:<58} {_fmt(r.value):>14} {r.unit:<12} {r.peer or '-':<22} "
            f"{_fmt(r.peer_value):>12} {_fmt(r.ratio):>7}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([r.as_dict() for r in records], indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
