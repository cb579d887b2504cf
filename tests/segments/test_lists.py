"""List segments: set operations over member lists and CSV uploads of customers."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seglift.segments.lists import (
    MAX_CSV_BYTES,
    CustomerDirectory,
    CustomerListError,
    combine_member_lists,
    parse_customer_list_csv,
)
from seglift.segments.member_ids import decode_member_ids, encode_member_ids

DIRECTORY = CustomerDirectory.from_rows(
    [(1, "Ann@Example.com"), (2, "bob@example.com"), (3, None), (42, "zoe@shop.io")]
)


def test_set_operations_of_two_or_more_lists():
    a, b, c = [1, 2, 3, 4], [3, 4, 5], [4, 9]
    assert combine_member_lists("union", [a, b, c]) == [1, 2, 3, 4, 5, 9]
    assert combine_member_lists("intersection", [a, b, c]) == [4]
    assert combine_member_lists("difference", [a, b, c]) == [1, 2]
    with pytest.raises(ValueError, match="at least two lists"):
        combine_member_lists("union", [a])
    with pytest.raises(ValueError, match="unknown set operation 'xor'"):
        combine_member_lists("xor", [a, b])


@given(st.lists(st.lists(st.integers(1, 30), max_size=15), min_size=2, max_size=4))
def test_set_operations_match_python_sets(lists):
    sets = [set(x) for x in lists]
    assert combine_member_lists("union", lists) == sorted(set.union(*sets))
    assert combine_member_lists("intersection", lists) == sorted(set.intersection(*sets))
    assert combine_member_lists("difference", lists) == sorted(sets[0].difference(*sets[1:]))


@given(st.lists(st.integers(1, 2**62), max_size=50))
def test_member_ids_round_trip(ids):
    blob = encode_member_ids(ids)
    assert decode_member_ids(blob) == ids
    assert gzip.decompress(blob) == "".join(f"{i}\n" for i in ids).encode()


def test_emails_match_case_insensitively_with_bom_quotes_and_whitespace():
    data = '\ufeffEmail,Name\n"  ANN@example.com ",Ann\nbob@example.com,Bob\n'.encode()
    result = parse_customer_list_csv(data, DIRECTORY)
    assert result.column == "Email"
    assert result.matched_ids == [1, 2]
    assert result.summary() == {"matched": 2, "unmatched": 0, "malformed": 0, "duplicates": 0}


def test_customer_ids_and_gids_in_a_semicolon_file():
    data = b"customer_id;note\n3;x\ngid://shopify/Customer/42;y\n999;z\n3;again\n"
    result = parse_customer_list_csv(data, DIRECTORY)
    assert result.matched_ids == [3, 42]
    assert [(r.line, r.value) for r in result.unmatched] == [(4, "999")]
    assert result.duplicates == 1


def test_no_header_single_column_mixing_emails_and_ids():
    data = b"zoe@shop.io\r\n2\r\n\r\nnot-an-email@\r\nhello\r\nnobody@example.com\r\n"
    result = parse_customer_list_csv(data, DIRECTORY)
    assert result.matched_ids == [42, 2]
    assert [(r.line, r.reason) for r in result.malformed] == [
        (4, "not a valid email address"),
        (5, "neither an email address nor a numeric Shopify customer id"),
    ]
    assert [r.value for r in result.unmatched] == ["nobody@example.com"]


def test_a_header_in_another_column_is_found():
    data = b"first,last,E-mail Address\nAnn,A,ann@example.com\nBob,B,\n"
    result = parse_customer_list_csv(data, DIRECTORY)
    assert result.matched_ids == [1]
    assert [r.reason for r in result.malformed] == ["empty value"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        ("email\nann@example.com\n".encode("utf-16"), "not a CSV text file|not UTF-8"),
        (b"email\n\xff\xfeann@example.com\n", "not UTF-8"),
        (b"name,city\nAnn,Paris\nBob,Rome\n", "does not say which column"),
    ],
)
def test_unreadable_uploads_say_what_to_fix(data, message):
    with pytest.raises(CustomerListError, match=message):
        parse_customer_list_csv(data, DIRECTORY)


# ------------------------------------------------------------------ reading an upload
class _Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.read_sizes, self.closed = data, [], False

    def read(self, size: int = -1) -> bytes:
        self.read_sizes.append(size)
        return self.data if size < 0 else self.data[:size]

    def close(self) -> None:
        self.closed = True


class _S3:
    def __init__(self, body: _Body, length: int) -> None:
        self.body, self.length = body, length

    def get_object(self, **_: str) -> dict:
        return {"Body": self.body, "ContentLength": self.length}


def test_an_oversized_upload_is_refused_before_its_bytes_are_read():
    from segments.logic import Storage, read_upload

    body = _Body(b"email\n")
    with pytest.raises(CustomerListError, match="limit"):
        read_upload(Storage(_S3(body, MAX_CSV_BYTES + 1), "b"), "k")
    assert body.read_sizes == [] and body.closed


def test_an_upload_is_read_no_further_than_the_limit():
    from segments.logic import Storage, read_upload

    body = _Body(b"email\nann@example.com\n")
    assert read_upload(Storage(_S3(body, 22), "b"), "k") == b"email\nann@example.com\n"
    assert body.read_sizes == [MAX_CSV_BYTES + 1] and body.closed


@given(st.lists(st.integers(1, 2**62), unique=True, max_size=40), st.integers(1, 7))
def test_the_day_runs_ids_file_is_the_encoders_byte_for_byte_in_any_chunks(ids, chunk):
    """``member_ids_body`` formats and compresses the ids a chunk at a time (the broadest
    segment of a 10,000,000-customer shop is about 115 MB of text): the same bytes as
    ``encode_member_ids`` of the whole list, whatever the chunk size."""
    import pyarrow as pa

    from seglift.segments import snapshots

    ids = sorted(ids)
    original = snapshots._IDS_CHUNK
    snapshots._IDS_CHUNK = chunk
    try:
        body = snapshots.member_ids_body(pa.array(ids, pa.int64()))
    finally:
        snapshots._IDS_CHUNK = original
    assert body == encode_member_ids(ids)
    assert decode_member_ids(body) == ids
