"""Production adapters of the export and install ports (api.ports): the export Lambda,
install nonces in the idempotency table, the code exchange over HTTPS, SSM and Shopify.

Clients are passed in as zero-argument callables so a request that never exports or
installs never builds them.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from api.ports import AppCredentials, OAuthDeps
from seglift import invocation
from seglift.auth.oauth import OAuthError
from seglift.config import ConfigurationError, RuntimeConfig
from seglift.shopify.install import code_exchange_request, register_webhooks, shop_settings
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.shop_repository import ShopRepository

# What the app asks each merchant for (README, "Deploying to AWS").
APP_SCOPES = ("read_customers", "write_customers", "read_orders", "read_all_orders",
              "read_products")
CODE_EXCHANGE_TIMEOUT_SECONDS = 10
_STATE_PREFIX = "oauth-state#"


class LambdaExporter:
    """SegmentExports over the export function, invoked asynchronously (an Event): a
    large shop's export outlasts API Gateway's 29 s, so it runs as a job the dashboard
    follows; the function records the link or the refusal on the job."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def start(self, shop: str, segment_id: str, *, job_id: str, metrics: Sequence[str],
              bom: bool, currency: str = "USD") -> None:
        if not self._function:
            raise ConfigurationError(
                "missing environment variable EXPORT_FUNCTION_NAME: set it in template.yaml")
        invocation.invoke_async(self._lambda, self._function, invocation.ExportRequest(
            shop=shop, segment_id=segment_id, metrics=list(metrics), bom=bom,
            currency=currency, job_id=job_id))


class DynamoOAuthStates:
    """Install nonces as items of the idempotency table (its TTL attribute expires them;
    the expiry is also checked on read, as DynamoDB deletes expired items late)."""

    def __init__(self, dynamodb: Callable[[], Any], table: str,
                 now: Callable[[], float] = time.time) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._now = now

    def _table_name(self) -> str:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable IDEMPOTENCY_TABLE (install nonces): "
                "set it in template.yaml")
        return self._table

    def remember(self, state: str, shop: str, ttl_seconds: int) -> None:
        self._dynamodb().put_item(TableName=self._table_name(), Item={
            "id": {"S": _STATE_PREFIX + state}, "shop": {"S": shop},
            "expiration": {"N": str(int(self._now()) + ttl_seconds)},
        })

    def take(self, state: str) -> str | None:
        old = self._dynamodb().delete_item(
            TableName=self._table_name(), Key={"id": {"S": _STATE_PREFIX + state}},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        if not old or int(old["expiration"]["N"]) < self._now():
            return None
        return str(old["shop"]["S"])


def post_json(url: str, body: dict[str, str], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500:
            raise OAuthError(f"Shopify refused the authorization code (HTTP {error.code})"
                             ) from error
        raise


class ShopifyInstaller:
    """ShopInstaller: code exchange, token in SSM, shop record, webhook subscriptions."""

    def __init__(self, config: RuntimeConfig, credentials: Callable[[], AppCredentials],
                 ssm: Callable[[], Any], shops: ShopRepository,
                 post: Callable[[str, dict[str, str], float], dict[str, Any]] = post_json,
                 ) -> None:
        self._config = config
        self._credentials = credentials
        self._ssm = ssm
        self._shops = shops
        self._post = post

    def _base(self, shop: str) -> str:
        return self._config.shopify_base_url or f"https://{shop}"

    def exchange_code(self, shop: str, code: str) -> str:
        credentials = self._credentials()
        url, body = code_exchange_request(self._base(shop), credentials.api_key,
                                          credentials.secret, code)
        answer = self._post(url, body, CODE_EXCHANGE_TIMEOUT_SECONDS)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise OAuthError("Shopify's answer to the code exchange holds no access token")
        return token

    def complete_install(self, shop: str, access_token: str, callback_base_url: str) -> None:
        from seglift.shopify.client import ShopifyGraphQLClient  # loads ShopifyAPI: only here

        parameter = self._config.shop_token_parameter(shop)
        SsmTokenStore(self._ssm()).put(parameter, access_token)
        client = ShopifyGraphQLClient(shop, access_token,
                                      base_url=self._config.shopify_base_url)
        settings = shop_settings(client)
        self._shops.install(shop, parameter, timezone=settings.timezone,
                            currency=settings.currency, plan=settings.plan,
                            notification_email=settings.email)
        register_webhooks(client, f"{callback_base_url}/webhooks")


def oauth_deps(config: RuntimeConfig, credentials: Callable[[], AppCredentials],
               dynamodb: Callable[[], Any], ssm: Callable[[], Any]) -> OAuthDeps:
    return OAuthDeps(
        states=DynamoOAuthStates(dynamodb, config.idempotency_table),
        installer=ShopifyInstaller(config, credentials, ssm,
                                   ShopRepository(config.shops_table)),
        scopes=APP_SCOPES,
        api_base_url=config.api_base_url,
        region=config.aws_region,
    )


def export_deps(config: RuntimeConfig, lambda_client: Callable[[], Any]) -> LambdaExporter:
    return LambdaExporter(lambda_client, config.export_function_name)
