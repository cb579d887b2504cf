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
- ``fleet 300 shops succeeded``: shops whose day-run was stored;
- per shop, the median over shops: ``... invocations per shop``, ``... lambda seconds per
  shop`` (its summed handler time) and ``... span per shop`` (its first step's start to its
  last step's end, waiting behind other shops included): README's 1,000-shop projection
  scales these;
- ``... peak RSS`` (MB): the simulation process's high-water mark (it runs in a fresh
  process, so nothing measured before counts): emulator, local cloud and every Lambda;
- ``... load average`` : this machine's mean 1-minute load over the run (2 cores; other
  work slows the wall time by about load / 2).

Nothing is checked here beyond what a record needs: the run raises if a shop that should
complete did not, so a broken run never records figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
from typing import Any

from bench.records import BenchRecord, run_isolated
from devkit.fleet_simulation import pipelines_by_shop, simulate

SHOPS = 300
QUICK_SHOPS = 12


LOAD_SAMPLE_S = 5.0


def run_fleet(shops: int) -> dict[str, Any]:
    """The simulation and its figures (module level: ``run_isolated`` runs it in a fresh
    process), with the machine's 1-minute load sampled while it runs."""
    loads: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(LOAD_SAMPLE_S):
            loads.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with simulate(shops, timeout_s=3 * 3600) as run:
            figures = run.figures()
            pipelines = pipelines_by_shop(run)
    finally:
        done.set()
    expected_failed = run.failing
    if set(figures["failures"]) != expected_failed or figures["shops_succeeded"] != (
            shops - len(expected_failed)) or pipelines.get(run.faulty) != "FAILED":
        raise RuntimeError(f"the fleet run did not end as it should: {figures}")
    figures["load_average"] = round(statistics.mean(loads), 1) if loads else None
    return figures


def benchmarks(quick: bool) -> list[BenchRecord]:
    shops = QUICK_SHOPS if quick else SHOPS
    _, peak_mb, result = run_isolated(run_fleet, shops)
    figures: dict[str, Any] = result  # type: ignore[assignment]
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
        BenchRecord(f"{name} invocations per shop", figures["shop_invocations_median"],
                    "invocations"),
        BenchRecord(f"{name} lambda seconds per shop", figures["shop_lambda_seconds_median"],
                    "s"),
        BenchRecord(f"{name} span per shop", figures["shop_span_seconds_median"], "s"),
        BenchRecord(f"{name} peak RSS", round(peak_mb), "MB"),
        *([BenchRecord(f"{name} load average", figures["load_average"], "load")]
          if figures["load_average"] is not None else []),
    ]
