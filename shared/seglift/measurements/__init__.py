"""Measurements and experiments: what a fixed list of customers bought during a period."""
