"""The OpenAPI document is generated from the code, served, and committed without drift."""

from __future__ import annotations

import json
from pathlib import Path

from api.handler import openapi_json

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m api.openapi > docs/openapi.json"


def test_the_committed_document_matches_the_code():
    assert COMMITTED.exists(), f"docs/openapi.json is missing: run `{REGENERATE}`"
    assert json.loads(COMMITTED.read_text()) == json.loads(openapi_json()), (
        f"docs/openapi.json is out of date with the routes and models: run `{REGENERATE}`"
    )


def test_the_document_is_served_without_a_token(client):
    reply = client.get("/openapi.json", auth=False)
    assert reply.status == 200
    assert reply.json == json.loads(openapi_json())


def test_every_error_response_uses_the_one_error_shape():
    document = json.loads(openapi_json())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (
                        method, path, status)
            assert "422" not in operation["responses"]


def test_every_202_states_its_location_and_every_429_and_503_their_retry_after():
    """What the routes send beside the body is in the document, required, so a client
    (and schemathesis' header check) knows every 202 says where to follow the work."""
    document = json.loads(openapi_json())
    accepted = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                headers = response.get("headers", {})
                if status == "202":
                    accepted.append((method, path))
                    assert headers["Location"]["required"] is True, (method, path)
                if status in ("429", "503"):
                    assert headers["Retry-After"]["required"] is True, (method, path, status)
    assert {("post", "/segments/lists"), ("post", "/experiments"), ("get", "/clv"),
            ("get", "/cohorts"), ("get", "/predictions"), ("post", "/segments/preview"),
            ("get", "/segments/{segment_id}/explain")} <= set(accepted)
    assert len(accepted) == 11


def test_money_is_a_decimal_string_with_a_currency():
    money = json.loads(openapi_json())["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["type"] == "string"
    assert set(money["required"]) == {"amount", "currency"}
