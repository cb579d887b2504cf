"""JSON Schema forms of the request models' cross-field rules, for the OpenAPI document.

A model validator (``exactly one of condition, shopify_query or template``) is invisible
to the generated schema: a client or a fuzzer reading the document sees every field as
optional and cannot tell a valid body from an invalid one. These helpers add the same rule
to the model's schema (``oneOf``/``anyOf`` branches), so the document accepts exactly what
the validator accepts; the validators stay the authority at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

JsonSchema = dict[str, Any]
NULL: JsonSchema = {"type": "null"}
_ANNOTATIONS = ("title", "description", "default")


def non_null(schema: JsonSchema) -> JsonSchema:
    """``schema`` without its ``null`` alternative (``X | None`` -> ``X``)."""
    options = [option for option in schema.get("anyOf", [schema]) if option != NULL]
    if len(options) == 1:
        return {k: v for k, v in options[0].items() if k not in _ANNOTATIONS}
    return {"anyOf": options}


def exactly_one_of(
    names: tuple[str, ...],
    *,
    companions: Mapping[str, tuple[str, ...]] | None = None,
    also_required: Mapping[str, tuple[str, ...]] | None = None,
) -> Callable[[JsonSchema], None]:
    """``json_schema_extra``: exactly one of ``names`` is given (present and not null).

    ``companions[name]`` are fields required (not null) with ``name`` and null without it,
    e.g. a set operation's segment ids. Each branch fixes which field is given and nulls
    the others, so the branches exclude one another by construction. ``also_required[name]``
    are fields required with ``name`` only (a segment's name, unless a template gives it).
    """
    companions = companions or {}
    also_required = also_required or {}

    def extra(schema: JsonSchema) -> None:
        properties = schema["properties"]
        branches = []
        for name in names:
            given = (name, *companions.get(name, ()), *also_required.get(name, ()))
            absent = [other for other in names if other != name]
            absent += [c for other in absent for c in companions.get(other, ())]
            branch_properties = {field: NULL for field in absent}
            branch_properties.update({field: non_null(properties[field]) for field in given})
            branches.append({"required": list(given), "properties": branch_properties})
        schema["oneOf"] = branches

    return extra


def at_least_one_of(names: tuple[str, ...]) -> Callable[[JsonSchema], None]:
    """``json_schema_extra``: at least one of ``names`` is given (present and not null)."""

    def extra(schema: JsonSchema) -> None:
        properties = schema["properties"]
        schema["anyOf"] = [{"required": [name], "properties": {name: non_null(properties[name])}}
                           for name in names]

    return extra
