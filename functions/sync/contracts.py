"""The sync function's typed contracts with the daily workflow (``daily.asl.json``).

Every state of the workflow that invokes the sync function sends one of the ``*Request``
models (told apart by ``action``) and gets the matching ``*Result`` back. Requests are
validated on arrival (``parse_request``): a malformed one fails the state with a message
that says what to send, instead of a KeyError deep in the logic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from seglift.keys import validate_shop_domain


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _ShopRequest(_Contract):
    shop: str

    @field_validator("shop")
    @classmethod
    def _valid_shop(cls, value: str) -> str:
        return validate_shop_domain(value)


class ListShopsRequest(_Contract):
    """The workflow's own input (``request``): the schedule's, or one shop's on demand."""

    action: Literal["list_shops"]
    request: dict[str, Any]
    execution: str = Field(min_length=1, max_length=80)


class ShopItem(_Contract):
    """One item of the fan-out: sync the shop, or only carry out its privacy requests
    (a shop uninstalled since, whose ``shop/redact`` is pending)."""

    shop: str
    sync: bool


class ListShopsResult(_Contract):
    bucket: str
    key: str
    count: int


class PrivacyRequest(_Contract):
    """Carry out pending privacy requests: of one shop (the workflow's state, before the
    shop's sync) or, without ``shop``, of every shop that has some (on demand)."""

    action: Literal["privacy"]
    shop: str | None = None

    @field_validator("shop")
    @classmethod
    def _valid_shop(cls, value: str | None) -> str | None:
        return None if value is None else validate_shop_domain(value)


class PrivacyResult(_Contract):
    """One outcome per request handled; a failure is reported here, never raised (the
    request stays pending for the next run)."""

    privacy: list[dict[str, Any]]


class BeginRequest(_ShopRequest):
    action: Literal["begin"]
    lease_owner: str = Field(min_length=1)


class BeginResult(_Contract):
    """``acquired`` False: another sync of the shop holds the lease; this one stops."""

    acquired: bool
    run_date: str | None = None
    mode: str | None = None
    held_by: str | None = None


class StepRequest(_ShopRequest):
    action: Literal["step"]
    lease_owner: str = Field(min_length=1)


class StepResultOut(_Contract):
    """``next``: wait ``wait_seconds`` then step again, step again now, or done."""

    next: Literal["wait", "continue", "done"]
    phase: str
    wait_seconds: int = Field(ge=0)
    run_date: str | None = None  # set when done: the day the pipeline computes
    records: int = 0
    pipeline_name: str | None = None
    # THROTTLED / HTTP 429 answers the Shopify client waited out and retried in this step.
    throttled_retries: int = 0


class StateError(_Contract):
    """What a Catch puts in ``ResultPath``: Step Functions' ``Error`` and ``Cause``."""

    model_config = ConfigDict(extra="allow")
    Error: str = "States.TaskFailed"
    Cause: str = ""


class FinishRequest(_ShopRequest):
    action: Literal["finish"]
    lease_owner: str = Field(min_length=1)
    status: Literal["succeeded", "failed"]
    stage: Literal["sync", "pipeline"] = "sync"
    records: int = 0
    pipeline_execution: str | None = None
    error: StateError | None = None


class FinishResult(_Contract):
    shop: str
    status: Literal["succeeded", "failed"]
    error: str | None = None
    records: int = 0
    # The shop's previous sync failed too (or never finished): an operator should look.
    repeated_failure: bool = False


WorkflowRequest = Annotated[
    ListShopsRequest | PrivacyRequest | BeginRequest | StepRequest | FinishRequest,
    Field(discriminator="action"),
]
_REQUEST: TypeAdapter[
    ListShopsRequest | PrivacyRequest | BeginRequest | StepRequest | FinishRequest
] = TypeAdapter(WorkflowRequest)
WORKFLOW_ACTIONS = ("list_shops", "privacy", "begin", "step", "finish")


def parse_request(event: dict[str, Any]) -> (
        ListShopsRequest | PrivacyRequest | BeginRequest | StepRequest | FinishRequest):
    """The workflow's request as its model; pydantic's ValidationError names what is wrong."""
    return _REQUEST.validate_python(event)
