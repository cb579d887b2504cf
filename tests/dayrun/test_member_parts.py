"""A shard's members file (``seglift.dayrun.member_parts``): each segment's part, read
by its byte range, is exactly that segment's members; windows bound what a read holds."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.dayrun.member_parts import ShardIndex, decode_part, encode_members, windows

_ids = st.lists(st.integers(1, 2**62), unique=True, max_size=200).map(sorted)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ids, min_size=1, max_size=8), st.data())
def test_every_segments_byte_range_holds_exactly_its_members(parts, data):
    members = {f"s{i}": pa.array(ids, pa.int64()) for i, ids in enumerate(parts)}
    body, sizes = encode_members(members)
    index = ShardIndex.of(list(members), sizes)

    assert sum(sizes) == len(body)
    for segment_id, ids in members.items():
        offset, size = index.parts[segment_id]
        assert decode_part(body[offset:offset + size]).equals(ids)
    # A window's span read alone (as a ranged GET answers it) decodes each of its parts.
    first = data.draw(st.integers(0, len(parts) - 1))
    last = data.draw(st.integers(first, len(parts) - 1))
    run = [f"s{i}" for i in range(first, last + 1)]
    span = index.span(run)
    assert span is not None
    window = memoryview(body[span[0]:span[1]])
    for segment_id in run:
        offset, size = index.parts[segment_id]
        got = decode_part(window[offset - span[0]:offset - span[0] + size])
        assert got.equals(members[segment_id])


@given(st.lists(st.lists(st.integers(1, 1000), min_size=3, max_size=3), min_size=1,
                max_size=4), st.integers(1, 3000))
def test_windows_keep_the_order_and_fit_the_budget_unless_one_segment_is_larger(sizes,
                                                                                budget):
    order = ["a", "b", "c"]
    indexes = [ShardIndex.of(order, shard) for shard in sizes]

    cut = windows(order, indexes, budget)

    assert [s for run in cut for s in run] == order
    for run in cut:
        total = sum(index.parts[s][1] for index in indexes for s in run)
        assert total <= budget or len(run) == 1


def test_sizes_of_another_run_are_refused_with_what_to_do():
    import pytest

    with pytest.raises(ValueError, match="run the day again"):
        ShardIndex.of(["a", "b"], [10])


@given(st.lists(st.integers(0, 2**62), max_size=300))
def test_a_part_keeps_any_ids_in_their_order(ids):
    from seglift.dayrun.member_parts import encode_part

    array = pa.array(ids, pa.int64())
    assert decode_part(encode_part(array)).equals(array)
    assert decode_part(memoryview(b"xx" + encode_part(array))[2:]).equals(array)


def test_a_missing_id_or_a_cut_part_is_refused():
    import pytest

    from seglift.dayrun.member_parts import encode_part

    with pytest.raises(ValueError, match="missing customer id"):
        encode_part(pa.array([1, None], pa.int64()))
    with pytest.raises(ValueError, match="run the day again"):
        decode_part(b"\x01")
