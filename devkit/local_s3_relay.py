"""Relay a browser's request for a presigned S3 URL into the local cloud's moto.

moto's ``mock_aws`` answers S3 only inside this process (it intercepts botocore and the
``requests`` library), so the dashboard's browser cannot PUT an upload or GET an export
at the presigned URL the API returns. The dashboard server forwards such requests here;
they are replayed with ``requests`` against the very same presigned URL, so moto sees
what S3 would see. Only S3 hosts are relayed: this is not a general proxy.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

from devkit.dashboard_server import RelayResponse

_S3_HOST = re.compile(r"^([a-z0-9.-]+\.)?s3([.-][a-z0-9-]+)*\.amazonaws\.com$")
RELAY_TIMEOUT_SECONDS = 60.0


def check_s3_url(url: str) -> str:
    """The URL if it is an https URL of S3, else ValueError saying what was expected."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not _S3_HOST.match(parts.hostname or ""):
        raise ValueError(f"only presigned https S3 URLs are relayed, not {url[:80]!r}")
    return url


def relay_to_s3(method: str, url: str, body: bytes, headers: dict[str, str]) -> RelayResponse:
    """Send ``method`` to the presigned ``url`` in this process (where moto listens), with
    the browser's Content-Type and x-amz-* headers (a SigV4 URL signs x-amz-tagging)."""
    if method not in ("GET", "PUT"):
        raise ValueError(f"the S3 relay passes GET and PUT, not {method}")
    headers = dict(headers) if method == "PUT" else {}
    with requests.Session() as session:
        # No proxy look-up in os.environ: the in-process Lambda runtime swaps the
        # environment while a function runs, and reading it then can fail.
        session.trust_env = False
        response = session.request(
            method,
            check_s3_url(url),
            data=body if method == "PUT" else None,
            headers=headers,
            timeout=RELAY_TIMEOUT_SECONDS,
        )
    return RelayResponse(
        status=response.status_code,
        content_type=response.headers.get("Content-Type", "application/octet-stream"),
        body=response.content,
    )


__all__ = ["check_s3_url", "relay_to_s3"]
