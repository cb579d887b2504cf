"""`make demo` ends with the operator's view: the run's business metrics as the local
cloud collected them from the functions' EMF output, and the template's alarms."""

from __future__ import annotations

import io
import re

import pytest

from devkit import demo
from devkit.cli.progress import Progress

pytestmark = pytest.mark.e2e


def test_the_demo_ends_with_the_runs_metrics_and_no_alarm(monkeypatch, capsys):
    report = io.StringIO()
    monkeypatch.setattr(demo, "Progress", lambda: Progress(report))
    assert demo.run_demo(customers=150, seed=5, shop="ops-demo.myshopify.com") == 0
    output = report.getvalue()
    view = output[output.index("operator's view"):]
    metrics = {m.group(1, 2): int(m.group(3).replace(",", "")) for m in re.finditer(
        r"^\s+(\w+)\s+(\w+)\s+([\d,]+)$", view, re.MULTILINE)}
    assert metrics[("sync", "ShopsSynced")] == 1
    assert metrics[("sync", "RecordsSynced")] > 150
    assert metrics[("segments", "SegmentsEvaluated")] == len(demo.DEMO_SEGMENTS)
    assert metrics[("segments", "SegmentsFailed")] == 0
    assert metrics[("tagging", "TagMutations")] > 0
    fired = re.search(r"alarms: (\d+) evaluated, (\d+) would have fired", view)
    assert fired and int(fired.group(1)) >= 20 and fired.group(2) == "0", view
    assert '{"_aws"' not in capsys.readouterr().out  # metric blobs are collected, not shown
