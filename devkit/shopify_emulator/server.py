"""ShopifyEmulator: a real HTTP server speaking the Admin GraphQL API (2026-10).

The real ShopifyAPI client (and the product's own HTTP code) talks to it exactly as to
Shopify: the shop is identified by its ``X-Shopify-Access-Token``, documents are validated
against Shopify's published schema, cost and throttling follow Shopify's rules, bulk
results are downloaded from URLs, and faults can be injected to prove the client copes.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from devkit.background_http import BackgroundHTTPServer
from devkit.shopify_emulator.bulk import BulkOperations
from devkit.shopify_emulator.execution import run_graphql
from devkit.shopify_emulator.faults import FaultInjector
from devkit.shopify_emulator.schema import load_admin_schema
from devkit.shopify_emulator.state import ShopState, access_token_for
from devkit.shopify_emulator.stats import EmulatorStats
from devkit.shopify_emulator.throttle import RESTORE_RATE_BY_PLAN, LeakyBucket
from devkit.shopify_emulator.uploads import StagedUploads, UploadError
from devkit.store.model import ShopStore

API_VERSION = "2026-10"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
# OAuth authorization-code grant: Shopify serves it on the shop's own domain; the emulator
# (one server for many shops) knows the shop from the code it issued.
ACCESS_TOKEN_PATH = "/admin/oauth/access_token"
INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
_STATUS_BODIES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _QuietServer(ThreadingHTTPServer):
    """Clients that give up (timeouts in fault tests) close sockets mid-answer: not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class ShopifyEmulator:
    """One local 'Shopify' serving any number of shops, each with its own token and bucket."""

    def __init__(
        self,
        stores: Iterable[ShopStore] = (),
        *,
        restore_rate: float | None = None,
        bucket_size: int = 2000,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.restore_rate = restore_rate
        self.bucket_size = bucket_size
        self.host = host
        self.port = port
        self.clock = clock
        self.faults = FaultInjector()
        self.stats = EmulatorStats()
        self._shops: dict[str, ShopState] = {}
        self._by_token: dict[str, ShopState] = {}
        self._apps: dict[str, str] = {}  # api key -> secret
        self._codes: dict[str, tuple[str, str]] = {}  # code -> (shop, api key)
        self._running: BackgroundHTTPServer | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="shopify-emulator-"))
        (self._workdir / "results").mkdir()
        (self._workdir / "uploads").mkdir()
        self.uploads = StagedUploads(self._workdir / "uploads", lambda: self.base_url)
        self.bulk = BulkOperations(
            self._workdir / "results", lambda: self.base_url, self.faults, self.uploads
        )
        for store in stores:
            self.add_store(store)

    # ------------------------------------------------------------------ shops

    def add_store(self, store: ShopStore) -> str:
        """Serve ``store``; returns its access token (deterministic per domain)."""
        rate = self.restore_rate
        if rate is None:
            if store.plan not in RESTORE_RATE_BY_PLAN:
                raise ValueError(
                    f"unknown plan {store.plan!r} for {store.domain}; use one of "
                    f"{sorted(RESTORE_RATE_BY_PLAN)} or pass restore_rate"
                )
            rate = RESTORE_RATE_BY_PLAN[store.plan]
        token = access_token_for(store.domain)
        state = ShopState(store, token, LeakyBucket(self.bucket_size, rate, self.clock))
        self._shops[store.domain] = state
        self._by_token[token] = state
        return token

    def token_for(self, domain: str) -> str:
        return self._state(domain).token

    def store(self, domain: str) -> ShopStore:
        return self._state(domain).store

    def shop_state(self, domain: str) -> ShopState:
        """The API-side state of a shop (bucket, bulk operations) for tests."""
        return self._state(domain)

    def _state(self, domain: str) -> ShopState:
        try:
            return self._shops[domain]
        except KeyError:
            raise KeyError(f"the emulator serves no shop {domain!r}") from None

    @property
    def domains(self) -> list[str]:
        return list(self._shops)

    # ------------------------------------------------------------------ OAuth

    def register_app(self, api_key: str, secret: str) -> None:
        """Know an app, as the Partner dashboard does, so codes can be exchanged for it."""
        self._apps[api_key] = secret

    def authorization_code(self, shop: str, api_key: str) -> str:
        """The single-use ``code`` Shopify puts in the callback once the merchant approves."""
        self._state(shop)
        code = uuid.uuid4().hex
        self._codes[code] = (shop, api_key)
        return code

    def exchange_code(self, payload_bytes: bytes) -> tuple[int, bytes]:
        """POST /admin/oauth/access_token: the shop's offline token for a valid code."""
        try:
            body = json.loads(payload_bytes or b"{}")
        except ValueError:
            return 400, _json({"error": "invalid_request",
                               "error_description": "the body is not JSON"})
        api_key, secret, code = (str(body.get(k, "")) for k in
                                 ("client_id", "client_secret", "code"))
        if not api_key or self._apps.get(api_key) != secret:
            return 401, _json({"error": "invalid_client",
                               "error_description": "unknown client_id or wrong secret"})
        issued = self._codes.pop(code, None)
        if issued is None or issued[1] != api_key:
            return 400, _json({"error": "invalid_request",
                               "error_description": "The authorization code was not found "
                               "or was already used"})
        return 200, _json({"access_token": self.token_for(issued[0]),
                           "scope": "read_customers,write_customers,read_orders,"
                           "read_all_orders,read_products"})

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL."""
        if self._running is not None:
            return self.base_url
        load_admin_schema()  # a second of parsing, better paid before the first request
        # A short poll interval keeps stop() fast (tests start and stop many emulators).
        self._running = BackgroundHTTPServer(
            _QuietServer((self.host, self.port), _handler_class(self)), "shopify-emulator",
            poll_interval=0.05)
        return self.base_url

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> ShopifyEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._running is None:
            raise RuntimeError("the emulator is not running: call start() first")
        host, port = self._running.address
        return f"http://{host}:{port}"

    @property
    def graphql_url(self) -> str:
        return self.base_url + GRAPHQL_PATH

    def wait_for_bulk_operation(self, operation_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the bulk operation's background work ends; returns its record."""
        self.bulk.wait(operation_id, timeout)
        for state in self._shops.values():
            if operation_id in state.bulk_operations:
                return state.bulk_operations[operation_id]
        raise KeyError(f"no bulk operation {operation_id!r}")

    # ------------------------------------------------------------------ requests

    def handle_graphql(
        self, token: str | None, payload_bytes: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        """One GraphQL request: (HTTP status, extra headers, body)."""
        state = self._by_token.get(token or "")
        if state is None:
            self.stats.record(None, unauthorized=1)
            return 401, {}, _json(INVALID_TOKEN_BODY)
        domain = state.store.domain
        self.stats.record(domain, requests=1)
        fault = self.faults.take_request_fault(domain)
        if fault is not None and fault.kind == "http_error":
            self.stats.record(domain, http_5xx=1)
            message = _STATUS_BODIES.get(fault.status, "Server Error")
            return fault.status, {}, _json({"errors": message})
        if fault is not None and fault.kind == "rate_limit":
            self.stats.record(domain, http_429=1)
            return (
                429,
                {"Retry-After": _seconds(fault.retry_after)},
                _json(
                    {
                        "errors": "Exceeded 2 calls per second for api client. Reduce request "
                        "rates to resume uninterrupted service."
                    }
                ),
            )
        if fault is not None and fault.kind == "slow":
            self.stats.record(domain, slow=1)
            time.sleep(fault.seconds)
        payload = _payload(payload_bytes, content_type)
        if payload is None:
            return 400, {}, _json({"errors": "Invalid JSON in request body"})
        response = run_graphql(
            state,
            self,
            payload,
            force_throttle=fault is not None and fault.kind == "throttle",
        )
        cost = (
            response.body.get("extensions", {}).get("cost", {})
            if isinstance(response.body, dict)
            else {}
        )
        self.stats.record(
            domain,
            throttled=int(response.throttled),
            requested_cost=int(cost.get("requestedQueryCost") or 0),
            actual_cost=int(cost.get("actualQueryCost") or 0),
        )
        body = _json(response.body)
        if fault is not None and fault.kind == "malformed":
            self.stats.record(domain, malformed=1)
            body = body[: max(1, len(body) // 2)]
        return response.status, {}, body


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _payload(data: bytes, content_type: str) -> dict[str, Any] | None:
    if "application/graphql" in content_type:
        return {"query": data.decode("utf-8", "replace")}
    try:
        payload = json.loads(data or b"{}")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _handler_class(emulator: ShopifyEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ShopifyEmulator/2026-10"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: benchmarks make hundreds of thousands of requests."""

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(
            self,
            status: int,
            body: bytes,
            headers: dict[str, str] | None = None,
            content_type: str = "application/json; charset=utf-8",
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", str(uuid.uuid4()))
            self.send_header("X-Shopify-API-Version", API_VERSION)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _not_found(self) -> None:
            self._send(404, _json({"errors": "Not Found"}))

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = self._body()
            if path == GRAPHQL_PATH:
                status, headers, answer = emulator.handle_graphql(
                    self.headers.get("X-Shopify-Access-Token"),
                    body,
                    self.headers.get("Content-Type", "application/json"),
                )
                self._send(status, answer, headers)
            elif path == ACCESS_TOKEN_PATH:
                status, answer = emulator.exchange_code(body)
                self._send(status, answer)
            elif path == "/__emulator/faults":
                try:
                    spec = json.loads(body or b"{}")
                    specs = spec if isinstance(spec, list) else [spec]
                    for item in specs:
                        emulator.faults.configure(item)
                except (ValueError, TypeError) as error:
                    self._send(400, _json({"errors": str(error)}))
                    return
                self._send(200, _json({"pending": len(emulator.faults.pending())}))
            elif path == "/staged-uploads":
                try:
                    key = emulator.uploads.receive_multipart(
                        self.headers.get("Content-Type", ""), body
                    )
                except UploadError as error:
                    self._send(400, _json({"errors": str(error)}))
                    return
                self._send(
                    201,
                    f"<PostResponse><Key>{key}</Key></PostResponse>".encode(),
                    content_type="application/xml",
                )
            else:
                self._not_found()

        def do_PUT(self) -> None:
            path = urlsplit(self.path).path
            body = self._body()
            if not path.startswith("/staged-uploads/"):
                self._not_found()
                return
            try:
                emulator.uploads.receive_put(unquote(path.removeprefix("/staged-uploads/")), body)
            except UploadError as error:
                self._send(400, _json({"errors": str(error)}))
                return
            self._send(200, b"")

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/__emulator/health":
                self._send(200, _json({"status": "ok", "shops": emulator.domains}))
            elif path == "/__emulator/stats":
                self._send(200, _json(emulator.stats.snapshot()))
            elif path.startswith("/bulk-results/"):
                result = emulator.bulk.result_file(path.removeprefix("/bulk-results/"))
                if result is None:
                    self._not_found()
                    return
                self._stream_file(result)
            elif path == GRAPHQL_PATH:
                self._send(405, _json({"errors": "Use POST for GraphQL requests"}))
            else:
                self._not_found()

        def _stream_file(self, path: Path) -> None:
            """The file, or the ``Range: bytes=<start>-`` part of it (HTTP 206), as the
            storage behind Shopify's bulk result URLs answers."""
            size = path.stat().st_size
            start = 0
            wanted = self.headers.get("Range", "")
            if wanted:
                try:
                    unit, _, spec = wanted.partition("=")
                    first, _, last = spec.partition("-")
                    if unit.strip() != "bytes" or last.strip():
                        raise ValueError(wanted)
                    start = int(first)
                except ValueError:
                    self._send(416, _json({"errors": f"unsupported Range {wanted!r}"}))
                    return
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self.send_response(206 if wanted else 200)
            self.send_header("Content-Type", "application/jsonl")
            self.send_header("Content-Length", str(size - start))
            if wanted:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            with path.open("rb") as handle:
                handle.seek(start)
                shutil.copyfileobj(handle, self.wfile, 1 << 20)

    return Handler
