"""In Lambda the handlers' Tracer patches the libraries they call through, and only those.

Run in a fresh interpreter with ``LAMBDA_TASK_ROOT`` set, as Lambda's runtime sets it:
outside Lambda Powertools disables the Tracer and nothing is patched at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys
from seglift import observability
tracer = observability.tracer_for("probe")
from aws_xray_sdk.core import patcher, xray_recorder
print(json.dumps({
    "disabled": tracer.disabled,
    "patched": sorted(patcher._PATCHED_MODULES),
    "sampler": type(xray_recorder.sampler).__name__,
    "unused_drivers_imported": sorted(m for m in ("sqlite3", "sqlalchemy", "pg8000", "pymysql")
                                      if m in sys.modules),
}))
"""


def test_lambda_tracer_patches_botocore_and_pynamodb_only(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
        cwd=tmp_path,
        env={"LAMBDA_TASK_ROOT": str(tmp_path), "AWS_REGION": "us-east-1",
             "PYTHONPATH": str(ROOT / "shared")},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["disabled"] is False
    assert report["patched"] == ["botocore", "pynamodb"]
    # In Lambda the X-Ray SDK samples locally (no centralized-sampling X-Ray client).
    assert report["sampler"] == "LocalSampler"
    assert report["unused_drivers_imported"] == []
