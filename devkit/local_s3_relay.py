"""Relay a browser's request for a presigned S3 URL into the local cloud's moto.

moto's ``mock_aws`` answers S3 only inside this process (it intercepts botocore and the
``requests`` library), so the dashboard's browser cannot PUT an upload or GET an export
at the presigned URL the API returns. The dashboard server forwards such requests here;
they are replayed with ``requests`` against the very same presigned URL, so moto sees
what S3 would see. A presigned POST upload is checked here as S3 checks it and moto does not
(``devkit.s3_post_policy``: signature, expiry, fields, size) and stored with its tags, which
moto's own POST handling drops. Only S3 hosts are relayed: this is not a general proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape

import boto3
import requests
from botocore.config import Config

from devkit.dashboard_server import RelayResponse
from devkit.local_cloud.cloud import LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY
from devkit.s3_post_policy import PostRefused, check_post_form, signing_key, tags_from_xml

_S3_HOST = re.compile(r"^([a-z0-9.-]+\.)?s3([.-][a-z0-9-]+)*\.amazonaws\.com$")
RELAY_TIMEOUT_SECONDS = 60.0


def check_s3_url(url: str) -> str:
    """The URL if it is an https URL of S3, else ValueError saying what was expected."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not _S3_HOST.match(parts.hostname or ""):
        raise ValueError(f"only presigned https S3 URLs are relayed, not {url[:80]!r}")
    return url


_ALLOWED_SIGNED_PARAMETERS = {"X-Amz-Security-Token", "x-id", "response-content-disposition",
                              "response-content-type"}
_SIGNED_QUERY = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                 "X-Amz-SignedHeaders", "X-Amz-Signature"}


def _local_credentials() -> dict[str, str]:
    """Access key id -> secret of the keys this process signs with: the local cloud's, and
    whatever boto3's default session resolved (functions that build clients with
    ``boto3.client`` share it, and it keeps the credentials it found first, moto's own fake
    ones included)."""
    keys = {LOCAL_ACCESS_KEY_ID: LOCAL_SECRET_ACCESS_KEY}
    session = boto3.DEFAULT_SESSION
    credentials = session.get_credentials() if session is not None else None
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        keys.setdefault(frozen.access_key, frozen.secret_key)
    return keys


def _query_signature(method: str, url: str, headers: dict[str, str], secret: str) -> str:
    """The SigV4 signature S3 computes for a presigned ``url`` (query authentication, the
    payload unsigned): the canonical request over the URL's path and its query without
    X-Amz-Signature, the signed headers (host from the URL, the rest from ``headers``)."""
    parts = urlsplit(url)
    pairs = [pair.partition("=") for pair in parts.query.split("&") if pair]
    query = "&".join(f"{k}={v}" for k, _, v in sorted(pairs) if k != "X-Amz-Signature")
    values = dict(parse_qsl(parts.query, keep_blank_values=True))
    given = {name.lower(): value for name, value in headers.items()}
    given["host"] = parts.netloc
    signed = values["X-Amz-SignedHeaders"]
    canonical_headers = "".join(f"{name}:{' '.join(given.get(name, '').split())}\n"
                                for name in signed.split(";"))
    canonical = "\n".join([method, parts.path or "/", query, canonical_headers, signed,
                           "UNSIGNED-PAYLOAD"])
    _, day, region, service, _ = values["X-Amz-Credential"].split("/")
    scope = values["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", values["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, day, region, service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check_presigned_object_url(url: str, now: datetime | None = None, *, method: str = "GET",
                               headers: dict[str, str] | None = None) -> str:
    """The URL if it is a SigV4-presigned URL of one object, signed by the local cloud for
    ``method`` (and the signed ``headers``), that has not expired; else ValueError. moto
    checks no signature, so without this the relay would answer an unsigned or forged
    ``GET https://<bucket>.s3.amazonaws.com/<any key>`` (every shop's lake) to anyone who
    can reach the dashboard server, and store any PUT."""
    check_s3_url(url)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    path = parts.path.lstrip("/")
    if (parts.hostname or "").startswith(("s3.", "s3-")):  # path style: /<bucket>/<key>
        path = path.split("/", 1)[1] if "/" in path else ""
    key = path
    if not key:
        raise ValueError("only a presigned URL of one object is relayed, never a bucket")
    if not set(query) >= _SIGNED_QUERY or query["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
        raise ValueError("only SigV4-presigned URLs are relayed: this one is not signed")
    # SigV4 signs the whole query, so the response-* overrides of an export's download
    # (file name, content type) are part of the signature like the rest.
    if set(query) - _SIGNED_QUERY - _ALLOWED_SIGNED_PARAMETERS:
        raise ValueError("a presigned object URL carries no other query parameters")
    secret = _local_credentials().get(query["X-Amz-Credential"].split("/", 1)[0])
    if secret is None:
        raise ValueError("the URL was not signed by the local cloud's credentials")
    try:
        expected = _query_signature(method, url, headers or {}, secret)
    except ValueError:
        raise ValueError("the URL's X-Amz-Credential is malformed") from None
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        raise ValueError("the URL's signature does not match: only URLs the API presigned "
                         "are relayed")
    try:
        signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = signed + timedelta(seconds=int(query["X-Amz-Expires"]))
    except ValueError:
        raise ValueError("the URL's X-Amz-Date or X-Amz-Expires is malformed") from None
    if (now or datetime.now(UTC)) > expires:
        raise ValueError("the presigned URL has expired")
    return url


def _form(body: bytes, content_type: str) -> tuple[dict[str, str], str, bytes]:
    """A multipart/form-data body -> (fields in order, the file's name, the file)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise ValueError("a POST upload must be multipart/form-data")
    fields: dict[str, str] = {}
    filename, content = "", b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            filename = part.get_filename() or ""
            content = payload
        else:
            fields[str(name)] = payload.decode()
    return fields, filename, content


def _bucket_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.startswith("s3.") or host.startswith("s3-"):
        return parts.path.strip("/").split("/", 1)[0]
    return host.split(".s3", 1)[0]


def _error(refused: PostRefused) -> RelayResponse:
    body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{refused.code}</Code>"
            f"<Message>{escape(str(refused))}</Message></Error>").encode()
    return RelayResponse(status=refused.status, content_type="application/xml", body=body)


def post_to_s3(url: str, body: bytes, headers: dict[str, str]) -> RelayResponse:
    """A browser's presigned POST upload, with the checks S3 makes and moto does not (the
    signed policy: signature, expiry, fields, size), then stored with its tags."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    fields, filename, content = _form(body, content_type)
    bucket = _bucket_of(check_s3_url(url))
    try:
        check_post_form(bucket, fields, len(content), LOCAL_SECRET_ACCESS_KEY)
        tags = tags_from_xml(fields.get("tagging", ""))
    except PostRefused as refused:
        return _error(refused)
    s3 = boto3.client("s3", config=Config(proxies={}))
    s3.put_object(Bucket=bucket, Key=fields["key"].replace("${filename}", filename),
                  Body=content, Tagging=urlencode(tags))
    return RelayResponse(status=204, content_type="text/plain", body=b"")


def relay_to_s3(method: str, url: str, body: bytes, headers: dict[str, str]) -> RelayResponse:
    """Send ``method`` to the presigned ``url`` in this process (where moto listens), with
    the browser's Content-Type and x-amz-* headers (a SigV4 URL signs x-amz-tagging)."""
    if method == "POST":
        return post_to_s3(url, body, headers)
    if method not in ("GET", "PUT"):
        raise ValueError(f"the S3 relay passes GET, PUT and POST uploads, not {method}")
    check_presigned_object_url(url, method=method, headers=headers)
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


__all__ = ["check_presigned_object_url", "check_s3_url", "post_to_s3", "relay_to_s3"]
