"""The API's one error shape and the exceptions that produce it.

Every 4xx/5xx body is ``{"error": {"code", "message", "field"?}}``: ``code`` is stable and
machine readable, ``message`` tells the caller what to fix, ``field`` names the request
field at fault when there is one. Route code raises ``ApiError`` subclasses; the handler
turns them, Powertools' validation errors and anything unexpected into this shape.
"""

from __future__ import annotations

import json
from typing import Any

JSON_HEADERS = {
    "Content-Type": "application/json",
    # Error responses built outside the resolver (authentication, body size) must still be
    # readable by the browser frontend.
    "Access-Control-Allow-Origin": "*",
}


class ApiError(Exception):
    """A request the API refuses; carries the HTTP status and the error body's fields."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    status = 400
    code = "invalid_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The ``{"error": ...}`` document; ``field`` is left out when there is none."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def proxy_error_response(error: ApiError) -> dict[str, Any]:
    """An API Gateway proxy response for an error raised before routing (auth, size)."""
    headers = dict(JSON_HEADERS)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="seglift"'
    return {
        "statusCode": error.status,
        "headers": headers,
        "body": json.dumps(error_body(error.code, error.message, error.field)),
        "isBase64Encoded": False,
    }
