"""What tagging needs to know about a shop: its Admin API token and who to email.

Data access (PynamoDB + SSM). The token itself is an SSM SecureString whose name the
shop record holds; it is never stored in DynamoDB.
"""

from __future__ import annotations

from typing import Any

from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.models import ShopModel, bind


class ShopNotInstalled(LookupError):
    """The shop has no record (uninstalled or never installed): nothing can be tagged."""


class ShopDirectory:
    def __init__(self, shops_table: str, ssm: Any) -> None:
        self._shops = bind(ShopModel, shops_table)
        self._ssm = ssm

    def _record(self, shop: str) -> Any:
        try:
            return self._shops.get(shop)
        except self._shops.DoesNotExist as missing:
            raise ShopNotInstalled(f"shop {shop} is not installed: reinstall the app") from missing

    def access_token(self, shop: str) -> str:
        return SsmTokenStore(self._ssm).get(self._record(shop).access_token_parameter)

    def notification_email(self, shop: str) -> str | None:
        try:
            return self._record(shop).notification_email
        except ShopNotInstalled:
            return None
