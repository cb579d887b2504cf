"""One request/error envelope for every function-to-function call.

Before this module there were three answer shapes between seglift's functions: the export
function answered ``{"status": "ok"|"error", "message"}``, the metrics function's journey
transitions ``{"ok": bool, "error": code, ...}``, and the segments and measurements
functions raised, so their refusals came back as Lambda's own error
(``{"errorType", "errorMessage"}``). Each caller parsed its own. Now every call speaks:

- **Request**: ``FunctionRequest``, a JSON object with ``action`` and ``shop`` (plus the
  action's own fields). The API's synchronous and asynchronous invocations and the state
  machines' tasks send it; each function validates it on arrival.
- **Reply** to a synchronous call from another function: ``{"ok": true, "result": {...}}``
  or ``{"ok": false, "error": FunctionError}`` for a request the function refuses (what
  the merchant can fix: an invalid condition, a missing snapshot).
- **Error**: ``FunctionError`` has Lambda's own field names (``errorType``,
  ``errorMessage``) plus ``details``, so a refusal inside the envelope, a crash Lambda
  reports (``FunctionError`` header, payload ``{"errorType", "errorMessage",
  "stackTrace"}``) and a failed Step Functions task (whose ``Catch`` reads the same
  ``errorType``) are one shape. State machine tasks answer their result bare and raise
  their refusals, since Step Functions' ``Retry``/``Catch`` match on ``errorType``.

``invoke`` is the one client: it returns the result, raises ``FunctionRefused`` for a
refusal and ``FunctionFailed`` for a crash or an answer outside the envelope. No client is
built here (the caller passes a zero-argument factory), and nothing reads the environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seglift.keys import validate_shop_domain

# Every model here is built on first use (``defer_build``), not when this module is imported:
# building them all took ~40 ms of a cold start, and the API imports this module on every
# cold start while only its few routes that invoke another function ever use one.
_BUILT_ON_FIRST_USE = ConfigDict(defer_build=True)


class FunctionRequest(BaseModel):
    """What one function sends another: the action, the shop, the action's own fields.

    Subclasses type an action's fields; this base keeps unknown fields (``extra="allow"``)
    so a function can validate the envelope first and its action's fields next."""

    model_config = ConfigDict(extra="allow", **_BUILT_ON_FIRST_USE)

    action: str = Field(min_length=1)
    shop: str

    @field_validator("shop")
    @classmethod
    def _valid_shop(cls, value: str) -> str:
        return validate_shop_domain(value)

    def payload(self) -> bytes:
        return json.dumps(self.model_dump(mode="json", exclude_none=True)).encode()


class ExportRequest(FunctionRequest):
    """API -> export function: a segment's members as CSV; with ``job_id`` (an
    asynchronous call) the outcome is recorded on that job (seglift.storage.job_repository)."""

    action: Literal["export"] = "export"
    segment_id: str
    metrics: list[str] = Field(default_factory=list)
    bom: bool = False
    currency: str = "USD"
    job_id: str | None = None


class DayRequest(FunctionRequest):
    """API -> segments function (segment editor, backfill): an action on the shop's day;
    the action's own fields (condition, customer_id, source, ...) ride along."""

    run_date: date


class JourneyTransitionsRequest(FunctionRequest):
    """API -> metrics function: who moved between a journey's stages from one day to
    another (``from``/``to`` on the wire)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    action: Literal["journey_transitions"] = "journey_transitions"
    stages: list[str] = Field(min_length=1)
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    def payload(self) -> bytes:
        return json.dumps(self.model_dump(mode="json", by_alias=True)).encode()


class CohortsRequest(FunctionRequest):
    """API -> metrics function: the shop's cohorts and re-order curve as of ``day`` (a day
    the daily run did not store), computed and stored as the job ``job_id``."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["cohorts"] = "cohorts"
    day: date
    # An asynchronous call: computed and stored as that job, which the dashboard follows
    # (seglift.storage.job_repository).
    job_id: str = Field(pattern=r"^job_[a-f0-9]{16}$")


class ClvRequest(FunctionRequest):
    """API -> metrics function: the shop's CLV model and its check as of ``day`` (a day
    the daily run did not store), fitted on the history up to that day and stored as the
    job ``job_id``."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["clv"] = "clv"
    day: date
    job_id: str = Field(pattern=r"^job_[a-f0-9]{16}$")


class CreateExperimentRequest(FunctionRequest):
    """API -> measurements function, asynchronously: make the experiment recorded as
    ``creating`` (its members split into groups, ``seglift.measurements.experiment_job``),
    recording the outcome on the job ``job_id``. Ids only: what to split is read from the
    experiment's record, so the payload is the same few hundred bytes at any segment size
    (a synchronous payload is limited to 6 MB, an asynchronous one to 1 MB)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["create_experiment"] = "create_experiment"
    experiment_id: str = Field(pattern=r"^exp_[A-Za-z0-9_-]{1,60}$")
    job_id: str = Field(pattern=r"^job_[a-f0-9]{16}$")


class RecomputeRequest(FunctionRequest):
    """API or pipeline -> measurements function: recompute measurements now."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["recompute"] = "recompute"
    measurement_ids: list[str] | None = None
    run_date: date | None = None


class FunctionError(BaseModel):
    """A refusal or a failure, in Lambda's own field names (``errorType`` is the class of
    the exception; ``errorMessage`` says what went wrong; ``details`` what a caller needs
    to act on it, e.g. the segment and day whose snapshot is missing)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", **_BUILT_ON_FIRST_USE)

    error_type: str = Field(alias="errorType", min_length=1)
    error_message: str = Field(alias="errorMessage")
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, error: BaseException, **details: Any) -> FunctionError:
        return cls(errorType=type(error).__name__, errorMessage=str(error), details=details)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class FunctionReply(BaseModel):
    """A synchronous call's answer: ``ok`` with its ``result``, or not with its ``error``."""

    model_config = ConfigDict(extra="forbid", **_BUILT_ON_FIRST_USE)

    ok: bool
    result: dict[str, Any] | None = None
    error: FunctionError | None = None

    @model_validator(mode="after")
    def _one_of(self) -> FunctionReply:
        if self.ok != (self.error is None) or (self.ok and self.result is None):
            raise ValueError("a reply carries a result when ok, an error when not")
        return self


def succeeded(result: dict[str, Any]) -> dict[str, Any]:
    """The reply to return for a call that did what was asked."""
    return {"ok": True, "result": result}


def refused(error: BaseException, **details: Any) -> dict[str, Any]:
    """The reply to return for a request the function refuses (the caller can fix it)."""
    return {"ok": False, "error": FunctionError.of(error, **details).as_json()}


class FunctionRefused(Exception):
    """The called function refused the request; ``error`` says why, in its words."""

    def __init__(self, function: str, error: FunctionError) -> None:
        super().__init__(f"{function} refused: {error.error_type}: {error.error_message}")
        self.function = function
        self.error = error


class FunctionFailed(RuntimeError):
    """The called function crashed, or answered outside the envelope (a bug, not a
    refusal); ``error`` carries Lambda's ``errorType``/``errorMessage`` when it had any."""

    def __init__(self, function: str, error: FunctionError) -> None:
        super().__init__(f"{function} failed: {error.error_type}: {error.error_message}"[:500])
        self.function = function
        self.error = error


def read_reply(function: str, response: dict[str, Any]) -> dict[str, Any]:
    """The result of a ``lambda.invoke`` response, or FunctionRefused/FunctionFailed."""
    raw = response["Payload"].read() or b"null"
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if response.get("FunctionError"):
        try:
            error = FunctionError.model_validate(answer)
        except ValidationError:
            error = FunctionError(errorType="Error", errorMessage=repr(answer)[:300])
        raise FunctionFailed(function, error)
    try:
        reply = FunctionReply.model_validate(answer)
    except ValidationError as bad:
        raise FunctionFailed(function, FunctionError(
            errorType="BadReply",
            errorMessage=f"answered outside the envelope: {raw[:200]!r} ({bad.error_count()} "
                         "problems)")) from bad
    if reply.error is not None:
        raise FunctionRefused(function, reply.error)
    assert reply.result is not None  # the validator guarantees it
    return reply.result


class FunctionTimedOut(Exception):
    """The called function did not answer within the caller's read timeout (the caller's
    own deadline, e.g. the API's below API Gateway's 29 s). The function may still finish:
    its answer is lost, nothing it stores is."""

    def __init__(self, function: str) -> None:
        super().__init__(f"{function} did not answer in time")
        self.function = function


class FunctionBusy(Exception):
    """Lambda refused to start the called function: the account's or the function's
    concurrency is used up (``TooManyRequestsException``). Worth retrying shortly."""

    def __init__(self, function: str) -> None:
        super().__init__(f"{function} is at its concurrency limit")
        self.function = function


_BUSY_CODES = ("TooManyRequestsException",)


def invoke(lambda_client: Callable[[], Any], function: str,
           request: FunctionRequest) -> dict[str, Any]:
    """Call ``function`` synchronously with ``request``; its result (see module doc).
    ``FunctionTimedOut`` when the client's read timeout passes first, ``FunctionBusy`` when
    Lambda throttles the call."""
    try:
        response = lambda_client().invoke(FunctionName=function,
                                          InvocationType="RequestResponse",
                                          Payload=request.payload())
    except (ReadTimeoutError, ConnectTimeoutError) as late:
        raise FunctionTimedOut(function) from late
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _BUSY_CODES:
            raise FunctionBusy(function) from error
        raise
    return read_reply(function, response)


def invoke_async(lambda_client: Callable[[], Any], function: str,
                 request: FunctionRequest) -> None:
    """Hand ``request`` to ``function`` without waiting (Lambda queues it, retries twice)."""
    lambda_client().invoke(FunctionName=function, InvocationType="Event",
                           Payload=request.payload())
