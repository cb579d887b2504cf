"""Creating measurements and experiments: freeze the customer list, split, store. No pyarrow.

Runs in the API Lambda, except an experiment's split: a measurement's list is frozen
here; an experiment's request is checked here (``check_experiment``: nothing is read but
whether a snapshot exists) and recorded as ``creating``, and its job in the measurements
function reads the members, splits them and stores the groups
(``seglift.measurements.experiment_job``). The list is frozen at creation and copied to
the measurement's own ``.ids.gz`` object, so later changes of the segment never change
who is measured. Whose list: a list segment's fixed members; a condition segment's
members **as they were when the period began** (its stored daily snapshot of the day
before the period's first day), or its latest members when the period starts after its
last evaluation. Measuring a past period with today's members would count customers who
joined *because* of what they bought in it (an "At risk" segment would score 0% by
construction); when the segment has no snapshot that old the measurement is refused,
saying since when its history exists. Results are computed by the measurements function
(Arrow), asked for right away through ``recompute`` and then daily by the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from seglift import keys
from seglift.measurements.spec import Goal, MeasurementError, Period
from seglift.measurements.split import group_labels

STRATIFY_OPTIONS = ("rfm_group", "ltv_band")
MAX_NOTES = 4000


def customers_key(shop: str, record_id: str) -> str:
    """Where a measurement's frozen customer list lives (gzip, one id per line)."""
    return f"{keys.shop_prefix(shop)}measurements/{record_id}.ids.gz"


class MeasurementStore(Protocol):
    def create(self, shop: str, **attributes: Any) -> Any: ...

    def create_experiment(self, shop: str, **attributes: Any) -> Any: ...


class CustomerLists(Protocol):
    def write(self, key: str, customer_ids: Sequence[int]) -> None: ...

    def read(self, key: str) -> list[int]: ...


class SegmentMembers(Protocol):
    def member_ids(self, shop: str, segment: Any) -> list[int]:
        """The segment's members on its latest evaluation (``last_evaluated_on``)."""
        ...

    def members_on(self, shop: str, segment: Any, day: date) -> list[int] | None:
        """The segment's members at the end of ``day`` (its stored daily snapshot), or
        None when it has no snapshot of that day."""
        ...

    def first_day(self, shop: str, segment: Any) -> date | None:
        """The oldest day the segment has a snapshot of (None: none at all)."""
        ...

    def has_day(self, shop: str, segment: Any, day: date) -> bool:
        """Whether the segment has a stored snapshot of ``day`` (nothing read)."""
        ...


class StrataSource(Protocol):
    def strata(self, shop: str, customer_ids: Sequence[int], by: str,
               as_of: date) -> dict[int, str]:
        """Each customer's stratum (RFM group or LTV band) as of ``as_of``."""
        ...


class RecomputeTrigger(Protocol):
    def request(self, shop: str, measurement_ids: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class MeasurementRequest:
    name: str
    segment: Any  # a SegmentModel (or look-alike) of the shop
    period: Period
    goal: Goal
    notes: str | None = None


@dataclass(frozen=True)
class ExperimentRequest:
    name: str
    segment: Any
    period: Period
    goal: Goal
    groups: int
    holdout: bool
    seed: int
    stratify_by: str | None = None
    notes: str | None = None
    # The merchant's name of each group, in order; "<name> — <label>" when not given.
    group_names: tuple[str, ...] | None = None


def group_names(request: ExperimentRequest, labels: Sequence[str]) -> list[str]:
    """Each group's name: the merchant's, or "<experiment> — <label>"; distinct, one each."""
    if request.group_names is None:
        return [f"{request.name} — {label}" for label in labels]
    names = [name.strip() for name in request.group_names]
    if len(names) != len(labels):
        raise MeasurementError(
            f"name each of the {len(labels)} groups (got {len(names)} names)", "group_names")
    if any(not name for name in names) or len({n.casefold() for n in names}) != len(names):
        raise MeasurementError("give every group its own name (no blank or repeated name)",
                               "group_names")
    return names


@dataclass(frozen=True)
class FrozenMembers:
    """Who is measured, and the day whose membership they are (its end, shop time)."""

    ids: list[int]
    as_of: date


def _day(value: date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def _no_snapshot(shop: str, segment: Any, members: SegmentMembers, as_of: date,
                 latest: date) -> MeasurementError:
    first = members.first_day(shop, segment)
    since = (f"its history starts on {_day(first)}, so pick a period starting on "
             f"{_day(first + timedelta(days=1))} or later"
             if first is not None and first < latest else
             "it has no history before its last evaluation, so pick a period "
             f"starting on {_day(latest + timedelta(days=1))} or later")
    return MeasurementError(
        f"A past period is measured with the customers who were in “{segment.name}” "
        f"when it began, but the segment has no record of its members on "
        f"{_day(as_of)}: {since} (or measure from today on).", "period")


def _latest_day(segment: Any) -> date:
    if not getattr(segment, "last_evaluated_on", None):
        raise MeasurementError(
            f"“{segment.name}” has not been evaluated yet, so it has no members to measure: "
            "wait for the next daily run or sync now from the Sync page", "segment_id",
        )
    return date.fromisoformat(str(segment.last_evaluated_on))


def _past_day(segment: Any, latest: date, period: Period | None) -> date | None:
    """The day before ``period`` began when a condition segment's members of that day are
    the ones to measure (see the module's doc); None: its latest members."""
    is_list = getattr(segment, "kind", "condition") == "list"
    if period is not None and not is_list and period.start - timedelta(days=1) < latest:
        return period.start - timedelta(days=1)
    return None


def no_members(segment_name: str, as_of: date, latest: date | None) -> MeasurementError:
    when = "" if as_of == latest else f" on {_day(as_of)}, when the period began"
    return MeasurementError(
        f"“{segment_name}” had no members{when}: measure a segment with customers",
        "segment_id",
    )


def too_few(count: int, groups: int) -> MeasurementError:
    return MeasurementError(
        f"the segment has {count} customers: too few for {groups} groups", "groups")


def frozen_members(shop: str, segment: Any, members: SegmentMembers,
                   period: Period | None = None) -> FrozenMembers:
    """The segment's members when ``period`` began (see the module's doc), sorted, or a
    MeasurementError in words saying why there are none."""
    latest = _latest_day(segment)
    as_of = _past_day(segment, latest, period)
    if as_of is not None:
        found = members.members_on(shop, segment, as_of)
        if found is None:
            raise _no_snapshot(shop, segment, members, as_of, latest)
        ids = sorted(set(found))
    else:
        as_of = latest
        ids = sorted(set(members.member_ids(shop, segment)))
    if not ids:
        raise no_members(segment.name, as_of, latest)
    return FrozenMembers(ids, as_of)


def _source(segment: Any) -> str:
    return "list_segment" if getattr(segment, "kind", "condition") == "list" else (
        "segment_snapshot")


def _store_measurement(
    shop: str, *, name: str, notes: str | None, segment: Any, ids: Sequence[int],
    period: Period, goal: Goal, timezone: str, source: str, store: MeasurementStore,
    lists: CustomerLists, new_id: Callable[[], str], **extra: Any,
) -> Any:
    record_id = new_id()
    key = customers_key(shop, record_id)
    lists.write(key, ids)
    return store.create(
        shop, record_id=record_id, name=name, notes=notes, source=source,
        segment_id=segment.segment_id, customers_key=key, customer_count=len(ids),
        period_start=period.start.isoformat(), period_end=period.end.isoformat(),
        timezone=timezone, goal=goal.as_document(), status="pending", **extra,
    )


def create_measurement(
    shop: str, request: MeasurementRequest, *, timezone: str, store: MeasurementStore,
    lists: CustomerLists, members: SegmentMembers, recompute: RecomputeTrigger,
    new_id: Callable[[], str],
) -> Any:
    """Freeze the segment's members and store a pending measurement; ask for its results."""
    frozen = frozen_members(shop, request.segment, members, request.period)
    record = _store_measurement(
        shop, name=request.name, notes=request.notes, segment=request.segment,
        ids=frozen.ids, period=request.period, goal=request.goal, timezone=timezone,
        source=_source(request.segment), store=store, lists=lists, new_id=new_id,
        members_as_of=frozen.as_of.isoformat(),
    )
    recompute.request(shop, [record.record_id])
    return record


@dataclass(frozen=True)
class ExperimentSpec:
    """What an experiment's job needs, fixed when the API checked the request, so every
    delivery of the job (Lambda retries an asynchronous invocation) splits the same
    customers into the same groups with the same names."""

    labels: tuple[str, ...]
    names: tuple[str, ...]  # each group's name, one per label
    members_as_of: date  # whose members are split: the segment's snapshot of this day
    latest: bool  # that day is the segment's last evaluation (not a past period's eve)
    strata_as_of: date | None  # the features day strata are read from (stratified only)
    list_day: date  # the day each group's list segment is made (the shop's today)
    timezone: str
    segment_name: str
    notes: str | None = None

    def as_document(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "names": list(self.names),
                "members_as_of": self.members_as_of.isoformat(), "latest": self.latest,
                "strata_as_of": self.strata_as_of.isoformat() if self.strata_as_of else None,
                "list_day": self.list_day.isoformat(), "timezone": self.timezone,
                "segment_name": self.segment_name, "notes": self.notes}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ExperimentSpec:
        strata = document.get("strata_as_of")
        return cls(labels=tuple(document["labels"]), names=tuple(document["names"]),
                   members_as_of=date.fromisoformat(document["members_as_of"]),
                   latest=bool(document["latest"]),
                   strata_as_of=date.fromisoformat(strata) if strata else None,
                   list_day=date.fromisoformat(document["list_day"]),
                   timezone=document["timezone"], segment_name=document["segment_name"],
                   notes=document.get("notes"))


def check_experiment(shop: str, request: ExperimentRequest, *, members: SegmentMembers,
                     list_day: date, timezone: str) -> ExperimentSpec:
    """Everything about an experiment request that can be known without reading its
    members (a MeasurementError in words otherwise): the options, the group names, that
    the members to split exist (the segment was evaluated; for a past period, its
    snapshot of the day before is stored) and, for its latest members, that there are
    enough of them (the count its evaluation recorded). Reading a million members and
    their strata is the job's, which refuses a past day with too few in the same words."""
    if request.stratify_by is not None and request.stratify_by not in STRATIFY_OPTIONS:
        raise MeasurementError(
            "Groups can be balanced by RFM group or by lifetime value band, not by "
            f"“{request.stratify_by}”: pick one from the list.",
            "stratify_by",
        )
    labels = group_labels(request.groups, request.holdout)
    names = group_names(request, labels)
    segment = request.segment
    latest = _latest_day(segment)
    as_of = _past_day(segment, latest, request.period)
    if as_of is not None:
        if not members.has_day(shop, segment, as_of):
            raise _no_snapshot(shop, segment, members, as_of, latest)
    else:
        as_of = latest
        count = getattr(segment, "member_count", None)
        if count is not None and int(count) == 0:
            raise no_members(segment.name, as_of, latest)
        if count is not None and int(count) < request.groups:
            raise too_few(int(count), request.groups)
    # Balanced on the features of the last evaluation: the daily run keeps the features
    # file of that day only (a backfilled day stores no features).
    strata_as_of = latest if request.stratify_by is not None else None
    return ExperimentSpec(labels=tuple(labels), names=tuple(names), members_as_of=as_of,
                          latest=as_of == latest, strata_as_of=strata_as_of,
                          list_day=list_day, timezone=timezone,
                          segment_name=str(segment.name), notes=request.notes)


def record_experiment(shop: str, request: ExperimentRequest, spec: ExperimentSpec, *,
                      store: MeasurementStore, experiment_id: str, job_id: str) -> Any:
    """The experiment as ``creating``, before any member is read: its job (``job_id``)
    splits them and stores the groups."""
    return store.create_experiment(
        shop, record_id=experiment_id, name=request.name,
        segment_id=request.segment.segment_id, seed=request.seed,
        stratify_by=request.stratify_by, holdout=request.holdout, groups=[],
        period_start=request.period.start.isoformat(),
        period_end=request.period.end.isoformat(), goal=request.goal.as_document(),
        status="creating", job_id=job_id, spec=spec.as_document(),
    )
