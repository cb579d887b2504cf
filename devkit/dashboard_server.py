"""Serve the static dashboard (frontend/) locally, with a generated ``config.json``.

In AWS the files sit in a private S3 bucket behind CloudFront and ``config.json`` is
written at deploy time. Locally this small stdlib server plays both parts: it serves the
files of one directory (never anything outside it: ``..``, encoded or not, and symlinks
leading out are refused) and answers ``/config.json`` with the configuration it was given
(the local API's URL and a development session token).

One local-only addition: the API hands out presigned S3 URLs (CSV uploads, export
downloads), and moto serves S3 in-process only, so a browser cannot reach them. The
server relays ``/_local-s3?url=<presigned url>`` through ``devkit.local_s3_relay`` inside
the process where moto runs; the frontend uses the relay only when ``config.json`` names
it (``"s3Relay"``), never in production. Likewise ``/_local-mail`` lists the e-mails moto's
SES kept (``devkit.local_mail``: tag-job completion e-mails), named by ``"localMail"``.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from devkit.background_http import BackgroundHTTPServer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FRONTEND_DIR = PROJECT_ROOT / "frontend"
CONFIG_PATH = "/config.json"
S3_RELAY_PATH = "/_local-s3"
LOCAL_MAIL_PATH = "/_local-mail"
# Above the 20 MB CSV limit plus the form, so S3's own size check (the POST policy) answers.
MAX_RELAY_BYTES = 32 * 1024 * 1024
# ES modules must be served with a JavaScript MIME type or the browser refuses them.
_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".md": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class RelayResponse:
    """What an S3 relay answered: status, content type and body, passed to the browser."""

    status: int
    content_type: str
    body: bytes


# (method, presigned url, body, headers to forward) -> response; see devkit.local_s3_relay.
# The headers are Content-Type and every x-amz-* header: a SigV4 URL signs some of them.
S3Relay = Callable[[str, str, bytes, dict[str, str]], RelayResponse]
# () -> the messages the local SES kept, newest first; see devkit.local_mail.
LocalMail = Callable[[], list[dict[str, Any]]]


def development_config(
    api_base: str, token: str, *, s3_relay: bool = True, local_mail: bool = True
) -> dict[str, Any]:
    """The ``config.json`` of a local dashboard: the API and a development session token."""
    config: dict[str, Any] = {"mode": "development", "apiBase": api_base, "token": token}
    if s3_relay:
        config["s3Relay"] = S3_RELAY_PATH
    if local_mail:
        config["localMail"] = LOCAL_MAIL_PATH
    return config


def resolve_static_path(root: Path, request_path: str) -> Path | None:
    """The file under ``root`` a URL path names, or None when it names nothing there.

    Refuses any path that would leave ``root``: ``..`` segments (also percent-encoded),
    backslashes, NUL bytes, and symlinks that resolve outside. ``/`` and directories mean
    their ``index.html``.
    """
    path = unquote(urlsplit(request_path).path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        return None
    root = root.resolve()
    candidate = root.joinpath(*parts) if parts else root
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


def content_type_of(path: Path) -> str:
    known = _CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class DashboardServer:
    """The static dashboard on ``host:port`` (port 0 picks a free one), in a thread."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        root: Path = FRONTEND_DIR,
        host: str = "127.0.0.1",
        port: int = 0,
        s3_relay: S3Relay | None = None,
        local_mail: LocalMail | None = None,
    ) -> None:
        if not (root / "index.html").is_file():
            raise FileNotFoundError(f"{root} has no index.html: is this the frontend directory?")
        self.config = config
        self.root = root.resolve()
        self._host = host
        self._port = port
        self.s3_relay = s3_relay
        self.local_mail = local_mail
        self._running: BackgroundHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._running is None:
            raise RuntimeError("the dashboard server is not running")
        host, port = self._running.address
        return f"http://{host}:{port}/"

    def start(self) -> str:
        server = ThreadingHTTPServer((self._host, self._port), self._handler_class())
        server.daemon_threads = True
        self._running = BackgroundHTTPServer(server, "dashboard")
        return self.url

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> DashboardServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(_DashboardRequestHandler):
            dashboard = server

        return Handler


class _DashboardRequestHandler(BaseHTTPRequestHandler):
    dashboard: DashboardServer
    server_version = "seglift-dashboard"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal belongs to ``seglift serve``'s own output."""

    def do_GET(self) -> None:
        self._get(send_body=True)

    def do_HEAD(self) -> None:
        self._get(send_body=False)

    def do_PUT(self) -> None:
        self._relay_or_refuse("PUT")

    def do_POST(self) -> None:
        self._relay_or_refuse("POST")  # presigned POST uploads (CSV lists)

    def _relay_or_refuse(self, method: str) -> None:
        if urlsplit(self.path).path == S3_RELAY_PATH:
            self._relay(method)
        else:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"the dashboard is read-only\n",
                       "text/plain; charset=utf-8")

    def _get(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        if path == CONFIG_PATH:
            body = json.dumps(self.dashboard.config, indent=2).encode()
            self._send(HTTPStatus.OK, body, "application/json", send_body=send_body)
            return
        if path == S3_RELAY_PATH:
            self._relay("GET")
            return
        if path == LOCAL_MAIL_PATH:
            mail = self.dashboard.local_mail
            if mail is None:
                self._send(HTTPStatus.NOT_FOUND, b"no local mail here\n",
                           "text/plain; charset=utf-8", send_body=send_body)
                return
            body = json.dumps({"messages": mail()}).encode()
            self._send(HTTPStatus.OK, body, "application/json", send_body=send_body)
            return
        file = resolve_static_path(self.dashboard.root, self.path)
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8",
                       send_body=send_body)
            return
        self._send(HTTPStatus.OK, file.read_bytes(), content_type_of(file), send_body=send_body)

    def _relay(self, method: str) -> None:
        relay = self.dashboard.s3_relay
        if relay is None:
            self._send(HTTPStatus.NOT_FOUND, b"no S3 relay here\n", "text/plain; charset=utf-8")
            return
        target = parse_qs(urlsplit(self.path).query).get("url", [""])[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_RELAY_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                       f"at most {MAX_RELAY_BYTES} bytes\n".encode(), "text/plain; charset=utf-8")
            return
        body = self.rfile.read(length) if length else b""
        try:
            forwarded = {name: value for name, value in self.headers.items()
                         if name.lower() == "content-type" or name.lower().startswith("x-amz-")}
            answer = relay(method, target, body, forwarded)
        except ValueError as refused:
            self._send(HTTPStatus.BAD_REQUEST, f"{refused}\n".encode(),
                       "text/plain; charset=utf-8")
            return
        self._send(HTTPStatus(answer.status), answer.body, answer.content_type)

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, *, send_body: bool = True
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # A development server: always the files as they are on disk now.
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)


__all__ = [
    "FRONTEND_DIR",
    "LOCAL_MAIL_PATH",
    "S3_RELAY_PATH",
    "DashboardServer",
    "RelayResponse",
    "content_type_of",
    "development_config",
    "resolve_static_path",
]
