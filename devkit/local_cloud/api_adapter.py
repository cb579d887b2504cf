"""Serve the template's REST API locally, as `sam local start-api` does.

moto cannot deploy the API Gateway resources SAM generates, so this adapter reads the
routes from the SAM template's ``Api`` events (path and method per function), turns each
HTTP request into an API Gateway REST (v1) proxy event, invokes the function through
moto's Lambda API (and so through the in-process runtime), and writes the proxy
response back. Requests that match no route get API Gateway's own 403
``{"message": "Missing Authentication Token"}``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Route:
    path: str  # as in the template: /segments/{id}, /{proxy+}
    method: str  # GET ... or ANY
    function_logical_id: str

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return re.compile(f"^{regex}$")

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal paths over parameters, and parameters over greedy."""
        return (self.path.count("+}"), self.path.count("{"))


def routes_from_template(sam_template: dict[str, Any], api_logical_id: str) -> list[Route]:
    routes = []
    for name, resource in sam_template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "Api":
                continue
            properties = event.get("Properties", {})
            if properties.get("RestApiId", {}).get("Ref") not in (None, api_logical_id):
                continue
            routes.append(Route(properties["Path"], properties["Method"].upper(), name))
    return sorted(routes, key=lambda r: r.specificity)


def proxy_event(
    route: Route, method: str, raw_path: str, headers: dict[str, str], body: bytes, stage: str
) -> dict[str, Any]:
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    match = route.pattern.match(split.path)
    path_parameters = match.groupdict() if match and match.groupdict() else None
    try:
        text_body: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{stage}{split.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


class LocalApiServer:
    """A threaded HTTP server in front of the API functions."""

    def __init__(
        self,
        routes: list[Route],
        invoke: Invoke,
        *,
        stage: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.routes = routes
        self.stage = stage
        self._invoke = invoke
        adapter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:  # quiet: the functions log
                return

            def _serve(self) -> None:
                adapter.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, QUERY...) reaches the function too, which answers
                # 405 with Allow, rather than http.server's HTML 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-api", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _route(self, method: str, path: str) -> Route | None:
        for route in self.routes:
            if route.method in (method, "ANY") and route.pattern.match(path):
                return route
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(
                request,
                413,
                {"Content-Type": "application/json"},
                json.dumps({"message": "Request Too Long"}).encode(),
            )
            return
        body = request.rfile.read(length) if length else b""
        route = self._route(request.command, urlsplit(request.path).path)
        if route is None:
            self._reply(
                request,
                403,
                {"Content-Type": "application/json"},
                json.dumps({"message": "Missing Authentication Token"}).encode(),
            )
            return
        headers = {k: v for k, v in request.headers.items()}
        event = proxy_event(route, request.command, request.path, headers, body, self.stage)
        try:
            response = self._invoke(route.function_logical_id, event)
        except Exception:
            self._reply(
                request,
                502,
                {"Content-Type": "application/json"},
                json.dumps({"message": "Internal server error"}).encode(),
            )
            return
        status = int(response.get("statusCode", 200))
        out_headers = dict(response.get("headers") or {})
        for key, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        payload = response.get("body") or ""
        data = (
            base64.b64decode(payload) if response.get("isBase64Encoded") else str(payload).encode()
        )
        self._reply(request, status, out_headers, data)

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        request.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                request.send_header(key, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
