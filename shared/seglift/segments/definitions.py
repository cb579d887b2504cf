"""One object giving the API everything it needs to turn requests into conditions.

Matches ``api.ports.SegmentDefinitions``: validation (with ``member_of`` existence and
loop checks), Shopify query translation, templates. Pure and pyarrow-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seglift.segments.conditions import Condition, validate_condition
from seglift.segments.shopify_query import from_shopify_query
from seglift.segments.templates import (
    Template,
    TemplateInstance,
    instantiate_template,
    list_templates,
)


class SegmentDefinitions:
    def validate(
        self, condition: Any, known_segments: dict[str, Any], segment_id: str | None
    ) -> Condition:
        """``condition`` if valid for a shop whose segments are ``known_segments``
        (id -> condition); raises ``ConditionError`` with message and path."""
        return validate_condition(condition, known_segments=known_segments,
                                  segment_id=segment_id)

    def from_shopify_query(self, query: str) -> Condition:
        return from_shopify_query(query)

    def from_template(self, template_id: str, params: dict[str, Any]) -> TemplateInstance:
        """KeyError (unknown template), ValueError (parameters), ConditionError."""
        return instantiate_template(template_id, params)

    def templates(self, category: str | None) -> Sequence[Template]:
        return list_templates(category)
