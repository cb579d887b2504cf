"""The sync's GraphQL documents, including run-time built ones, match Shopify's 2026-10 schema."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_client_schema, parse, validate

from seglift.shopify import bulk
from sync import queries

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "devkit" / "shopify_emulator" / "schema" / "admin_2026-10.json.gz"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    with gzip.open(SCHEMA) as handle:
        loaded = build_client_schema(json.load(handle)["data"])
    loaded._validation_errors = []
    return loaded


DOCUMENTS = {
    **{name: value for module in (queries, bulk) for name, value in vars(module).items()
       if name.endswith("_GQL")},
    **{f"incremental {r}": queries.bulk_query(r, "2026-11-01T00:00:00Z")
       for r in queries.RESOURCES},
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid(schema: GraphQLSchema, name: str) -> None:
    assert validate(schema, parse(DOCUMENTS[name])) == []


def test_incremental_queries_filter_on_updated_at() -> None:
    assert "updated_at:>='2026-11-01T00:00:00Z'" in queries.bulk_query("orders",
                                                                       "2026-11-01T00:00:00Z")


def test_a_timestamp_cannot_break_out_of_the_search_string() -> None:
    with pytest.raises(ValueError, match="invalid timestamp"):
        queries.bulk_query("customers", "2026' OR '1")
