"""What the tagging logic needs from the outside world, as small protocols.

Handlers pass the real adapters (SQS, S3, SES, the Shopify client); tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from seglift.storage.tag_job_repository import TagJob


class GraphQLExecutor(Protocol):
    """seglift.shopify.client.ShopifyGraphQLClient's shape: ``execute`` returns ``data``."""

    def execute(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        expected_cost: int | None = None,
    ) -> dict[str, Any]: ...


class MessageQueue(Protocol):
    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> None:
        """Enqueue message bodies (all or raise)."""


class MemberIdsReader(Protocol):
    def read(self, key: str) -> list[int]:
        """The customer ids of a membership ``.ids.gz`` file; FileNotFoundError if absent."""


class CompletionNotifier(Protocol):
    def send_completion(self, job: TagJob) -> None:
        """Tell the merchant the job is finished (raise if it could not be sent)."""


class SegmentLookup(Protocol):
    def get(self, shop: str, segment_id: str) -> Any:
        """The segment (anything with ``last_evaluated_on``), or None if it does not exist."""
