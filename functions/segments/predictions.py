"""One page of the shop's per-customer predictions, for the API (which has no pyarrow).

The daily run stores every customer's features, predictions included
(``seglift.segments.predictions``), in the day's features file; a page is read from that
file, so the API shows exactly the values conditions were evaluated with that day. A day
the daily run did not store is computed as of that day (``predictions_as_of``).
Customers without predictions (no orders, or no model) are not listed. Rows are sorted by
the asked column, ties (and unknown values, last) by customer id, so pages never overlap
or skip a customer.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from seglift import keys
from seglift.analytics.reports import json_value
from seglift.segments.features import PREDICTION_FEATURES
from seglift.segments.predictions import model_note
from segments.editor import sample_customers, stored_model
from segments.feature_cache import FeatureCache, uncached_day_features
from segments.logic import Storage

SORTABLE = PREDICTION_FEATURES
COLUMNS = ("customer_id", "order_count", "total_spent", "last_order_date", *PREDICTION_FEATURES)
MAX_LIMIT = 100
CENT = Decimal("0.01")


class PredictionsNotComputed(LookupError):
    """No features file for the day: the daily run has not stored that day."""


def prediction_page(features: pa.Table, customers: pa.Table, *, sort: str, descending: bool,
                    offset: int, limit: int) -> dict[str, Any]:
    """``{"total", "offset", "items"}``: rows ``offset .. offset + limit`` of the customers
    with predictions, sorted by ``sort``; each row's name and e-mail from ``customers``."""
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort predictions by {sort!r}; use one of {list(SORTABLE)}")
    offset, limit = max(0, int(offset)), max(1, min(int(limit), MAX_LIMIT))
    predicted = features.filter(pc.is_valid(features["chance_active"]))
    order = pc.sort_indices(predicted, sort_keys=[
        (sort, "descending" if descending else "ascending"), ("customer_id", "ascending")])
    # (unknown values sort last: the default placement)
    page = predicted.take(order[offset:offset + limit])
    ids = page["customer_id"].to_pylist()
    people = {c["id"]: c for c in sample_customers(customers, ids)}
    items = []
    for row in page.select(list(COLUMNS)).to_pylist():  # one page: at most MAX_LIMIT rows
        person = people.get(row["customer_id"], {})
        items.append({**{k: _plain(v) for k, v in row.items()},
                      "customer_id": str(row["customer_id"]),
                      "name": person.get("name"), "email": person.get("email")})
    return {"total": predicted.num_rows, "offset": offset, "items": items}


def _plain(value: Any) -> Any:
    """A cell as JSON; money to the cent (predictions are estimates in cents)."""
    if isinstance(value, Decimal):
        return format(value.quantize(CENT), "f")
    return json_value(value)


def predictions_as_of(shop: str, as_of: date, *, storage: Storage, reader: Any, sort: str,
                      descending: bool, offset: int, limit: int, tz: str = "UTC",
                      cache: FeatureCache | None = None) -> dict[str, Any]:
    """A page of the customers' predictions as of a day the daily run did not store (a
    past day of an imported history, a day before the first run): every customer's
    features as of that day with the model of that day (the one a run stored that day,
    if any, else fitted now on the history up to that day, as the daily run would have),
    and the model's status, reason and warnings, so a past day never shows a later
    day's predictions."""
    def stored() -> Any:
        return stored_model(storage, shop, as_of)

    day = (cache.day_features(shop, as_of, tz, reader, True, stored) if cache is not None
           else uncached_day_features(as_of, tz, reader, True, stored))
    note = model_note(day.features) or {}
    fitted = bool(note.get("fitted"))
    page = (prediction_page(day.features, day.tables.customers, sort=sort,
                            descending=descending, offset=offset, limit=limit)
            if fitted else {"total": 0, "offset": max(0, int(offset)), "items": []})
    return {"as_of": as_of.isoformat(), "status": "fitted" if fitted else "insufficient_data",
            "reason": note.get("reason"), "warnings": list(note.get("warnings") or []),
            **page}


def predictions_of_day(shop: str, as_of: date, *, storage: Storage, reader: Any, sort: str,
                       descending: bool, offset: int, limit: int) -> dict[str, Any]:
    """A page of the day's stored predictions (see ``prediction_page``)."""
    try:
        body = storage.s3.get_object(Bucket=storage.bucket,
                                     Key=keys.features_key(shop, as_of))["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise PredictionsNotComputed(
                f"no predictions were stored for {as_of.isoformat()}: they are computed by "
                "the daily run, try again after the next one") from error
        raise
    stored = pq.ParquetFile(io.BytesIO(body))
    if any(c not in stored.schema_arrow.names for c in COLUMNS):
        # a day stored before predictions were features
        raise PredictionsNotComputed(
            f"the customers' predictions were not stored on {as_of.isoformat()}: they are "
            "stored from the next daily run on")
    customers = reader.read_table("customers", columns=["customer_id", "first_name",
                                                        "last_name", "email"])
    return {"as_of": as_of.isoformat(),
            **prediction_page(stored.read(columns=list(COLUMNS)), customers, sort=sort,
                              descending=descending, offset=offset, limit=limit)}
