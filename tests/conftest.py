"""Session-wide: every local stack a test started is held to IAM at the end of the run.

moto enforces no IAM. The local cloud records each function's AWS operations and, when a
stack stops, checks them against the function's role in the SAM-transformed template
(``devkit.local_cloud.cloud.POLICY_AUDITS``). Whatever tests ran, the session writes what
the functions did to ``test-artifacts/aws-calls.json`` and fails if any operation would be
refused in AWS, naming the function, the action and the resource.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[1] / "test-artifacts" / "aws-calls.json"


def _audits() -> list:
    cloud = sys.modules.get("devkit.local_cloud.cloud")
    return list(getattr(cloud, "POLICY_AUDITS", [])) if cloud else []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    audits = _audits()
    if not audits:
        return
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps([asdict(a) for a in audits], indent=1) + "\n")
    if any(a.violations for a in audits) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = sorted({v for a in _audits() for v in a.violations})
    if found:
        terminalreporter.section("AWS operations the functions' roles do not allow", red=True)
        for line in found:
            terminalreporter.line(line, red=True)
        terminalreporter.line(f"(every recorded operation: {REPORT})")
