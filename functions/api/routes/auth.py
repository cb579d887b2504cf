"""The app's installation (Shopify OAuth authorization-code grant); public routes.

GET /auth/install?shop=... sends the merchant to Shopify's consent screen with a fresh
``state`` nonce, remembered for ten minutes. Shopify sends them back to GET /auth/callback
with ``code``, ``shop``, ``state``, ``timestamp`` and ``hmac``; the callback is trusted
only if the HMAC is the app secret's signature of the query, the state is a nonce this
API issued *for that shop* (consumed on first use, so a callback cannot be replayed), and
the shop is a myshopify.com domain. Then the code is exchanged for the offline access
token, which goes to SSM, the shop is recorded and the app's webhooks are registered.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import Ctx
from api.errors import ApiError, BadRequest, Unauthorized
from api.ports import ApiContext, OAuthDeps
from api.routes.responses import responses
from seglift.auth.oauth import OAuthError, authorize_url, verify_callback

router = APIGatewayRouter()

STATE_TTL_SECONDS = 600
SHOP_PATTERN = r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"
ShopParam = Annotated[str, Query(pattern=SHOP_PATTERN, description="<handle>.myshopify.com")]
CALLBACK_PATH = "/auth/callback"


def _redirect(description: str, *errors: int) -> dict[int, Any]:
    entries = responses(302, description, *errors, session=False)
    entries[302]["content"] = {}
    return entries


def _oauth(ctx: ApiContext) -> OAuthDeps:
    if ctx.oauth is None:
        raise ApiError("app installation is not configured on this deployment",
                       code="not_configured", status=500)
    return ctx.oauth


_API_ID = re.compile(r"[a-z0-9]{1,32}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
_STAGE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def api_base_url(oauth: OAuthDeps) -> str:
    """This API's public base URL, where Shopify must send the merchant back and deliver
    webhooks: the configured ``API_BASE_URL`` (a custom domain, or the local cloud's
    adapter), else the stack's own ``https://<api id>.execute-api.<region>.amazonaws.com
    /<stage>`` from the API id and stage API Gateway puts in the request context and the
    function's region. Never from Host or X-Forwarded-Proto: a client chooses those."""
    if oauth.api_base_url:
        return oauth.api_base_url.rstrip("/")
    context = router.current_event.get("requestContext") or {}
    api_id, stage = str(context.get("apiId") or ""), str(context.get("stage") or "")
    if not (_API_ID.fullmatch(api_id) and _STAGE.fullmatch(stage)
            and _REGION.fullmatch(oauth.region)):
        raise ApiError("this deployment does not know its own URL: set API_BASE_URL",
                       code="not_configured", status=500)
    return f"https://{api_id}.execute-api.{oauth.region}.amazonaws.com/{stage}"


@router.get(
    "/auth/install",
    summary="Start installing the app on a shop: redirects to Shopify's consent screen",
    tags=["auth"],
    responses=_redirect("Redirect to https://<shop>/admin/oauth/authorize", 400),
)
def install(ctx: Ctx, shop: ShopParam) -> Response[str]:
    oauth = _oauth(ctx)
    state = secrets.token_urlsafe(24)
    oauth.states.remember(state, shop, STATE_TTL_SECONDS)
    location = authorize_url(shop, ctx.credentials().api_key, oauth.scopes,
                             api_base_url(oauth) + CALLBACK_PATH, state)
    return Response(status_code=302, headers={"Location": location}, body="")


@router.get(
    "/auth/callback",
    summary="Shopify's redirect after consent: verifies it and completes the install",
    tags=["auth"],
    responses=_redirect("Installed: redirect to the app in the shop's admin", 400, 401),
)
def callback(
    ctx: Ctx,
    shop: ShopParam,
    code: Annotated[str, Query(min_length=1, max_length=512)],
    state: Annotated[str, Query(min_length=1, max_length=256)],
    timestamp: Annotated[str, Query(min_length=1, max_length=20)],
    hmac: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response[str]:
    oauth = _oauth(ctx)
    params = dict(router.current_event.query_string_parameters or {})
    secret = ctx.credentials().secret
    try:
        verify_callback(params, secret, expected_state=state)
    except OAuthError as error:
        raise Unauthorized(str(error), code="bad_oauth_callback") from error
    issued_for = oauth.states.take(state)
    if issued_for is None:
        raise Unauthorized("unknown or expired state: start the install again",
                           code="bad_oauth_state", field="state")
    if issued_for != shop:
        raise Unauthorized("the state was issued for another shop", code="bad_oauth_state",
                           field="state")
    try:
        token = oauth.installer.exchange_code(shop, code)
    except OAuthError as error:
        raise BadRequest(str(error), code="code_exchange_failed", field="code") from error
    oauth.installer.complete_install(shop, token, api_base_url(oauth))
    app_url = f"https://{shop}/admin/apps/{ctx.credentials().api_key}"
    return Response(status_code=302, headers={"Location": app_url}, body="")
