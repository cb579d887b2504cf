"""Per-request values the routes declare with ``Depends``: the context and the tenant.

The handler verifies the session token before routing and puts the verified shop and the
invocation's ApiContext into the resolver context; these functions only read them back,
so a route cannot obtain a shop any other way.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.depends import Depends

from api.ports import ApiContext

CONTEXT_KEY = "seglift_api"
SHOP_KEY = "seglift_shop"
USER_KEY = "seglift_user"

# OpenAPI security requirement of every route that needs a session token.
SESSION_TOKEN_SECURITY: list[dict[str, list[str]]] = [{"shopifySessionToken": []}]


def api_context(request: Request) -> ApiContext:
    return request.context[CONTEXT_KEY]


def current_shop(request: Request) -> str:
    """The verified token's shop; a KeyError here means a route skipped authentication."""
    return request.context[SHOP_KEY]


def current_user(request: Request) -> str | None:
    return request.context.get(USER_KEY)


Ctx = Annotated[ApiContext, Depends(api_context)]
Shop = Annotated[str, Depends(current_shop)]
User = Annotated[str | None, Depends(current_user)]
