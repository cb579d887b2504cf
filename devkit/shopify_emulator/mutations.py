"""Mutations the product uses: tagsAdd / tagsRemove, staged uploads and bulk operations.

Tag writes change the store (tags and ``updatedAt``) so tests can read them back and the
next incremental sync sees the customer as updated, exactly as on Shopify.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLResolveInfo

from devkit.shopify_emulator.resolvers import RequestContext, handles

Record = dict[str, Any]

MAX_TAG_LENGTH = 255
MAX_INPUT_ITEMS = 250
TAGGABLE_KINDS = ("Customer", "Order", "Product", "DraftOrder", "Article", "OnlineStorePage")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split_tags(raw_tags: list[str]) -> list[str]:
    """Shopify accepts ``["a", "b"]`` and ``["a, b"]`` alike: commas separate tags."""
    tags: list[str] = []
    for raw in raw_tags:
        tags.extend(part.strip() for part in raw.split(",") if part.strip())
    return tags


def _tag_errors(tags: list[str], raw_count: int) -> list[dict[str, Any]]:
    if raw_count > MAX_INPUT_ITEMS:
        return [{"field": ["tags"], "message": f"Tags can't exceed {MAX_INPUT_ITEMS} items."}]
    if not tags:
        return [{"field": ["tags"], "message": "Tags can't be blank."}]
    too_long = [tag for tag in tags if len(tag) > MAX_TAG_LENGTH]
    if too_long:
        return [
            {
                "field": ["tags"],
                "message": f"Tag is too long (maximum is {MAX_TAG_LENGTH} characters): "
                f"{too_long[0][:20]}...",
            }
        ]
    return []


def change_tags(context: RequestContext, global_id: str, raw_tags: list[str], add: bool) -> Record:
    """The tagsAdd / tagsRemove payload, applying the change to the store when valid."""
    parts = global_id.split("/")
    if len(parts) != 5 or parts[:3] != ["gid:", "", "shopify"] or not parts[4].isdigit():
        return {"node": None, "userErrors": [{"field": ["id"], "message": "Invalid global id"}]}
    if parts[3] not in TAGGABLE_KINDS:
        return {
            "node": None,
            "userErrors": [{"field": ["id"], "message": f"{parts[3]} is not taggable"}],
        }
    tags = _split_tags(raw_tags)
    errors = _tag_errors(tags, len(raw_tags))
    if errors:
        return {"node": None, "userErrors": errors}
    store = context.shop.store
    with store.lock:
        record = context.shop.lookup(global_id)
        if record is None:
            return {
                "node": None,
                "userErrors": [{"field": ["id"], "message": "Resource does not exist"}],
            }
        current: list[str] = list(record.get("tags") or [])
        known = {tag.casefold() for tag in current}
        if add:
            for tag in tags:
                if tag.casefold() not in known:
                    current.append(tag)
                    known.add(tag.casefold())
        else:
            removing = {tag.casefold() for tag in tags}
            current = [tag for tag in current if tag.casefold() not in removing]
        if current != record.get("tags"):
            record["tags"] = current
            record["updatedAt"] = now_iso()
            store.put(record)  # a store on disk hands out copies
            context.shop.bump()
    return {"node": record, "userErrors": []}


@handles("Mutation", "tagsAdd")
def _tags_add(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return change_tags(context, args["id"], args["tags"], add=True)


@handles("Mutation", "tagsRemove")
def _tags_remove(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return change_tags(context, args["id"], args["tags"], add=False)


@handles("Mutation", "stagedUploadsCreate")
def _staged_uploads_create(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    inputs = args["input"]
    if len(inputs) > MAX_INPUT_ITEMS:
        return {
            "stagedTargets": None,
            "userErrors": [{"field": ["input"], "message": "Too many staged uploads."}],
        }
    targets = []
    for item in inputs:
        if item["resource"] != "BULK_MUTATION_VARIABLES":
            return {
                "stagedTargets": None,
                "userErrors": [
                    {
                        "field": ["input", "resource"],
                        "message": "The Shopify emulator stages BULK_MUTATION_VARIABLES only.",
                    }
                ],
            }
        targets.append(
            context.services.uploads.create_target(
                context.shop.store.domain,
                item["filename"],
                item["mimeType"],
                item.get("httpMethod") or "PUT",
            )
        )
    return {"stagedTargets": targets, "userErrors": []}


@handles("Mutation", "bulkOperationRunQuery")
def _bulk_run_query(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.services.bulk.run_query(context.shop, args["query"])


@handles("Mutation", "bulkOperationRunMutation")
def _bulk_run_mutation(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.services.bulk.run_mutation(
        context.shop, args["mutation"], args["stagedUploadPath"]
    )


@handles("Mutation", "bulkOperationCancel")
def _bulk_cancel(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    return context.services.bulk.cancel(context.shop, args["id"])


@handles("Mutation", "webhookSubscriptionCreate")
def _webhook_subscription_create(
    source: Any, args: dict[str, Any], context: RequestContext, info: GraphQLResolveInfo
) -> Any:
    """Records the subscription on the shop (the emulator does not deliver events; tests
    send webhooks with ``devkit.shopify_emulator.webhooks``)."""
    settings = args["webhookSubscription"]
    uri = settings.get("uri") or settings.get("callbackUrl")
    if not uri:
        return {"webhookSubscription": None,
                "userErrors": [{"field": ["webhookSubscription", "uri"],
                                "message": "Address can't be blank"}]}
    subscriptions = context.shop.webhook_subscriptions
    with context.shop.store.lock:
        if any(s["topic"] == args["topic"] and s["uri"] == uri for s in subscriptions):
            return {"webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", "callbackUrl"],
                                    "message": "Address for this topic has already been taken"}]}
        now = now_iso()
        record = {
            "__typename": "WebhookSubscription",
            "id": f"gid://shopify/WebhookSubscription/{len(subscriptions) + 1}",
            "legacyResourceId": str(len(subscriptions) + 1),
            "topic": args["topic"],
            "uri": uri,
            "format": settings.get("format") or "JSON",
            "apiVersion": None,
            "createdAt": now,
            "updatedAt": now,
        }
        subscriptions.append(record)
        context.shop.bump()
    return {"webhookSubscription": record, "userErrors": []}
