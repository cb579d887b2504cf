"""Shopify's static query cost, computed from the document before anything executes.

Rules (Shopify's published calculation): scalars and enums cost 0, an object 1, a
connection 2 plus ``first``/``last`` times the cost of one node's selection, an interface
or union the most expensive of its possible selections, and each mutation field 10. The
requested cost decides throttling and the 1000-point limit, so it must be known up front.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000

CompositeType = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


def is_connection(named: GraphQLNamedType) -> bool:
    """Shopify's connections are object types named ``...Connection`` with edges/nodes."""
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def select_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        return next((o for o in operations if o.name and o.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None


class CostCalculator:
    """Requested cost of one operation, with the document's fragments and variables."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None
    ) -> None:
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def operation_cost(self, operation: OperationDefinitionNode) -> int:
        if operation.operation == OperationType.MUTATION:
            fields = self._collect_fields(operation.selection_set)
            return MUTATION_COST * sum(1 for f in fields if f.name.value != "__typename")
        root = self.schema.query_type
        assert root is not None
        return self.selection_cost(operation.selection_set, root)

    def _collect_fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields.extend(self._collect_fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment:
                    fields.extend(self._collect_fields(fragment.selection_set))
        return fields

    def _argument(self, field: FieldNode, name: str) -> Any:
        for argument in field.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return None

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: CompositeType) -> int:
        """Cost of a selection on ``parent``; fragments on other types compete (max)."""
        if selection_set is None:
            return 0
        base = 0
        by_condition: dict[str, int] = defaultdict(int)
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                base += self.field_cost(selection, parent)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                condition, inner = fragment.type_condition, fragment.selection_set
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            target = self.schema.get_type(condition.name.value) if condition else parent
            if not isinstance(target, CompositeType):
                continue
            cost = self.selection_cost(inner, target)
            if target is parent or isinstance(parent, GraphQLObjectType):
                base += cost
            else:
                by_condition[target.name] += cost
        return base + max(by_condition.values(), default=0)

    def field_cost(self, field: FieldNode, parent: CompositeType) -> int:
        name = field.name.value
        if name.startswith("__") or isinstance(parent, GraphQLUnionType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, CompositeType):
            return 0
        if is_connection(named):
            assert isinstance(named, GraphQLObjectType)
            size = self._argument(field, "first") or self._argument(field, "last") or 0
            return 2 + int(size) * self._node_cost(field.selection_set, named)
        inner = 1 + self.selection_cost(field.selection_set, named)
        if _is_list(definition.type):
            size = self._argument(field, "first")
            return inner * int(size) if size else inner
        return inner

    def _node_cost(
        self, selection_set: SelectionSetNode | None, connection: GraphQLObjectType
    ) -> int:
        """One node's cost inside a connection: edges/node and nodes, pageInfo is free."""
        node_type = get_named_type(connection.fields["edges"].type)
        node_type = get_named_type(node_type.fields["node"].type)  # type: ignore[union-attr]
        cost = 0
        for field in self._collect_fields(selection_set) if selection_set else ():
            if field.name.value == "nodes":
                cost += 1 + self.selection_cost(field.selection_set, node_type)
            elif field.name.value == "edges" and field.selection_set:
                for edge_field in self._collect_fields(field.selection_set):
                    if edge_field.name.value == "node":
                        cost += 1 + self.selection_cost(edge_field.selection_set, node_type)
        return cost


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> int:
    """The points Shopify would reserve for ``operation`` before executing it."""
    return CostCalculator(schema, document, variables).operation_cost(operation)
