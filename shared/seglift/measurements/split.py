"""Random, reproducible splits of a customer list into groups. No pyarrow.

Why the standard library's ``random.Random(seed)``: its sequence for a given seed is
stable across Python versions (documented for ``shuffle`` on a list of the same length),
so an experiment re-split from its stored seed gives the same groups years later.

Without strata the ids are sorted, shuffled and cut into groups whose sizes differ by at
most one. With strata (e.g. each customer's RFM group or LTV band) every stratum is
shuffled on its own and dealt round-robin, each stratum starting at the group that is
currently smallest, so every group gets its share of every stratum (within one customer)
and group sizes still differ by at most one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

MIN_GROUPS = 2
MAX_GROUPS = 10
UNKNOWN_STRATUM = "unknown"


def split_customers(
    customer_ids: Iterable[int],
    groups: int,
    seed: int,
    strata: Mapping[int, str] | None = None,
) -> list[list[int]]:
    """``groups`` disjoint sorted id lists covering ``customer_ids`` (duplicates dropped)."""
    if not MIN_GROUPS <= groups <= MAX_GROUPS:
        raise ValueError(f"groups must be between {MIN_GROUPS} and {MAX_GROUPS}, got {groups}")
    ids = sorted(set(map(int, customer_ids)))
    if len(ids) < groups:
        raise ValueError(
            f"{len(ids)} customers cannot be split into {groups} groups: use a larger list"
        )
    rng = random.Random(seed)
    result: list[list[int]] = [[] for _ in range(groups)]
    if strata is None:
        rng.shuffle(ids)
        for index, customer in enumerate(ids):
            result[index % groups].append(customer)
    else:
        by_stratum: dict[str, list[int]] = {}
        for customer in ids:
            by_stratum.setdefault(strata.get(customer) or UNKNOWN_STRATUM, []).append(customer)
        for stratum in sorted(by_stratum):
            members = by_stratum[stratum]
            rng.shuffle(members)
            order = sorted(range(groups), key=lambda g: (len(result[g]), g))
            for index, customer in enumerate(members):
                result[order[index % groups]].append(customer)
    return [sorted(group) for group in result]


def group_labels(groups: int, holdout: bool) -> list[str]:
    """"A", "B", ...; the last group is "holdout" (untreated) when asked for."""
    labels = [chr(ord("A") + index) for index in range(groups)]
    if holdout:
        labels[-1] = "holdout"
    return labels
