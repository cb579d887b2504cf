"""PynamoDB models of the DynamoDB tables declared in template.yaml.

The classes here carry no table name: a table's physical name is only known at run time
(CloudFormation names it), so ``bind`` makes a subclass for a given name. Handlers bind
once per cold start from ``seglift.config.RuntimeConfig``; tests bind to the tables the
local cloud deployed from the same template.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

M = TypeVar("M", bound=Model)


class ShopModel(Model):
    """An installed shop: how to reach it, who to tell, and how its last sync went."""

    class Meta:
        table_name = "unbound-shops"

    shop = UnicodeAttribute(hash_key=True)
    # Name of the SSM SecureString parameter holding the Admin API access token; the
    # token itself never lands in DynamoDB.
    access_token_parameter = UnicodeAttribute()
    plan = UnicodeAttribute(default="standard")
    timezone = UnicodeAttribute(default="UTC")
    currency = UnicodeAttribute(default="USD")
    notification_email = UnicodeAttribute(null=True)
    installed = BooleanAttribute(default=True)
    installed_at = UTCDateTimeAttribute(null=True)
    sync_status = UnicodeAttribute(default="never")  # never | running | succeeded | failed
    last_sync_started_at = UTCDateTimeAttribute(null=True)
    last_sync_finished_at = UTCDateTimeAttribute(null=True)
    last_sync_duration_ms = NumberAttribute(null=True)
    last_sync_records = NumberAttribute(null=True)
    last_sync_error = UnicodeAttribute(null=True)
    last_pipeline_execution = UnicodeAttribute(null=True)
    # What a running sync is doing (e.g. waiting for Shopify's orders export since ...).
    sync_phase = UnicodeAttribute(null=True)
    # The sync before the running one failed or never finished (repeated-failure metric).
    sync_previous_failed = BooleanAttribute(null=True)
    # The sync lease: one sync of a shop at a time (schedule and POST /shop/sync). Taken and
    # renewed by conditional writes; a sync that stops renewing frees the shop at expiry.
    sync_lease_owner = UnicodeAttribute(null=True)
    sync_lease_expires_at = UTCDateTimeAttribute(null=True)


class SegmentModel(Model):
    """A merchant's customer segment: condition-based (re-evaluated daily) or list-type."""

    class Meta:
        table_name = "unbound-segments"

    shop = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    kind = UnicodeAttribute(default="condition")  # condition | list
    description = UnicodeAttribute(null=True)
    # The condition tree as JSON (see seglift.segments.conditions); null for list segments
    # created from a CSV or a set operation.
    condition = JSONAttribute(null=True)
    template_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    member_count = NumberAttribute(null=True)
    last_evaluated_on = UnicodeAttribute(null=True)  # ISO date of the latest snapshot
    last_error = UnicodeAttribute(null=True)
    # "Keep in sync": after each daily evaluation, entrants get this Shopify tag and
    # leavers lose it (seglift.tagging.keep_in_sync). Null when the segment is not synced.
    keep_in_sync_tag = UnicodeAttribute(null=True)


class SegmentMetricsModel(Model):
    """One day of one segment's metrics: the time series behind the trend charts."""

    class Meta:
        table_name = "unbound-segment-metrics"

    # "<shop>#<segment_id>", so one Query returns a segment's whole series in date order.
    series = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # ISO date
    shop = UnicodeAttribute()
    segment_id = UnicodeAttribute()
    computed_at = UTCDateTimeAttribute()
    # Metric name -> value (Decimal). Names and formulas: seglift.metrics and README.md.
    values: Attribute[Any] = MapAttribute(default=dict)


class TagJobModel(Model):
    """A request to add or remove a Shopify customer tag on every member of a segment."""

    class Meta:
        table_name = "unbound-tag-jobs"

    shop = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    segment_id = UnicodeAttribute()
    tag = UnicodeAttribute()
    action = UnicodeAttribute()  # add | remove
    requested_by = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")  # queued | running | completed | failed
    total = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    batches_total = NumberAttribute(null=True)
    batches_finished = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    email_sent_at = UTCDateTimeAttribute(null=True)
    # Per-customer errors, capped (see seglift.tagging) so the item stays under 400 KB.
    errors = ListAttribute(of=MapAttribute, default=list)


@cache
def bind(model: type[M], table_name: str) -> type[M]:
    """A subclass of ``model`` bound to the physical table ``table_name``.

    Cached, so every caller in a process shares one class (and one connection) per table.
    """
    meta = type("Meta", (), {"table_name": table_name})
    return type(model.__name__, (model,), {"Meta": meta, "__module__": model.__module__})


class AnalyticsModel(Model):
    """One stored analytics result: a point of a per-shop or per-segment time series
    (profile, revenue month, cohorts, CLV, overlap, journey funnel) or a journey definition.

    The payload is a small JSON document (top-N lists and aggregates, never raw rows), so
    an item stays far below DynamoDB's 400 KB limit; see
    ``seglift.storage.analytics_repository`` for the kinds and their payloads.
    """

    class Meta:
        table_name = "unbound-analytics"

    # "<shop>#<segment_id, journey_id or 'shop'>#<kind>": one Query per series, in order.
    series = UnicodeAttribute(hash_key=True)
    # ISO day, period label ("2026-11") or journey id, depending on the kind.
    sort_key = UnicodeAttribute(range_key=True)
    shop = UnicodeAttribute()
    kind = UnicodeAttribute()
    computed_at = UTCDateTimeAttribute()
    payload = JSONAttribute(default=dict)


class MeasurementModel(Model):
    """What a fixed list of customers bought in a period (seglift.measurements).

    Shares its table with ExperimentModel: range keys start with "msr-" or "exp-". The
    customer list itself is on S3 (``customers_key``): a list can be far larger than a
    DynamoDB item.
    """

    class Meta:
        table_name = "unbound-measurements"

    shop = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)  # "msr-..."
    name = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)
    source = UnicodeAttribute()  # list_segment | segment_snapshot | experiment_group
    segment_id = UnicodeAttribute(null=True)
    customers_key = UnicodeAttribute()
    customer_count = NumberAttribute()
    period_start = UnicodeAttribute()  # ISO date, shop time zone
    period_end = UnicodeAttribute()
    timezone = UnicodeAttribute(default="UTC")  # the shop's zone when created
    goal = JSONAttribute(default=dict)
    status = UnicodeAttribute(default="pending")  # pending | open | final
    results = JSONAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    experiment_id = UnicodeAttribute(null=True)
    group_label = UnicodeAttribute(null=True)
    # The day (shop time) whose segment membership was frozen: the day before a past
    # period began, else the segment's last evaluation. Null on older records.
    members_as_of = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class ExperimentModel(Model):
    """A list split at random into groups, one measurement each (seglift.measurements)."""

    class Meta:
        table_name = "unbound-measurements"

    shop = UnicodeAttribute(hash_key=True)
    record_id = UnicodeAttribute(range_key=True)  # "exp-..."
    name = UnicodeAttribute()
    segment_id = UnicodeAttribute()
    seed = NumberAttribute()
    stratify_by = UnicodeAttribute(null=True)  # rfm_group | ltv_band
    holdout = BooleanAttribute(default=False)
    # [{"label", "measurement_id", "customers", "strata": {stratum: count}}]
    groups = JSONAttribute(default=list)
    period_start = UnicodeAttribute()
    period_end = UnicodeAttribute()
    goal = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    # Made as a job (seglift.measurements.experiment_job): "creating" while its job splits
    # the members, "ready" once every group is stored, "failed" (with ``error``, in the
    # merchant's words) otherwise. Null on experiments made before: ready.
    status = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    # What the job needs, fixed when the request was checked (ExperimentSpec.as_document).
    spec = JSONAttribute(null=True)
