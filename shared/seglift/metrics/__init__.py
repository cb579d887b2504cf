"""Segment metrics. ``daily`` holds the formulas of the stored daily metrics (its module
docstring is the definition the README quotes), ``orders`` what counts as an order and its
net value, ``exact`` the once-only rounding, ``names`` the metric names without pyarrow."""
