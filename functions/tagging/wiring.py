"""Builds the tagging logic's collaborators from RuntimeConfig (real AWS and Shopify)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from seglift.config import RuntimeConfig
from seglift.shopify.client import ShopifyGraphQLClient
from seglift.storage.tag_job_repository import TagJobRepository
from seglift.tagging.adapters import (
    S3MemberIdsReader,
    SesCompletionNotifier,
    SqsQueue,
    http_fetch,
    http_upload,
)
from seglift.tagging.jobs import utc_now
from seglift.tagging.ports import GraphQLExecutor
from seglift.tagging.shops import ShopDirectory


@dataclass
class TaggingDependencies:
    jobs: TagJobRepository
    queue: SqsQueue
    members: S3MemberIdsReader
    notifier: SesCompletionNotifier
    client_for_shop: Callable[[str], GraphQLExecutor]
    upload: Callable[[str, str, list[dict[str, str]], bytes], None]
    fetch: Callable[[str], bytes]
    now: Callable[[], datetime]
    # The invocation's Shopify clients by shop (the handler reads their throttled retries).
    shopify_clients: dict[str, Any] = field(default_factory=dict)


_sessions = threading.local()


def shared_session() -> boto3.session.Session:
    """One boto3 session per container thread: it caches the service models a new one re-reads.

    Per thread because a boto3 session is not safe to build clients from concurrently; Lambda
    runs one thread, the local cloud runs concurrent invocations of this function in threads.
    """
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = boto3.session.Session()
    return session


def container_client(service: str) -> Any:
    """The container's boto3 client for ``service``, built on its first invocation and kept.

    Building a client reads its service model and endpoint rules (tens of milliseconds of
    CPU each, four per invocation); a tag job runs one short invocation per batch, so the
    clients are kept for the container's life, as AWS advises. Kept per thread, like the
    session they come from (the local cloud's warm containers are threads). A client is
    rebuilt when the region it was built for is no longer the environment's (tests).
    """
    clients: dict[tuple[str, str | None], Any] = _sessions.__dict__.setdefault("clients", {})
    session = shared_session()
    key = (service, session.region_name)
    if key not in clients:
        clients[key] = session.client(service)
    return clients[key]


def build_dependencies(config: RuntimeConfig, boto_session: Any = None) -> TaggingDependencies:
    """Everything the tagging logic needs, for one invocation (clients are cheap to reuse)."""
    config.require(
        "tag_jobs_table", "tag_job_queue_url", "data_bucket", "shops_table", "sender_email"
    )
    client = boto_session.client if boto_session is not None else container_client
    shops = ShopDirectory(config.shops_table, client("ssm"))
    clients: dict[str, Any] = {}

    def client_for_shop(shop: str) -> GraphQLExecutor:
        # One client per shop per invocation: its remembered bucket status paces every
        # batch of the invocation. (Not kept longer: a reinstall rotates the token.)
        if shop not in clients:
            clients[shop] = ShopifyGraphQLClient(
                shop, shops.access_token(shop), base_url=config.shopify_base_url
            )
        return clients[shop]

    return TaggingDependencies(
        jobs=TagJobRepository(config.tag_jobs_table),
        queue=SqsQueue(client("sqs"), config.tag_job_queue_url),
        members=S3MemberIdsReader(client("s3"), config.data_bucket),
        notifier=SesCompletionNotifier(
            client("ses"),
            sender=config.sender_email,
            app_base_url=config.app_base_url,
            recipient_for=shops.notification_email,
        ),
        client_for_shop=client_for_shop,
        upload=http_upload,
        fetch=http_fetch,
        now=utc_now,
        shopify_clients=clients,
    )
