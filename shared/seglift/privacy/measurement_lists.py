"""Removing a redacted customer from measurement lists (seglift.measurements). No pyarrow.

A measurement fixes its customers at creation: the list is a ``.ids.gz`` object on S3 (its
key on the measurement's DynamoDB item, ``customers_key``) and the item keeps the list's
size (``customer_count``); an experiment's groups are measurements, and the experiment
item repeats each group's size. A redaction rewrites each list that holds the customer
without their id and sets the sizes to match, so the measurement carries on (recomputed
daily while open) over the remaining customers.

Why not the generic line scrub of ``seglift.privacy.s3_objects``: it drops any line naming
any of the subject's numbers, order ids included, and a list holds only customer ids, so
another customer whose id happens to equal one of the subject's order ids would vanish.
Here only ``subject.customer_ids`` are removed, as whole ids, and the generic scrub skips
the lists handled here (a list no measurement refers to still gets the generic scrub).

Idempotent: a list without the customer is neither rewritten nor recounted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from seglift.privacy.subject import Subject
from seglift.segments.member_ids import decode_member_ids, encode_member_ids


class MeasurementLists(Protocol):
    """``seglift.storage.measurement_repository.MeasurementRepository``."""

    def all_measurements(self, shop: str) -> Iterable[Any]: ...
    def all_experiments(self, shop: str) -> Iterable[Any]: ...
    def set_customer_count(self, shop: str, measurement_id: str, count: int) -> None: ...
    def set_experiment_groups(self, shop: str, experiment_id: str,
                              groups: list[dict[str, Any]]) -> None: ...


@dataclass
class MeasurementListScrub:
    """What the redaction changed; ids of measurements and experiments, never customers."""

    lists_rewritten: list[str] = field(default_factory=list)
    experiments_updated: list[str] = field(default_factory=list)
    # Every list object examined: the generic S3 scrub must leave these alone.
    keys: list[str] = field(default_factory=list)


def scrub_measurement_lists(s3: Any, bucket: str, shop: str, subject: Subject,
                            measurements: MeasurementLists) -> MeasurementListScrub:
    """Remove the subject's customer ids from every measurement list of the shop."""
    result = MeasurementListScrub()
    new_counts: dict[str, int] = {}
    redacted = np.array(sorted(subject.customer_ids), dtype=np.int64)
    for record in measurements.all_measurements(shop):  # a shop has a handful
        result.keys.append(record.customers_key)
        body = _read(s3, bucket, record.customers_key)
        if body is None:
            continue
        ids = np.array(decode_member_ids(body), dtype=np.int64)
        keep = ~np.isin(ids, redacted)
        if keep.all():
            continue
        remaining = ids[keep]
        s3.put_object(Bucket=bucket, Key=record.customers_key,
                      Body=encode_member_ids(remaining.tolist()),
                      ContentType="application/gzip")
        measurements.set_customer_count(shop, record.record_id, len(remaining))
        new_counts[record.record_id] = len(remaining)
        result.lists_rewritten.append(record.record_id)
    if new_counts:
        for experiment in measurements.all_experiments(shop):
            groups = [dict(group) for group in experiment.groups or []]
            changed = False
            for group in groups:
                count = new_counts.get(str(group.get("measurement_id")))
                if count is not None and group.get("customers") != count:
                    group["customers"] = count
                    changed = True
            if changed:
                measurements.set_experiment_groups(shop, experiment.record_id, groups)
                result.experiments_updated.append(experiment.record_id)
    return result


def _read(s3: Any, bucket: str, key: str) -> bytes | None:
    """The list's body, or None when it is gone (nothing of the customer left to remove)."""
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
