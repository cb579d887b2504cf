"""API cold start: importing the API handler vs importing boto3 + Powertools alone.

A Lambda cold start pays for every import of the handler module; the peer is the floor
any Powertools-on-boto3 function pays. Each figure is the median of 5 fresh interpreters
(``python -c 'import ...'``), minus nothing: interpreter start-up is in both.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench.records import BenchRecord

RUNS = 5
HANDLER_IMPORT = "import api.handler"
# What the first invocation adds: the production wiring (boto3, PynamoDB, repositories).
WIRED_IMPORT = "import api.handler, api.wiring"
PEER_IMPORT = "import boto3, aws_lambda_powertools, aws_lambda_powertools.event_handler"


def _median_import_seconds(statement: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def benchmarks(quick: bool) -> list[BenchRecord]:
    runs = 3 if quick else RUNS
    # One throw-away run each so the first measured run does not pay for a cold disk cache.
    for statement in (HANDLER_IMPORT, WIRED_IMPORT, PEER_IMPORT):
        _median_import_seconds(statement, 1)
    ours = _median_import_seconds(HANDLER_IMPORT, runs)
    wired = _median_import_seconds(WIRED_IMPORT, runs)
    peer = _median_import_seconds(PEER_IMPORT, runs)
    return [
        BenchRecord.against(
            "api handler cold import", ours * 1000, "ms", "boto3+powertools import", peer * 1000
        ),
        BenchRecord.against(
            "api handler+wiring cold import", wired * 1000, "ms", "boto3+powertools import",
            peer * 1000,
        ),
    ]
