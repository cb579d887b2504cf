"""Customer-tag validation, with Shopify's own rules, applied before any work starts.

A tag job touches thousands of customers; a tag Shopify would reject must be refused when
the merchant asks, not discovered as thousands of per-customer errors an hour later.

Shopify's rules for customer tags (Admin API, checked 2026-11):
- at most 255 characters;
- no commas: the REST API and the admin UI store tags as one comma-separated string, and
  ``tagsAdd`` splits a tag containing commas into several tags;
- leading and trailing whitespace is dropped (we trim, so "VIP " and "VIP" are one tag);
- tags are unique per customer case-insensitively ("VIP" and "vip" are the same tag);
- a customer holds at most 250 tags.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_TAG_LENGTH = 255
MAX_TAGS_PER_CUSTOMER = 250
TAG_ACTIONS = ("add", "remove")


# The same rules as ``validate_tag``, as a JSON Schema pattern for the API's document (with
# maxLength 255): around the whitespace ``str.strip`` removes (Python's ``\s``), a tag
# that starts and ends with neither whitespace, a comma nor NUL and holds no comma, line
# break, tab or NUL.
TAG_PATTERN = r"^\s*[^,\s\x00](?:[^,\r\n\t\x00]*[^,\s\x00])?\s*$"


class TagError(ValueError):
    """A tag or tag action Shopify would reject; the message says what to change."""


def validate_tag(tag: object) -> str:
    """The tag as Shopify will store it (trimmed), or TagError saying what to fix."""
    if not isinstance(tag, str):
        raise TagError(f"tag must be a string, got {type(tag).__name__}")
    trimmed = tag.strip()
    if not trimmed:
        raise TagError("tag is empty: give at least one non-space character")
    if "," in trimmed:
        raise TagError(
            f"tag {trimmed!r} contains a comma: Shopify stores tags comma-separated, "
            "so use one tag per job (or replace the comma, e.g. with '-')"
        )
    if len(trimmed) > MAX_TAG_LENGTH:
        raise TagError(
            f"tag is {len(trimmed)} characters long: Shopify allows at most "
            f"{MAX_TAG_LENGTH}; shorten it by {len(trimmed) - MAX_TAG_LENGTH}"
        )
    if any(ch in trimmed for ch in "\r\n\t\x00"):
        raise TagError("tag contains a line break, tab or NUL character: remove it")
    return trimmed


def validate_action(action: object) -> str:
    """``add`` or ``remove`` (case-insensitive input), else TagError."""
    normalised = action.strip().lower() if isinstance(action, str) else action
    if normalised not in TAG_ACTIONS:
        raise TagError(f"action must be one of {list(TAG_ACTIONS)}, got {action!r}")
    return str(normalised)


def has_tag(tags: Iterable[str], tag: str) -> bool:
    """Whether ``tags`` already holds ``tag``, compared as Shopify does (case-insensitive)."""
    wanted = tag.strip().casefold()
    return any(existing.strip().casefold() == wanted for existing in tags)
