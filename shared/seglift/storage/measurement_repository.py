"""Measurements and experiments of every shop in one DynamoDB table. No pyarrow.

Hash key ``shop``, range key ``record_id``: measurement ids start with ``msr_`` and
experiment ids with ``exp_``, so one ``begins_with`` query lists either kind in id order
and a page token is simply the last id.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from seglift.storage.models import ExperimentModel, MeasurementModel, bind

MEASUREMENT_PREFIX = "msr_"
EXPERIMENT_PREFIX = "exp_"


def new_measurement_id() -> str:
    return f"{MEASUREMENT_PREFIX}{secrets.token_hex(6)}"


def new_experiment_id() -> str:
    return f"{EXPERIMENT_PREFIX}{secrets.token_hex(6)}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MeasurementPage:
    items: list[Any]
    last_key: str | None


class MeasurementRepository:
    """Create, read, list and update measurements and experiments."""

    def __init__(self, table_name: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.measurements = bind(MeasurementModel, table_name)
        self.experiments = bind(ExperimentModel, table_name)
        self.clock = clock

    def create(self, shop: str, **attributes: Any) -> MeasurementModel:
        """Store a new measurement (``record_id`` made here unless given)."""
        now = self.clock()
        record_id = attributes.pop("record_id", None) or new_measurement_id()
        item = self.measurements(shop, record_id, created_at=now, updated_at=now, **attributes)
        item.save(condition=self.measurements.record_id.does_not_exist())
        return item

    def create_if_absent(self, shop: str, **attributes: Any) -> MeasurementModel:
        """Store the measurement ``record_id`` unless it exists; either way the stored one.
        An experiment's job names its groups' measurements by the experiment, so a retried
        job finds what its first run stored instead of measuring a group twice."""
        record_id = attributes["record_id"]
        try:
            return self.create(shop, **attributes)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        existing = self.get(shop, record_id)
        if existing is None:  # deleted between the two calls: nothing to converge on
            raise LookupError(f"measurement {record_id} vanished while it was created")
        return existing

    def get(self, shop: str, measurement_id: str) -> MeasurementModel | None:
        if not measurement_id.startswith(MEASUREMENT_PREFIX):
            return None
        try:
            return self.measurements.get(shop, measurement_id, consistent_read=True)
        except DoesNotExist:
            return None

    def list_page(self, shop: str, *, limit: int, after: str | None = None) -> MeasurementPage:
        """Up to ``limit`` measurements in id order, resuming after the id ``after``."""
        start = {"shop": {"S": shop}, "record_id": {"S": after}} if after else None
        result = self.measurements.query(
            shop, self.measurements.record_id.startswith(MEASUREMENT_PREFIX),
            limit=limit, last_evaluated_key=start, consistent_read=True,
        )
        items = list(result)
        last = result.last_evaluated_key
        return MeasurementPage(items, last["record_id"]["S"] if last else None)

    def all_measurements(self, shop: str) -> Iterator[MeasurementModel]:
        return iter(self.measurements.query(
            shop, self.measurements.record_id.startswith(MEASUREMENT_PREFIX),
            consistent_read=True,
        ))

    def open_measurements(self, shop: str) -> list[MeasurementModel]:
        """Measurements whose results may still change (not final)."""
        return [m for m in self.all_measurements(shop) if m.status != "final"]

    def save_results(self, shop: str, measurement_id: str, results: dict[str, Any],
                     status: str) -> None:
        item = self.measurements(shop, measurement_id)
        item.update(actions=[
            self.measurements.results.set(results),
            self.measurements.status.set(status),
            self.measurements.last_error.remove(),
            self.measurements.updated_at.set(self.clock()),
        ])

    def save_error(self, shop: str, measurement_id: str, message: str) -> None:
        item = self.measurements(shop, measurement_id)
        item.update(actions=[
            self.measurements.last_error.set(message[:1000]),
            self.measurements.updated_at.set(self.clock()),
        ])

    def create_experiment(self, shop: str, **attributes: Any) -> ExperimentModel:
        record_id = attributes.pop("record_id", None) or new_experiment_id()
        item = self.experiments(shop, record_id, created_at=self.clock(), **attributes)
        item.save(condition=self.experiments.record_id.does_not_exist())
        return item

    def get_experiment(self, shop: str, experiment_id: str) -> ExperimentModel | None:
        if not experiment_id.startswith(EXPERIMENT_PREFIX):
            return None
        try:
            return self.experiments.get(shop, experiment_id, consistent_read=True)
        except DoesNotExist:
            return None

    def all_experiments(self, shop: str) -> Iterator[ExperimentModel]:
        return iter(self.experiments.query(
            shop, self.experiments.record_id.startswith(EXPERIMENT_PREFIX),
            consistent_read=True,
        ))

    def finish_experiment(self, shop: str, experiment_id: str,
                          groups: list[dict[str, Any]]) -> bool:
        """An experiment being created gets its groups and becomes ready; False when it is
        not being created any more (failed, or finished by a concurrent delivery)."""
        return self._finish_creating(shop, experiment_id, [
            self.experiments.groups.set(groups), self.experiments.status.set("ready")])

    def fail_experiment(self, shop: str, experiment_id: str, message: str) -> bool:
        """Why an experiment being created could not be (the merchant's words); False when
        it is not being created any more (a ready experiment is never marked failed)."""
        return self._finish_creating(shop, experiment_id, [
            self.experiments.status.set("failed"), self.experiments.error.set(message[:1000])])

    def _finish_creating(self, shop: str, experiment_id: str, actions: list[Any]) -> bool:
        """Apply ``actions`` only while the experiment is still being created (one
        conditional update, so concurrent deliveries finish it once); False otherwise."""
        try:
            self.experiments(shop, experiment_id).update(
                actions=actions, condition=self.experiments.record_id.exists()
                & (self.experiments.status == "creating"))
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def set_customer_count(self, shop: str, measurement_id: str, count: int) -> None:
        """After the stored list changed (a customer redacted): the count follows the list."""
        item = self.measurements(shop, measurement_id)
        item.update(actions=[
            self.measurements.customer_count.set(count),
            self.measurements.updated_at.set(self.clock()),
        ])

    def set_experiment_groups(self, shop: str, experiment_id: str,
                              groups: list[dict[str, Any]]) -> None:
        """Replace an experiment's group descriptions (sizes after a redaction)."""
        item = self.experiments(shop, experiment_id)
        item.update(actions=[self.experiments.groups.set(groups)])
