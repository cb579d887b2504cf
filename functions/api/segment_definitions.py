"""Turning a create/patch request into a valid condition, with errors that point at it.

``ConditionError.path`` is a JSONPath into the condition (``$.and[1].value``); the API
reports it against the request field it came from (``condition.and[1].value``), so the
frontend can highlight the exact part to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.catalog import check_condition_values, resolve_catalog_params
from api.errors import BadRequest
from api.models import SegmentCreate
from api.ports import SegmentDefinitions
from seglift.segments.conditions import ConditionError


@dataclass(frozen=True)
class Definition:
    name: str
    description: str | None
    condition: dict[str, Any]
    template_id: str | None


def condition_error(error: ConditionError, field: str) -> BadRequest:
    """The message in the merchant's words; where it is goes in ``field`` only (the builder
    puts the message on that row), never in the text."""
    path = error.path[1:] if error.path.startswith("$") else f".{error.path}"
    return BadRequest(error.message, code="invalid_condition", field=f"{field}{path}")


def shopify_query_error(error: ConditionError) -> BadRequest:
    """A Shopify query that cannot be read: what is wrong and where, as a merchant counts."""
    return BadRequest(f"{error.message}{_query_position(error.path)}",
                      code="invalid_shopify_query", field="shopify_query")


def _query_position(path: str) -> str:
    """ "position 12" (0-based) as a merchant counts: "at character 13 of the query"."""
    _, _, number = path.partition("position ")
    return f" (at character {int(number) + 1} of the query)" if number.isdigit() else ""


def define_segment(
    body: SegmentCreate,
    definitions: SegmentDefinitions,
    known_segments: dict[str, Any],
    catalog: Callable[[], dict[str, Any]] | None = None,
) -> Definition:
    """The validated definition of a new segment, from whichever form the request used.

    ``catalog`` (the shop's products and product types) checks a template's product
    parameters and names them in the description; None skips that check."""
    template_id = None
    name, description = body.name, body.description
    if body.template is not None:
        template_id = body.template.id
        template = next((t for t in definitions.templates(None) if t.id == template_id), None)
        if template is None:
            raise BadRequest(
                "That template does not exist (any more): pick one from the template list.",
                code="unknown_template",
                field="template.id",
            )
        params: dict[str, Any] = dict(body.template.params)
        labels: dict[str, str] = {}
        if catalog is not None:
            params, labels = resolve_catalog_params(template, params, catalog)
        try:
            instance = definitions.from_template(body.template.id, params, labels)
        except KeyError as error:
            raise BadRequest(
                "That template does not exist (any more): pick one from the template list.",
                code="unknown_template",
                field="template.id",
            ) from error
        except ConditionError as error:
            raise condition_error(error, "template.params") from error
        except ValueError as error:
            raise BadRequest(str(error), code="invalid_template_params",
                             field="template.params") from error
        condition, field = instance.condition, "template"
        name = name or instance.name
        description = description or getattr(instance, "description", None)
    elif body.shopify_query is not None:
        field = "shopify_query"
        try:
            condition = definitions.from_shopify_query(body.shopify_query)
        except ConditionError as error:
            raise shopify_query_error(error) from error
    else:
        condition, field = body.condition, "condition"
    if not name:
        raise BadRequest("Give the segment a name.", field="name")
    try:
        valid = definitions.validate(condition, known_segments, None)
    except ConditionError as error:
        raise condition_error(error, field) from error
    check_condition_values(valid, catalog, "template.params" if template_id else field)
    return Definition(name=name, description=description, condition=valid,
                      template_id=template_id)
