"""S3's checks of a browser POST upload, which moto does not make.

A presigned POST hands the browser a base64 policy and its SigV4 signature. S3 refuses the
upload when the signature does not match the policy, the policy has expired, a form field
is not allowed by a condition, or the file's size is outside ``content-length-range``; then
it stores the file with the form's ``tagging`` (XML). moto checks none of this and ignores
``tagging``, so the local S3 relay (``devkit.local_s3_relay``) runs ``check_post_form``
before it stores the file, and tests call it directly. The rules follow S3's "Creating a
POST policy" documentation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from typing import Any

# Fields S3 never checks against the policy's conditions.
_UNCHECKED = {"policy", "x-amz-signature", "file"}


class PostRefused(ValueError):
    """S3 would refuse the upload: ``code`` is S3's error code, the message says why."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    try:
        return json.loads(base64.b64decode(fields["policy"]))
    except (KeyError, ValueError) as bad:
        raise PostRefused("AccessDenied", "the form has no readable policy") from bad


def _check_signature(fields: dict[str, str], secret: str) -> None:
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise PostRefused("InvalidArgument", "only AWS4-HMAC-SHA256 (SigV4) is accepted", 400)
    try:
        _, day, region, service, _ = fields["x-amz-credential"].split("/")
    except (KeyError, ValueError) as bad:
        raise PostRefused("InvalidArgument", "x-amz-credential is malformed", 400) from bad
    expected = hmac.new(signing_key(secret, day, region, service),
                        fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise PostRefused("SignatureDoesNotMatch", "the policy's signature does not match")


def _condition_fields(condition: Any, values: dict[str, str], size: int) -> set[str]:
    """Check one condition; return the form fields it covers."""
    if isinstance(condition, dict):
        ((name, expected),) = condition.items()
        if values.get(name.lower()) != expected:
            raise PostRefused("AccessDenied", f"field {name!r} must be {expected!r}")
        return {name.lower()}
    operator, *arguments = condition
    if operator == "content-length-range":
        low, high = (int(a) for a in arguments)
        if not low <= size <= high:
            raise PostRefused("EntityTooLarge" if size > high else "EntityTooSmall",
                              f"the file is {size} bytes; the policy allows {low} to {high}",
                              400)
        return set()
    name = str(arguments[0]).lstrip("$").lower()
    actual = values.get(name, "")
    if operator == "eq" and actual != arguments[1]:
        raise PostRefused("AccessDenied", f"field {name!r} must be {arguments[1]!r}")
    if operator == "starts-with" and not actual.startswith(arguments[1]):
        raise PostRefused("AccessDenied", f"field {name!r} must start with {arguments[1]!r}")
    if operator not in ("eq", "starts-with"):
        raise PostRefused("InvalidPolicyDocument", f"unknown condition {operator!r}", 400)
    return {name}


def check_post_form(bucket: str, fields: dict[str, str], file_size: int, secret: str,
                    now: datetime | None = None) -> None:
    """Raise ``PostRefused`` where S3 would refuse this POST upload to ``bucket``."""
    values = {name.lower(): value for name, value in fields.items()}
    policy = _policy(values)
    _check_signature(values, secret)
    expires = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if (now or datetime.now(UTC)) > expires:
        raise PostRefused("AccessDenied", "the upload form has expired: request a new one")
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        covered |= _condition_fields(condition, {**values, "bucket": bucket}, file_size)
    unchecked = {name for name in values if name not in _UNCHECKED
                 and not name.startswith("x-ignore-")} - covered - {"bucket"}
    if unchecked:
        raise PostRefused("AccessDenied",
                          f"form fields not allowed by the policy: {sorted(unchecked)}")


def tags_from_xml(tagging: str) -> dict[str, str]:
    """``<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...`` -> {k: v}."""
    if not tagging:
        return {}
    try:
        root = ElementTree.fromstring(tagging)
    except ElementTree.ParseError as bad:
        raise PostRefused("MalformedXML", "the tagging field is not valid XML", 400) from bad
    return {tag.findtext("Key", ""): tag.findtext("Value", "") for tag in root.iter("Tag")}
