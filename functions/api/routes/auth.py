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
    entries = responses(302, description, *errors)
    entries[302]["content"] = {}
    return entries


def _oauth(ctx: ApiContext) -> OAuthDeps:
    if ctx.oauth is None:
        raise ApiError("app installation is not configured on this deployment",
                       code="not_configured", status=500)
    return ctx.oauth


def api_base_url() -> str:
    """This API's public base URL as the caller reached it: ``https://<id>.execute-api...
    /<stage>`` on API Gateway's own domain (the stage is part of the path there), no stage
    on a custom domain or the local cloud's adapter; the scheme from X-Forwarded-Proto
    (API Gateway always sends it), plain http for a loopback host without it."""
    event = router.current_event
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    host = headers.get("host") or event.request_context.domain_name or "localhost"
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost")
    scheme = headers.get("x-forwarded-proto") or ("http" if loopback else "https")
    stage = f"/{event.request_context.stage}" if ".execute-api." in host else ""
    return f"{scheme}://{host}{stage}"


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
                             api_base_url() + CALLBACK_PATH, state)
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
    oauth.installer.complete_install(shop, token, api_base_url())
    app_url = f"https://{shop}/admin/apps/{ctx.credentials().api_key}"
    return Response(status_code=302, headers={"Location": app_url}, body="")
