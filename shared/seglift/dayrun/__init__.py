"""One shop's day: every segment's members, metrics, profile and revenue, computed once.

``compute.compute_day`` is the only code that evaluates a day; the daily workflow's RunDay
step, backfill, point-in-time evaluation and the benchmarks all call it.
"""
