"""Health, CORS, unknown routes and the one error shape."""

from __future__ import annotations

import subprocess
import sys


def test_health_needs_no_token(client):
    reply = client.get("/health", auth=False)
    assert reply.status == 200
    assert reply.json == {"status": "ok"}


def test_unknown_route_with_a_token_is_404_in_the_error_shape(client):
    reply = client.get("/nope")
    assert reply.status == 404
    assert reply.error["code"] == "route_not_found"


def test_unknown_route_without_a_token_is_401_and_reveals_nothing(client):
    reply = client.get("/nope", auth=False)
    assert reply.status == 401


def test_browsers_get_cors_headers_on_success_and_on_auth_errors(client):
    origin = {"Origin": "https://admin.shopify.com"}
    ok = client.get("/shop", headers=origin)
    refused = client.get("/shop", headers=origin, auth=False)
    assert ok.headers.get("Access-Control-Allow-Origin") == "*"
    assert refused.headers.get("Access-Control-Allow-Origin") == "*"


def test_unexpected_errors_are_500_in_the_error_shape(client, api):
    def broken(shop):
        raise RuntimeError("dynamodb exploded with a secret detail")

    api.shops.get = broken
    reply = client.get("/shop")
    assert reply.status == 500
    assert reply.error["code"] == "internal_error"
    assert "secret" not in reply.text


def test_a_failure_before_routing_is_500_in_the_error_shape(client, api):
    def ssm_down():
        raise ConnectionError("SSM unreachable")

    api.credentials = ssm_down
    reply = client.get("/segments")
    assert (reply.status, reply.error["code"]) == (500, "internal_error")
    assert client.get("/health", auth=False).status == 200  # public routes need no secret


# Everything api.wiring imports, eagerly or on a request path. The API Lambda has no Arrow
# layer: one of these importing pyarrow is an ImportError in production. (Importing the
# handler alone, with an empty environment, is checked in tests/architecture.)
REQUEST_PATH_MODULES = [
    "api.handler",
    "api.wiring",
    "seglift.storage.shop_repository",
    "seglift.storage.segment_repository",
    "seglift.storage.metrics_repository",
    "seglift.storage.tag_job_repository",
    "seglift.segments.conditions",
    "seglift.segments.templates",
    "seglift.segments.shopify_query",
    "seglift.tagging.jobs",
]


def test_nothing_the_api_loads_while_serving_requests_imports_pyarrow():
    code = (
        "import importlib, sys\n"
        f"for name in {REQUEST_PATH_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'pyarrow' in sys.modules:\n"
        "        sys.exit('importing ' + name + ' loaded pyarrow')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
