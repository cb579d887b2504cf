"""What a benchmark reports, and the two measurements every benchmark needs.

A benchmark module is ``bench/<area>_bench.py`` with ``benchmarks(quick: bool) ->
list[BenchRecord]``; ``python -m bench`` runs them all, prints a table and writes
``.bench/results.json``. ``quick`` shrinks sizes for a smoke run; the names still carry the
size actually measured, written as a plain number (``sync 100000 customers throughput``).
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BenchRecord:
    name: str
    value: float
    unit: str
    peer: str | None = None
    peer_value: float | None = None
    # ours / peer's, in the same unit, measured in the same run.
    ratio: float | None = None

    @classmethod
    def against(
        cls, name: str, value: float, unit: str, peer: str, peer_value: float
    ) -> BenchRecord:
        ratio = value / peer_value if peer_value else None
        return cls(name, value, unit, peer, peer_value, ratio)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_seconds(run: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``repeats`` calls: this machine is noisy, so never a single run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    ``VmHWM`` is the high-water mark of the current address space, which exec resets;
    ``ru_maxrss`` is not: Linux carries it across exec, so a fresh child would report
    its parent's peak. ``ru_maxrss`` is the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child(target: Callable[..., object], args: tuple, conn: Any) -> None:
    start = time.perf_counter()
    result = target(*args)
    elapsed = time.perf_counter() - start
    conn.send((elapsed, peak_rss_mb(), result))
    conn.close()


def run_isolated(target: Callable[..., object], *args: object) -> tuple[float, float, object]:
    """Run ``target(*args)`` in a fresh process: (seconds, peak RSS in MB, result).

    A fresh process is the only honest way to read a peak: this process's own high-water
    mark includes everything measured before. ``target`` must be a module-level function
    and its result picklable.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(target, args, child))
    proc.start()
    child.close()
    try:
        elapsed, peak_mb, result = parent.recv()
    except EOFError as died:
        proc.join()
        raise RuntimeError(
            f"benchmark process {target.__name__} died (exit {proc.exitcode})"
        ) from died
    proc.join()
    return elapsed, peak_mb, result
