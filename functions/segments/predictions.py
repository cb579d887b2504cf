"""One page of the shop's per-customer predictions, for the API (which has no pyarrow).

The daily run stores every customer's features, predictions included
(``seglift.segments.predictions``), in the day's features file; a page is read from that
file, so the API shows exactly the values conditions were evaluated with that day.
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
from segments.editor import sample_customers
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
