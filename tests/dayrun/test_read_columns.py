"""A shard reads only the lake columns its phase needs (``seglift.dayrun.columns``), and
computes exactly what it computes from the whole lake: the same features, statistics and
model inputs (FeatureShards); the same members, failures, partial figures and shop part
(SegmentShards), for random stores and random conditions of every kind (every feature,
every item selector, nth order, first order source, member of).

A column left out of a phase's list fails loudly where it is used, never reads as nulls.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from seglift.analytics.shop import ShopShard, shop_shard
from seglift.dayrun.columns import DAY_COLUMNS, FEATURE_COLUMNS
from seglift.dayrun.compute import (
    DayContext,
    ShardDay,
    ShardFeatures,
    day_context,
    shard_day,
    shard_features,
)
from seglift.dayrun.shards import read_shard_tables, shard_tables
from seglift.lake.schema import schema_of
from seglift.segments.tables import TABLE_NAMES, LakeTables, conform
from tests.segments import prediction_store
from tests.segments.strategies import AS_OF, conditions, stores

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])


class _Lake:
    """A lake reader over in-memory tables: ``read_table`` decodes only ``columns`` as
    ``LakeReader`` does (a reader without ``read_shard``: read whole, then cut)."""

    def __init__(self, tables: LakeTables) -> None:
        self.tables = tables
        self.asked: dict[str, list[str] | None] = {}

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        self.asked[name] = columns
        table = getattr(self.tables, name)
        return table if columns is None else table.select(columns)


class _BucketedLake(_Lake):
    """The same with ``read_shard`` (the workflow's path: the shard's rows only)."""

    def read_shard(self, name: str, shard: int, shards: int,
                   columns: list[str] | None = None) -> pa.Table:
        self.asked[name] = columns
        table = getattr(shard_tables(self.tables, shard, shards), name)
        return table if columns is None else table.select(columns)


def _assert_same_features(whole: ShardFeatures, pruned: ShardFeatures) -> None:
    assert pruned.features.equals(whole.features)
    assert (pruned.inputs is None) == (whole.inputs is None)
    if whole.inputs is not None and pruned.inputs is not None:
        assert pruned.inputs.equals(whole.inputs)
    assert pruned.stats.first_order == whole.stats.first_order
    assert pruned.stats.customers == whole.stats.customers
    for name, counts in whole.stats.rfm.items():
        assert pruned.stats.rfm[name].equals(counts), name
    if whole.stats.model_counts is not None:
        assert pruned.stats.model_counts is not None
        assert pruned.stats.model_counts.purchases.equals(whole.stats.model_counts.purchases)
        assert pruned.stats.model_counts.order_values.equals(
            whole.stats.model_counts.order_values)


def _day(tables: LakeTables, first: ShardFeatures, context: DayContext, as_of: Any,
         named: Mapping[str, Any], shard: int, shards: int) -> tuple[ShardDay, ShopShard]:
    day = shard_day(tables, first.features, context, as_of, named, shard=shard,
                    shards=shards, inputs=first.inputs)
    model = context.predictions.clv_model() if context.predictions is not None else None
    part = shop_shard(tables.orders, tables.refunds, day.members, as_of, model=model,
                      inputs=first.inputs, first_order=context.first_order)
    return day, part


def _assert_same_day(whole: tuple[ShardDay, ShopShard], pruned: tuple[ShardDay, ShopShard]
                     ) -> None:
    (day, part), (got, got_part) = whole, pruned
    assert {s: m.to_pylist() for s, m in got.members.items()} == {
        s: m.to_pylist() for s, m in day.members.items()}
    assert {s: (type(e), str(e)) for s, e in got.failures.items()} == {
        s: (type(e), str(e)) for s, e in day.failures.items()}
    assert got.partials == day.partials
    assert got.everyone == day.everyone
    assert got.profile_error == day.profile_error
    assert got.features.equals(day.features)
    assert got_part.sums == part.sums
    assert got_part.calibration.equals(part.calibration)
    assert got_part.patterns.equals(part.patterns)
    assert (got_part.predictions is None) == (part.predictions is None)
    if part.predictions is not None and got_part.predictions is not None:
        assert got_part.predictions.equals(part.predictions)


def _compare(tables: LakeTables, named: Mapping[str, Any], as_of: Any, shards: int,
             bucketed: bool) -> None:
    """Every shard's phases from the whole lake and from the phases' columns only."""
    make = _BucketedLake if bucketed else _Lake
    feature_reader, day_reader = make(tables), make(tables)
    whole_firsts, pruned_firsts = [], []
    for k in range(shards):
        whole_firsts.append(shard_features(shard_tables(tables, k, shards), as_of))
        pruned_firsts.append(shard_features(
            read_shard_tables(feature_reader, k, shards, FEATURE_COLUMNS), as_of))
        _assert_same_features(whole_firsts[k], pruned_firsts[k])
    context = day_context([f.stats for f in whole_firsts])
    for k in range(shards):
        pruned = read_shard_tables(day_reader, k, shards, DAY_COLUMNS)
        for name in TABLE_NAMES:  # only the listed columns were asked for and given
            assert getattr(pruned, name).column_names == list(DAY_COLUMNS[name]), name
        _assert_same_day(
            _day(shard_tables(tables, k, shards), whole_firsts[k], context, as_of, named, k,
                 shards),
            _day(pruned, pruned_firsts[k], context, as_of, named, k, shards))
    # A table a phase does not read is not asked for at all.
    assert set(feature_reader.asked) == {n for n in TABLE_NAMES if FEATURE_COLUMNS[n]}


@SETTINGS
@given(store=stores(max_customers=25), segments=st.lists(conditions(), min_size=1, max_size=4),
       shards=st.integers(1, 4), bucketed=st.booleans(), as_of_shift=st.integers(-60, 30))
def test_a_shard_computes_the_same_day_from_its_phases_columns_as_from_the_whole_lake(
        store, segments, shards, bucketed, as_of_shift):
    named: dict[str, Any] = {f"s{i}": c for i, c in enumerate(segments)}
    named["chain"] = {"and": [{"member_of": "s0"},
                              {"feature": "order_count", "op": ">=", "value": 1}]}
    _compare(store.tables(), named, AS_OF + timedelta(days=as_of_shift), shards, bucketed)


def test_the_prediction_features_and_the_clv_part_are_the_same_from_the_columns():
    """The random stores are too small to fit the purchase model: a modelled shop's
    prediction features, conditions on them and its CLV part, from the columns only."""
    store = prediction_store.modelled_store(7)
    named = {"active": {"feature": "chance_active", "op": ">=", "value": 50},
             "valuable": {"feature": "predicted_value_365d", "op": ">", "value": 20}}
    tables = store.tables()
    context = day_context([shard_features(tables, prediction_store.AS_OF).stats])
    assert context.predictions is not None and context.predictions.bgnbd is not None
    _compare(tables, named, prediction_store.AS_OF, 2, bucketed=True)


def test_a_column_a_phase_did_not_read_fails_loudly_rather_than_reading_nulls():
    store = prediction_store.modelled_store(3)
    tables = store.tables()
    first = shard_features(tables, prediction_store.AS_OF)
    context = day_context([first.stats])
    without = {**DAY_COLUMNS, "line_items": ("order_id", "product_id")}  # no variant_id
    pruned = read_shard_tables(_Lake(tables), 0, 1, without)
    day = shard_day(pruned, first.features, context, prediction_store.AS_OF,
                    {"variant": {"bought": {"variant_id": 10}}, "all": {
                        "feature": "order_count", "op": ">=", "value": 0}},
                    inputs=first.inputs)
    assert isinstance(day.failures["variant"], KeyError)
    assert "all" in day.members  # the other segments go on
    nothing = read_shard_tables(_Lake(tables), 0, 1, FEATURE_COLUMNS)
    assert nothing.products.num_columns == 0
    with pytest.raises(KeyError):
        nothing.products["product_type"]


def test_the_phases_lists_name_lake_columns_in_the_lakes_order():
    for columns in (FEATURE_COLUMNS, DAY_COLUMNS):
        assert set(columns) == set(TABLE_NAMES)
        for name, names in columns.items():
            schema = schema_of(name).names
            assert list(names) == [c for c in schema if c in names], name
    with pytest.raises(KeyError, match="no columns"):
        conform(pa.table({"customer_id": [1]}), "customers", ["customer_id", "nickname"])

