"""Tags are validated as Shopify validates them; every document we send fits the schema."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.shopify_emulator.schema import validate_document
from seglift.tagging import documents
from seglift.tagging.validation import (
    MAX_TAG_LENGTH,
    TAG_PATTERN,
    TagError,
    has_tag,
    validate_action,
    validate_tag,
)

_TAG_CHARS = st.characters(blacklist_characters=",\r\n\t\x00", blacklist_categories=("Cs",))


@given(st.text(_TAG_CHARS, min_size=1, max_size=MAX_TAG_LENGTH))
def test_any_tag_shopify_accepts_comes_back_trimmed(tag: str):
    if not tag.strip():
        with pytest.raises(TagError, match="empty"):
            validate_tag(tag)
    else:
        assert validate_tag(tag) == tag.strip()


@given(st.text(_TAG_CHARS, max_size=50), st.text(_TAG_CHARS, max_size=50))
def test_a_comma_anywhere_is_refused_with_advice(left: str, right: str):
    with pytest.raises(TagError, match="comma"):
        validate_tag(f"a{left},{right}b")


def test_length_is_checked_after_trimming():
    assert validate_tag("  " + "x" * MAX_TAG_LENGTH + "  ") == "x" * MAX_TAG_LENGTH
    with pytest.raises(TagError, match="shorten it by 1"):
        validate_tag("x" * (MAX_TAG_LENGTH + 1))


@pytest.mark.parametrize("bad", [None, 7, "  ", "two\nlines"])
def test_non_tags_are_refused(bad: object):
    with pytest.raises(TagError):
        validate_tag(bad)


def test_actions_and_case_insensitive_tag_matching():
    assert validate_action(" ADD ") == "add" and validate_action("remove") == "remove"
    with pytest.raises(TagError, match="add"):
        validate_action("toggle")
    assert has_tag(["Vip ", "b"], "vIP") and not has_tag(["vipx"], "vip")


@pytest.mark.parametrize(
    "name", [n for n in dir(documents) if n.endswith("_GQL")]
)
def test_every_constant_document_is_valid_against_the_admin_schema(name: str):
    assert validate_document(getattr(documents, name)) == []


@pytest.mark.parametrize("action,count", [("add", 1), ("add", 100), ("remove", 37)])
def test_aliased_batches_are_valid_against_the_admin_schema(action: str, count: int):
    document = documents.build_tags_mutation(action, count)
    assert validate_document(document) == []
    variables = documents.mutation_variables("VIP", [documents.customer_gid(i)
                                                     for i in range(count)])
    assert len(variables) == count + 1 and variables["tags"] == ["VIP"]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ,\t\r\n\x00\x1c\x85\u00a0\u3000é")),
               max_size=12))
def test_the_documented_tag_pattern_accepts_exactly_what_validate_tag_accepts(tag: str):
    """The API document's pattern and the check that answers in words agree on every tag,
    so a client following the document is never refused and never misled."""
    try:
        validate_tag(tag)
        accepted = True
    except TagError:
        accepted = False
    assert (re.fullmatch(TAG_PATTERN, tag) is not None) == accepted, repr(tag)
