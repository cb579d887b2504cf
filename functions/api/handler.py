"""The REST API Lambda: authenticate, route to the resource routers, one error shape.

Request flow: ``lambda_handler`` builds the RuntimeConfig and an ``ApiContext`` (through
``context_factory``, which tests replace), then ``handle`` refuses oversized bodies,
verifies the Shopify session token of every route except the public ones, puts the
verified shop into the resolver context and lets Powertools route and validate.

Authentication happens before routing on purpose: Powertools validates the request
before any middleware runs, and an unauthenticated caller must get 401, not a detailed
400 about the body it sent.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

# What every request needs is imported here, at the cold start's import, not during its
# first request: the production context and the models every route answers with. Only
# each route's own module waits for a request to reach it (``register_routes``).
from api import models  # noqa: F401
from api.deps import CONTEXT_KEY, SHOP_KEY, USER_KEY
from api.errors import (
    ApiError,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    error_body,
    proxy_error_response,
)
from api.ports import ApiContext
from api.strict_json import body_text, loads
from api.validation_errors import describe_validation_error
from api.wiring import build_api_context
from seglift import invocation, observability
from seglift.auth.session_tokens import SessionTokenError, bearer_token, verify_session_token
from seglift.config import RuntimeConfig

logger = Logger(service="api")
tracer = observability.tracer_for("api")

API_TITLE = "seglift API"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "The REST API behind the seglift frontend. Authenticate with the Shopify session "
    "token App Bridge provides: 'Authorization: Bearer <token>'. Errors are always "
    '{"error": {"code", "message", "field"?}}.'
)
# Larger than any valid request (a 500-node condition tree is ~50 KB); refused before
# parsing so a huge body costs nothing.
MAX_BODY_BYTES = 256 * 1024
# When a throttled caller should come back (Lambda's concurrency frees within seconds).
BUSY_RETRY_AFTER_SECONDS = 30
# Routes that need no session token: liveness, the API description, and Shopify's
# webhooks (authenticated by HMAC). Everything else, unknown paths included, needs one.
PUBLIC_ROUTES = frozenset({("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/webhooks"),
                           # The OAuth install: the merchant's browser, before any session.
                           ("GET", "/auth/install"), ("GET", "/auth/callback")})

app = APIGatewayRestResolver(
    enable_validation=True,
    cors=CORSConfig(allow_origin="*", allow_headers=["Authorization", "Content-Type"]),
)

# Every route module (api.routes.<name>), in the order the app registers them, and the first
# path segments of the routes it serves (tests/api/test_route_loading.py checks this table
# against the routers themselves).
ROUTE_MODULES: dict[str, tuple[str, ...]] = {
    "health": ("health",),
    "shops": ("shop",),
    "templates": ("templates",),
    "segments": ("segments",),
    "tag_jobs": ("segments", "tag-jobs"),
    "webhooks": ("webhooks",),
    "analytics": ("segments", "cohorts", "clv", "revenue"),
    "journeys": ("journeys",),
    "measurements": ("measurements", "experiments"),
    "segment_editor": ("segments", "uploads"),
    "exports": ("segments",),
    "jobs": ("jobs",),
    "auth": ("auth",),
    "privacy": ("privacy-requests",),
    "catalog": ("catalog",),
    "conditions": ("conditions",),
    "predictions": ("predictions",),
}


def _route_groups(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """For each first path segment, the route modules to register together: every module
    serving a path under it, plus every module that shares another segment with one of
    those (transitively), in the table's order.

    Routes registered lazily must match exactly as if all were registered at import. Two
    routes can only both match a path when they share its first segment, so registering
    such a group at once, in the table's order, gives every path the same candidates in
    the same order (Powertools tries static routes, then dynamic ones, in registration
    order) whatever was registered before.
    """
    group_of = {name: {name} for name in table}
    for name, first_segments in table.items():
        for other, other_segments in table.items():
            if set(first_segments) & set(other_segments) and group_of[name] is not group_of[other]:
                merged = group_of[name] | group_of[other]
                for member in merged:
                    group_of[member] = merged
    order = list(table)
    return {segment: tuple(sorted(group_of[name], key=order.index))
            for name, first_segments in table.items() for segment in first_segments}


ROUTE_GROUPS = _route_groups(ROUTE_MODULES)
_registered: set[str] = set()
_registering = threading.Lock()  # the local cloud serves concurrent requests in threads


def register_routes(path: str | None = None) -> None:
    """Register the route modules that serve ``path`` (all of them when None), once each.

    A cold start imports and registers only the routers its request can reach: importing
    every route module and defining every model at import cost about as much again as
    boto3 and Powertools themselves, and a container that only ever answers GET /shop or
    webhooks never needs most of them. Unknown paths register nothing (they are 404s).
    """
    if path is None:
        names: tuple[str, ...] = tuple(ROUTE_MODULES)
    else:
        names = ROUTE_GROUPS.get(path.strip("/").split("/", 1)[0], ())
    if all(name in _registered for name in names):
        return
    with _registering:
        for name in names:
            if name not in _registered:
                module = importlib.import_module(f"api.routes.{name}")
                app.include_router(module.router)
                _registered.add(name)


def _json_error(status: int, code: str, message: str, field: str | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=error_body(code, message, field),
    )


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response:
    response = _json_error(error.status, error.code, error.message, error.field)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is None and error.status == 503:  # busy (Shopify): try again shortly
        retry_after = BUSY_RETRY_AFTER_SECONDS
    if retry_after is not None:  # 429: when the shop's budget reopens
        response.headers["Retry-After"] = str(retry_after)
    return response


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
    return _json_error(
        415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)",
        "Content-Type",
    )


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response:
    field, message = describe_validation_error(error.errors())
    return _json_error(400, "invalid_request", message, field)


@app.exception_handler(NotFoundError)
def _route_not_found(error: NotFoundError) -> Response:
    return _json_error(404, "route_not_found", "This address is not part of the seglift API.")


@app.not_found
def _no_route(error: NotFoundError) -> Response:
    """404 for an unknown path; 405 with ``Allow`` when the path exists under other methods
    (what HTTP asks, and what a client needs to see it used the wrong verb)."""
    allowed = _allowed_methods(app.current_event.path)
    if not allowed:
        return _route_not_found(error)
    return Response(
        status_code=405,
        content_type="application/json",
        body=error_body("method_not_allowed", "this address does not accept that request "
                        f"method: use {', '.join(allowed)}"),
        headers={"Allow": ", ".join(allowed)},
    )


def _allowed_methods(path: str) -> list[str]:
    """The methods the routes registered for ``path`` accept (CORS preflights aside)."""
    # Powertools keeps its routes in these two lists and offers no public lookup.
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes
                   if route.method != "OPTIONS" and route.rule.match(path)})


@app.exception_handler(invocation.FunctionTimedOut)
def _function_timed_out(error: invocation.FunctionTimedOut) -> Response:
    """A synchronous call outlasted the API's wait (below API Gateway's 29 s): say so in
    words rather than let API Gateway cut the request with its bare timeout."""
    logger.warning("a synchronous call timed out", extra={"function": error.function})
    return _json_error(504, "took_too_long",
                       "This took longer than the dashboard can wait for an answer. It may "
                       "still finish in the background: look again in a minute before "
                       "trying again.")


@app.exception_handler(invocation.FunctionBusy)
def _function_busy(error: invocation.FunctionBusy) -> Response:
    logger.warning("a synchronous call was throttled", extra={"function": error.function})
    response = _json_error(503, "busy", "seglift is busy right now: try again in a minute.")
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    logger.exception("unhandled error")
    return _json_error(500, "internal_error", "an unexpected error occurred; try again later")


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


@cache
def openapi_json() -> str:
    """The OpenAPI document of this code, as committed in docs/openapi.json (built once per
    container: generating it takes a few hundred milliseconds).

    Powertools documents request-validation failures as 422 with its own body; this API
    answers them with 400 and the one error shape (already listed on each route), so the
    422 entries and their schemas are removed to describe what the API really does. Links
    (api.openapi_links) say which response's id feeds which request.
    """
    # Imported here: Powertools' OpenAPI models take ~0.3 s to build, and only this
    # document needs them, not the requests a cold start serves.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from api.openapi_links import add_links

    register_routes()
    generated = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        security_schemes={"shopifySessionToken": HTTPBearer(bearerFormat="JWT")},
    )
    document = json.loads(generated)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    add_links(document)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    return None


def _authenticate(event: dict[str, Any], api: ApiContext) -> tuple[str, str]:
    """(shop, user id) of the request's verified session token, else Unauthorized."""
    credentials = api.credentials()
    try:
        token = bearer_token(_header(event, "authorization"))
        claims = verify_session_token(
            token, api_key=credentials.api_key, secret=credentials.secret
        )
    except SessionTokenError as error:
        raise Unauthorized(error.message, code=error.code, field="Authorization") from error
    return claims.shop, claims.user_id


def _require_installed(api: ApiContext, shop: str) -> None:
    """A shop that uninstalled the app (or was redacted: its record is gone) keeps valid
    session tokens for a while; they must not create or change anything any more. Only
    the lifecycle routes (webhooks, the OAuth install) stay open, and they are public."""
    record = api.shops.get(shop)
    if record is None or not getattr(record, "installed", False):
        raise Forbidden(
            "the app is not installed on this shop any more: install it again from the "
            "Shopify admin to use it",
            code="shop_uninstalled",
        )


def _check_body(event: dict[str, Any]) -> None:
    """Refuse a body the routes could not read, before Powertools parses it: not JSON by
    its Content-Type (multipart, forms...), not UTF-8, nested too deeply, or holding
    numbers no table can store. Powertools then parses the same text again, safely."""
    text = body_text(event.get("body"), bool(event.get("isBase64Encoded")))
    if not text:
        return
    content_type = (_header(event, "content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        raise ApiError(
            "send the body as JSON (Content-Type: application/json)",
            code="unsupported_media_type", field="Content-Type", status=415,
        )
    value = loads(text)
    if value is not None and not isinstance(value, dict):
        # Every body this API reads is an object (or null for an optional one); Powertools
        # would read an array given for an optional body as no body at all.
        raise ApiError("send the body as a JSON object ({...})", code="invalid_request",
                       field="body", status=400)


def handle(event: dict[str, Any], lambda_context: LambdaContext, api: ApiContext) -> dict:
    """Answer one API Gateway proxy event with the given dependencies."""
    try:
        if _body_size(event) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"the request body is larger than {MAX_BODY_BYTES} bytes: send less"
            )
        method = (event.get("httpMethod") or "").upper()
        app.append_context(**{CONTEXT_KEY: api})
        if method != "OPTIONS" and (method, event.get("path")) not in PUBLIC_ROUTES:
            shop, user = _authenticate(event, api)
            observability.bind(logger, shop=shop)
            app.append_context(**{SHOP_KEY: shop, USER_KEY: user})
            _require_installed(api, shop)
            _check_body(event)
        # A CORS preflight's answer lists every method the API serves (API Gateway answers
        # preflights itself in production; the local cloud passes them on).
        register_routes(None if method == "OPTIONS" else str(event.get("path") or ""))
    except ApiError as error:
        app.clear_context()
        return proxy_error_response(error)
    except Exception:
        # E.g. SSM unreachable while fetching the app secret: still the one error shape.
        logger.exception("request failed before routing")
        app.clear_context()
        return proxy_error_response(
            ApiError("an unexpected error occurred; try again later", code="internal_error",
                     status=500)
        )
    return app.resolve(event, lambda_context)


def build_context(config: RuntimeConfig) -> ApiContext:
    """The production dependencies (no client is made before a request needs it)."""
    return build_api_context(config)


# Tests replace this to inject fakes; production builds from the function's environment.
context_factory: Callable[[RuntimeConfig], ApiContext] = build_context


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict:
    """API Gateway proxy entry point: configuration and dependencies per invocation."""
    observability.route_library_logs(logger, "api")
    config = RuntimeConfig.from_environ(os.environ)
    return handle(event, context, context_factory(config))


__all__ = ["handle", "lambda_handler", "openapi_json", "register_routes"]
