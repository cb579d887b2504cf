"""Redacted customers stay redacted: every later sync drops their rows before writing.

``customers/redact`` removes a customer from what is stored, but Shopify may still hold
the customer and send them again: the daily sync re-fetches whatever was updated since
its watermark (with a two-hour overlap), and a full re-sync fetches everyone. So the
redaction also records the customer (and their orders) here, and the sync filters every
batch it writes through ``Suppression.filter``, whatever the order in which the webhook,
the privacy step and syncs ran.

The record holds no identifier: each id is kept as a SHA-256 digest of ``shop:kind:id``
(a pseudonym, never the number; the privacy tests search every stored version for the
customer's id and find none), plus the id's low 12 bits. Those bits let the filter pick
the few candidate rows with one vectorised ``is_in`` over the batch's id column, and hash
only those: a batch of a million customers costs one pass in Arrow, not a million hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift import keys

LOW_BITS = 0xFFF
# Which id columns of a table can name a redacted subject, and of which kind.
COLUMNS = {"customer_id": "customer", "order_id": "order"}


def digest(shop: str, kind: str, value: int) -> str:
    return hashlib.sha256(f"{shop}:{kind}:{int(value)}".encode()).hexdigest()


@dataclass
class Suppression:
    """The shop's redacted customer and order ids, as digests with their low bits."""

    shop: str
    digests: dict[str, set[str]] = field(default_factory=lambda: {"customer": set(),
                                                                  "order": set()})
    low_bits: dict[str, set[int]] = field(default_factory=lambda: {"customer": set(),
                                                                   "order": set()})

    # -- storage ----------------------------------------------------------------------------

    @classmethod
    def load(cls, s3: Any, bucket: str, shop: str) -> Suppression:
        try:
            body = s3.get_object(Bucket=bucket, Key=keys.suppression_key(shop))["Body"].read()
        except s3.exceptions.NoSuchKey:
            return cls(shop)
        document = json.loads(body)
        suppression = cls(shop)
        for kind in ("customer", "order"):
            entry = document.get(kind) or {}
            suppression.digests[kind] = set(entry.get("digests", []))
            suppression.low_bits[kind] = {int(b) for b in entry.get("low_bits", [])}
        return suppression

    def save(self, s3: Any, bucket: str) -> None:
        document = {kind: {"digests": sorted(self.digests[kind]),
                           "low_bits": sorted(self.low_bits[kind])}
                    for kind in ("customer", "order")}
        s3.put_object(Bucket=bucket, Key=keys.suppression_key(self.shop),
                      Body=json.dumps(document, sort_keys=True).encode(),
                      ContentType="application/json")

    def add(self, kind: str, ids: Iterable[int]) -> None:
        for value in ids:
            self.digests[kind].add(digest(self.shop, kind, value))
            self.low_bits[kind].add(int(value) & LOW_BITS)

    @property
    def empty(self) -> bool:
        return not any(self.digests.values())

    # -- filtering --------------------------------------------------------------------------

    def suppressed(self, data: pa.Table) -> pa.Array:
        """A boolean mask of the rows that name a redacted customer or order."""
        mask = None
        for column, kind in COLUMNS.items():
            if column not in data.column_names or not self.digests[kind]:
                continue
            ids = data[column].combine_chunks()
            bits = pa.array(sorted(self.low_bits[kind]), pa.int64())
            low = pc.bit_wise_and(ids, pa.scalar(LOW_BITS, pa.int64()))
            candidates = pc.unique(pc.filter(ids, pc.fill_null(pc.is_in(low, value_set=bits),
                                                               False)))
            redacted = [v for v in candidates.to_pylist()
                        if v is not None and digest(self.shop, kind, v) in self.digests[kind]]
            if not redacted:
                continue
            hit = pc.fill_null(pc.is_in(ids, value_set=pa.array(redacted, pa.int64())), False)
            mask = hit if mask is None else pc.or_(mask, hit)
        return mask if mask is not None else pa.nulls(data.num_rows, pa.bool_()).fill_null(False)

    def filter(self, data: pa.Table) -> pa.Table:
        """``data`` without the rows of redacted customers and orders."""
        if self.empty or data.num_rows == 0:
            return data
        return data.filter(pc.invert(self.suppressed(data)))
