"""One GraphQL request end to end: validate, cost, throttle, execute, report the cost.

This is the HTTP-free core of the emulator, so the order of Shopify's checks is visible in
one place: syntax and schema validation (no points charged), the 1000-point limit, the
shop's leaky bucket (requested cost up front), execution, then the refund of requested
minus actual cost, and ``extensions.cost`` on every answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationType, execute

from devkit.shopify_emulator import mutations  # noqa: F401  (registers mutation handlers)
from devkit.shopify_emulator.cost import MAX_QUERY_COST, requested_cost, select_operation
from devkit.shopify_emulator.resolvers import RequestContext, resolve_field, resolve_type
from devkit.shopify_emulator.schema import load_admin_schema, parse_and_validate
from devkit.shopify_emulator.state import ShopState

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"

# graphql-core's validation messages -> the codes Shopify's (graphql-ruby) server reports.
_VALIDATION_CODES: tuple[tuple[str, str], ...] = (
    (r"^Syntax Error", "PARSE_ERROR"),
    (r"^Cannot query field", "undefinedField"),
    (r"^Unknown argument", "argumentNotAccepted"),
    (r"argument .* of type .* is required", "missingRequiredArguments"),
    (r"^Unknown type", "undefinedType"),
    (r"^Unknown fragment", "undefinedFragment"),
    (r"^Fragment .* is never used", "useAndDefineFragment"),
    (r"^Variable .* is never used", "variableNotUsed"),
    (r"^Variable .* is not defined", "undefinedVariable"),
    (r"^Variable .* of type .* used in position expecting", "variableMismatch"),
    (r"must have a selection of subfields", "selectionMismatch"),
    (r"must not have a selection since type", "selectionMismatch"),
    (r"cannot represent|Expected value of type|Expected type", "argumentLiteralsIncompatible"),
)


def _validation_code(message: str) -> str:
    for pattern, code in _VALIDATION_CODES:
        if re.search(pattern, message):
            return code
    return "GRAPHQL_VALIDATION_FAILED"


def format_error(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = list(error.path)
    extensions = dict(error.extensions or {})
    if code:
        extensions.setdefault("code", code)
    if extensions:
        formatted["extensions"] = extensions
    return formatted


@dataclass
class GraphQLResponse:
    status: int
    body: dict[str, Any]
    throttled: bool = False


@lru_cache(maxsize=8192)
def _cached_cost(query: str, operation_name: str | None, variables_json: str) -> int:
    document, _ = parse_and_validate(query)
    assert document is not None
    operation = select_operation(document, operation_name)
    assert operation is not None
    return requested_cost(load_admin_schema(), document, operation, json.loads(variables_json))


def document_cost(query: str, operation_name: str | None, variables: dict[str, Any] | None) -> int:
    """Requested cost, cached per (document, operation, variables) — clients resend them."""
    return _cached_cost(query, operation_name, json.dumps(variables or {}, sort_keys=True))


def _cost_extension(requested: int, actual: int | None, shop: ShopState) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }
    }


def execute_document(
    shop: ShopState,
    services: Any,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    *,
    is_mutation: bool,
) -> tuple[dict[str, Any], RequestContext]:
    """Execute an already validated document; returns the ``data``/``errors`` body part."""
    context = RequestContext(shop=shop, services=services, is_mutation=is_mutation)
    result = execute(
        load_admin_schema(),
        document,
        root_value={},
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=resolve_field,
        type_resolver=resolve_type,
    )
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [format_error(error) for error in result.errors]
    body["data"] = result.data
    return body, context


def run_graphql(
    shop: ShopState,
    services: Any,
    payload: dict[str, Any],
    *,
    force_throttle: bool = False,
) -> GraphQLResponse:
    """Answer one Admin API GraphQL request body for ``shop`` the way Shopify would."""
    query = payload.get("query")
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName") or None
    if not isinstance(query, str) or not query.strip():
        return GraphQLResponse(400, {"errors": {"query": "Required parameter missing or invalid"}})
    if not isinstance(variables, dict):
        return GraphQLResponse(
            200,
            {
                "errors": [
                    {
                        "message": "Variables must be a JSON object",
                        "extensions": {"code": "argumentLiteralsIncompatible"},
                    }
                ]
            },
        )
    document, errors = parse_and_validate(query)
    if errors:
        return GraphQLResponse(
            200, {"errors": [format_error(e, _validation_code(e.message)) for e in errors]}
        )
    assert document is not None
    operation = select_operation(document, operation_name)
    if operation is None:
        message = (
            f"No operation named {operation_name!r}"
            if operation_name
            else "An operation name is required when the document has several operations"
        )
        return GraphQLResponse(200, {"errors": [{"message": message}]})
    try:
        cost = document_cost(query, operation_name, variables)
    except (GraphQLError, TypeError, ValueError) as error:
        return GraphQLResponse(200, {"errors": [{"message": f"Cannot compute cost: {error}"}]})
    if cost > MAX_QUERY_COST:
        return GraphQLResponse(
            200,
            {
                "errors": [
                    {
                        "message": (
                            f"Query cost is {cost}, which exceeds the single query max cost "
                            f"limit ({MAX_QUERY_COST}).\n\nSee {RATE_LIMITS_DOC} for more "
                            "information on how the cost of a query is calculated.\n\nTo query "
                            "larger amounts of data with fewer limits, bulk operations should "
                            "be used instead."
                        ),
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": cost,
                            "maxCost": MAX_QUERY_COST,
                        },
                    }
                ],
                "extensions": _cost_extension(cost, None, shop),
            },
        )
    if force_throttle:
        shop.bucket.drain()
    if force_throttle or not shop.bucket.try_take(cost):
        return GraphQLResponse(
            200,
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
                    }
                ],
                "extensions": _cost_extension(cost, None, shop),
            },
            throttled=True,
        )
    is_mutation = operation.operation == OperationType.MUTATION
    body, context = execute_document(
        shop, services, document, variables, operation_name, is_mutation=is_mutation
    )
    actual = cost if is_mutation else min(cost, context.actual_cost)
    shop.bucket.refund(cost - actual)
    body["extensions"] = _cost_extension(cost, actual, shop)
    if context.search_warnings:
        body["extensions"]["search"] = context.search_warnings
    return GraphQLResponse(200, body)
