"""Making an experiment as a job: read the members, split them, store every group. No pyarrow.

Why a job: at 1,000,000 customers the split reads a million member ids and their strata
(the features of a million customers) and writes a list and a list segment per group. In
the API request that meant a synchronous call carrying every member id to the
measurements function (about 14 MB, past Lambda's 6 MB synchronous payload) and a wait
that could pass API Gateway's 29 s. Now the API checks the request
(``service.check_experiment``), records the experiment as ``creating`` with what the job
needs (``service.ExperimentSpec``) and invokes the measurements function asynchronously
with ids only (``seglift.invocation.CreateExperimentRequest``: its size does not depend
on the segment's); this module runs there.

A delivery converges, whichever delivery it is (Lambda delivers an asynchronous event at
least once and retries one that crashed):

- the job moves ``queued -> running`` first; a job already final is left alone;
- every record is named by the experiment (``group_ids``): a group's measurement and list
  segment have the same ids in every delivery, and are stored only when absent;
- the split is the seeded one of ``seglift.measurements.split`` over the snapshot of the
  day the spec fixed, so a retry splits the same customers into the same groups;
- the S3 lists are written first (nothing refers to them yet), the records after, and
  the experiment becomes ``ready`` last, in one conditional update;
- a refusal the merchant can act on (the members of a past day too few, the features to
  balance on gone) fails the job and the experiment with its words; anything else fails
  them with ours and is re-raised for Lambda's error metric.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from seglift.job_updates import JobUpdates
from seglift.measurements.service import (
    CustomerLists,
    ExperimentSpec,
    RecomputeTrigger,
    SegmentMembers,
    StrataSource,
    customers_key,
    no_members,
    too_few,
)
from seglift.measurements.spec import MeasurementError
from seglift.measurements.split import split_customers

# The job's kind (seglift.storage.job_repository) and what it shows while it runs.
EXPERIMENT_JOB = "experiment"
QUEUED = "Waiting to start"
SPLITTING = "Splitting the customers into groups"
CRASHED = ("This stopped because of an error on our side. Start it again; if it keeps "
           "failing, contact support.")
# Job error codes: a refusal in the merchant's words, or a failure of ours.
REFUSED_CODE = "invalid_measurement"
CRASH_CODE = "failed"


class ExperimentStore(Protocol):
    def get_experiment(self, shop: str, experiment_id: str) -> Any | None: ...

    def create_if_absent(self, shop: str, **attributes: Any) -> Any: ...

    def finish_experiment(self, shop: str, experiment_id: str,
                          groups: list[dict[str, Any]]) -> bool: ...

    def fail_experiment(self, shop: str, experiment_id: str, message: str) -> bool: ...


class GroupLists(Protocol):
    def make(self, shop: str, *, segment_id: str, name: str, description: str,
             customer_ids: Sequence[int], day: date) -> str:
        """Store the list segment ``segment_id`` (unless it exists) holding
        ``customer_ids`` as of ``day``; its id."""
        ...


class ListFigures(Protocol):
    def start(self, shop: str, segment_id: str, day: date) -> None:
        """Start (without waiting) computing a new list's figures of ``day``."""
        ...


@dataclass(frozen=True)
class _Segment:
    """What ``SegmentMembers`` reads of a segment: its id."""

    segment_id: str


def group_ids(experiment_id: str, label: str) -> tuple[str, str]:
    """(measurement id, list segment id) of a group: the same in every delivery of the
    job, distinct between experiments (experiment ids are random)."""
    digest = hashlib.sha256(f"{experiment_id}/{label}".encode()).hexdigest()
    return f"msr_{digest[:12]}", f"seg_{digest[12:24]}"


def _members(shop: str, experiment: Any, spec: ExperimentSpec, groups: int,
             members: SegmentMembers) -> list[int]:
    found = members.members_on(shop, _Segment(experiment.segment_id), spec.members_as_of)
    if found is None:
        raise MeasurementError(
            f"The members of “{spec.segment_name}” on {spec.members_as_of:%B} "
            f"{spec.members_as_of.day}, {spec.members_as_of.year} are no longer stored: "
            "create the experiment again.", "segment_id")
    ids = sorted(set(found))
    if not ids:
        raise no_members(spec.segment_name, spec.members_as_of,
                         spec.members_as_of if spec.latest else None)
    if len(ids) < groups:
        raise too_few(len(ids), groups)
    return ids


def build_experiment(shop: str, experiment_id: str, *, store: ExperimentStore,
                     lists: CustomerLists, members: SegmentMembers, strata: StrataSource,
                     group_lists: GroupLists) -> Any:
    """Split the experiment's members and store its groups; the experiment, ready. An
    experiment already ready is returned as it is (a later delivery)."""
    experiment = store.get_experiment(shop, experiment_id)
    if experiment is None:
        raise MeasurementError("This experiment no longer exists: create it again.",
                               "experiment_id")
    if (experiment.status or "ready") == "ready":
        return experiment
    if experiment.status == "failed":
        raise MeasurementError(experiment.error or CRASHED, "experiment_id")
    spec = ExperimentSpec.from_document(experiment.spec)
    ids = _members(shop, experiment, spec, len(spec.labels), members)
    stratum_of = (strata.strata(shop, ids, experiment.stratify_by, spec.strata_as_of)
                  if experiment.stratify_by and spec.strata_as_of else None)
    split = split_customers(ids, len(spec.labels), int(experiment.seed), stratum_of)
    for label, group in zip(spec.labels, split, strict=True):
        lists.write(customers_key(shop, group_ids(experiment_id, label)[0]), group)
    groups = []
    for label, name, group in zip(spec.labels, spec.names, split, strict=True):
        measurement_id, segment_id = group_ids(experiment_id, label)
        store.create_if_absent(
            shop, record_id=measurement_id, name=name, notes=spec.notes,
            source="experiment_group", segment_id=experiment.segment_id,
            customers_key=customers_key(shop, measurement_id), customer_count=len(group),
            period_start=experiment.period_start, period_end=experiment.period_end,
            timezone=spec.timezone, goal=experiment.goal, status="pending",
            experiment_id=experiment_id, group_label=label,
            members_as_of=spec.members_as_of.isoformat())
        group_lists.make(
            shop, segment_id=segment_id, name=name, customer_ids=group, day=spec.list_day,
            description=f"A group of the experiment “{experiment.name}” on "
                        f"“{spec.segment_name}”.")
        counts = Counter(stratum_of[c] for c in group) if stratum_of is not None else {}
        groups.append({"label": label, "name": name, "measurement_id": measurement_id,
                       "segment_id": segment_id, "customers": len(group),
                       "holdout": label == "holdout", "strata": dict(sorted(counts.items()))})
    store.finish_experiment(shop, experiment_id, groups)
    made = store.get_experiment(shop, experiment_id)
    if made is None or (made.status or "ready") != "ready":  # failed meanwhile
        raise MeasurementError(getattr(made, "error", None) or CRASHED, "experiment_id")
    return made


def done_line(experiment: Any) -> str:
    groups = list(experiment.groups or [])
    customers = sum(int(g.get("customers", 0)) for g in groups)
    return f"Done: {customers:,} customers in {len(groups)} groups"


def run_experiment_job(shop: str, experiment_id: str, job_id: str, *, jobs: JobUpdates,
                       build: Callable[[], Any], store: ExperimentStore,
                       clock: Callable[[], datetime]) -> Any | None:
    """Run ``build`` (``build_experiment``) under the job; the ready experiment, or None
    when the job was already final or the request was refused (recorded on the job and
    the experiment in the merchant's words; nothing for Lambda to retry)."""
    if not jobs.start(shop, job_id, progress=SPLITTING, now=clock()):
        return None
    try:
        experiment = build()
    except MeasurementError as refused:
        jobs.fail(shop, job_id, code=REFUSED_CODE, message=refused.message, now=clock())
        store.fail_experiment(shop, experiment_id, refused.message)
        return None
    except Exception:
        jobs.fail(shop, job_id, code=CRASH_CODE, message=CRASHED, now=clock())
        store.fail_experiment(shop, experiment_id, CRASHED)
        raise
    jobs.succeed(shop, job_id, {"experiment_id": experiment_id},
                 progress=done_line(experiment), now=clock())
    return experiment


def start_results(shop: str, experiment: Any, *, figures: ListFigures,
                  recompute: RecomputeTrigger, on_error: Callable[[str], None]) -> None:
    """Once ready: each group's list gets its figures of the day it was made and each
    group's measurement its results. Never fails the experiment: without them the lists
    and results fill in at the next daily run (``on_error`` hears why)."""
    groups = list(experiment.groups or [])
    day = ExperimentSpec.from_document(experiment.spec).list_day if experiment.spec else None
    for group in groups:
        if group.get("segment_id") and day is not None:
            try:
                figures.start(shop, str(group["segment_id"]), day)
            except Exception as error:  # reported; the experiment stands
                on_error(f"figures of list {group['segment_id']}: {error}")
    try:
        recompute.request(shop, [str(g["measurement_id"]) for g in groups])
    except Exception as error:  # reported; the experiment stands
        on_error(f"results of experiment {experiment.record_id}: {error}")
