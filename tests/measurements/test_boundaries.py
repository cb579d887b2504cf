"""What the API Lambda (no Arrow layer) loads of measurements must not pull in pyarrow,
and the measurements handler imports without configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PYARROW_FREE = [
    "seglift.measurements.spec", "seglift.measurements.stats", "seglift.measurements.split",
    "seglift.measurements.service", "seglift.measurements.report",
    "seglift.measurements.adapters", "seglift.measurements.report_lines",
    "seglift.storage.measurement_repository", "api.routes.measurements", "api.wiring",
]


def test_the_api_side_of_measurements_never_loads_pyarrow():
    code = f"import sys, {', '.join(PYARROW_FREE)}; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_the_measurements_handler_imports_without_environment():
    code = ("import os; os.environ.clear(); os.environ['PATH']='/usr/bin';"
            "import measurements.handler")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
