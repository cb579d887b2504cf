"""How the command line leads to the dashboard: `seglift serve --dashboard-port`, and the
demo's ending (on a terminal it keeps serving; otherwise it says how to open it and exits
at once, so CI and pipes are not held up)."""

from __future__ import annotations

import io

from devkit.cli.main import build_parser
from devkit.cli.progress import Progress
from devkit.demo import _end_with_dashboard
from devkit.serve import DEFAULT_DASHBOARD_PORT


def test_serve_and_demo_take_a_dashboard_port_defaulting_to_8601() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).dashboard_port == DEFAULT_DASHBOARD_PORT == 8601
    assert parser.parse_args(["serve", "--dashboard-port", "9100"]).dashboard_port == 9100
    demo = parser.parse_args(["demo", "--no-serve", "--dashboard-port", "9200"])
    assert demo.no_serve and demo.dashboard_port == 9200
    assert not parser.parse_args(["demo"]).no_serve


def test_a_non_interactive_demo_ends_by_saying_how_to_open_the_dashboard() -> None:
    out = io.StringIO()
    # No stack is touched when the demo does not keep serving: it returns at once.
    _end_with_dashboard(None, "s.myshopify.com", Progress(out), keep_serving=False,  # type: ignore[arg-type]
                        port=8601)
    lines = out.getvalue().strip().splitlines()
    assert "make serve" in lines[-2]
    assert lines[-1].endswith("Dashboard http://127.0.0.1:8601/")
