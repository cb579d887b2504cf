"""Creating measurements and experiments: freeze the customer list, split, store. No pyarrow.

Runs in the API Lambda. The list is frozen at creation and copied to the measurement's own
``.ids.gz`` object, so later changes of the segment never change who is measured. Whose
list: a list segment's fixed members; a condition segment's members **as they were when
the period began** (its stored daily snapshot of the day before the period's first day),
or its latest members when the period starts after its last evaluation. Measuring a past
period with today's members would count customers who joined *because* of what they
bought in it (an "At risk" segment would score 0% by construction); when the segment has
no snapshot that old the measurement is refused, saying since when its history exists.
Results are computed by the measurements function (Arrow), asked for right away through
``recompute`` and then daily by the pipeline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from seglift import keys
from seglift.measurements.spec import Goal, MeasurementError, Period
from seglift.measurements.split import group_labels, split_customers

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


# (group name, measurement id) -> the id of a new list segment holding that group's customers.
GroupListMaker = Callable[[str, str], str]


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


def frozen_members(shop: str, segment: Any, members: SegmentMembers,
                   period: Period | None = None) -> FrozenMembers:
    """The segment's members when ``period`` began (see the module's doc), sorted, or a
    MeasurementError in words saying why there are none."""
    if not getattr(segment, "last_evaluated_on", None):
        raise MeasurementError(
            f"“{segment.name}” has not been evaluated yet, so it has no members to measure: "
            "wait for the next daily run or sync now from the Sync page", "segment_id",
        )
    latest = date.fromisoformat(str(segment.last_evaluated_on))
    as_of = latest
    is_list = getattr(segment, "kind", "condition") == "list"
    if period is not None and not is_list and period.start - timedelta(days=1) < latest:
        as_of = period.start - timedelta(days=1)
        found = members.members_on(shop, segment, as_of)
        if found is None:
            first = members.first_day(shop, segment)
            since = (f"its history starts on {_day(first)}, so pick a period starting on "
                     f"{_day(first + timedelta(days=1))} or later"
                     if first is not None and first < latest else
                     "it has no history before its last evaluation, so pick a period "
                     f"starting on {_day(latest + timedelta(days=1))} or later")
            raise MeasurementError(
                f"A past period is measured with the customers who were in “{segment.name}” "
                f"when it began, but the segment has no record of its members on "
                f"{_day(as_of)}: {since} (or measure from today on).", "period")
        ids = sorted(set(found))
    else:
        ids = sorted(set(members.member_ids(shop, segment)))
    if not ids:
        when = "" if as_of == latest else f" on {_day(as_of)}, when the period began"
        raise MeasurementError(
            f"“{segment.name}” had no members{when}: measure a segment with customers",
            "segment_id",
        )
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


def create_experiment(
    shop: str, request: ExperimentRequest, *, timezone: str, store: MeasurementStore,
    lists: CustomerLists, members: SegmentMembers, strata: StrataSource,
    recompute: RecomputeTrigger, new_measurement_id: Callable[[], str],
    new_experiment_id: Callable[[], str], make_list: GroupListMaker | None = None,
) -> tuple[Any, list[Any]]:
    """Split the segment's members at random into groups, one measurement per group, and
    (with ``make_list``) one list segment per group, so a group can be tagged or exported."""
    if request.stratify_by is not None and request.stratify_by not in STRATIFY_OPTIONS:
        raise MeasurementError(
            "Groups can be balanced by RFM group or by lifetime value band, not by "
            f"“{request.stratify_by}”: pick one from the list.",
            "stratify_by",
        )
    frozen = frozen_members(shop, request.segment, members, request.period)
    ids = frozen.ids
    if len(ids) < request.groups:
        raise MeasurementError(
            f"the segment has {len(ids)} customers: too few for {request.groups} groups",
            "groups",
        )
    stratum_of = None
    if request.stratify_by is not None:
        # Balanced on the features of the last evaluation: the daily run keeps the
        # features file of that day only (a backfilled day stores no features).
        as_of = date.fromisoformat(str(request.segment.last_evaluated_on))
        stratum_of = strata.strata(shop, ids, request.stratify_by, as_of)
    split = split_customers(ids, request.groups, request.seed, stratum_of)
    experiment_id = new_experiment_id()
    labels = group_labels(request.groups, request.holdout)
    names = group_names(request, labels)
    measurements, groups = [], []
    for label, name, group in zip(labels, names, split, strict=True):
        record = _store_measurement(
            shop, name=name, notes=request.notes,
            segment=request.segment, ids=group, period=request.period, goal=request.goal,
            timezone=timezone, source="experiment_group", store=store, lists=lists,
            new_id=new_measurement_id, experiment_id=experiment_id, group_label=label,
            members_as_of=frozen.as_of.isoformat(),
        )
        measurements.append(record)
        counts = Counter(stratum_of[c] for c in group) if stratum_of is not None else {}
        entry = {"label": label, "name": name, "measurement_id": record.record_id,
                 "customers": len(group), "holdout": label == "holdout",
                 "strata": dict(sorted(counts.items()))}
        if make_list is not None:
            entry["segment_id"] = make_list(name, record.record_id)
        groups.append(entry)
    experiment = store.create_experiment(
        shop, record_id=experiment_id, name=request.name, segment_id=request.segment.segment_id,
        seed=request.seed, stratify_by=request.stratify_by, holdout=request.holdout,
        groups=groups, period_start=request.period.start.isoformat(),
        period_end=request.period.end.isoformat(), goal=request.goal.as_document(),
    )
    recompute.request(shop, [m.record_id for m in measurements])
    return experiment, measurements
