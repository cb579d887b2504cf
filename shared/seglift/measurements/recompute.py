"""Recompute a shop's open measurements from the lake (measurements function; pyarrow).

Reads the lake's orders, refunds and line items once per shop and computes every open
measurement of it. A measurement failing (e.g. its list object is missing) records its
error and does not stop the others. A final measurement is never recomputed, so a refund
made after its period can never change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

import pyarrow as pa

from seglift.measurements.compute import (
    LINE_ITEM_COLUMNS,
    ORDER_COLUMNS,
    REFUND_COLUMNS,
    measurement_results,
)
from seglift.measurements.spec import Goal, Period


class LakeTableReader(Protocol):
    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table: ...


def status_after(period: Period, run_date: date) -> str:
    return "open" if period.is_open_on(run_date) else "final"


def recompute_measurements(
    shop: str,
    run_date: date,
    *,
    store: Any,
    lists: Any,
    reader: LakeTableReader,
    measurement_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Compute and store the results of ``measurement_ids`` (default: every open one)."""
    if measurement_ids:
        records = [r for r in (store.get(shop, i) for i in measurement_ids) if r is not None]
        records = [r for r in records if r.status != "final"]
    else:
        records = store.open_measurements(shop)
    summary: dict[str, Any] = {"shop": shop, "run_date": run_date.isoformat(),
                               "computed": [], "failed": []}
    if not records:
        return summary
    orders = reader.read_table("orders", ORDER_COLUMNS)
    refunds = reader.read_table("refunds", REFUND_COLUMNS)
    line_items = reader.read_table("line_items", LINE_ITEM_COLUMNS)
    for record in records:
        try:
            period = Period(date.fromisoformat(record.period_start),
                            date.fromisoformat(record.period_end))
            results = measurement_results(
                lists.read(record.customers_key), period, Goal.from_document(record.goal),
                run_date, orders, refunds, line_items, record.timezone or "UTC",
            )
            store.save_results(shop, record.record_id, results, status_after(period, run_date))
            summary["computed"].append(record.record_id)
        except Exception as error:  # one bad measurement must not stop the others
            store.save_error(shop, record.record_id, f"{type(error).__name__}: {error}")
            summary["failed"].append({"measurement_id": record.record_id, "error": str(error)})
    return summary
