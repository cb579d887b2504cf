"""Every GraphQL document seglift sends to Shopify is valid against Shopify's real Admin
schema (2026-10). Documents are module constants named ``*_GQL``; this test finds them
all, so a new document is checked without anyone remembering to add it here."""

import importlib
import pkgutil

import pytest

import seglift
from devkit.shopify_emulator.schema import validate_document

FUNCTION_PACKAGES = ["sync", "segments", "metrics", "tagging", "api"]


def _modules():
    names = [m.name for m in pkgutil.walk_packages(seglift.__path__, "seglift.")]
    for package in FUNCTION_PACKAGES:
        module = importlib.import_module(package)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, f"{package}.")]
    return names


def _documents():
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if attribute.endswith("_GQL") and isinstance(value, str):
                found.append(pytest.param(value, id=f"{name}.{attribute}"))
    return found


DOCUMENTS = _documents()


def test_the_product_sends_graphql_documents():
    assert len(DOCUMENTS) >= 3, "expected the sync and tagging documents to be found"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_is_valid_against_the_admin_schema(document):
    assert validate_document(document) == []
