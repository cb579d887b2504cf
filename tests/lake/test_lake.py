"""The lake: exact schemas, merged current state, atomic and idempotent daily deltas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from seglift.lake.layout import manifest_key
from seglift.lake.reader import LakeReader
from seglift.lake.schema import CUSTOMERS, ORDERS, TABLES
from seglift.lake.writer import LakeWriter

from .conftest import BUCKET

SHOP = "lake.myshopify.com"


def customers(*rows: tuple[int, str, int]) -> pa.Table:
    """Rows of (customer_id, first_name, updated day of November 2026)."""
    return pa.Table.from_pylist(
        [{"customer_id": cid, "first_name": name,
          "created_at": datetime(2026, 1, 1, tzinfo=UTC),
          "updated_at": datetime(2026, 11, day, tzinfo=UTC)} for cid, name, day in rows],
        schema=CUSTOMERS,
    )


def names(table: pa.Table) -> dict[int, str]:
    return dict(zip(table["customer_id"].to_pylist(), table["first_name"].to_pylist(),
                    strict=True))


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_shop_without_data_reads_as_empty_tables_in_the_contract_schema(s3: Any,
                                                                          table: str) -> None:
    result = LakeReader(s3, BUCKET, SHOP).read_table(table)
    assert result.num_rows == 0
    assert result.schema == TABLES[table][0]


def test_column_selection_keeps_the_contract_types_and_rejects_unknown_columns(s3: Any) -> None:
    LakeWriter(s3, BUCKET, SHOP).replace_table("customers", [customers((1, "Ann", 1))])
    reader = LakeReader(s3, BUCKET, SHOP)
    picked = reader.read_table("customers", ["updated_at", "customer_id"])
    assert picked.schema.names == ["updated_at", "customer_id"]
    assert picked.schema.field("updated_at").type == CUSTOMERS.field("updated_at").type
    with pytest.raises(KeyError, match="no columns"):
        reader.read_table("customers", ["favourite_colour"])
    with pytest.raises(KeyError, match="known tables"):
        reader.read_table("customer")


def test_deltas_override_the_base_and_deleted_keys_disappear(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("customers", [customers((1, "Ann", 1), (2, "Bob", 1), (3, "Cy", 1))])
    writer.put_delta("customers", "2026-11-02", [customers((2, "Bobby", 2), (4, "Dee", 2))])
    writer.put_delta("customers", "2026-11-03", [customers((2, "Robert", 3))],
                     deleted_keys=pa.array([3], pa.int64()))
    result = LakeReader(s3, BUCKET, SHOP).read_table("customers")
    assert names(result) == {1: "Ann", 2: "Robert", 4: "Dee"}
    assert result.schema == CUSTOMERS


def test_rerunning_a_day_replaces_that_days_delta(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("customers", [customers((1, "Ann", 1))])
    writer.put_delta("customers", "2026-11-02", [customers((1, "Anne", 2), (2, "Bob", 2))])
    first = LakeReader(s3, BUCKET, SHOP).read_table("customers")
    manifest = writer.put_delta("customers", "2026-11-02",
                                [customers((1, "Anne", 2), (2, "Bob", 2))])
    assert LakeReader(s3, BUCKET, SHOP).read_table("customers").equals(first)
    assert [f.run_date for f in manifest.delta_files] == ["2026-11-02"]


def test_compaction_keeps_content_and_leaves_one_base(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP, rows_per_file=2)
    writer.replace_table("customers", [customers((1, "Ann", 1), (2, "Bob", 1), (3, "Cy", 1))])
    for day in range(2, 5):
        writer.put_delta("customers", f"2026-11-0{day}", [customers((day, f"v{day}", day))],
                         deleted_keys=pa.array([1], pa.int64()) if day == 3 else None)
    before = LakeReader(s3, BUCKET, SHOP).read_table("customers")
    manifest = writer.compact("customers")
    after = LakeReader(s3, BUCKET, SHOP).read_table("customers")
    assert names(after) == names(before) == {2: "v2", 3: "v3", 4: "v4"}
    assert {f.kind for f in manifest.files} == {"base"}
    assert [f.rows for f in manifest.files] == [2, 1]  # split at rows_per_file


def test_files_dropped_by_a_switch_survive_one_more_switch_for_inflight_readers(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP)
    first = writer.replace_table("customers", [customers((1, "Ann", 1))])
    second = writer.replace_table("customers", [customers((1, "Anne", 2))])
    live = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert first.files[0].key in live and second.retired == [first.files[0].key]
    writer.replace_table("customers", [customers((1, "Annie", 3))])
    live = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert first.files[0].key not in live and second.files[0].key in live


def test_zero_rows_make_a_valid_empty_table(s3: Any) -> None:
    LakeWriter(s3, BUCKET, SHOP).replace_table("orders", [])
    result = LakeReader(s3, BUCKET, SHOP).read_table("orders")
    assert result.num_rows == 0 and result.schema == ORDERS


def test_a_corrupt_manifest_is_a_clear_error(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=manifest_key(SHOP, "customers"), Body=b"{oops")
    with pytest.raises(ValueError, match=r"corrupt.*full sync"):
        LakeReader(s3, BUCKET, SHOP).read_table("customers")


def test_compaction_is_due_after_many_deltas_or_a_large_share_of_rows(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP)
    base = writer.replace_table("customers", [customers(*[(i, "x", 1) for i in range(100)])])
    assert not writer.needs_compaction(base)
    small = writer.put_delta("customers", "2026-11-02", [customers((1, "y", 2))])
    assert not writer.needs_compaction(small)
    large = writer.put_delta("customers", "2026-11-03",
                             [customers(*[(i, "z", 3) for i in range(30)])])
    assert writer.needs_compaction(large)  # 31 delta rows > 20% of 100
    for day in range(4, 10):
        many = writer.put_delta("customers", f"2026-11-0{day}", [customers((1, "w", day))])
    assert len(many.delta_files) == 8 and writer.needs_compaction(many)


def test_the_manifest_switch_is_conditional_on_the_manifest_it_read(s3: Any) -> None:
    """Two writers that read one manifest cannot both replace it: the second one's write
    stays invisible (ManifestConflict) instead of silently dropping the first one's."""
    from seglift.lake.reader import ManifestConflict

    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("customers", [customers((1, "Ann", 1))])
    first = writer.begin_delta("customers", "2026-11-02")
    second = writer.begin_delta("customers", "2026-11-03")
    first.write(customers((2, "Bob", 2)))
    second.write(customers((3, "Cy", 3)))
    stale, etag = writer.reader.manifest_and_etag("customers")
    first.commit()
    assert stale is not None
    with pytest.raises(ManifestConflict, match="changed while this write ran"):
        writer._switch("customers", "late", [], stale, etag)
    assert names(LakeReader(s3, BUCKET, SHOP).read_table("customers")) == {1: "Ann", 2: "Bob"}
    second.commit()  # re-read, then switched: both deltas are there
    assert names(LakeReader(s3, BUCKET, SHOP).read_table("customers")) == {
        1: "Ann", 2: "Bob", 3: "Cy"}


def test_a_new_tables_first_manifest_is_written_only_if_none_exists(s3: Any) -> None:
    from seglift.lake.layout import Manifest
    from seglift.lake.reader import ManifestConflict

    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("products", [])
    with pytest.raises(ManifestConflict):
        writer._switch("products", "late", [], Manifest(table="products"), None)


def test_a_write_suspended_in_one_invocation_is_resumed_and_committed_in_another(
        s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP, rows_per_file=2)
    first = writer.begin_replace("customers")
    first.write(customers((1, "Ann", 1), (2, "Bob", 1), (3, "Cy", 1)))
    files = first.suspend()
    assert LakeReader(s3, BUCKET, SHOP).manifest("customers") is None  # nothing visible
    later = LakeWriter(s3, BUCKET, SHOP, rows_per_file=2).resume(
        "customers", first.generation, None, len(files))
    later.write(customers((4, "Di", 2)))
    files += later.suspend()
    assert len({f.key for f in files}) == len(files) == 3
    writer.commit_files("customers", first.generation, None, files)
    assert names(LakeReader(s3, BUCKET, SHOP).read_table("customers")) == {
        1: "Ann", 2: "Bob", 3: "Cy", 4: "Di"}


def _line_items(*rows: tuple[int, str | None]) -> pa.Table:
    """Line items of (line_item_id, variant_title)."""
    return pa.Table.from_pylist(
        [{"line_item_id": lid, "order_id": 1, "quantity": 1, "variant_title": title,
          "order_created_at": datetime(2026, 1, 1, tzinfo=UTC)} for lid, title in rows],
        schema=TABLES["line_items"][0])


def test_a_nullable_column_added_later_reads_as_null_from_older_files(s3: Any) -> None:
    import io

    import pyarrow.parquet as pq

    writer = LakeWriter(s3, BUCKET, SHOP)
    manifest = writer.replace_table("line_items", [_line_items((1, None), (2, None))])
    # Rewrite the base as it was written before line items had a variant title.
    for data_file in manifest.files:
        body = s3.get_object(Bucket=BUCKET, Key=data_file.key)["Body"].read()
        old = pq.read_table(io.BytesIO(body)).drop_columns(["variant_title"])
        sink = io.BytesIO()
        pq.write_table(old, sink)
        s3.put_object(Bucket=BUCKET, Key=data_file.key, Body=sink.getvalue())
    writer.put_delta("line_items", "2026-11-02", [_line_items((2, "Large / Blue"))])
    reader = LakeReader(s3, BUCKET, SHOP)
    read = reader.read_table("line_items", ["line_item_id", "variant_title"])
    assert dict(zip(*read.to_pydict().values(), strict=True)) == {1: None, 2: "Large / Blue"}
    assert reader.read_table("line_items").schema == TABLES["line_items"][0]
    writer.compact("line_items")
    assert LakeReader(s3, BUCKET, SHOP).read_table("line_items").equals(reader.read_table(
        "line_items"))
