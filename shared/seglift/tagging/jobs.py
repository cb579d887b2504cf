"""Starting tag jobs (the API's entry point) and previewing what a job would change.

``start_tag_job`` validates everything the merchant can get wrong *before* any work
starts, freezes the exact membership file the job will tag (the segment's latest snapshot
at the moment of the request, so a daily re-evaluation during the job changes nothing),
stores the job as ``queued`` and enqueues one "plan" message.

Preview: the customers' current tags live in Shopify (the lake is a day old and needs
pyarrow, which the API must not load). So the preview reads them from Shopify with the
same ``nodes`` query the batches use: exactly for segments up to ``PREVIEW_EXACT_LIMIT``
members (at most 4 queries). A larger segment is counted exactly from the other side when
few customers carry the tag (a new tag has none): Shopify counts the tagged customers
(``customersCount``), and when there are at most ``TAGGED_EXACT_LIMIT`` their ids are
listed by a search (250 a page) and intersected with the members. Only when both the
segment and the tagged customers are many is the count estimated from an evenly spread
sample of ``PREVIEW_EXACT_LIMIT`` members, scaled up and flagged ``exact=False``. The
exact-by-search count cannot see customers deleted in Shopify since the last sync or at
Shopify's 250-tag limit (the job reports those as failed), and Shopify's search index
trails a tag written seconds ago. It spends at most ~1000 points of the shop's bucket per
path plus ~250 a page of tagged ids, so it is safe to call from an API request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from seglift.keys import member_ids_key, validate_shop_domain
from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.batches import read_before_picture
from seglift.tagging.documents import customer_gid
from seglift.tagging.messages import PlanMessage, encode
from seglift.tagging.planner import BATCH_SIZE, split_batches
from seglift.tagging.ports import GraphQLExecutor, MemberIdsReader, MessageQueue, SegmentLookup
from seglift.tagging.validation import validate_action, validate_tag

PREVIEW_EXACT_LIMIT = 1000
TAGGED_EXACT_LIMIT = 5000
_IDS_PAGE = 250
TAGGED_COUNT_GQL = """
query TaggedCount($query: String) { customersCount(query: $query, limit: null) { count } }
"""
TAGGED_IDS_GQL = """
query TaggedIds($query: String, $after: String) {
  customers(first: 250, after: $after, query: $query) {
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACTIVE_STATUSES = ("queued", "running")


class TagJobError(ValueError):
    """The job cannot start; the message says what the merchant should do."""


class TagJobConflict(TagJobError):
    """The same tag is already being applied to or removed from this segment."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_job_id(now: datetime) -> str:
    """Sortable by creation time (so listing newest-first is a range-key order), unique."""
    return f"{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"


class _Known:
    """A SegmentLookup over one segment record the caller already read."""

    def __init__(self, segment: Any) -> None:
        self._segment = segment

    def get(self, shop: str, segment_id: str) -> Any:
        return self._segment


def _lookup(segments: SegmentLookup | None, segment: Any) -> SegmentLookup:
    if segment is not None:
        return _Known(segment)
    if segments is None:
        raise TypeError("pass either segments (a lookup) or segment (the record)")
    return segments


def frozen_member_ids_key(shop: str, segment_id: str, segments: SegmentLookup) -> str:
    """The ``.ids.gz`` of the segment's latest snapshot, or TagJobError saying why not."""
    segment = segments.get(shop, segment_id)
    if segment is None:
        raise TagJobError(f"segment {segment_id!r} does not exist in {shop}")
    evaluated_on = getattr(segment, "last_evaluated_on", None)
    if not evaluated_on:
        raise TagJobError(
            f"segment {segment_id!r} has not been evaluated yet: wait for today's run "
            "(or evaluate it now) and start the job again"
        )
    return member_ids_key(shop, segment_id, date.fromisoformat(str(evaluated_on)))


def _read_members(members: MemberIdsReader, key: str, segment_id: str) -> list[int]:
    try:
        return list(dict.fromkeys(members.read(key)))
    except FileNotFoundError as missing:
        raise TagJobError(
            f"the membership list of segment {segment_id!r} is missing ({key}): "
            "re-evaluate the segment, then start the job again"
        ) from missing


def _refuse_duplicate(
    jobs: TagJobRepository, shop: str, segment_id: str, tag: str, action: str
) -> None:
    for other in jobs.list_for_shop(shop, limit=200):
        if (
            other.status in ACTIVE_STATUSES
            and other.segment_id == segment_id
            and other.tag.casefold() == tag.casefold()
        ):
            raise TagJobConflict(
                f"tag job {other.job_id} is already {other.status} for tag {other.tag!r} "
                f"({other.action}) on segment {segment_id!r}: wait for it to finish"
            )
    del action  # same segment + same tag conflicts whatever the direction


def start_tag_job(
    shop: str,
    segment_id: str,
    tag: str,
    action: str,
    requested_by: str | None,
    *,
    jobs_repo: TagJobRepository,
    queue: MessageQueue,
    members_reader: MemberIdsReader,
    segments: SegmentLookup | None = None,
    segment: Any = None,
    now: Callable[[], datetime] = utc_now,
) -> TagJob:
    """Validate, create the job (``queued``) and enqueue its one "plan" message.

    Raises TagError (bad tag/action), TagJobError (segment missing or not evaluated),
    TagJobConflict (the same tag is already in flight on this segment), ValueError (shop).
    Pass the segment record as ``segment`` if the caller already has it, else ``segments``.
    """
    validate_shop_domain(shop)
    clean_tag = validate_tag(tag)
    clean_action = validate_action(action)
    record = _lookup(segments, segment).get(shop, segment_id)  # read once, used twice
    key = frozen_member_ids_key(shop, segment_id, _Known(record))
    member_count = len(_read_members(members_reader, key, segment_id))
    _refuse_duplicate(jobs_repo, shop, segment_id, clean_tag, clean_action)
    created = now()
    job = jobs_repo.create(
        TagJob(
            shop=shop,
            job_id=new_job_id(created),
            segment_id=segment_id,
            tag=clean_tag,
            action=clean_action,
            created_at=created,
            requested_by=requested_by,
            total=member_count,
            member_ids_key=key,
            origin="manual",
            segment_name=getattr(record, "name", None),
        )
    )
    try:
        queue.send([encode(PlanMessage(shop, job.job_id))])
    except Exception:
        jobs_repo.delete(shop, job.job_id)  # never leave a job that nothing will run
        raise
    return job


def start_tag_job_for_ids(
    shop: str,
    segment_id: str,
    tag: str,
    action: str,
    customer_ids: Sequence[int],
    *,
    jobs_repo: TagJobRepository,
    queue: MessageQueue,
    requested_by: str | None = None,
    origin: str = "sync",
    now: Callable[[], datetime] = utc_now,
    batch_size: int = BATCH_SIZE,
) -> TagJob:
    """A job over an explicit id list (keep-in-sync deltas): planned here, batches enqueued.

    Used when the ids are not a stored membership file; the batches carry them.
    """
    clean_tag = validate_tag(tag)
    clean_action = validate_action(action)
    if not customer_ids:
        raise TagJobError("no customers to tag: a job over an empty id list would never run")
    created = now()
    job_id = new_job_id(created)
    batches = split_batches(shop, job_id, customer_ids, batch_size)
    job = jobs_repo.create(
        TagJob(
            shop=shop,
            job_id=job_id,
            segment_id=segment_id,
            tag=clean_tag,
            action=clean_action,
            created_at=created,
            requested_by=requested_by,
            total=sum(len(b.customer_ids) for b in batches),
            batches_total=len(batches),
            origin=origin,
        )
    )
    queue.send([encode(b) for b in batches])
    return job


@dataclass(frozen=True)
class TagPreview:
    """How many customers a job would change, read from Shopify (see module docstring)."""

    members: int
    would_change: int
    already_done: int
    would_fail: int
    exact: bool
    sampled: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _spread_sample(ids: Sequence[int], size: int) -> list[int]:
    """``size`` ids evenly spread over the list (deterministic, covers old and new members)."""
    if len(ids) <= size:
        return list(ids)
    step = len(ids) / size
    return [ids[int(i * step)] for i in range(size)]


def _tagged_ids(client: GraphQLExecutor, tag: str) -> set[int] | None:
    """The ids of every customer carrying ``tag`` now, or None when they are too many to
    list (or the tag cannot be put in a search)."""
    if any(c in tag for c in "'\"\\"):
        return None
    query = f"tag:'{tag}'"
    count = client.execute(TAGGED_COUNT_GQL, {"query": query}, expected_cost=1)
    if int(count["customersCount"]["count"]) > TAGGED_EXACT_LIMIT:
        return None
    found: set[int] = set()
    after: str | None = None
    while True:
        page = client.execute(TAGGED_IDS_GQL, {"query": query, "after": after},
                              expected_cost=2 + _IDS_PAGE)["customers"]
        found.update(int(edge["node"]["id"].rsplit("/", 1)[1]) for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _by_tagged_customers(client: GraphQLExecutor, action: str, tag: str,
                         ids: Sequence[int]) -> TagPreview | None:
    """The exact preview of a large segment from the tagged customers' side (see the
    module's doc), or None when they are too many."""
    tagged = _tagged_ids(client, tag)
    if tagged is None:
        return None
    members = set(ids)
    carrying = len(members & tagged)
    if action == "add":
        return TagPreview(len(members), len(members) - carrying, carrying, 0, exact=True,
                          sampled=len(members))
    return TagPreview(len(members), carrying, len(members) - carrying, 0, exact=True,
                      sampled=len(members))


def preview_tag_job(
    shop: str,
    segment_id: str,
    tag: str,
    action: str,
    *,
    members_reader: MemberIdsReader,
    client: GraphQLExecutor,
    segments: SegmentLookup | None = None,
    segment: Any = None,
    exact_limit: int | None = None,
) -> TagPreview:
    """How many members a job would change (add: those without the tag; remove: with it)."""
    validate_shop_domain(shop)
    clean_tag = validate_tag(tag)
    clean_action = validate_action(action)
    key = frozen_member_ids_key(shop, segment_id, _lookup(segments, segment))
    ids = _read_members(members_reader, key, segment_id)
    sample = _spread_sample(ids, exact_limit or PREVIEW_EXACT_LIMIT)
    if not sample:
        return TagPreview(0, 0, 0, 0, exact=True, sampled=0)
    if len(sample) < len(ids):
        exact = _by_tagged_customers(client, clean_action, clean_tag, ids)
        if exact is not None:
            return exact
    picture = read_before_picture(
        client, clean_action, clean_tag, [customer_gid(i) for i in sample]
    )
    counts = (len(picture.to_change), picture.skipped, len(picture.failures))
    if len(sample) == len(ids):
        return TagPreview(len(ids), *counts, exact=True, sampled=len(sample))
    scale = len(ids) / len(sample)
    change, done, missing = (round(c * scale) for c in counts)
    return TagPreview(len(ids), change, done, missing, exact=False, sampled=len(sample))
