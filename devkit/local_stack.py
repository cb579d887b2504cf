"""Everything seglift needs locally, started together: the Shopify emulator serving
generated stores, the local cloud deployed from template.yaml and pointed at the
emulator, the shops installed, and an API client holding a development session token.

The demo, ``seglift serve`` and the end-to-end tests all start this one thing, so they
exercise the same wiring a merchant's installation has in AWS.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities import parameters

from devkit.api_client import ApiClient
from devkit.local_cloud.cloud import LocalCloud
from devkit.shopify_emulator import ShopifyEmulator
from devkit.store.model import ShopStore
from seglift.auth.session_tokens import issue_session_token
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.shop_repository import ShopRepository

LOCAL_API_KEY = "seglift-local-api-key"
NOTIFICATION_EMAIL = "merchant@example.com"


@dataclass
class LocalStack:
    emulator: ShopifyEmulator
    cloud: LocalCloud
    stage: str
    api_secret: str
    shops: list[str] = field(default_factory=list)

    def session_token(self, shop: str, ttl: int = 300) -> str:
        """A development session token, signed with this stack's app secret."""
        return issue_session_token(shop, LOCAL_API_KEY, self.api_secret, ttl=ttl)

    def api(self, shop: str) -> ApiClient:
        """An API client acting for ``shop``; a fresh token per request, as App Bridge does."""
        if self.cloud.api is None:
            raise RuntimeError("the local stack was started without the API")
        return ApiClient(self.cloud.api.url, lambda: self.session_token(shop))

    def shop_repository(self) -> ShopRepository:
        return ShopRepository(self.cloud.physical("ShopsTable"))

    def token_parameter(self, shop: str) -> str:
        return f"/seglift/{self.stage}/shops/{shop}/access-token"

    def install(self, store: ShopStore, notification_email: str = NOTIFICATION_EMAIL) -> None:
        """What the OAuth install does: keep the token in SSM, record the shop."""
        tokens = SsmTokenStore(self.cloud.client("ssm"))
        parameter = self.token_parameter(store.domain)
        tokens.put(parameter, self.emulator.token_for(store.domain))
        self.shop_repository().install(
            store.domain,
            parameter,
            plan=store.plan,
            timezone=store.timezone,
            currency=store.currency,
            notification_email=notification_email,
        )
        self.shops.append(store.domain)


def _install_app_credentials(cloud: LocalCloud) -> str:
    """The Shopify app's key and secret, where the API function looks for them."""
    environment = cloud.function_environment("ApiFunction")
    secret = secrets.token_hex(32)
    ssm = cloud.client("ssm")
    ssm.put_parameter(
        Name=environment["SHOPIFY_API_KEY_PARAMETER"],
        Value=LOCAL_API_KEY,
        Type="SecureString",
        Overwrite=True,
    )
    ssm.put_parameter(
        Name=environment["SHOPIFY_API_SECRET_PARAMETER"],
        Value=secret,
        Type="SecureString",
        Overwrite=True,
    )
    # Lambdas run in this process: Powertools' parameter cache would otherwise hand a
    # previous stack's secret to this stack's API (as a warm container would after a
    # rotation) for its five-minute max age.
    parameters.clear_caches()
    return secret


@contextmanager
def local_stack(
    stores: list[ShopStore],
    *,
    serve_api: bool = True,
    api_port: int = 0,
    emulator_port: int = 0,
    restore_rate: float | None = None,
    log_level: str = "WARNING",
    redelivery_delay: float | None = 0.0,
) -> Iterator[LocalStack]:
    emulator = ShopifyEmulator(stores, restore_rate=restore_rate, port=emulator_port)
    emulator.start()
    try:
        stage = "dev"
        with LocalCloud(
            parameters={"ShopifyBaseUrl": emulator.base_url, "LogLevel": log_level, "Stage": stage},
            serve_api=serve_api,
            api_port=api_port,
            redelivery_delay=redelivery_delay,
        ) as cloud:
            stack = LocalStack(emulator, cloud, stage, _install_app_credentials(cloud))
            emulator.register_app(LOCAL_API_KEY, stack.api_secret)
            for store in stores:
                stack.install(store)
            yield stack
    finally:
        emulator.stop()
