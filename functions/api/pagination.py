"""Opaque page tokens: the caller hands back what it was given and never builds one.

A token wraps the last key of the previous page (base64url of a small JSON document), so
repositories can resume a DynamoDB query after it. Tokens carry no shop: every query is
already scoped by the verified shop, so a token from another tenant can only name a key
position, never grant access to another partition.
"""

from __future__ import annotations

import base64
import binascii
import json

from api.errors import BadRequest

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 512


def encode_page_token(last_key: str | None) -> str | None:
    """The token for the page after ``last_key``; None when there is no next page."""
    if last_key is None:
        return None
    raw = json.dumps({"after": last_key}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str | None) -> str | None:
    """The key a token resumes after; BadRequest naming ``next_token`` if it is not ours."""
    if token is None or token == "":
        return None
    invalid = BadRequest(
        "next_token is not a token this API returned: pass next_token from the previous "
        "page unchanged, or omit it to start from the first page",
        code="invalid_page_token",
        field="next_token",
    )
    if len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    try:
        padded = token + "=" * (-len(token) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as error:
        raise invalid from error
    after = document.get("after") if isinstance(document, dict) else None
    if not isinstance(after, str) or not after:
        raise invalid
    return after
