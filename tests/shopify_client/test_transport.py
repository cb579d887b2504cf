"""The real ShopifyAPI transport: the right endpoint, token and timeout, shops never cross."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.errors import ShopifyAuthError, ShopifyServerError


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers with the path and token it saw, so a test can tell which shop asked."""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        token = self.headers.get("X-Shopify-Access-Token", "")
        if token == "shpat_slow":
            time.sleep(0.5)  # the client has given up by now: nobody reads the answer
            self.close_connection = True
            return
        if token == "shpat_revoked":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"errors":"[API] Invalid API key or access token"}')
            return
        body = {"data": {"path": self.path, "token": token,
                         "variables": request.get("variables")}}
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_posts_to_the_versioned_graphql_endpoint_with_the_token(base_url: str) -> None:
    client = ShopifyGraphQLClient("a.myshopify.com", "shpat_a", base_url=base_url)
    data = client.execute("{ shop { name } }", {"n": 1})
    assert data == {"path": "/admin/api/2026-10/graphql.json", "token": "shpat_a",
                    "variables": {"n": 1}}


def test_two_shops_in_one_process_never_cross(base_url: str) -> None:
    clients = {
        f"shpat_{i}": ShopifyGraphQLClient(f"s{i}.myshopify.com", f"shpat_{i}", base_url=base_url)
        for i in range(4)
    }

    def ask(token: str) -> tuple[str, str]:
        return token, clients[token].execute("{ shop { name } }")["token"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, [t for t in clients for _ in range(10)]))
    assert all(sent == seen for sent, seen in answers)


def test_revoked_token_is_an_auth_error(base_url: str) -> None:
    client = ShopifyGraphQLClient("r.myshopify.com", "shpat_revoked", base_url=base_url)
    with pytest.raises(ShopifyAuthError, match="reinstall"):
        client.execute("{ shop { name } }")


def test_a_hung_request_times_out_and_is_retried_then_reported(base_url: str) -> None:
    waits: list[float] = []
    client = ShopifyGraphQLClient("s.myshopify.com", "shpat_slow", base_url=base_url,
                                  timeout=0.1, max_attempts=2, sleep=waits.append)
    with pytest.raises(ShopifyServerError, match="network"):
        client.execute("{ shop { name } }")
    assert len(waits) == 1  # one backoff between the two attempts
