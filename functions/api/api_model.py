"""The base of every API request and response model: pydantic builds it when first used.

A Lambda cold start serves one route, but importing the handler defined every route's
models, and pydantic builds a model's validator and serializer when its class is created.
With ``defer_build`` a model is built on its first validation, serialization or schema
(Powertools builds what its route registration needs): a cold start pays only for the
models its request touches.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """``BaseModel`` built on first use rather than at class creation."""

    model_config = ConfigDict(defer_build=True)
