"""The shop's segments in DynamoDB: create, read, list, update, rename, delete, and the
daily run's bookkeeping (member counts, last evaluation day, last error).

No pyarrow here (the API uses this module). Conditions are validated by the caller
(``seglift.segments.conditions.validate_condition``) before they reach ``create`` or
``update``; this module guards what only the stored set of segments can tell: a segment
that another segment's condition names (``member_of``) cannot be deleted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from seglift.segments.dependencies import dependants_of
from seglift.storage.models import SegmentModel, bind

MAX_ERROR_LENGTH = 2000


class SegmentNotFound(LookupError):
    """No segment with this id in this shop."""


class SegmentInUse(ValueError):
    """The segment is named by other segments' conditions; ``dependants`` lists them."""

    def __init__(self, segment_id: str, dependants: list[str]) -> None:
        super().__init__(
            f"segment {segment_id!r} is used by {', '.join(dependants)} (member_of); "
            "change or delete those segments first"
        )
        self.segment_id = segment_id
        self.dependants = dependants


@dataclass(frozen=True)
class SegmentPage:
    """One page of a listing and the key to resume after (None on the last page)."""

    items: list[Any]
    last_key: str | None = None


def new_segment_id() -> str:
    """A short random id, safe in S3 keys (``seglift.keys``) and URLs."""
    return f"seg_{secrets.token_hex(6)}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SegmentRepository:
    """Segments of every shop in one DynamoDB table (hash key shop, range key id)."""

    def __init__(self, table_name: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.model = bind(SegmentModel, table_name)
        self.clock = clock

    # ------------------------------------------------------------------ CRUD
    def create(
        self,
        shop: str,
        *,
        name: str,
        condition: dict[str, Any] | None,
        description: str | None = None,
        template_id: str | None = None,
        kind: str | None = None,
        segment_id: str | None = None,
    ) -> SegmentModel:
        """Store a new segment; ``kind`` defaults to condition (list if no condition)."""
        if not name or not name.strip():
            raise ValueError("a segment needs a non-empty name")
        now = self.clock()
        item = self.model(
            shop,
            segment_id or new_segment_id(),
            name=name.strip(),
            kind=kind or ("condition" if condition is not None else "list"),
            description=description,
            condition=condition,
            template_id=template_id,
            created_at=now,
            updated_at=now,
        )
        item.save(condition=self.model.segment_id.does_not_exist())
        return item

    def get(self, shop: str, segment_id: str) -> SegmentModel | None:
        try:
            return self.model.get(shop, segment_id, consistent_read=True)
        except DoesNotExist:
            return None

    def require(self, shop: str, segment_id: str) -> SegmentModel:
        segment = self.get(shop, segment_id)
        if segment is None:
            raise SegmentNotFound(f"no segment {segment_id!r} in shop {shop!r}")
        return segment

    def list(self, shop: str) -> list[SegmentModel]:
        return list(self._all(shop))

    def _all(self, shop: str) -> Iterator[SegmentModel]:
        return iter(self.model.query(shop, consistent_read=True))

    def list_page(self, shop: str, *, limit: int, after: str | None = None) -> SegmentPage:
        """Up to ``limit`` segments in id order, resuming after the id ``after``."""
        start = {"shop": {"S": shop}, "segment_id": {"S": after}} if after else None
        result = self.model.query(shop, limit=limit, last_evaluated_key=start)
        items = list(result)
        last = result.last_evaluated_key
        return SegmentPage(items, last["segment_id"]["S"] if last else None)

    def conditions(self, shop: str) -> dict[str, Any]:
        """Every segment id of the shop -> its condition (None for list segments)."""
        return {s.segment_id: s.condition for s in self._all(shop)}

    def set_keep_in_sync_tag(self, shop: str, segment_id: str, tag: str | None) -> SegmentModel:
        """Start (a tag) or stop (None) keeping the segment's members tagged in Shopify."""
        segment = self.require(shop, segment_id)
        if tag is not None and segment.kind != "condition":
            raise ValueError("only a condition-based segment changes daily and can be kept in sync")
        attribute = self.model.keep_in_sync_tag
        segment.update(
            actions=[attribute.set(tag) if tag is not None else attribute.remove(),
                     self.model.updated_at.set(self.clock())],
            condition=self.model.segment_id.exists(),
        )
        return segment

    def update(
        self,
        shop: str,
        segment_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        condition: dict[str, Any] | None = None,
    ) -> SegmentModel:
        """Change the given fields (None = keep); a list segment cannot get a condition."""
        segment = self.require(shop, segment_id)
        actions = [self.model.updated_at.set(self.clock())]
        if name is not None:
            if not name.strip():
                raise ValueError("a segment needs a non-empty name")
            actions.append(self.model.name.set(name.strip()))
        if description is not None:
            actions.append(self.model.description.set(description))
        if condition is not None:
            if segment.kind != "condition":
                raise ValueError("a list segment has no condition; create a new segment")
            actions.append(self.model.condition.set(condition))
        segment.update(actions=actions, condition=self.model.segment_id.exists())
        return segment

    def rename(self, shop: str, segment_id: str, name: str) -> SegmentModel:
        return self.update(shop, segment_id, name=name)

    def delete(self, shop: str, segment_id: str) -> None:
        """Delete, unless another segment's condition names this one (``SegmentInUse``)."""
        segment = self.require(shop, segment_id)
        others = {s: c for s, c in self.conditions(shop).items() if s != segment_id}
        dependants = dependants_of(segment_id, others)
        if dependants:
            raise SegmentInUse(segment_id, dependants)
        segment.delete()

    # ------------------------------------------------------------ daily run
    def record_evaluation(
        self, shop: str, segment_id: str, day: date, member_count: int
    ) -> None:
        """A successful evaluation: the count and day of the latest snapshot, no error.

        Only the latest day is recorded: evaluating a past day (a backfill, the workflow
        run for an earlier day) after a later one leaves the segment's current count and
        day alone (a conditional update, so concurrent runs cannot reorder them)."""
        # One conditional UpdateItem (no read first: a day-run records 50 segments); only
        # when the condition fails is the segment read, to tell a deleted segment
        # (SegmentNotFound) from a later day already recorded (nothing to do).
        latest = self.model.last_evaluated_on
        try:
            self.model(shop, segment_id).update(
                actions=[
                    self.model.member_count.set(member_count),
                    self.model.last_evaluated_on.set(day.isoformat()),
                    self.model.last_error.remove(),
                ],
                condition=self.model.segment_id.exists() & (
                    latest.does_not_exist() | (latest <= day.isoformat())),
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            self.require(shop, segment_id)

    def record_error(self, shop: str, segment_id: str, message: str) -> None:
        """Why the latest evaluation failed (kept until the next success)."""
        segment = self.get(shop, segment_id)
        if segment is None:
            return
        segment.update(actions=[self.model.last_error.set(message[:MAX_ERROR_LENGTH])])
