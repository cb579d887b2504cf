"""One page of the shop's per-customer predictions, for the API (which has no pyarrow).

The daily run stores every customer's features, predictions included
(``seglift.segments.predictions``), in the day's features file; a page is read from that
file, so the API shows exactly the values conditions were evaluated with that day. A day
the daily run did not store is computed as of that day by a job the merchant starts
(``store_predictions_as_of``: the model's fit takes longer than a request can wait at a
large shop) and its pages read from what that job stored (``predictions_computed``).
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


def _status(features: pa.Table) -> dict[str, Any]:
    """The model's status, reason and warnings the features carry (``model_note``)."""
    note = model_note(features) or {}
    return {"status": "fitted" if note.get("fitted") else "insufficient_data",
            "reason": note.get("reason"), "warnings": list(note.get("warnings") or [])}


def store_predictions_as_of(shop: str, as_of: date, *, storage: Storage, reader: Any,
                            tz: str = "UTC", cache: FeatureCache | None = None
                            ) -> dict[str, Any]:
    """Every customer's predictions as of a day the daily run did not store (a past day of
    an imported history, a day before the first run), stored for the pages to read: the
    features as of that day with the model of that day (the one a run stored that day, if
    any, else fitted now on the history up to that day, as the daily run would have), so
    a past day never shows a later day's predictions. Run as a job the merchant started
    (fitting the model takes tens of seconds at a million customers: more than a request
    can wait); answers ``{"as_of", "status", "total"}``."""
    def stored() -> Any:
        return stored_model(storage, shop, as_of)

    day = (cache.day_features(shop, as_of, tz, reader, True, stored) if cache is not None
           else uncached_day_features(as_of, tz, reader, True, stored))
    columns = day.features.select(list(COLUMNS))  # the schema metadata (notes) is kept
    buffer = io.BytesIO()
    pq.write_table(columns, buffer)
    storage.s3.put_object(Bucket=storage.bucket, Key=keys.predictions_of_day_key(shop, as_of),
                          Body=buffer.getvalue())
    status = _status(columns)
    total = (pc.sum(pc.is_valid(columns["chance_active"])).as_py() or 0
             if status["status"] == "fitted" else 0)
    return {"as_of": as_of.isoformat(), "status": status["status"], "total": int(total)}


def predictions_computed(shop: str, as_of: date, *, storage: Storage, reader: Any,
                         sort: str, descending: bool, offset: int, limit: int
                         ) -> dict[str, Any]:
    """A page of the predictions ``store_predictions_as_of`` stored for a day the daily
    run did not store, with the model's status, reason and warnings of that day;
    PredictionsNotComputed when none were stored (the API then starts that job)."""
    body = _object(storage, keys.predictions_of_day_key(shop, as_of))
    if body is None:
        raise PredictionsNotComputed(
            f"the predictions as of {as_of.isoformat()} were not computed yet")
    table = pq.ParquetFile(io.BytesIO(body)).read(columns=list(COLUMNS))
    status = _status(table)
    if status["status"] != "fitted":
        return {"as_of": as_of.isoformat(), **status, "total": 0,
                "offset": max(0, int(offset)), "items": []}
    return {"as_of": as_of.isoformat(), **status,
            **prediction_page(table, _people(reader), sort=sort, descending=descending,
                              offset=offset, limit=limit)}


def _people(reader: Any) -> pa.Table:
    return reader.read_table("customers", columns=["customer_id", "first_name", "last_name",
                                                   "email"])


def _object(storage: Storage, key: str) -> bytes | None:
    """The object's bytes; None when there is none."""
    try:
        return bytes(storage.s3.get_object(Bucket=storage.bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def predictions_of_day(shop: str, as_of: date, *, storage: Storage, reader: Any, sort: str,
                       descending: bool, offset: int, limit: int) -> dict[str, Any]:
    """A page of the day's stored predictions (see ``prediction_page``)."""
    body = _object(storage, keys.features_key(shop, as_of))
    if body is None:
        raise PredictionsNotComputed(
            f"no predictions were stored for {as_of.isoformat()}: they are computed by "
            "the daily run, try again after the next one")
    stored = pq.ParquetFile(io.BytesIO(body))
    if any(c not in stored.schema_arrow.names for c in COLUMNS):
        # a day stored before predictions were features
        raise PredictionsNotComputed(
            f"the customers' predictions were not stored on {as_of.isoformat()}: they are "
            "stored from the next daily run on")
    return {"as_of": as_of.isoformat(),
            **prediction_page(stored.read(columns=list(COLUMNS)), _people(reader), sort=sort,
                              descending=descending, offset=offset, limit=limit)}
