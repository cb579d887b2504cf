"""Template parameters picked by name: products and product types checked against the
shop's catalogue (read from the lake by the segments function).

A merchant knows "AeroPress", not product 8100000091. A product parameter may be sent as
the product's id or its exact title; either way it must be a product of this shop, and the
segment's name and description then read the title. A product type must be one the shop
has. An unknown value is refused in words instead of silently selecting nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.errors import BadRequest

PRODUCT_TYPES = ("product_id",)
CATALOG_PARAMETER_TYPES = ("product_id", "product_type")


def catalog_parameters(template: Any) -> list[Any]:
    """The template's parameters whose values come from the catalogue."""
    return [p for p in template.parameters
            if p.type in PRODUCT_TYPES or p.name.endswith("product_type")]


def _label(parameter: Any) -> str:
    return parameter.name.replace("_id", "").replace("_", " ")


def _find_product(value: Any, products: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    text = str(value).strip()
    if text.isdigit():
        return next((p for p in products if p["id"] == int(text)), None)
    folded = text.casefold()
    return next((p for p in products if str(p["title"]).casefold() == folded), None)


def resolve_catalog_params(
    template: Any, params: dict[str, Any], catalog: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(params with product ids, labels by parameter)``; BadRequest in merchant words for
    a product or product type the shop does not have."""
    wanted = [p for p in catalog_parameters(template) if params.get(p.name) not in (None, "")]
    if not wanted:
        return params, {}
    shop_catalog = catalog()
    resolved, labels = dict(params), {}
    for parameter in wanted:
        value = params[parameter.name]
        if parameter.type in PRODUCT_TYPES:
            product = _find_product(value, shop_catalog.get("products") or [])
            if product is None:
                raise BadRequest(
                    f"Your store has no product “{value}” for the {_label(parameter)}. "
                    "Pick a product from the list of your products.",
                    code="unknown_product", field=f"template.params.{parameter.name}")
            resolved[parameter.name] = product["id"]
            labels[parameter.name] = product["title"]
            continue
        types = {t.casefold(): t for t in shop_catalog.get("product_types") or []}
        match = types.get(str(value).strip().casefold())
        if match is None:
            raise BadRequest(
                f"Your store has no product type “{value}”. "
                "Pick one of your product types from the list.",
                code="unknown_product_type", field=f"template.params.{parameter.name}")
        resolved[parameter.name] = match
    return resolved, labels
