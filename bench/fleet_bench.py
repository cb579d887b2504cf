"""300 small shops in one scheduled run, with a revoked token, an export that takes Shopify
hours, a corrupt sync checkpoint and a failing day-run shard (``devkit.fleet_simulation``).

The daily workflow runs on the local cloud exactly as ``tests/fanout`` runs it at 24 shops
(there every outcome is checked); this runs the issue's 300 (quick: 12) and records what
the run cost and what it recorded:

- ``fleet 300 shops wall time`` (s): the schedule firing to the last execution's end, every
  Lambda in-process on this machine (so it measures the local cloud, not AWS: in AWS the
  shops run 40 at a time, each shop's own steps a few seconds);
- ``fleet 300 shops invocations`` and ``... lambda seconds`` (summed handler time);
- ``fleet 300 shops failures recorded``: shops whose sync status says failed, with the
  error the merchant reads (must be exactly the injected faults: revoked, corrupt
  checkpoint, failed shard; the slow export completes);
- ``fleet 300 shops succeeded``: shops whose day-run was stored.

Nothing is checked here beyond what a record needs: the run raises if a shop that should
complete did not, so a broken run never records figures.
"""

from __future__ import annotations

import sys

from bench.records import BenchRecord
from devkit.fleet_simulation import pipelines_by_shop, simulate

SHOPS = 300
QUICK_SHOPS = 12


def benchmarks(quick: bool) -> list[BenchRecord]:
    shops = QUICK_SHOPS if quick else SHOPS
    with simulate(shops, timeout_s=3 * 3600) as run:
        figures = run.figures()
        pipelines = pipelines_by_shop(run)
    expected_failed = run.failing
    if set(figures["failures"]) != expected_failed or figures["shops_succeeded"] != (
            shops - len(expected_failed)) or pipelines.get(run.faulty) != "FAILED":
        raise RuntimeError(f"the fleet run did not end as it should: {figures}")
    for shop, error in sorted(figures["failures"].items()):
        print(f"   {shop}: {error}", file=sys.stderr)
    name = f"fleet {shops} shops"
    return [
        BenchRecord(f"{name} wall time", figures["wall_seconds"], "s"),
        BenchRecord(f"{name} invocations", figures["invocations"], "invocations"),
        BenchRecord(f"{name} lambda seconds", figures["lambda_seconds"], "s"),
        BenchRecord(f"{name} failures recorded", figures["failures_recorded"], "shops"),
        BenchRecord(f"{name} succeeded", figures["shops_succeeded"], "shops"),
        BenchRecord(f"{name} workflow hours waited",
                    round(figures["workflow_seconds_waited"] / 3600, 1), "h"),
    ]
