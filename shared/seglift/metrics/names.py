"""The names of the stored daily metrics, importable without pyarrow.

Why a separate module: the API presents money metrics with the shop's currency and must
not load pyarrow (``seglift.metrics.daily`` needs it), so the names live here. The
formulas are in ``seglift.metrics.daily``.
"""

from __future__ import annotations

# Metrics whose values are amounts of the shop's currency (rounded to cents).
MONEY_METRICS = frozenset({"net_sales", "ltv", "aov", "revenue_of_day"})

# Whole numbers of customers or orders.
COUNT_METRICS = frozenset({"member_count", "entered", "left", "order_count"})

# Everything else is a ratio or an average: avg_purchase_count, avg_purchase_interval_days,
# repeat_rate and f2_conversion_<N>d (N = the conversion window in days).
