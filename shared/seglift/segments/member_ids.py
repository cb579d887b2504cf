"""The ``.ids.gz`` membership format: gzip of newline-separated numeric customer ids.

Readers without pyarrow (tagging, API) use ``decode_member_ids``; the segments function
writes it next to the Parquet snapshot with ``encode_member_ids``. No pyarrow here.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable

# Gzip's fastest level: a day-run writes one file per segment, and level 9 took 0.7 s for
# 50,000 ids against 0.02 s here, for a file about 15% larger. Readers are unaffected.
COMPRESS_LEVEL = 1


def encode_member_ids(ids: Iterable[int]) -> bytes:
    """Gzip of the ids, one per line, with a trailing newline when non-empty."""
    text = "".join(f"{int(i)}\n" for i in ids)
    return gzip_text(text)


def gzip_text(text: str) -> bytes:
    """The ``.ids.gz`` body of already formatted text (reproducible: no timestamp)."""
    return gzip.compress(text.encode("ascii"), compresslevel=COMPRESS_LEVEL, mtime=0)


def decode_member_ids(blob: bytes) -> list[int]:
    """The ids of an ``.ids.gz`` body; raises ValueError naming the first bad line."""
    lines = gzip.decompress(blob).decode("ascii").splitlines()
    ids = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            ids.append(int(line))
        except ValueError:
            raise ValueError(f"member ids line {number} is not a customer id: {line!r}") from None
    return ids
