"""Recognising a customer in stored values and removing them, checked against brute-force
readings of the same data."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from seglift.privacy.s3_objects import scrub_object
from seglift.privacy.subject import Subject, scrub

SUBJECT = Subject.of([1234567], order_ids=[555], emails=["Ann@Example.com"])


def test_ids_are_recognised_alone_or_in_global_ids_but_not_inside_longer_numbers():
    assert SUBJECT.mentioned_in("gid://shopify/Customer/1234567")
    assert SUBJECT.mentioned_in({"errors": [{"customer_id": "1234567"}]})
    assert SUBJECT.mentioned_in(555)
    assert SUBJECT.mentioned_in("ann@example.COM")
    assert not SUBJECT.mentioned_in("91234567")
    assert not SUBJECT.mentioned_in(12345678)
    assert not SUBJECT.mentioned_in({"total": "5550.00"})


def test_scrub_drops_records_about_the_customer_and_keeps_the_rest():
    value = {
        "errors": [{"customer_id": "1234567", "message": "x"},
                   {"customer_id": "9", "message": "y"}],
        "payload": json.dumps({"top": [{"customer_id": 1234567}, {"customer_id": 8}]}),
        "contact": "ann@example.com",
        "count": 3,
    }
    cleaned, changed = scrub(value, SUBJECT)
    assert changed
    assert cleaned["errors"] == [{"customer_id": "9", "message": "y"}]
    assert json.loads(cleaned["payload"]) == {"top": [{"customer_id": 8}]}
    assert "contact" not in cleaned and cleaned["count"] == 3
    assert not SUBJECT.mentioned_in(cleaned)


@given(st.lists(st.integers(min_value=1, max_value=10**13), max_size=40),
       st.sets(st.integers(min_value=1, max_value=10**13), min_size=1, max_size=3))
def test_member_id_files_lose_exactly_the_redacted_lines(ids, redacted):
    subject = Subject.of(redacted)
    body = gzip.compress("".join(f"{i}\n" for i in ids).encode())
    result = scrub_object(body, "shops/s.myshopify.com/segments/x/members/d.ids.gz", subject)
    expected = [i for i in ids if i not in redacted]
    if expected == ids:
        assert result is None
    else:
        assert gzip.decompress(result).decode().split() == [str(i) for i in expected]


def test_parquet_rows_of_the_customer_or_their_orders_are_filtered_out():
    table = pa.table({"customer_id": pa.array([1234567, 2, None], pa.int64()),
                      "order_id": pa.array([1, 555, 3], pa.int64()),
                      "email": ["ann@example.com", "b@example.com", "ANN@example.com"]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    result = scrub_object(sink.getvalue(), "shops/s.myshopify.com/features/d.parquet", SUBJECT)
    assert pq.read_table(io.BytesIO(result)).num_rows == 0
    untouched = pa.table({"customer_id": pa.array([7], pa.int64())})
    sink = io.BytesIO()
    pq.write_table(untouched, sink)
    assert scrub_object(sink.getvalue(), "k.parquet", SUBJECT) is None


def test_documents_about_the_customer_are_deleted_and_unknown_formats_too():
    answer = json.dumps({"customer_id": 1234567, "data": {}}).encode()
    assert scrub_object(answer, "shops/s/privacy/data-requests/1.json", SUBJECT) is False
    assert scrub_object(b"\x00ann@example.com", "shops/s/blob.bin", SUBJECT) is False
    assert scrub_object(b"nobody here", "shops/s/blob.bin", SUBJECT) is None
    lines = b'{"id": "gid://shopify/Customer/1234567"}\n{"id": "gid://shopify/Customer/8"}\n'
    assert scrub_object(lines, "shops/s/sync/quarantine/q.jsonl", SUBJECT) == (
        b'{"id": "gid://shopify/Customer/8"}\n')
