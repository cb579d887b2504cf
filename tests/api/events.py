"""API Gateway REST proxy events, as API Gateway sends them to the Lambda."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def proxy_event(
    method: str,
    url: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (v1) proxy event for ``method url`` (``url`` may carry a query string)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    if isinstance(raw_body, bytes):
        raw_body = base64.b64encode(raw_body).decode() if base64_body else raw_body.decode()
    elif base64_body and raw_body is not None:
        raw_body = base64.b64encode(raw_body.encode()).decode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": (
            {k: [v for kk, v in query if kk == k] for k, _ in query} or None
        ),
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/dev{parts.path}",
            "stage": "dev",
            "requestId": "test-request",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": raw_body,
        "isBase64Encoded": base64_body,
    }
