"""Staged uploads: the emulator's stand-in for Shopify's signed cloud-storage targets.

``stagedUploadsCreate`` hands out a target on the emulator itself; the client uploads the
bulk mutation variables there (multipart POST with the returned parameters, or a PUT), and
passes the ``key`` parameter as ``stagedUploadPath`` to ``bulkOperationRunMutation``.
"""

from __future__ import annotations

import email.parser
import email.policy
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devkit.shopify_emulator.state import shop_numeric_id

MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class UploadError(ValueError):
    """The upload request is not acceptable; the message says why."""


class StagedUploads:
    def __init__(self, directory: Path, base_url: Callable[[], str]) -> None:
        self.directory = directory
        self._base_url = base_url
        self._targets: dict[str, str] = {}  # key -> shop domain
        self._files: dict[str, Path] = {}  # key -> uploaded file
        self._lock = threading.Lock()

    def create_target(
        self, domain: str, filename: str, mime_type: str, http_method: str
    ) -> dict[str, Any]:
        """A StagedMediaUploadTarget for one file of bulk mutation variables."""
        safe_name = Path(filename).name or "variables.jsonl"
        key = f"tmp/{shop_numeric_id(domain)}/bulk/{uuid.uuid4()}/{safe_name}"
        with self._lock:
            self._targets[key] = domain
        base = self._base_url()
        if http_method == "PUT":
            url = f"{base}/staged-uploads/{key}"
            parameters = [
                {"name": "content_type", "value": mime_type},
                {"name": "acl", "value": "private"},
                {"name": "key", "value": key},
            ]
        else:
            url = f"{base}/staged-uploads"
            parameters = [
                {"name": "key", "value": key},
                {"name": "Content-Type", "value": mime_type},
                {"name": "success_action_status", "value": "201"},
                {"name": "acl", "value": "private"},
                {"name": "policy", "value": "emulator-policy"},
                {"name": "x-goog-credential", "value": "emulator"},
                {"name": "x-goog-algorithm", "value": "GOOG4-RSA-SHA256"},
                {"name": "x-goog-date", "value": "20260101T000000Z"},
                {"name": "x-goog-signature", "value": "emulator"},
            ]
        return {"url": url, "resourceUrl": f"{base}/staged-uploads/{key}", "parameters": parameters}

    def _store(self, key: str, data: bytes) -> Path:
        with self._lock:
            if key not in self._targets:
                raise UploadError(f"no staged upload target with key {key!r}")
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadError("staged uploads are limited to 100 MB")
        path = self.directory / (uuid.uuid4().hex + ".jsonl")
        path.write_bytes(data)
        with self._lock:
            self._files[key] = path
        return path

    def receive_put(self, key: str, data: bytes) -> Path:
        return self._store(key, data)

    def receive_multipart(self, content_type: str, data: bytes) -> str:
        """Accept a form POST (fields first, then ``file``); returns the key."""
        if "multipart/form-data" not in content_type:
            raise UploadError("expected a multipart/form-data body")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[str(name)] = part.get_payload(decode=True) or b""
        key = fields.get("key", b"").decode()
        if not key:
            raise UploadError("the form has no 'key' field")
        if "file" not in fields:
            raise UploadError("the form has no 'file' field")
        self._store(key, fields["file"])
        return key

    def path_for(self, domain: str, key: str) -> Path | None:
        """The uploaded file for ``key`` if that shop staged and uploaded it."""
        with self._lock:
            if self._targets.get(key) != domain:
                return None
            return self._files.get(key)
