"""A write-only file object that streams to S3 as a multipart upload.

The CSV writer writes into it; every ``part_size`` bytes become one UploadPart, so an
export of any size needs one part of memory, not the whole file. ``close`` completes the
upload; ``abort`` (or an exception inside ``with``) aborts it, so no half file appears and
no orphaned parts are billed. Files smaller than one part are sent with one PutObject.
"""

from __future__ import annotations

import io
from types import TracebackType
from typing import Any

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024


class S3MultipartWriter(io.RawIOBase):
    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        content_type: str = "text/csv; charset=utf-8",
        tagging: str = "",
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        super().__init__()
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self._extra = {"ContentType": content_type}
        if tagging:
            self._extra["Tagging"] = tagging
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.bytes_written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._buffer.extend(chunk)
        self.bytes_written += len(chunk)
        while len(self._buffer) >= self._part_size:
            self._upload_part(bytes(self._buffer[: self._part_size]))
            del self._buffer[: self._part_size]
        return len(chunk)

    def _upload_part(self, body: bytes) -> None:
        if self._upload_id is None:
            created = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, **self._extra
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
            PartNumber=number, Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._upload_id is None:
                self._s3.put_object(
                    Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), **self._extra
                )
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                self._s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
            self._buffer.clear()
        finally:
            super().close()

    def abort(self) -> None:
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
            )
            self._upload_id = None
        self._buffer.clear()
        super().close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abort()
        else:
            self.close()
