"""In-memory measurement collaborators for API tests: records are the real PynamoDB model
classes (never saved); the recompute trigger can run the real computation on a fixture
lake, as the measurements function would; an experiment's job runs the real
``seglift.measurements.experiment_job`` at once, as the measurements function does when
the asynchronous invocation arrives (``FakeExperimentJobs``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from api.ports import ApiContext, MeasurementDeps
from seglift.storage.measurement_repository import MeasurementPage
from seglift.storage.models import ExperimentModel, MeasurementModel, SegmentModel
from tests.api.fakes import NOW


class FakeMeasurementStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Any] = {}

    def create(self, shop: str, **attributes: Any) -> MeasurementModel:
        record = MeasurementModel(shop, attributes.pop("record_id"), created_at=NOW,
                                  updated_at=NOW, **attributes)
        self.records[(shop, record.record_id)] = record
        return record

    def get(self, shop: str, measurement_id: str) -> MeasurementModel | None:
        record = self.records.get((shop, measurement_id))
        return record if isinstance(record, MeasurementModel) else None

    def list_page(self, shop: str, *, limit: int, after: str | None) -> MeasurementPage:
        ids = sorted(i for (s, i), r in self.records.items()
                     if s == shop and isinstance(r, MeasurementModel)
                     and (after is None or i > after))
        page = ids[:limit]
        return MeasurementPage([self.records[(shop, i)] for i in page],
                               page[-1] if len(ids) > limit else None)

    def open_measurements(self, shop: str) -> list[MeasurementModel]:
        return [r for (s, _), r in self.records.items()
                if s == shop and isinstance(r, MeasurementModel) and r.status != "final"]

    def save_results(self, shop: str, measurement_id: str, results: dict, status: str) -> None:
        record = self.records[(shop, measurement_id)]
        record.results, record.status, record.last_error = results, status, None

    def save_error(self, shop: str, measurement_id: str, message: str) -> None:
        self.records[(shop, measurement_id)].last_error = message

    def create_experiment(self, shop: str, **attributes: Any) -> ExperimentModel:
        record = ExperimentModel(shop, attributes.pop("record_id"), created_at=NOW,
                                 **attributes)
        self.records[(shop, record.record_id)] = record
        return record

    def get_experiment(self, shop: str, experiment_id: str) -> ExperimentModel | None:
        record = self.records.get((shop, experiment_id))
        return record if isinstance(record, ExperimentModel) else None

    def create_if_absent(self, shop: str, **attributes: Any) -> MeasurementModel:
        return self.get(shop, attributes["record_id"]) or self.create(shop, **attributes)

    def finish_experiment(self, shop: str, experiment_id: str, groups: list) -> bool:
        record = self.get_experiment(shop, experiment_id)
        if record is None or record.status != "creating":
            return False
        record.groups, record.status = groups, "ready"
        return True

    def fail_experiment(self, shop: str, experiment_id: str, message: str) -> bool:
        record = self.get_experiment(shop, experiment_id)
        if record is None or record.status != "creating":
            return False
        record.status, record.error = "failed", message
        return True


class FakeLists:
    def __init__(self) -> None:
        self.objects: dict[str, list[int]] = {}

    def write(self, key: str, customer_ids: Sequence[int]) -> None:
        self.objects[key] = list(customer_ids)

    def read(self, key: str) -> list[int]:
        return list(self.objects[key])


class FakeMembers:
    """The latest members in ``ids`` (of the day in ``latest``); daily snapshots of past
    days in ``days``."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], list[int]] = {}
        self.latest: dict[tuple[str, str], date] = {}
        self.reads = 0  # member lists read (has_day reads none)
        self.days: dict[tuple[str, str, date], list[int]] = {}

    def member_ids(self, shop: str, segment: Any) -> list[int]:
        self.reads += 1
        return self.ids.get((shop, segment.segment_id), [])

    def members_on(self, shop: str, segment: Any, day: date) -> list[int] | None:
        """The snapshot of ``day``: a past one from ``days``, the latest (``ids``) on the
        day it was evaluated (``latest``)."""
        self.reads += 1
        return self._on(shop, segment, day)

    def _on(self, shop: str, segment: Any, day: date) -> list[int] | None:
        found = self.days.get((shop, segment.segment_id, day))
        if found is None and self.latest.get((shop, segment.segment_id)) == day:
            return self.ids.get((shop, segment.segment_id))
        return found

    def first_day(self, shop: str, segment: Any) -> date | None:
        days = [d for (s, sid, d) in self.days if (s, sid) == (shop, segment.segment_id)]
        return min(days) if days else None

    def has_day(self, shop: str, segment: Any, day: date) -> bool:
        return self._on(shop, segment, day) is not None


class FakeStrata:
    def __init__(self) -> None:
        self.of: dict[int, str] = {}
        self.asked: list[tuple[str, str, date]] = []

    def strata(self, shop: str, customer_ids: Sequence[int], by: str,
               as_of: date) -> dict[int, str]:
        self.asked.append((shop, by, as_of))
        return {c: self.of.get(c, "unknown") for c in customer_ids}


class FakeRecompute:
    """Records requests; with a lake, computes results right away like the function."""

    def __init__(self) -> None:
        self.requested: list[tuple[str, list[str]]] = []
        self.lake: Any = None
        self.run_date: date | None = None
        self.store: FakeMeasurementStore | None = None
        self.lists: FakeLists | None = None

    def request(self, shop: str, measurement_ids: Sequence[str]) -> None:
        self.requested.append((shop, list(measurement_ids)))
        if self.lake is not None:
            from seglift.measurements.recompute import recompute_measurements

            recompute_measurements(shop, self.run_date, store=self.store, lists=self.lists,
                                   reader=self.lake, measurement_ids=measurement_ids)



class FakeGroupLists:
    """Each group's list segment in the API's fake segment store, under the job's id."""

    def __init__(self, segments: Any) -> None:
        self.segments = segments
        self.made: list[str] = []

    def make(self, shop: str, *, segment_id: str, name: str, description: str,
             customer_ids: Sequence[int], day: date) -> str:
        if self.segments.get(shop, segment_id) is None:
            self.segments.records[(shop, segment_id)] = SegmentModel(
                shop, segment_id, name=name, condition=None, description=description,
                kind="list", created_at=NOW, updated_at=NOW)
        record = self.segments.get(shop, segment_id)
        record.member_count, record.last_evaluated_on = len(customer_ids), day.isoformat()
        self.made.append(segment_id)
        return segment_id


class FakeListFigures:
    def __init__(self) -> None:
        self.started: list[tuple[str, str, date]] = []

    def start(self, shop: str, segment_id: str, day: date) -> None:
        self.started.append((shop, segment_id, day))


class FakeExperimentJobs:
    """Starting a job runs it at once with the real logic (``run``: False leaves it
    queued, as an invocation not delivered yet); ``started`` keeps each payload."""

    def __init__(self, api: ApiContext) -> None:
        self.api = api
        self.run = True
        self.broken = False
        self.started: list[tuple[str, str, str]] = []
        self.strata = FakeStrata()
        self.figures = FakeListFigures()
        self.group_lists = FakeGroupLists(api.segments)

    def start(self, shop: str, experiment_id: str, job_id: str) -> None:
        if self.broken:
            raise RuntimeError("lambda unreachable")
        self.started.append((shop, experiment_id, job_id))
        if self.run:
            self.deliver(shop, experiment_id, job_id)

    def deliver(self, shop: str, experiment_id: str, job_id: str) -> Any:
        """One delivery of the asynchronous invocation, as the measurements function runs
        it (``measurements.handler._create_experiment``)."""
        from datetime import UTC, datetime

        from seglift.measurements import experiment_job

        deps = self.api.measurements
        experiment = experiment_job.run_experiment_job(
            shop, experiment_id, job_id, jobs=self.api.jobs, store=deps.store,
            clock=lambda: datetime.now(UTC),
            build=lambda: experiment_job.build_experiment(
                shop, experiment_id, store=deps.store, lists=deps.lists,
                members=deps.members, strata=self.strata, group_lists=self.group_lists))
        if experiment is not None:
            experiment_job.start_results(shop, experiment, figures=self.figures,
                                         recompute=deps.recompute, on_error=print)
        return experiment


def install_measurements(api: ApiContext) -> MeasurementDeps:
    recompute = FakeRecompute()
    deps = MeasurementDeps(store=FakeMeasurementStore(), lists=FakeLists(),
                           members=FakeMembers(), recompute=recompute,
                           experiments=FakeExperimentJobs(api))
    recompute.store, recompute.lists = deps.store, deps.lists
    api.measurements = deps
    return deps
