"""axe-core in the browser tests: serious and critical accessibility violations fail.

Provenance: axe-core's ``axe.min.js`` (Deque Systems, MPL-2.0; v4.12.1 at the time of
writing) is the copy shipped inside the PyPI package ``axe-playwright-python`` (pinned in
pyproject.toml's dev extras, installed by ``make``). Only that JavaScript file is used: it is
injected into the page under test and ``axe.run`` is called there; nothing is downloaded at
test time and the package's Python wrapper is not imported.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

BLOCKING = ("serious", "critical")


def axe_script() -> Path:
    """Where the installed package keeps axe.min.js (FileNotFoundError saying what to do)."""
    spec = find_spec("axe_playwright_python")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "axe-playwright-python is not installed: run `make .venv/.installed`")
    script = Path(spec.origin).parent / "axe.min.js"
    if not script.is_file():
        raise FileNotFoundError(f"{script} is missing: reinstall axe-playwright-python")
    return script


def blocking_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line each
    (rule, impact, help and the first offending elements), for an assertion message."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    results = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}"
            for v in results if v["impact"] in BLOCKING]
