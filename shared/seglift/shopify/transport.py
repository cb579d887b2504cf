"""One HTTP round trip of a GraphQL document, through the real ShopifyAPI package.

Kept apart from the client's retry and pacing logic so tests can hand the client a fake
transport (any ``(document, variables) -> HttpResponse`` callable) and drive every fault
without a network.

ShopifyAPI keeps its session (site, token header) in class-level state. Two clients for
two shops in one process would cross if they activated sessions concurrently, so the
session is activated, the endpoint and headers are copied into the request object, and
the session is cleared again — all under one module lock. Network I/O happens outside it.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import shopify

_SESSION_LOCK = threading.Lock()
_DEFINED_VERSIONS: set[str] = set()


@dataclass(frozen=True)
class HttpResponse:
    """What came back: status, headers (lower-cased names) and the raw body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class TransportError(Exception):
    """The request never produced a response: timeout, refused or dropped connection."""


Transport = Callable[[str, "dict[str, Any] | None"], HttpResponse]


def _lower_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


class TimedGraphQL(shopify.GraphQL):
    """ShopifyAPI's GraphQL with a socket timeout, status and headers, and no printing.

    The stock class has no timeout (a hung socket would eat the Lambda's 15 minutes) and
    prints error bodies to stdout (which could leak customer data into logs).
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        # Copy: the stock class keeps a reference to the session's mutable header dict.
        self.headers: dict[str, str] = dict(self.headers)
        self.timeout = timeout

    def send(self, query: str, variables: dict[str, Any] | None = None) -> HttpResponse:
        headers = self.merge_headers(
            {"Accept": "application/json", "Content-Type": "application/json"}, self.headers
        )
        payload = json.dumps({"query": query, "variables": variables}).encode("utf-8")
        request = urllib.request.Request(self.endpoint, payload, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                return HttpResponse(response.status, body, _lower_headers(response.headers))
        except urllib.error.HTTPError as error:
            body = error.read() if error.fp is not None else b""
            return HttpResponse(error.code, body, _lower_headers(error.headers))
        except (urllib.error.URLError, TimeoutError, ConnectionError,
                http.client.HTTPException) as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> str:
        """The stock interface (body string), minus the printing; raises on HTTP errors."""
        response = self.send(query, variables)
        if response.status >= 400:
            raise TransportError(f"HTTP {response.status}")
        return response.body.decode("utf-8")


def _define_version(api_version: str) -> None:
    if api_version not in _DEFINED_VERSIONS:
        shopify.ApiVersion.define_version(shopify.Release(api_version))
        _DEFINED_VERSIONS.add(api_version)


class ShopifyApiTransport:
    """Sends documents for one shop with ShopifyAPI, pointed at ``base_url`` when set."""

    def __init__(
        self, shop: str, access_token: str, *, base_url: str, api_version: str, timeout: float
    ) -> None:
        self.shop = shop
        self._access_token = access_token
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout

    def _prepare(self) -> TimedGraphQL:
        with _SESSION_LOCK:
            _define_version(self.api_version)
            session = shopify.Session(self.shop, self.api_version, self._access_token)
            shopify.ShopifyResource.activate_session(session)
            try:
                if self.base_url:
                    shopify.ShopifyResource.set_site(
                        f"{self.base_url}/admin/api/{self.api_version}"
                    )
                return TimedGraphQL(self.timeout)
            finally:
                shopify.ShopifyResource.clear_session()

    def __call__(self, document: str, variables: dict[str, Any] | None = None) -> HttpResponse:
        return self._prepare().send(document, variables)
