"""Bulk operations: bulkOperationRunQuery / RunMutation running in background threads.

A bulk query streams its result to a JSONL file the emulator serves over HTTP: one line
per node; nodes of nested connections get their own lines with ``__parentId``; nested
non-connection objects stay inline. Nothing is built in memory: records are projected and
written one at a time, so a 100,000-customer store exports in seconds. Bulk operations are
not charged against the shop's cost bucket, as on Shopify.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

from devkit.shopify_emulator.cost import is_connection, select_operation
from devkit.shopify_emulator.faults import FaultInjector
from devkit.shopify_emulator.mutations import now_iso
from devkit.shopify_emulator.resolvers import HANDLERS, RequestContext
from devkit.shopify_emulator.schema import load_admin_schema, parse_and_validate
from devkit.shopify_emulator.state import ShopState

Record = dict[str, Any]
logger = logging.getLogger(__name__)

MAX_CONCURRENT_OPERATIONS = 5
MAX_CONNECTIONS = 5
MAX_NESTED_DEPTH = 2
ACTIVE_STATUSES = ("CREATED", "RUNNING", "CANCELING")
_ROOT_RESOURCES = ("collections", "customers", "orders", "products")
_STUB_KEYS = frozenset(("id", "__typename"))
_SCALAR, _TYPENAME, _OBJECT, _OBJECT_LIST, _CONNECTION = range(5)


class BulkQueryError(ValueError):
    """The bulk query breaks one of Shopify's bulk rules (reported as a userError)."""


def _unserializable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} in a store record is not JSON serializable")


def _make_dumps() -> Callable[[Any], str]:
    """Compact JSON for one line. Reuses one C encoder: ~30% faster than json.dumps per
    call, which matters at a million lines per export."""
    if c_make_encoder is None:  # pragma: no cover - non-CPython
        return json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    encoder = c_make_encoder(
        None, _unserializable, encode_basestring, None, ":", ",", False, False, True
    )
    return lambda value: "".join(encoder(value, 0))


_dumps = _make_dumps()


def _with_parent(line: str, parent_id: str) -> str:
    """Append Shopify's ``__parentId`` as the last key of a JSON object's text."""
    suffix = '"__parentId":' + encode_basestring(parent_id) + "}"
    return "{" + suffix if line == "{}" else line[:-1] + "," + suffix


def _is_stub(value: Record) -> bool:
    """A reference such as ``{"id": gid}`` that stands for a full record."""
    return len(value) <= 2 and "id" in value and (len(value) == 1 or "__typename" in value)


@dataclass
class FieldPlan:
    key: str
    name: str
    kind: int
    args: dict[str, Any]
    sub: SelectionPlan | None = None
    needs_lookup: bool = True
    handler: Any = None
    declared_type: str = ""


class SelectionPlan:
    """A compiled selection set: for each runtime type, the fields to project."""

    def __init__(
        self,
        compiler: PlanCompiler,
        selections: list[SelectionSetNode],
        parent: GraphQLObjectType | GraphQLAbstractType,
    ) -> None:
        self._compiler = compiler
        self._selections = selections
        self.parent = parent
        self._by_type: dict[str, tuple[list[FieldPlan], list[FieldPlan]]] = {}

    def fields_for(self, type_name: str) -> tuple[list[FieldPlan], list[FieldPlan]]:
        """(inline fields, connection fields) selected on a value of ``type_name``."""
        plans = self._by_type.get(type_name)
        if plans is None:
            plans = self._compiler.compile_fields(self._selections, type_name)
            self._by_type[type_name] = plans
        return plans

    def needs_lookup(self) -> bool:
        """Whether a reference stub ({"id"}) has to be replaced by the full record."""
        for selection_set in self._selections:
            for selection in selection_set.selections:
                if not isinstance(selection, FieldNode) or selection.name.value not in _STUB_KEYS:
                    return True
        return False


class PlanCompiler:
    """Turns a validated bulk query into SelectionPlans, enforcing Shopify's bulk rules."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.connections = 0

    def _applies(self, condition: str | None, type_name: str) -> bool:
        if condition is None or condition == type_name:
            return True
        abstract = self.schema.get_type(condition)
        concrete = self.schema.get_type(type_name)
        return (
            isinstance(abstract, GraphQLAbstractType)
            and isinstance(concrete, GraphQLObjectType)
            and self.schema.is_sub_type(abstract, concrete)
        )

    def _collect(
        self, selection_set: SelectionSetNode, type_name: str, into: dict[str, list[FieldNode]]
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                into.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    selection.type_condition.name.value if selection.type_condition else None
                )
                if self._applies(condition, type_name):
                    self._collect(selection.selection_set, type_name, into)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if self._applies(fragment.type_condition.name.value, type_name):
                    self._collect(fragment.selection_set, type_name, into)

    def compile_fields(
        self, selections: list[SelectionSetNode], type_name: str
    ) -> tuple[list[FieldPlan], list[FieldPlan]]:
        object_type = self.schema.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType | GraphQLAbstractType)
        collected: dict[str, list[FieldNode]] = {}
        for selection_set in selections:
            self._collect(selection_set, type_name, collected)
        inline: list[FieldPlan] = []
        connections: list[FieldPlan] = []
        for key, nodes in collected.items():
            plan = self._field_plan(key, nodes, object_type, depth=0)
            (connections if plan.kind == _CONNECTION else inline).append(plan)
        return inline, connections

    def _field_plan(self, key: str, nodes: list[FieldNode], parent: Any, depth: int) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, name, _TYPENAME, {})
        definition = parent.fields[name]
        args = {a.name.value: value_from_ast_untyped(a.value, {}) for a in nodes[0].arguments or ()}
        type_ = definition.type
        while isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        named = get_named_type(type_)
        handler = HANDLERS.get((parent.name, name))
        if not isinstance(named, GraphQLObjectType | GraphQLAbstractType):
            return FieldPlan(key, name, _SCALAR, args, handler=handler)
        if is_connection(named):
            node_type = get_named_type(named.fields["nodes"].type)
            node_selections: list[SelectionSetNode] = []
            for node in nodes:
                for sub in node.selection_set.selections if node.selection_set else ():
                    if not isinstance(sub, FieldNode):
                        continue
                    if sub.name.value == "nodes" and sub.selection_set:
                        node_selections.append(sub.selection_set)
                    elif sub.name.value == "edges" and sub.selection_set:
                        for edge_field in sub.selection_set.selections:
                            if (
                                isinstance(edge_field, FieldNode)
                                and edge_field.name.value == "node"
                                and edge_field.selection_set
                            ):
                                node_selections.append(edge_field.selection_set)
            sub_plan = SelectionPlan(self, node_selections, node_type)  # type: ignore[arg-type]
            return FieldPlan(
                key,
                name,
                _CONNECTION,
                args,
                sub_plan,
                handler=handler,
                declared_type=node_type.name,
            )
        selections = [n.selection_set for n in nodes if n.selection_set]
        sub_plan = SelectionPlan(self, selections, named)  # type: ignore[arg-type]
        kind = _OBJECT_LIST if isinstance(type_, GraphQLList) else _OBJECT
        references = "id" in getattr(named, "fields", {})  # only Node-like values are stubs
        return FieldPlan(
            key,
            name,
            kind,
            args,
            sub_plan,
            references and sub_plan.needs_lookup(),
            handler,
            named.name if isinstance(named, GraphQLObjectType) else "",
        )


def _check_bulk_rules(
    plan: SelectionPlan, root_type: str, depth: int = 0, counter: list[int] | None = None
) -> None:
    """Shopify's limits: at most 5 connections, 2 levels of nesting, parents select id."""
    counter = counter if counter is not None else [1]  # the top-level connection counts
    inline, connections = plan.fields_for(root_type)
    if connections:
        if depth >= MAX_NESTED_DEPTH:
            raise BulkQueryError(
                f"Bulk queries cannot contain connections with a nesting depth greater than "
                f"{MAX_NESTED_DEPTH}."
            )
        if not any(f.name == "id" and f.key == "id" for f in inline):
            names = ", ".join(c.name for c in connections)
            raise BulkQueryError(
                "The parent 'node' field for a nested connection must select the 'id' field "
                f"without an alias and must be of 'ID' return type. Connection fields without "
                f"'id': {names}."
            )
    for connection in connections:
        counter[0] += 1
        if counter[0] > MAX_CONNECTIONS:
            raise BulkQueryError(
                f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
            )
        assert connection.sub is not None
        _check_bulk_rules(connection.sub, connection.declared_type, depth + 1, counter)


@dataclass
class CompiledBulkQuery:
    root_field: str
    root_args: dict[str, Any]
    plan: SelectionPlan
    node_type: str


def compile_bulk_query(query: str) -> CompiledBulkQuery:
    """Validate ``query`` as Shopify validates bulk queries; BulkQueryError says what's wrong."""
    document, errors = parse_and_validate(query)
    if errors:
        raise BulkQueryError("Invalid bulk query: " + "; ".join(e.message for e in errors))
    assert document is not None
    operation = select_operation(document, None)
    if operation is None or operation.operation != OperationType.QUERY:
        raise BulkQueryError("Bulk queries must be a single query operation (not a mutation).")
    schema = load_admin_schema()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    compiler = PlanCompiler(schema, fragments)
    root = SelectionPlan(compiler, [operation.selection_set], schema.query_type)  # type: ignore[arg-type]
    inline, connections = root.fields_for("QueryRoot")
    fields = [f for f in inline if f.kind != _TYPENAME] + connections
    if not connections:
        raise BulkQueryError("Bulk queries must contain at least one connection.")
    if len(fields) != 1:
        raise BulkQueryError("Bulk queries must contain exactly one top-level field.")
    top = connections[0]
    if top.name not in _ROOT_RESOURCES:
        raise BulkQueryError(
            f"The Shopify emulator runs bulk queries over {', '.join(_ROOT_RESOURCES)}; "
            f"'{top.name}' is not supported."
        )
    assert top.sub is not None
    # Resolve variables-free literal arguments (bulk queries take no variables).
    args = _literal_args(operation, top.key)
    _check_bulk_rules(top.sub, top.declared_type)
    return CompiledBulkQuery(top.name, args, top.sub, top.declared_type)


def _literal_args(operation: OperationDefinitionNode, key: str) -> dict[str, Any]:
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.alias.value if selection.alias else selection.name.value
            if name == key:
                return {
                    a.name.value: value_from_ast_untyped(a.value, {})
                    for a in selection.arguments or ()
                }
    return {}


class JsonlProjector:
    """Writes records as Shopify's bulk JSONL, following a compiled plan."""

    def __init__(self, shop: ShopState, services: Any, out: TextIO) -> None:
        self.shop = shop
        self.out = out
        self.objects = 0  # lines written, for objectCount
        self.roots = 0  # top-level lines, for rootObjectCount
        self.context = RequestContext(shop=shop, services=services)
        self.corrupt_line: int | None = None
        self.lines_written = 0
        self._projectors: dict[tuple[int, str], Callable[..., str]] = {}

    def _write(self, line: str) -> None:
        if self.corrupt_line is not None and self.lines_written == self.corrupt_line:
            line = line[: max(1, len(line) // 2)]
        self.out.write(line)
        self.out.write("\n")
        self.lines_written += 1

    def project(
        self,
        record: Record,
        plan: SelectionPlan,
        type_name: str,
        pending: list[tuple[str, FieldPlan, Record]],
    ) -> str:
        """``record`` as one JSON object (text); nested connections go to ``pending``."""
        runtime_type = record.get("__typename") or type_name
        projector = self._projectors.get((id(plan), runtime_type))
        if projector is None:
            projector = self._compile(plan, runtime_type)
        return projector(record, pending)

    def _compile(self, plan: SelectionPlan, type_name: str) -> Callable[..., str]:
        """Generate one Python function per (selection, type) that writes the JSON text.

        Building dicts and then encoding them costs twice: the generated code encodes each
        string with json's C string encoder as it reads it, and plain nested objects (money
        bags, visits) are inlined into the same expression instead of costing a call each.
        Bulk exports project millions of objects, so this is the emulator's hot path.
        """
        namespace: dict[str, Any] = {"e": encode_basestring, "d": _dumps}
        counter = itertools.count()
        expression = self._json_expression(plan, type_name, "r", namespace, counter)
        _, connections = plan.fields_for(type_name)
        lines = ["def project(r, p):", f"    o = {expression}"]
        for index, connection in enumerate(connections):
            namespace[f"c{index}"] = connection
            lines.append(f"    p.append((r['id'], c{index}, r))")
        lines.append("    return o")
        exec("\n".join(lines), namespace)  # source built from schema names only
        projector = namespace["project"]
        self._projectors[(id(plan), type_name)] = projector
        return projector

    def _inlinable(self, field_plan: FieldPlan) -> bool:
        sub = field_plan.sub
        return (
            field_plan.kind == _OBJECT
            and field_plan.handler is None
            and not field_plan.needs_lookup
            and bool(field_plan.declared_type)
            and sub is not None
            and not sub.fields_for(field_plan.declared_type)[1]
        )

    def _json_expression(
        self,
        plan: SelectionPlan,
        type_name: str,
        source: str,
        namespace: dict[str, Any],
        counter: Iterator[int],
    ) -> str:
        """A Python expression evaluating to the JSON text of ``source``'s selection."""
        inline, _ = plan.fields_for(type_name)
        parts: list[str] = []
        for position, field_plan in enumerate(inline):
            index = next(counter)
            value = f"v{index}"
            prefix = ("{" if position == 0 else ",") + json.dumps(field_plan.key) + ":"
            parts.append(repr(prefix))
            if field_plan.kind == _TYPENAME:
                parts.append(f"e({source}.get('__typename') or {type_name!r})")
                continue
            if field_plan.handler is not None:
                namespace[f"h{index}"] = self._bound_handler(field_plan)
                getter = f"h{index}({source})"
            else:
                getter = f"{source}.get({field_plan.name!r})"
            if field_plan.kind == _SCALAR:
                text = f"e({value}) if {value}.__class__ is str else d({value})"
            elif self._inlinable(field_plan):
                assert field_plan.sub is not None
                text = self._json_expression(
                    field_plan.sub, field_plan.declared_type, value, namespace, counter
                )
            else:
                namespace[f"o{index}"] = self._object_projector(field_plan)
                if field_plan.kind == _OBJECT:
                    text = f"o{index}({value}, p)"
                else:
                    first = field_plan.args.get("first")
                    window = f"[:{int(first)}]" if isinstance(first, int) else ""
                    text = f"'[' + ','.join([o{index}(x, p) for x in {value}{window}]) + ']'"
            parts.append(f"('null' if ({value} := {getter}) is None else {text})")
        parts.append(repr("}") if inline else repr("{}"))
        return "''.join((" + ", ".join(parts) + ",))"

    def _bound_handler(self, field_plan: FieldPlan) -> Callable[[Record], Any]:
        handler, args, context = field_plan.handler, field_plan.args, self.context
        info = SimpleNamespace(field_name=field_plan.name, path=None)
        return lambda record: handler(record, args, context, info)

    def _object_projector(self, field_plan: FieldPlan) -> Callable[..., str]:
        sub, declared = field_plan.sub, field_plan.declared_type
        assert sub is not None
        lookup = self.shop.lookup
        if declared:  # a concrete type: bind its generated function directly
            direct = self._projectors.get((id(sub), declared)) or self._compile(sub, declared)
        else:  # an interface or union: dispatch on each value's __typename
            project = self.project

            def direct(value: Record, pending: list[Any]) -> str:
                return project(value, sub, "", pending)

        if not field_plan.needs_lookup:
            return direct

        def resolved(value: Record, pending: list[Any]) -> str:
            if len(value) <= 2 and "id" in value and (len(value) == 1 or "__typename" in value):
                value = lookup(value["id"]) or value
            return direct(value, pending)

        return resolved

    def _children(self, record: Record, connection: FieldPlan) -> list[Record]:
        if (record.get("__typename"), connection.name) == ("Customer", "orders"):
            return self.shop.orders_of(record["id"])
        if (record.get("__typename"), connection.name) == ("Collection", "products"):
            # A collection holds references: its products are the store's records.
            lookup = self.shop.lookup
            return [lookup(ref["id"]) or ref for ref in record.get("products") or ()]
        value = record.get(connection.name)
        return value if isinstance(value, list) else []

    def emit(
        self, record: Record, plan: SelectionPlan, type_name: str, parent_id: str | None
    ) -> None:
        """Write ``record``'s line, then (depth first) the lines of its connection children."""
        pending: list[tuple[str, FieldPlan, Record]] = []
        line = self.project(record, plan, type_name, pending)
        if parent_id is not None:
            line = _with_parent(line, parent_id)
        self._write(line)
        self.objects += 1
        self.roots += parent_id is None
        for owner_id, connection, owner in pending:
            self._emit_children(owner_id, connection, self._children(owner, connection))

    def _emit_children(self, owner_id: str, connection: FieldPlan, children: list[Record]) -> None:
        """The hot loop of a bulk export: one line per child, no per-line indirection."""
        sub, declared = connection.sub, connection.declared_type
        assert sub is not None
        if self.corrupt_line is not None or not declared:
            for child in children:
                self.emit(self._full(child), sub, declared, owner_id)
            return
        project = self._projectors.get((id(sub), declared)) or self._compile(sub, declared)
        write, lookup = self.out.write, self.shop.lookup
        parent_suffix = ',"__parentId":' + encode_basestring(owner_id) + "}\n"
        if children and _is_stub(children[0]):
            children = [lookup(child["id"]) or child for child in children]
        for child in children:
            pending: list[tuple[str, FieldPlan, Record]] = []
            line = project(child, pending)
            if len(line) > 2:
                write(line[:-1] + parent_suffix)
            else:  # an empty selection: "{}"
                write(_with_parent(line, owner_id) + "\n")

            for grand_owner_id, grand_connection, grand_owner in pending:
                self._emit_children(
                    grand_owner_id, grand_connection, self._children(grand_owner, grand_connection)
                )
        self.lines_written += len(children)
        self.objects += len(children)

    def _full(self, child: Record) -> Record:
        return (self.shop.lookup(child["id"]) or child) if _is_stub(child) else child


@dataclass
class _Running:
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class BulkOperations:
    """Creates, runs and cancels bulk operations for every shop of one emulator."""

    def __init__(
        self,
        results_dir: Path,
        base_url: Callable[[], str],
        faults: FaultInjector,
        uploads: Any,
        stats: Any = None,
    ) -> None:
        self.results_dir = results_dir
        self._base_url = base_url
        self.faults = faults
        self.uploads = uploads
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}

    # ------------------------------------------------------------ queries from resolvers

    def current(self, shop: ShopState, op_type: str) -> Record | None:
        """The shop's most recent bulk operation of ``op_type`` (Shopify's current one)."""
        operations = [o for o in shop.bulk_operations.values() if o["type"] == op_type]
        return operations[-1] if operations else None

    def _limit_error(self, shop: ShopState) -> str | None:
        active = sum(1 for o in shop.bulk_operations.values() if o["status"] in ACTIVE_STATUSES)
        if active >= MAX_CONCURRENT_OPERATIONS:
            return (
                f"A shop can run at most {MAX_CONCURRENT_OPERATIONS} bulk operations at the "
                "same time. Wait for one to finish (or cancel one) and try again."
            )
        return None

    def _new_operation(self, shop: ShopState, op_type: str, query: str) -> Record:
        numeric = next(self._ids)
        operation: Record = {
            "__typename": "BulkOperation",
            "id": f"gid://shopify/BulkOperation/{numeric}",
            "status": "CREATED",
            "type": op_type,
            "query": query,
            "createdAt": now_iso(),
            "completedAt": None,
            "errorCode": None,
            "objectCount": "0",
            "rootObjectCount": "0",
            "fileSize": None,
            "url": None,
            "partialDataUrl": None,
        }
        with self._lock:
            shop.bulk_operations[operation["id"]] = operation
            self._running[operation["id"]] = _Running()
        return operation

    def _result_path(self, operation: Record) -> Path:
        return self.results_dir / f"{operation['id'].rsplit('/', 1)[-1]}.jsonl"

    def result_file(self, name: str) -> Path | None:
        """The JSONL file behind a /bulk-results/<name> URL, if it exists."""
        if not name.endswith(".jsonl") or not name[:-6].isdigit():
            return None
        path = self.results_dir / name
        return path if path.exists() else None

    def _url(self, operation: Record) -> str:
        return f"{self._base_url()}/bulk-results/{self._result_path(operation).name}"

    def run_query(self, shop: ShopState, query: str) -> Record:
        """bulkOperationRunQuery: validate now, run in the background."""
        try:
            compiled = compile_bulk_query(query)
        except BulkQueryError as error:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["query"], "message": str(error), "code": "INVALID"}],
            }
        limit = self._limit_error(shop)
        if limit:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": None, "message": limit, "code": "LIMIT_REACHED"}],
            }
        operation = self._new_operation(shop, "QUERY", query)
        fault = self.faults.take_bulk_fault(shop.store.domain)
        created = dict(operation)  # the answer shows CREATED even if the thread is quick
        self._start(operation, lambda: self._run_query(shop, operation, compiled, fault))
        return {"bulkOperation": created, "userErrors": []}

    def run_mutation(self, shop: ShopState, mutation: str, staged_upload_path: str) -> Record:
        """bulkOperationRunMutation: one execution of ``mutation`` per uploaded JSONL line."""
        document, errors = parse_and_validate(mutation)
        problem = "; ".join(e.message for e in errors)
        operation_node = select_operation(document, None) if document else None
        if not problem and (
            operation_node is None or operation_node.operation != OperationType.MUTATION
        ):
            problem = "The document must be a single mutation operation."
        if not problem and operation_node is not None:
            roots = [s for s in operation_node.selection_set.selections if isinstance(s, FieldNode)]
            if len(roots) != 1:
                problem = "Bulk mutations must contain exactly one mutation field."
        if problem:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {"field": ["mutation"], "message": problem, "code": "INVALID_MUTATION"}
                ],
            }
        upload = self.uploads.path_for(shop.store.domain, staged_upload_path)
        if upload is None:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "field": ["stagedUploadPath"],
                        "message": "The JSONL file could not be found. Try uploading the file "
                        "again, and check the stagedUploadPath argument.",
                        "code": "NO_SUCH_FILE",
                    }
                ],
            }
        bad_line = _first_invalid_line(upload)
        if bad_line is not None:
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "field": ["stagedUploadPath"],
                        "message": f"Invalid JSONL: line {bad_line} is not a JSON object of "
                        "variables.",
                        "code": "INVALID_STAGED_UPLOAD_FILE",
                    }
                ],
            }
        limit = self._limit_error(shop)
        if limit:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": None, "message": limit, "code": "LIMIT_REACHED"}],
            }
        operation = self._new_operation(shop, "MUTATION", mutation)
        fault = self.faults.take_bulk_fault(shop.store.domain)
        assert document is not None
        created = dict(operation)
        self._start(operation, lambda: self._run_mutation(shop, operation, document, upload, fault))
        return {"bulkOperation": created, "userErrors": []}

    def cancel(self, shop: ShopState, operation_id: str) -> Record:
        operation = shop.bulk_operations.get(operation_id)
        if operation is None:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
            }
        if operation["status"] not in ACTIVE_STATUSES:
            return {
                "bulkOperation": operation,
                "userErrors": [
                    {
                        "field": None,
                        "message": "A bulk operation cannot be canceled when it is "
                        + operation["status"].lower(),
                    }
                ],
            }
        operation["status"] = "CANCELING"
        self._running[operation_id].cancel.set()
        return {"bulkOperation": operation, "userErrors": []}

    def wait(self, operation_id: str, timeout: float | None = None) -> None:
        """Block until a bulk operation's thread ends (tests and benchmarks)."""
        running = self._running.get(operation_id)
        if running and running.thread:
            running.thread.join(timeout)

    # ------------------------------------------------------------ background work

    def _start(self, operation: Record, work: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                work()
            except Exception:  # a bug or a bad record must not leave the operation RUNNING
                logger.exception("bulk operation %s crashed", operation["id"])
                operation["errorCode"] = "INTERNAL_SERVER_ERROR"
                operation["completedAt"] = now_iso()
                operation["status"] = "FAILED"

        thread = threading.Thread(
            target=guarded, name=f"bulk-{operation['id'].rsplit('/', 1)[-1]}", daemon=True
        )
        self._running[operation["id"]].thread = thread
        thread.start()

    def _finish(
        self,
        operation: Record,
        status: str,
        size: int,
        *,
        partial: bool = False,
        error_code: str | None = None,
    ) -> None:
        operation["fileSize"] = str(size) if size else None
        has_data = int(operation["objectCount"]) > 0 and size > 0
        if status == "COMPLETED" and has_data:
            operation["url"] = self._url(operation)
        if partial and has_data:
            operation["partialDataUrl"] = self._url(operation)
        operation["errorCode"] = error_code
        operation["completedAt"] = now_iso()
        operation["status"] = status

    def _run_query(
        self, shop: ShopState, operation: Record, compiled: CompiledBulkQuery, fault: Any
    ) -> None:
        operation["status"] = "RUNNING"
        if fault and fault.kind == "bulk_slow":
            operation["_held_polls"] = fault.polls
        cancel = self._running[operation["id"]].cancel
        ordering = shop.ordering(
            compiled.root_field, compiled.root_args.get("query"), compiled.root_args.get("sortKey")
        )
        records: Sequence[Record] = ordering.records
        if compiled.root_args.get("reverse"):
            records = records[::-1]
        stop_after = len(records) // 2 if fault and fault.kind == "bulk_fail" else None
        path = self._result_path(operation)
        status = "COMPLETED"
        with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
            projector = JsonlProjector(shop, None, out)
            if fault and fault.kind == "bulk_malformed_line":
                projector.corrupt_line = 1 if len(records) > 1 else 0
            for index, record in enumerate(records):
                if stop_after is not None and index >= stop_after:
                    status = "FAILED"
                    break
                if index % 256 == 0:
                    operation["objectCount"] = str(projector.objects)
                    operation["rootObjectCount"] = str(projector.roots)
                    if cancel.is_set():
                        status = "CANCELED"
                        break
                projector.emit(record, compiled.plan, compiled.node_type, None)
        operation["objectCount"] = str(projector.objects)
        operation["rootObjectCount"] = str(projector.roots)
        self._settle(operation, status, path.stat().st_size, fault)

    def _settle(self, operation: Record, status: str, size: int, fault: Any) -> None:
        """End a run as Shopify reports it: a failed run keeps its partial data, an injected
        expiry turns a completed run EXPIRED, a canceled one keeps what it wrote."""
        if status == "FAILED":
            self._finish(
                operation, "FAILED", size, partial=True, error_code="INTERNAL_SERVER_ERROR"
            )
        elif fault and fault.kind == "bulk_expire" and status == "COMPLETED":
            self._finish(operation, "EXPIRED", size)
        else:
            self._finish(operation, status, size, partial=status == "CANCELED")

    def _run_mutation(
        self, shop: ShopState, operation: Record, document: Any, upload: Path, fault: Any
    ) -> None:
        from devkit.shopify_emulator.execution import execute_document

        operation["status"] = "RUNNING"
        cancel = self._running[operation["id"]].cancel
        path = self._result_path(operation)
        status = "COMPLETED"
        lines = list(_variable_lines(upload))
        stop_after = len(lines) // 2 if fault and fault.kind == "bulk_fail" else None
        count = 0
        with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
            for number, variables in enumerate(lines):
                if stop_after is not None and number >= stop_after:
                    status = "FAILED"
                    break
                if cancel.is_set():
                    status = "CANCELED"
                    break
                body, _ = execute_document(shop, None, document, variables, None, is_mutation=True)
                result = {**body, "__lineNumber": number}
                line = _dumps(result)
                if fault and fault.kind == "bulk_malformed_line" and number == 0:
                    line = line[: len(line) // 2]
                out.write(line + "\n")
                count += 1
                operation["objectCount"] = str(count)
                operation["rootObjectCount"] = str(count)
        self._settle(operation, status, path.stat().st_size, fault)


def _variable_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _first_invalid_line(path: Path) -> int | None:
    """1-based number of the first line that is not a JSON object, or None."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                return number
            if not isinstance(value, dict):
                return number
    return None
