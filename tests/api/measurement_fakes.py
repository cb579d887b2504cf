"""In-memory measurement collaborators for API tests: records are the real PynamoDB model
classes (never saved); the recompute trigger can run the real computation on a fixture
lake, as the measurements function would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from api.ports import ApiContext, MeasurementDeps
from seglift.storage.measurement_repository import MeasurementPage
from seglift.storage.models import ExperimentModel, MeasurementModel
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


class FakeLists:
    def __init__(self) -> None:
        self.objects: dict[str, list[int]] = {}

    def write(self, key: str, customer_ids: Sequence[int]) -> None:
        self.objects[key] = list(customer_ids)

    def read(self, key: str) -> list[int]:
        return list(self.objects[key])


class FakeMembers:
    """The latest members in ``ids``; daily snapshots of past days in ``days``."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], list[int]] = {}
        self.days: dict[tuple[str, str, date], list[int]] = {}

    def member_ids(self, shop: str, segment: Any) -> list[int]:
        return self.ids.get((shop, segment.segment_id), [])

    def members_on(self, shop: str, segment: Any, day: date) -> list[int] | None:
        return self.days.get((shop, segment.segment_id, day))

    def first_day(self, shop: str, segment: Any) -> date | None:
        days = [d for (s, sid, d) in self.days if (s, sid) == (shop, segment.segment_id)]
        return min(days) if days else None


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



def install_measurements(api: ApiContext) -> MeasurementDeps:
    recompute = FakeRecompute()
    deps = MeasurementDeps(store=FakeMeasurementStore(), lists=FakeLists(),
                           members=FakeMembers(), strata=FakeStrata(), recompute=recompute)
    recompute.store, recompute.lists = deps.store, deps.lists
    api.measurements = deps
    return deps
