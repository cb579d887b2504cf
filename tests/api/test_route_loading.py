"""Route modules are registered when a request reaches them, and routing is unchanged.

``api.handler.ROUTE_MODULES`` says which first path segments each route module serves; a
cold start imports only the modules its request can reach. If the table drifted from the
routers, a route would answer 404 until some other request happened to register it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from api import handler

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "functions" / "api" / "routes"


def _first_segments(module_name: str) -> set[str]:
    router = importlib.import_module(f"api.routes.{module_name}").router
    # Powertools keeps a router's routes keyed by (rule, methods, ...); no public listing.
    return {rule.strip("/").split("/", 1)[0] for rule, *_ in router._routes}


def test_the_table_names_every_route_module_with_the_segments_it_serves():
    modules = {p.stem for p in ROUTES.glob("*.py")
               if "router = " in p.read_text() and p.stem != "__init__"}
    assert set(handler.ROUTE_MODULES) == modules
    for name, segments in handler.ROUTE_MODULES.items():
        assert set(segments) == _first_segments(name), name


def test_modules_sharing_a_first_segment_are_registered_together_in_table_order():
    order = list(handler.ROUTE_MODULES)
    for segment, group in handler.ROUTE_GROUPS.items():
        serving = {name for name, segments in handler.ROUTE_MODULES.items()
                   if segment in segments}
        assert serving <= set(group)
        assert list(group) == sorted(group, key=order.index)
        for name in group:  # closed: every segment of a member maps to the same group
            for other in handler.ROUTE_MODULES[name]:
                assert handler.ROUTE_GROUPS[other] == group


_PROBE = r"""
import json, sys
sys.path[:0] = ["functions", "shared", "."]
from api import handler
from tests.api.conftest import Client, SHOP_A
from tests.api.fakes import fake_context
loaded = lambda: sorted(n.rsplit(".", 1)[1] for n in sys.modules if n.startswith("api.routes.")
                        and n.rsplit(".", 1)[1] in handler.ROUTE_MODULES)
steps = {"import": loaded()}
context = fake_context()
context.shops.add(SHOP_A)
client = Client(context, SHOP_A)
for method, path in json.loads(sys.argv[1]):
    status = client.request(method, path).status
    steps[f"{method} {path}"] = [status, loaded()]
print(json.dumps(steps))
"""


def _loaded_after(requests: list[tuple[str, str]]) -> dict[str, list]:
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(requests)],
                            capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_cold_start_loads_only_the_routes_its_request_reaches():
    steps = _loaded_after([("GET", "/shop"), ("GET", "/nowhere"), ("PUT", "/shop"),
                           ("GET", "/segments/overlap"), ("OPTIONS", "/shop")])
    assert steps["import"] == []
    assert steps["GET /shop"] == [200, ["shops"]]
    assert steps["GET /nowhere"] == [404, ["shops"]]  # a 404 needs nothing more
    assert steps["PUT /shop"] == [405, ["shops"]]
    # /segments/overlap (static) and /segments/<segment_id> (dynamic) are registered
    # together, so the static route answers (400: it needs the segments to compare), not
    # GET /segments/<segment_id> with the id "overlap" (404: no such segment).
    status, loaded = steps["GET /segments/overlap"]
    assert status == 400
    assert loaded == sorted(["shops", "segments", "tag_jobs", "analytics", "segment_editor",
                             "exports"])
    # A preflight's Allow-Methods lists every method the API serves.
    assert steps["OPTIONS /shop"] == [204, sorted(handler.ROUTE_MODULES)]
