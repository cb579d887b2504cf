"""Segment analytics beyond the daily metrics: revenue split, profiles with lift, journeys,
cohorts and predicted customer lifetime value. Pure functions over Arrow tables."""
