"""S3 clients for presigning: SigV4 on the regional endpoint.

Why: without ``signature_version`` botocore may presign with SigV2 (``Signature=`` in the
query), which buckets created today refuse, and a SigV2 URL ignores tagging passed as a
parameter, so the short-retention rule would never reach uploads. SigV4 on the regional
host (``<bucket>.s3.<region>.amazonaws.com``) signs the tagging header with the rest.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

PRESIGN_CONFIG = Config(
    signature_version="s3v4",
    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
)


def presigning_s3_client(session: Any) -> Any:
    """An S3 client from ``session`` (boto3 or a boto3 Session) that presigns SigV4."""
    return session.client("s3", config=PRESIGN_CONFIG)
