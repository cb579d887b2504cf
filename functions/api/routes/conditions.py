"""The condition builder's vocabulary and its Shopify query view.

- GET /conditions/fields: every customer field a rule can test, in the merchant's words,
  with its kind (which input fits: a count, money, a date, a picker...), the operators that
  apply (named as the builder shows them), an enum's possible values, and the attribute
  names of Shopify's segment query language (for completion in the query view).
- POST /conditions/translate: the same condition as JSON and as a Shopify segment query,
  either way. A condition with a rule Shopify has no word for still comes back (as JSON),
  with ``untranslatable`` saying which rule, so the builder can say so instead of failing.

The builder never shows the JSON's keys or column names; these routes are how it learns
the words. Pure logic (no engine call): the vocabulary is ``seglift.segments.catalog``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import ConfigDict, Field, model_validator

from api.api_model import ApiModel
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.models import RequestBody, ShopifyQuery
from api.routes.responses import BODY_ERRORS, responses
from api.schema_rules import exactly_one_of
from api.segment_definitions import condition_error, shopify_query_error
from seglift.segments.catalog import FEATURES, NULL_OPERATORS, OPERATORS_BY_KIND, operator_words
from seglift.segments.conditions import ConditionError
from seglift.segments.shopify_query import SUPPORTED_ATTRIBUTES
from seglift.segments.shopify_query_writer import Untranslatable, to_shopify_query

router = APIGatewayRouter()

# The order the builder offers operators in (most used first).
_OPERATOR_ORDER = ("=", "!=", ">=", ">", "<=", "<", "between", "in last days",
                   "more than days ago", "in", "not in", "contains", "not contains",
                   "starts with", "contains any", "contains all", "is empty", "is not empty",
                   "is null", "is not null")
# Columns the builder does not offer: ids and raw text a merchant never filters on.
_HIDDEN = {"customer_id"}


class Operator(ApiModel):
    op: str = Field(description="The operator as stored in a condition.")
    label: str = Field(description="The operator in the merchant's words.")


class Choice(ApiModel):
    value: str
    label: str


class ConditionField(ApiModel):
    name: str = Field(description="The feature a rule names.")
    label: str = Field(description="The feature in the merchant's words.")
    kind: str = Field(description="integer | number | money | date | string | enum | "
                                  "string_list | id_list: which input fits.")
    description: str
    operators: list[Operator]
    choices: list[Choice] = Field(default_factory=list,
                                  description="An enum's possible values.")


class ConditionFieldsOut(ApiModel):
    fields: list[ConditionField]
    shopify_attributes: list[str] = Field(
        description="Attribute names of Shopify's segment query language seglift reads.")


def _choice_label(value: str) -> str:
    return value.replace("_", " ").capitalize()


@router.get(
    "/conditions/fields",
    summary="The fields, operators and values the condition builder offers",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The builder's vocabulary"),
)
def condition_fields(ctx: Ctx, shop: Shop) -> ConditionFieldsOut:
    fields = []
    for spec in FEATURES.values():
        if spec.name in _HIDDEN:
            continue
        allowed = OPERATORS_BY_KIND[spec.kind] | NULL_OPERATORS
        fields.append(ConditionField(
            name=spec.name, label=spec.label, kind=spec.kind, description=spec.description,
            operators=[Operator(op=op, label=operator_words(op, spec.kind))
                       for op in _OPERATOR_ORDER if op in allowed],
            choices=[Choice(value=v, label=_choice_label(v)) for v in spec.values]))
    return ConditionFieldsOut(fields=fields, shopify_attributes=list(SUPPORTED_ATTRIBUTES))


class TranslateRequest(RequestBody):
    """Exactly one of a condition (to write as a Shopify query) or a Shopify query (to
    read as a condition)."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(("condition", "shopify_query")))

    condition: dict[str, Any] | None = None
    shopify_query: ShopifyQuery | None = None

    @model_validator(mode="after")
    def _one(self) -> TranslateRequest:
        if self.condition is not None and self.shopify_query is not None:
            raise ValueError("Give either the condition or the Shopify query, not both.")
        if self.condition is None and self.shopify_query is None:
            raise ValueError("Give the condition or the Shopify query to translate.")
        return self


class TranslateOut(ApiModel):
    condition: dict[str, Any]
    shopify_query: str | None = Field(
        default=None, description="The condition in Shopify's segment query language; "
                                  "null when a rule has no equivalent there.")
    untranslatable: str | None = Field(
        default=None, description="Which rule Shopify's language cannot express, in words.")


@router.post(
    "/conditions/translate",
    summary="A condition as a Shopify segment query, or a Shopify query as a condition",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The condition in both forms", *BODY_ERRORS),
)
def translate(ctx: Ctx, shop: Shop, body: TranslateRequest) -> TranslateOut:
    """Synchronous and bounded: pure logic in the API (no other function is called), over
    a condition or query whose size and depth the request model and the parsers bound."""
    if body.shopify_query is not None:
        try:
            condition = ctx.definitions.from_shopify_query(body.shopify_query)
        except ConditionError as error:
            raise shopify_query_error(error) from error
        query: str | None = body.shopify_query
        return TranslateOut(condition=condition, shopify_query=query)
    try:
        condition = ctx.definitions.validate(body.condition, ctx.segments.conditions(shop),
                                             None)
    except ConditionError as error:
        raise condition_error(error, "condition") from error
    try:
        return TranslateOut(condition=condition, shopify_query=to_shopify_query(condition))
    except Untranslatable as reason:
        return TranslateOut(condition=condition, untranslatable=str(reason))
