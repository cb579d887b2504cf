"""Field resolution over ShopStore records for graphql-core's ``execute``.

Store records are already in Admin GraphQL shape, so most fields resolve by key. What this
adds: root fields (customers, orders, node, shop, counts...), reference stubs such as
``order.customer == {"id": gid}`` turned into full records, plain lists turned into
connections where the schema says Connection, a few derived fields, and the count of
objects actually returned (Shopify's actual query cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
)

from devkit.shopify_emulator.connections import (
    Ordering,
    PositionalOrdering,
    build_connection,
    page_size,
)
from devkit.shopify_emulator.cost import is_connection
from devkit.shopify_emulator.state import ShopState

Record = dict[str, Any]
Handler = Callable[[Any, dict[str, Any], "RequestContext", GraphQLResolveInfo], Any]

DEFAULT_COUNT_LIMIT = 10_000


@dataclass
class RequestContext:
    """Per-request state handed to every resolver as ``info.context``."""

    shop: ShopState
    services: Any  # the emulator (bulk operations, staged uploads, base URL)
    is_mutation: bool = False
    actual_cost: int = 0
    search_warnings: list[dict[str, Any]] = field(default_factory=list)


# (parent type, field) -> handler; filled below and by the mutations module.
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(parent: str, *names: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for name in names:
            HANDLERS[(parent, name)] = function
        return function

    return register


# Field shapes, cached per field definition: what a raw record value must become.
_SCALAR, _OBJECT, _OBJECT_LIST, _CONNECTION = range(4)
_shapes: dict[int, int] = {}


def _shape(info: GraphQLResolveInfo) -> int:
    definition = info.parent_type.fields[info.field_name]
    key = id(definition)
    shape = _shapes.get(key)
    if shape is None:
        type_ = definition.type
        while isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        named = get_named_type(type_)
        if not isinstance(named, GraphQLObjectType | GraphQLAbstractType):
            shape = _SCALAR
        elif is_connection(named):
            shape = _CONNECTION
        elif isinstance(type_, GraphQLList):
            shape = _OBJECT_LIST
        else:
            shape = _OBJECT
        _shapes[key] = shape
    return shape


def _is_stub(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "id" in value
        and len(value) <= 2
        and (len(value) == 1 or "__typename" in value)
    )


_LOOKUP_KINDS = ("Customer", "Order", "Product", "ProductVariant", "BulkOperation")


def _resolve_stub(value: Any, shop: ShopState) -> Any:
    """A reference stub as its full record; a reference to a deleted record is null."""
    if not _is_stub(value):
        return value
    found = shop.lookup(value["id"])
    if found is None and value["id"].split("/")[3:4] and value["id"].split("/")[3] in _LOOKUP_KINDS:
        return None
    return found or value


def adapt_value(
    value: Any, shape: int, args: dict[str, Any], field_name: str, shop: ShopState
) -> Any:
    """A raw record value in the form the field's schema type needs."""
    if value is None or shape == _SCALAR:
        return value
    if shape == _CONNECTION:
        if isinstance(value, list):
            ordering = PositionalOrdering.of([_resolve_stub(v, shop) for v in value])
            return build_connection(ordering, args, field_name, enforce_pagination_limit=False)
        return value
    if shape == _OBJECT_LIST:
        items = [_resolve_stub(v, shop) for v in value]
        first = args.get("first")
        return items[:first] if first is not None else items
    return _resolve_stub(value, shop)


def _count_objects(
    value: Any, shape: int, info: GraphQLResolveInfo, context: RequestContext
) -> None:
    """Add the objects this field returned to the request's actual cost."""
    if value is None or context.is_mutation or shape == _SCALAR:
        return
    parent = info.parent_type.name
    name = info.field_name
    if parent.endswith("Connection") and name in ("edges", "pageInfo"):
        return
    if shape == _CONNECTION:
        context.actual_cost += 2
    elif shape == _OBJECT_LIST:
        context.actual_cost += len(value)
    else:
        context.actual_cost += 1


def resolve_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core field resolver for every field of the Admin schema."""
    context: RequestContext = info.context
    shape = _shape(info)
    handler = HANDLERS.get((info.parent_type.name, info.field_name))
    if handler is not None:
        value = handler(source, args, context, info)
    elif source is None or info.parent_type.name in ("QueryRoot", "Mutation"):
        raise GraphQLError(
            f"The Shopify emulator does not implement {info.parent_type.name}.{info.field_name}."
        )
    else:
        raw = source.get(info.field_name) if isinstance(source, dict) else None
        value = adapt_value(raw, shape, args, info.field_name, context.shop)
    _count_objects(value, shape, info, context)
    return value


def resolve_type(value: Any, info: GraphQLResolveInfo, abstract_type: GraphQLAbstractType) -> Any:
    """Abstract types (Node, ...) resolve by the record's ``__typename``."""
    return value.get("__typename") if isinstance(value, dict) else None


# ---------------------------------------------------------------- root query fields

_RESOURCES = {"customers": "Customer", "orders": "Order", "products": "Product"}


@handles("QueryRoot", "customers", "orders", "products", "collections")
def _root_connection(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    page_size(args, info.field_name)
    ordering = context.shop.ordering(info.field_name, args.get("query"), args.get("sortKey"))
    if ordering.warnings:
        context.search_warnings.append(
            {
                "path": [info.path.key],
                "query": args.get("query"),
                "warnings": list(ordering.warnings),
            }
        )
    return build_connection(ordering, args, info.field_name)


@handles("QueryRoot", "customersCount", "ordersCount", "productsCount", "collectionsCount")
def _root_count(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    resource = info.field_name.removesuffix("Count")
    total = len(context.shop.ordering(resource, args.get("query"), None).keys)
    limit = args.get("limit", DEFAULT_COUNT_LIMIT)  # an explicit null means no limit
    if limit is not None and total > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": total, "precision": "EXACT"}


def _typed_lookup(kind: str) -> Handler:
    def lookup(
        source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
    ) -> Any:
        record = context.shop.lookup(args["id"])
        return record if record is not None and record.get("__typename") == kind else None

    return lookup


for _field_name, _kind in (("customer", "Customer"), ("order", "Order"), ("product", "Product"),
                           ("collection", "Collection")):
    HANDLERS[("QueryRoot", _field_name)] = _typed_lookup(_kind)
HANDLERS[("QueryRoot", "productVariant")] = _typed_lookup("ProductVariant")


@handles("QueryRoot", "bulkOperation")
def _bulk_operation(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    """A bulk operation's status; one held RUNNING by a ``bulk_slow`` fault shows RUNNING
    (no result yet) until its polls are used up, as an export that takes hours would."""
    record = context.shop.lookup(args["id"])
    if record is None or record.get("__typename") != "BulkOperation":
        return None
    if record.get("_held_polls", 0) > 0:
        record["_held_polls"] -= 1
        return {**record, "status": "RUNNING", "url": None, "completedAt": None,
                "partialDataUrl": None, "errorCode": None}
    return record


@handles("QueryRoot", "node")
def _root_node(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.shop.lookup(args["id"])


@handles("QueryRoot", "nodes")
def _root_nodes(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    ids = args["ids"]
    if len(ids) > 250:
        raise GraphQLError("The ids argument accepts at most 250 ids.")
    return [context.shop.lookup(global_id) for global_id in ids]


@handles("QueryRoot", "shop")
def _root_shop(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.shop.shop_record()


@handles("QueryRoot", "deletionEvents")
def _root_deletion_events(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    # Shopify records deletion events for products and collections only; the store keeps
    # no deleted products, so the connection is empty (deleted customers reach apps only
    # through the customers/delete and customers/redact webhooks).
    return build_connection(PositionalOrdering.of([]), args, info.field_name)


@handles("QueryRoot", "currentBulkOperation")
def _root_current_bulk_operation(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.services.bulk.current(context.shop, args.get("type") or "QUERY")


# ---------------------------------------------------------------- derived fields


@handles("Customer", "orders")
def _customer_orders(
    source: Record, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    orders = context.shop.orders_of(source["id"])
    ordering = Ordering.build(orders, "orders", args.get("query"), args.get("sortKey"))
    return build_connection(ordering, args, info.field_name, enforce_pagination_limit=False)


@handles("Customer", "lastOrder")
def _customer_last_order(
    source: Record, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    orders = context.shop.orders_of(source["id"])
    return max(orders, key=lambda order: order.get("createdAt") or "", default=None)


@handles("Customer", "email")
def _customer_email(
    source: Record, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    address = source.get("email") or source.get("defaultEmailAddress")
    return address.get("emailAddress") if isinstance(address, dict) else address


@handles("LineItem", "name")
def _line_item_name(
    source: Record, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return source.get("name") or source.get("title")


@handles("LineItem", "currentQuantity")
def _line_item_current_quantity(
    source: Record, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return source.get("currentQuantity", source.get("quantity"))
