"""TagPreviews over seglift.tagging.jobs.preview_tag_job: the shop's token from SSM, the
segment's frozen member list from S3, the customers' current tags from Shopify.

An API request must answer within API Gateway's 29 seconds, so the Shopify client gets a
short timeout and two attempts (the tagging Lambda's client waits much longer); a busy or
unreachable Shopify becomes 503 "try again", never a hung request. Every failure the
merchant can act on is translated into the API's error shape here, so the route stays thin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.errors import ApiError, BadRequest, Conflict
from api.ports import ShopStore

PREVIEW_TIMEOUT_SECONDS = 8.0
PREVIEW_ATTEMPTS = 2


class ShopifyTagPreviews:
    def __init__(self, shops: ShopStore, s3: Callable[[], Any], ssm: Callable[[], Any],
                 bucket: str, shopify_base_url: str,
                 token_parameter_for: Callable[[str], str]) -> None:
        self._shops = shops
        self._s3 = s3
        self._ssm = ssm
        self._bucket = bucket
        self._base_url = shopify_base_url
        self._token_parameter_for = token_parameter_for

    def preview(self, shop: str, segment: Any, *, tag: str, action: str) -> Any:
        from seglift.shopify.client import ShopifyGraphQLClient
        from seglift.shopify.errors import (
            ShopifyAuthError,
            ShopifyError,
            ShopifyServerError,
            ShopifyThrottledError,
        )
        from seglift.shopify.tokens import SsmTokenStore, TokenNotFoundError
        from seglift.tagging.adapters import S3MemberIdsReader
        from seglift.tagging.jobs import TagJobError, preview_tag_job
        from seglift.tagging.validation import TagError

        record = self._shops.get(shop)
        if record is None or not getattr(record, "installed", False):
            raise Conflict("the app is uninstalled from this shop: reinstall it to preview "
                           "or start tag jobs", code="shop_uninstalled")
        parameter = (getattr(record, "access_token_parameter", None)
                     or self._token_parameter_for(shop))
        try:
            token = SsmTokenStore(self._ssm()).get(parameter)
            client = ShopifyGraphQLClient(shop, token, base_url=self._base_url,
                                          timeout=PREVIEW_TIMEOUT_SECONDS,
                                          max_attempts=PREVIEW_ATTEMPTS)
            return preview_tag_job(
                shop, segment.segment_id, tag, action,
                members_reader=S3MemberIdsReader(self._s3(), self._bucket),
                client=client, segment=segment)
        except TagError as error:
            raise BadRequest(str(error), code="invalid_tag", field="tag") from error
        except TagJobError as error:
            raise Conflict(str(error), code="segment_not_taggable") from error
        except TokenNotFoundError as error:
            raise Conflict(str(error), code="shop_token_missing") from error
        except ShopifyAuthError as error:
            raise Conflict(str(error), code="shop_token_invalid") from error
        except (ShopifyThrottledError, ShopifyServerError) as error:
            raise ApiError("Shopify is busy or unreachable right now, so the customers' "
                           "current tags cannot be read: try the preview again in a minute",
                           code="shopify_unavailable", status=503) from error
        except ShopifyError as error:
            raise ApiError(str(error), code="shopify_error", status=502) from error
