"""Template parameters picked by name: products, variants, collections and product types
checked against the shop's catalogue (read from the lake by the segments function).

A merchant knows "AeroPress" and "AeroPress — Large / Blue", not product 8100000091 or
variant 44000001. A product or variant parameter may be sent as its id or its exact name;
either way it must be one of this shop's, and the segment's name and description then read
the name. A product type must be one the shop has. An unknown value is refused in words
instead of silently selecting nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.errors import BadRequest

PRODUCT_TYPES = ("product_id", "variant_id", "collection_id")
CATALOG_PARAMETER_TYPES = ("product_id", "variant_id", "collection_id", "product_type")
# Parameter type -> (catalogue list, what the merchant calls one, error code).
_ITEMS = {"product_id": ("products", "product", "unknown_product"),
          "variant_id": ("variants", "variant", "unknown_variant"),
          "collection_id": ("collections", "collection", "unknown_collection")}


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
    resolved: dict[str, Any] = dict(params)
    labels: dict[str, str] = {}
    if not is_synced(shop_catalog):
        return _before_first_sync(wanted, resolved), labels
    for parameter in wanted:
        value = params[parameter.name]
        if parameter.type in PRODUCT_TYPES:
            rows, what, code = _ITEMS[parameter.type]
            product = _find_product(value, shop_catalog.get(rows) or [])
            if product is None:
                listed = (" (the list has every variant your customers have ordered)"
                          if what == "variant" else "")
                raise BadRequest(
                    f"Your store has no {what} “{value}” for the {_label(parameter)}. "
                    f"Pick a {what} from the list of your {what}s{listed}.",
                    code=code, field=f"template.params.{parameter.name}")
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


def is_synced(catalog: dict[str, Any]) -> bool:
    """Whether the catalogue reflects a sync (older segments functions did not say: yes)."""
    return bool(catalog.get("synced", True))


def _before_first_sync(wanted: Sequence[Any], params: dict[str, Any]) -> dict[str, Any]:
    """Before the shop's first sync no product is known: a product or variant is taken by
    its id (it is named after the sync), a title cannot be found yet; a product type is
    taken as typed."""
    for parameter in wanted:
        value = params[parameter.name]
        if parameter.type not in PRODUCT_TYPES:
            continue
        if not str(value).strip().isdigit():
            raise BadRequest(
                f"Your store's products are not known yet, so “{value}” cannot be found: "
                "they are read by the first sync, a few minutes after installing. "
                "Try again then, or give the product's number.",
                code="catalog_not_synced", field=f"template.params.{parameter.name}")
        params[parameter.name] = int(str(value).strip())
    return params


# ------------------------------------------------------------------ condition values

# Condition values checked against the shop's own values: (catalogue list, what the
# merchant calls it). A value nobody in the shop has would select nobody (or, negated,
# everybody) without a word; it is refused instead, naming what to pick.
_FEATURE_VALUES = {
    "country_code": ("country_code", "No customer of your store lives in the country “{}”"),
    "province_code": ("province_code",
                      "No customer of your store lives in the province or state “{}”"),
    "first_order_source": ("first_visit_source", "No first order came from the source “{}”"),
    "first_order_utm_source": ("utm_source", "No first order came from the UTM source “{}”"),
    "first_order_utm_medium": ("utm_medium", "No first order came with the UTM medium “{}”"),
    "first_order_utm_campaign": ("utm_campaign",
                                 "No first order came from the UTM campaign “{}”"),
}
_FIRST_ORDER_FROM = {"source": "first_order_source", "utm_source": "first_order_utm_source",
                     "utm_medium": "first_order_utm_medium",
                     "utm_campaign": "first_order_utm_campaign"}
_EXACT_OPS = ("=", "!=", "in", "not in")
_TAG_OPS = ("contains", "not contains", "contains any", "contains all")
_PRODUCT_LIST_FEATURES = ("first_order_product_ids", "second_order_product_ids",
                          "products_ever_bought")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _ValueCheck:
    """Walks a (valid) condition, refusing the first value the shop does not have."""

    def __init__(self, catalog: Callable[[], dict[str, Any]]) -> None:
        self._read = catalog
        self._catalog: dict[str, Any] | None = None

    def _values(self, key: str) -> Any:
        """The catalogue's list for ``key``; None when it lacks the key or the shop has not
        synced yet (nothing can be checked before the first sync: every value is taken)."""
        if self._catalog is None:
            read = self._read()
            self._catalog = read if is_synced(read) else {}
        return self._catalog.get(key)

    def known(self, key: str) -> set[str] | None:
        """The shop's values for ``key``, case-folded; None when they are not known."""
        values = self._values(key)
        return None if values is None else {str(v).casefold() for v in values}

    def ids(self, key: str) -> set[int] | None:
        rows = self._values(key)
        return None if rows is None else {int(row["id"]) for row in rows}

    def text(self, key: str, values: Any, message: str, hint: str, field: str) -> None:
        known = self.known(key)
        if known is None:
            return
        for value in _listed(values):
            if str(value).casefold() not in known:
                raise BadRequest(f"{message.format(value)} (as of the last sync): {hint}",
                                 code="unknown_value", field=field)

    def item(self, spec: dict[str, Any], field: str) -> None:
        if "product_type" in spec:
            self.text("product_types", spec["product_type"],
                      "Your store has no product type “{}”",
                      "pick one of your product types from the list.", f"{field}.product_type")
        for key, rows, what in (("product_id", "products", "product"),
                                ("variant_id", "variants", "variant"),
                                ("collection_id", "collections", "collection")):
            if key not in spec:
                continue
            known = self.ids(rows)
            if known is None:
                continue
            for value in _listed(spec[key]):
                if int(value) not in known:
                    raise BadRequest(
                        f"That {what} (number {value}) is not one of your store's {what}s "
                        f"(as of the last sync): pick a {what} by name from the list.",
                        code=f"unknown_{what}", field=f"{field}.{key}")

    def walk(self, node: Any, field: str) -> None:
        if not isinstance(node, dict):
            return
        for group in ("and", "or"):
            for index, child in enumerate(node.get(group) or []):
                self.walk(child, f"{field}.{group}[{index}]")
        if isinstance(node.get("not"), dict):
            self.walk(node["not"], f"{field}.not")
        if "has_tag" in node:
            self.text("tags", node["has_tag"], "No customer of your store has the tag “{}”",
                      "pick one of your customer tags from the list.", f"{field}.has_tag")
        if isinstance(node.get("bought"), dict):
            self.item(node["bought"], f"{field}.bought")
        if isinstance(node.get("nth_order"), dict):
            self.item(node["nth_order"].get("contains") or {}, f"{field}.nth_order.contains")
        if isinstance(node.get("first_order_from"), dict):
            for key, value in node["first_order_from"].items():
                feature = _FIRST_ORDER_FROM.get(key)
                if feature:
                    catalog_key, message = _FEATURE_VALUES[feature]
                    self.text(catalog_key, value, message, "pick one from the list.",
                              f"{field}.first_order_from.{key}")
        if "feature" in node:
            self.feature(node, field)

    def feature(self, node: dict[str, Any], field: str) -> None:
        name, op, value = node["feature"], node.get("op"), node.get("value")
        where = f"{field}.value"
        if name == "tags" and op in _TAG_OPS:
            self.text("tags", value, "No customer of your store has the tag “{}”",
                      "pick one of your customer tags from the list.", where)
        elif name in _FEATURE_VALUES and op in _EXACT_OPS:
            catalog_key, message = _FEATURE_VALUES[name]
            self.text(catalog_key, value, message, "pick one from the list.", where)
        elif name in _PRODUCT_LIST_FEATURES and op in _TAG_OPS:
            known = self.ids("products")
            for product_id in _listed(value) if known is not None else []:
                if known is not None and int(product_id) not in known:
                    raise BadRequest(
                        f"That product (number {product_id}) is not one of your store's "
                        "products (as of the last sync): pick a product by name from the "
                        "list.", code="unknown_product", field=where)


def check_condition_values(condition: Any, catalog: Callable[[], dict[str, Any]] | None,
                           field: str = "condition") -> None:
    """BadRequest in merchant words for the first tag, product, variant, product type,
    location, source or UTM value of ``condition`` that the shop does not have; the
    catalogue is read only if the condition names such a value."""
    if catalog is None or not _names_values(condition):
        return
    _ValueCheck(catalog).walk(condition, field)


def _names_values(node: Any) -> bool:
    """Whether any rule of the tree names a value of the shop (so the catalogue, a read
    of the lake by the segments function, is needed at all): most conditions (counts,
    dates, money, "bought anything") need none."""
    if not isinstance(node, dict):
        return False
    if any(_names_values(child) for key in ("and", "or") for child in node.get(key) or []):
        return True
    if isinstance(node.get("not"), dict) and _names_values(node["not"]):
        return True
    if "has_tag" in node:
        return True
    item_keys = ("product_id", "variant_id", "collection_id", "product_type")
    if isinstance(node.get("bought"), dict) and any(k in node["bought"] for k in item_keys):
        return True
    if "nth_order" in node:
        return True
    if isinstance(node.get("first_order_from"), dict):
        return any(key in _FIRST_ORDER_FROM for key in node["first_order_from"])
    name, op = node.get("feature"), node.get("op")
    return ((name == "tags" and op in _TAG_OPS) or (name in _FEATURE_VALUES and op in _EXACT_OPS)
            or (name in _PRODUCT_LIST_FEATURES and op in _TAG_OPS))
