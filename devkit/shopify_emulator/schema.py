"""Shopify's real Admin GraphQL schema (2026-10), loaded once, and document validation.

Everything that talks GraphQL in this project is checked against the schema Shopify
publishes, so a document that passes here has the shape Shopify would accept. Loading the
introspection result takes about a second, hence the cache.
"""

from __future__ import annotations

import gzip
import json
import threading
from functools import lru_cache
from pathlib import Path

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_client_schema, parse, validate

SCHEMA_PATH = Path(__file__).parent / "schema" / "admin_2026-10.json.gz"

_load_lock = threading.Lock()


@lru_cache(maxsize=1)
def _load_uncached() -> GraphQLSchema:
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)["data"]
    schema = build_client_schema(introspection)
    # Shopify's schema breaks one strict rule on deprecated interface fields; skipping the
    # schema's self-validation is what lets graphql-core validate documents against it.
    schema._validation_errors = []
    return schema


def load_admin_schema() -> GraphQLSchema:
    """The Admin API 2026-10 schema (built once per process, thread-safe)."""
    with _load_lock:
        return _load_uncached()


@lru_cache(maxsize=4096)
def parse_and_validate(document: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """Parse and validate a document, cached by its text (clients resend the same ones).

    Returns the parsed document (None on a syntax error) and the errors (empty = valid).
    """
    try:
        ast = parse(document)
    except GraphQLError as syntax_error:
        return None, (syntax_error,)
    return ast, tuple(validate(load_admin_schema(), ast))


def validate_document(document: str) -> list[str]:
    """Messages of everything Shopify's schema rejects in ``document``; [] means valid."""
    _, errors = parse_and_validate(document)
    return [error.message for error in errors]
