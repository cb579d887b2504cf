"""GET /templates: the segment templates a merchant can start from, by category."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx
from api.errors import BadRequest
from api.models import TemplatePage
from api.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    decode_page_token,
    encode_page_token,
)
from api.presenters import template_out
from api.routes.responses import responses
from seglift.segments.templates import CATEGORIES

router = APIGatewayRouter()
Category = Literal[CATEGORIES]  # type: ignore[valid-type]


@router.get(
    "/templates",
    summary="Segment templates, optionally of one category",
    tags=["templates"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of templates", 400),
)
def list_templates(
    ctx: Ctx,
    category: Annotated[Category | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> TemplatePage:
    after = decode_page_token(next_token)
    try:
        templates = sorted(ctx.definitions.templates(category), key=lambda t: t.id)
    except ValueError as error:
        raise BadRequest(str(error), code="unknown_category", field="category") from error
    remaining = [t for t in templates if after is None or t.id > after]
    page = remaining[:limit]
    more = len(remaining) > limit
    return TemplatePage(
        items=[template_out(t) for t in page],
        next_token=encode_page_token(page[-1].id) if more else None,
    )
