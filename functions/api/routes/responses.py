"""OpenAPI ``responses`` entries for the error shape, so the document lists every 4xx."""

from __future__ import annotations

from typing import Any

from api.job_models import JobOut
from api.models import ErrorResponse

_DESCRIPTIONS = {
    400: "Invalid request: the error names the field and what to fix",
    401: "Missing or invalid Shopify session token",
    403: "The app is not installed on this shop any more (uninstalled or redacted)",
    404: "No such resource in this shop",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    415: "The body is not JSON",
    429: "This shop used its budget for this kind of request: see Retry-After",
    502: "Shopify answered with an error: the message says what to do",
    503: "Shopify or seglift is busy right now: try again in a minute (see Retry-After)",
    504: "The work took longer than a request can wait (the API answers before API "
         "Gateway's 29 s): it may still finish; look again in a minute",
}
# The Location header of a 202 whose body is a job (GET /jobs/{job_id} follows it).
JOB_LOCATION = "/jobs/{job_id}: the job to follow until it has succeeded or failed"
_STRING = {"type": "string"}
# Headers the handler sends with an error status (api.handler): how long to wait.
_ERROR_HEADERS = {
    429: {"Retry-After": {"description": "Seconds until this shop's budget allows the "
                                         "request again.", "required": True,
                          "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
    503: {"Retry-After": {"description": "Seconds to wait before trying again.",
                          "required": True,
                          "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}

# Statuses every route with a request body can answer, whatever its own rules.
BODY_ERRORS = (400, 413, 415)
# Statuses of a route that waits for another function: throttled (503) or too slow (504).
SYNC_CALL_ERRORS = (503, 504)


def responses(ok: int, description: str, *errors: int, session: bool = True,
              location: str | None = None) -> dict[int, Any]:
    """The success entry (its schema comes from the route's return type; 204 has none) and
    one error-shape entry per status in ``errors``, plus 401: every such route checks a
    token or a signature, and 403 on routes behind a session token (``session``): the
    shop must still have the app installed. ``location``: what the success's Location
    header names (every 202 sends one: where to follow the work it started); 429 and 503
    state their Retry-After."""
    entries: dict[int, Any] = {ok: {"description": description}}
    if ok == 204:
        entries[ok]["content"] = {}
    if location is not None:
        entries[ok]["headers"] = {"Location": {"description": location, "required": True,
                                               "schema": _STRING}}
    for status in sorted({401, *errors, *((403,) if session else ())}):
        entries[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorResponse}},
            **({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {}),
        }
    return entries


def responses_or_job(ok_model: Any, description: str, job: str, *errors: int
                     ) -> dict[int, Any]:
    """``responses(200, ...)`` of a route that answers ``ok_model`` when its figures are
    stored and otherwise starts computing them: 202 with the job (``JobOut``, what it
    computes: ``job``) and its Location. The 200's schema is ``ok_model``'s (the route's
    return type names both)."""
    entries = responses(200, description, *errors)
    entries[200]["content"] = {"application/json": {"model": ok_model}}
    entries[202] = {"description": job, "content": {"application/json": {"model": JobOut}},
                    "headers": {"Location": {"description": JOB_LOCATION, "required": True,
                                             "schema": _STRING}}}
    return dict(sorted(entries.items()))
