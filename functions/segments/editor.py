"""The segment editor's questions, answered for the API (which carries no pyarrow).

- ``preview_condition``: how many customers a condition selects today, out of how many,
  and a sample of members with their names and e-mails; nothing is saved. A condition on
  predictions also gets the model's plain warnings (no model yet and why; a stale or thin
  history), so a count of 0 is never silent.
- ``explain_customer``: the condition tree with ``passed`` at every node for one customer,
  and the customer's own value beside each leaf, so the merchant sees which part keeps a
  customer out and why.

Both evaluate as of ``run_date`` (the shop's today) from the lake, exactly as the daily
run does; ``member_of`` uses the named segments' latest snapshots. Errors the merchant can
fix are raised as typed exceptions (their class name travels to the API in Lambda's
``errorType``): ``ConditionError``, ``CustomerNotFound``, ``SegmentEvaluationError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from botocore.exceptions import ClientError

from seglift import keys
from seglift.segments.conditions import validate_condition
from seglift.segments.engine import explain, preview
from seglift.segments.predictions import (
    PredictionModel,
    names_prediction_feature,
    prediction_notes,
)
from segments.feature_cache import DayFeatures, FeatureCache, uncached_day_features
from segments.logic import Segments, Storage, dependency_members_latest

DEFAULT_SAMPLE_SIZE = 20
MAX_SAMPLE_SIZE = 100


class CustomerNotFound(LookupError):
    """The customer is not in the shop's lake (unknown id, or created after the day)."""


class FeaturesNotReady(LookupError):
    """Asked to answer only from memory (``if_ready``), the day's features are not in this
    container's cache: the API then runs the request as a job (segments.editor_job)."""


def _checked(condition: Any, shop: str, segments: Segments, segment_id: str | None
             ) -> Mapping[str, Any]:
    known = {s.segment_id for s in segments.list(shop)}
    return validate_condition(condition, known_segments=known, segment_id=segment_id)


def _day(shop: str, run_date: date, tz: str, reader: Any, cache: FeatureCache | None,
         condition: Mapping[str, Any], storage: Storage | None,
         if_ready: bool = False) -> DayFeatures:
    """The day's features; with predictions only for a condition that names one (by the
    model the daily run stored that day when there is one: no fit in the preview). With
    ``if_ready``, only from the cache: FeaturesNotReady when they would be computed."""
    predictions = names_prediction_feature(dict(condition))
    if if_ready and cache is not None and not cache.ready(shop, run_date, tz, reader,
                                                          predictions):
        raise FeaturesNotReady(
            f"the customers' features of {run_date.isoformat()} are being computed")

    def stored() -> PredictionModel | None:
        return stored_model(storage, shop, run_date) if storage is not None else None

    if cache is None:
        return uncached_day_features(run_date, tz, reader, predictions, stored)
    return cache.day_features(shop, run_date, tz, reader, predictions, stored)


def stored_model(storage: Storage, shop: str, run_date: date) -> PredictionModel | None:
    """The purchase model the daily run fitted on ``run_date`` (None: none stored)."""
    try:
        body = storage.s3.get_object(Bucket=storage.bucket,
                                     Key=keys.prediction_model_key(shop, run_date))["Body"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return PredictionModel.model_validate_json(body.read())


def preview_condition(
    shop: str, run_date: date, condition: Any, *, reader: Any, storage: Storage,
    segments: Segments, tz: str = "UTC", sample_size: int = DEFAULT_SAMPLE_SIZE,
    cache: FeatureCache | None = None, if_ready: bool = False,
) -> dict[str, Any]:
    """``{"member_count", "customer_count", "sample", "as_of"}`` of an unsaved condition.
    With ``cache``, the day's lake and features come from it (segments.feature_cache);
    with ``if_ready`` too, only when they are there already (else FeaturesNotReady)."""
    checked = _checked(condition, shop, segments, None)
    day = _day(shop, run_date, tz, reader, cache, checked, storage, if_ready)
    tables, features = day.tables, day.features
    members = dependency_members_latest(shop, checked, segments, storage)
    size = max(0, min(int(sample_size), MAX_SAMPLE_SIZE))
    result = preview(dict(checked), features, tables, run_date, tz, members, sample_size=size)
    warnings = prediction_notes(features) if names_prediction_feature(dict(checked)) else []
    return {"member_count": result.member_count, "customer_count": result.customer_count,
            "sample": result.sample_ids, "as_of": run_date.isoformat(),
            "customers": sample_customers(tables.customers, result.sample_ids),
            "warnings": warnings}


def sample_customers(customers: pa.Table, ids: list[int]) -> list[dict[str, Any]]:
    """Name and e-mail of each sampled member, in the sample's order: a merchant
    recognises "Ada Lovelace", not customer 7000000042."""
    if not ids:
        return []
    rows = customers.filter(pc.is_in(customers["customer_id"], value_set=pa.array(ids, pa.int64())))
    found = {
        cid: (first, last, email)
        for cid, first, last, email in zip(
            rows["customer_id"].to_pylist(), rows["first_name"].to_pylist(),
            rows["last_name"].to_pylist(), rows["email"].to_pylist(), strict=True)
    }
    out = []
    for cid in ids:
        first, last, email = found.get(cid, (None, None, None))
        name = " ".join(part for part in (first, last) if part) or None
        out.append({"id": cid, "name": name, "email": email})
    return out


def explain_customer(
    shop: str, run_date: date, condition: Any, customer_id: int, *, reader: Any,
    storage: Storage, segments: Segments, tz: str = "UTC", segment_id: str | None = None,
    cache: FeatureCache | None = None, if_ready: bool = False,
) -> dict[str, Any]:
    """``{"customer_id", "as_of", "member", "tree"}``: why the customer is (not) a member
    (``if_ready``: only from the cache, as ``preview_condition``)."""
    checked = _checked(condition, shop, segments, segment_id)
    day = _day(shop, run_date, tz, reader, cache, checked, storage, if_ready)
    tables, features = day.tables, day.features
    present = pc.any(pc.equal(features["customer_id"], int(customer_id))).as_py()
    if not present:
        raise CustomerNotFound(
            f"customer {customer_id} is not a customer of this shop on {run_date.isoformat()} "
            "(unknown id, or not synced yet): use a numeric Shopify customer id"
        )
    members = dependency_members_latest(shop, checked, segments, storage)
    tree = explain(dict(checked), features, tables, run_date, int(customer_id), tz, members)
    return {"customer_id": int(customer_id), "as_of": run_date.isoformat(),
            "member": tree["passed"], "tree": tree}
