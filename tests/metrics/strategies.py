"""Random small stores for property tests: a few customers, overlapping days, refunds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

START = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = date(2025, 4, 30)
CUSTOMERS = list(range(1, 9))


@st.composite
def stores(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(orders, refunds) as lake rows, spread around AS_OF so cut-offs matter."""
    n_orders = draw(st.integers(0, 25))
    orders = []
    refunds = []
    for order_id in range(1, n_orders + 1):
        created = START + timedelta(hours=draw(st.integers(0, 140 * 24)))
        cancelled = None
        if draw(st.booleans()) and draw(st.booleans()):
            cancelled = created + timedelta(hours=draw(st.integers(1, 30 * 24)))
        total = Decimal(draw(st.integers(0, 500_000))).scaleb(-3)
        orders.append(
            {
                "order_id": order_id,
                "customer_id": draw(st.sampled_from([*CUSTOMERS, None])),
                "created_at": created,
                "updated_at": created,
                "cancelled_at": cancelled,
                "total_price": total,
                "total_refunded": Decimal(0),
            }
        )
        if draw(st.booleans()):
            refunds.append(
                {
                    "refund_id": order_id,
                    "order_id": order_id,
                    "created_at": created + timedelta(hours=draw(st.integers(0, 20 * 24))),
                    "amount": Decimal(draw(st.integers(0, 500_000))).scaleb(-3),
                }
            )
    return orders, refunds


member_sets = st.sets(st.sampled_from([*CUSTOMERS, 99]))
