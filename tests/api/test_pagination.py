"""Page tokens are opaque round trips; anything else is refused naming next_token."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.errors import BadRequest
from api.pagination import decode_page_token, encode_page_token

ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


@given(st.text(alphabet=ID_CHARS, min_size=1, max_size=64))
def test_every_id_key_round_trips(key):
    """Segment and job ids (the keys pages resume after) are at most 64 such characters."""
    token = encode_page_token(key)
    assert len(token) <= 512  # fits the next_token query parameter
    assert decode_page_token(token) == key


@given(st.text(min_size=1, max_size=20))
def test_any_short_text_key_round_trips(key):
    assert decode_page_token(encode_page_token(key)) == key


def test_no_next_page_is_no_token():
    assert encode_page_token(None) is None
    assert decode_page_token(None) is None
    assert decode_page_token("") is None


@given(st.text(max_size=60))
def test_arbitrary_text_is_either_a_valid_token_or_a_bad_request(text):
    try:
        decode_page_token(text)
    except BadRequest as refused:
        assert refused.field == "next_token"


@pytest.mark.parametrize("token", ["!!!", "e30", "eyJhZnRlciI6IiJ9", "bnVsbA"])
def test_well_formed_base64_of_the_wrong_document_is_refused(token):
    with pytest.raises(BadRequest):
        decode_page_token(token)
