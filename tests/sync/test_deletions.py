"""Deleted products come from Shopify's deletionEvents, every page of them."""

from __future__ import annotations

from typing import Any

from sync.shop_sync import ShopSynchronizer


class PagedDeletions:
    shop = "d.myshopify.com"

    def __init__(self) -> None:
        self.variables: list[dict] = []

    def execute(self, document: str, variables: dict, **_: Any) -> dict:
        self.variables.append(variables)
        if variables["after"] is None:
            return {"deletionEvents": {
                "edges": [{"node": {"subjectId": "gid://shopify/Product/5",
                                    "occurredAt": "2026-11-20T00:00:00Z"}}],
                "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}
        return {"deletionEvents": {
            "edges": [{"node": {"subjectId": "gid://shopify/Product/9",
                                "occurredAt": "2026-11-21T00:00:00Z"}}],
            "pageInfo": {"hasNextPage": False, "endCursor": "c2"}}}


def test_every_page_of_product_deletions_since_the_watermark_is_read() -> None:
    client = PagedDeletions()
    sync = ShopSynchronizer("d.myshopify.com", client, s3_client=None, bucket="unused",
                            bulk_runner=object())  # type: ignore[arg-type]
    deleted = sync._deleted_products("2026-11-19T22:00:00Z")
    assert deleted.to_pylist() == [5, 9]
    assert client.variables[0]["query"] == "occurred_at:>='2026-11-19T22:00:00Z'"
    assert [v["after"] for v in client.variables] == [None, "c1"]
