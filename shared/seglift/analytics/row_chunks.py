"""A fit's element-wise work over its rows split across the cores, bit for bit one pass.

Why: the shop's purchase model is fitted once a day (the day-run's DayContext) by about a
thousand evaluations of a log-likelihood over the distinct rows of the shop's counts
(365,000 rows at 1,000,000 customers), each a few element-wise numpy passes of which
``exp`` and ``log`` are most of the step's time. numpy releases the GIL in those loops,
so contiguous slices of the rows computed on threads use every core the function has
(Lambda gives 2 vCPUs at the data functions' 3 GB).

Exact: an element's value does not depend on the slice it is computed in, and the
callers take every sum over the whole arrays afterwards, in one call, as before; so the
likelihood, the optimiser's path and the fitted parameters are the same to the bit
whatever the number of threads (tests/analytics/test_clv_counts.py checks it).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

# Below this many rows a slice costs less than handing it to a thread.
MIN_ROWS_PER_SLICE = 32_768
MAX_WORKERS = 8


def available_cores() -> int:
    """The cores this process may run on (a Lambda function's vCPUs)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class RowChunks:
    """Contiguous slices of ``rows`` rows, one per worker, and the threads to run a
    kernel over them (``run``). One slice (few rows, or one core) runs in the caller's
    thread and starts no thread."""

    def __init__(self, rows: int, workers: int | None = None,
                 min_rows: int | None = None) -> None:
        least = MIN_ROWS_PER_SLICE if min_rows is None else max(1, min_rows)
        wanted = available_cores() if workers is None else workers
        if wanted < 1:
            raise ValueError(f"row chunks need at least one worker, got {wanted}")
        count = max(1, min(wanted, MAX_WORKERS, rows // least))
        bounds = [rows * i // count for i in range(count + 1)]
        self.slices = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        self._pool = (ThreadPoolExecutor(count - 1, thread_name_prefix="seglift-rows")
                      if count > 1 else None)

    def run(self, kernel: Callable[[slice], None]) -> None:
        """``kernel(rows)`` for every slice: all but the last on the threads, the last
        in this one; returns when all are done (a kernel's error is raised here)."""
        if self._pool is None:
            for rows in self.slices:
                kernel(rows)
            return
        pending: list[Future[None]] = [self._pool.submit(kernel, rows)
                                       for rows in self.slices[:-1]]
        try:
            kernel(self.slices[-1])
        finally:
            for future in pending:
                future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> RowChunks:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
