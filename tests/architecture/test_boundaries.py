"""The rules that keep the Lambda packages small and the layers independent."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_shared_layer_never_imports_functions_or_the_devkit():
    forbidden = {"sync", "segments", "metrics", "tagging", "api", "exports", "devkit", "bench"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & forbidden)
        for path in (ROOT / "shared" / "seglift").rglob("*.py")
        if _imports(path) & forbidden
    }
    assert offenders == {}


def test_functions_never_import_the_devkit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "functions").rglob("*.py")
        if "devkit" in _imports(path) or "bench" in _imports(path)
    ]
    assert offenders == []


@pytest.mark.parametrize("module", ["api.handler", "tagging.handler"])
def test_functions_without_the_arrow_layer_do_not_load_pyarrow(module):
    code = f"import sys, {module}; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_importing_handlers_reads_no_environment_and_opens_no_client():
    """Importing every handler with an empty environment must work: configuration is read
    per invocation, never at import time."""
    code = (
        "import os; os.environ.clear(); os.environ['PATH']='/usr/bin';"
        "import sync.handler, segments.handler, metrics.handler, tagging.handler, api.handler"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
