"""A shard's product-journey counts as one Arrow table, from SegmentShards to ReduceDay.

Why: of a shard's partial figures, the product-journey pair counts (``JourneyCounts``:
customers per (first-order product, second-order product), per segment) are almost all
the bytes: 8.9 MB of the 9 MB of ``partials.json`` at 100,000 customers a shard. As JSON,
ReduceDay parsed them into Python lists (0.36 s and tens of MB a shard, 128 shards at
10,000,000 customers) and added them list by list. As one table (``journeys_table``:
every segment's pairs and eligible first products, and everyone's) they travel as
Parquet, decode into Arrow memory and add with a group-by (``JourneysFold``), a few
shards at a time. The sums are the same counts ``merge_profile_partials`` adds, so the
figures do not change (tests/dayrun).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.profile import JourneyCounts, ProfilePartial

EVERYONE = None  # the ``segment`` of the all-customer counts (null)
_KEYS = ["segment", "base", "first", "second"]


def _empty(counts: JourneyCounts) -> JourneyCounts:
    return JourneyCounts(type=counts.type, firsts=[], seconds=[], counts=[], base_firsts=[],
                         base_counts=[])


def without_journeys(profile: ProfilePartial | None) -> ProfilePartial | None:
    """The profile counts with their journeys left out (they travel in the table)."""
    if profile is None:
        return None
    return profile.model_copy(update={"journeys": _empty(profile.journeys)})


def journeys_table(profiles: Sequence[tuple[str | None, ProfilePartial | None]]) -> pa.Table:
    """(segment id or ``EVERYONE``, its profile counts) -> one table of their journey
    counts: ``segment``, ``base`` (False: a (first, second) pair's customers; True: the
    first product's eligible customers, ``second`` null), ``first``, ``second``,
    ``count``. No rows when no profile has counts (the shard computed none)."""
    present = [(place, p.journeys) for place, p in profiles if p is not None]
    kind = pa.type_for_alias(present[0][1].type) if present else pa.int64()
    segments, bases, firsts, seconds, counts = [], [], [], [], []
    for place, journey in present:
        pairs, eligible = len(journey.counts), len(journey.base_counts)
        segments += [place] * (pairs + eligible)
        bases += [False] * pairs + [True] * eligible
        firsts += journey.firsts + journey.base_firsts
        seconds += journey.seconds + [None] * eligible
        counts += journey.counts + journey.base_counts
    return pa.table({"segment": pa.array(segments, pa.string()),
                     "base": pa.array(bases, pa.bool_()), "first": pa.array(firsts, kind),
                     "second": pa.array(seconds, kind),
                     "count": pa.array(counts, pa.int64())})


def _summed(tables: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return table.group_by(_KEYS, use_threads=False).aggregate([("count", "sum")]) \
        .rename_columns([*_KEYS, "count"])


class JourneysFold:
    """Shards' journey tables added as they are read, ``batch`` at a time: the running
    sums (at most every distinct (segment, pair)) and fewer than ``batch`` tables held."""

    def __init__(self, batch: int = 16) -> None:
        self.batch = max(2, batch)
        self._tables: list[pa.Table] = []

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._tables.append(table)
        if len(self._tables) >= self.batch:
            self._tables = [_summed(self._tables)]

    def counts(self, kinds: Mapping[str | None, str]) -> dict[str | None, JourneyCounts]:
        """Each segment's (or ``EVERYONE``'s) added counts, its values of the Arrow type
        ``kinds[segment]`` names; a segment with no rows gets empty counts."""
        summed = _summed(self._tables) if self._tables else None
        out: dict[str | None, JourneyCounts] = {}
        for place, kind in kinds.items():
            rows = None if summed is None else summed.filter(
                pc.is_null(summed["segment"]) if place is None
                else pc.equal(summed["segment"], place))
            if rows is None or rows.num_rows == 0:
                out[place] = JourneyCounts(type=kind, firsts=[], seconds=[], counts=[],
                                           base_firsts=[], base_counts=[])
                continue
            pairs = rows.filter(pc.invert(rows["base"]))
            bases = rows.filter(rows["base"])
            out[place] = JourneyCounts(
                type=kind, firsts=pairs["first"].to_pylist(),
                seconds=pairs["second"].to_pylist(), counts=pairs["count"].to_pylist(),
                base_firsts=bases["first"].to_pylist(), base_counts=bases["count"].to_pylist())
        return out
