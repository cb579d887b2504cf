"""The emulator's schema helpers: Shopify's real Admin schema (2026-10) decides validity."""

from devkit.shopify_emulator.schema import load_admin_schema, validate_document


def test_the_schema_is_loaded_once_and_has_shopifys_root_types():
    schema = load_admin_schema()
    assert schema is load_admin_schema()
    assert schema.query_type.name == "QueryRoot"
    assert "tagsAdd" in schema.mutation_type.fields
    assert schema._validation_errors == []


def test_a_valid_document_has_no_errors():
    document = """
        query Customers($after: String) {
          customers(first: 250, after: $after, query: "updated_at:>='2026-01-01T00:00:00Z'") {
            nodes { id defaultEmailAddress { emailAddress marketingState } tags }
            pageInfo { hasNextPage endCursor }
          }
        }"""
    assert validate_document(document) == []


def test_unknown_fields_and_wrong_arguments_are_reported():
    errors = validate_document("{ customers(first: 1) { nodes { id shoeSize } } }")
    assert errors == ["Cannot query field 'shoeSize' on type 'Customer'."]
    assert validate_document('mutation { tagsAdd(ids: ["x"], tags: ["a"]) { node { id } } }')


def test_a_syntax_error_is_reported():
    assert validate_document("{ shop { name ")[0].startswith("Syntax Error")
