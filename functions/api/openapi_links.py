"""OpenAPI links: which response field feeds which later request's parameter.

They make the document say how the resources connect (a created segment's ``id`` is the
``segment_id`` of its metrics, exports, tag jobs...), which is what a client generator or
a stateful tester (schemathesis, in tests/api/test_schemathesis.py) needs to follow a
real id from one call into the next rather than guessing ids that never exist.
"""

from __future__ import annotations

from typing import Any

# The operations that take a segment id in the path.
_SEGMENT_OPERATIONS = (
    ("get", "/segments/{segment_id}"),
    ("patch", "/segments/{segment_id}"),
    ("delete", "/segments/{segment_id}"),
    ("get", "/segments/{segment_id}/metrics"),
    ("get", "/segments/{segment_id}/profile"),
    ("get", "/segments/{segment_id}/revenue"),
    ("get", "/segments/{segment_id}/explain"),
    ("get", "/segments/{segment_id}/tag-jobs/preview"),
    ("post", "/segments/{segment_id}/tag-jobs"),
    ("delete", "/segments/{segment_id}/tag-sync"),
    ("post", "/segments/{segment_id}/backfill"),
    ("post", "/segments/{segment_id}/exports"),
)
_JOURNEY_OPERATIONS = (
    ("get", "/journeys/{journey_id}"),
    ("get", "/journeys/{journey_id}/transitions"),
    ("get", "/journeys/{journey_id}/funnel"),
)
# A segment id feeds these bodies' ``segment_id`` (merged into the generated body).
_SEGMENT_BODIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("post", "/measurements", {"segment_id": "{id}"}),
    ("post", "/experiments", {"segment_id": "{id}"}),
    ("post", "/journeys", {"stages": ["{id}"]}),
)


def _path_links(pointer: str, name: str, targets: tuple[tuple[str, str], ...]
                ) -> dict[tuple[str, str], dict[str, Any]]:
    return {target: {"parameters": {name: f"$response.body#{pointer}"}} for target in targets}


def _body_links(pointer: str) -> dict[tuple[str, str], dict[str, Any]]:
    expression = f"$response.body#{pointer}"

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return expression if value == "{id}" else value

    return {(method, path): {"requestBody": fill(body)} for method, path, body in _SEGMENT_BODIES}


def _links_from(pointer: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Links from a response whose ``pointer`` holds a segment id."""
    return {**_path_links(pointer, "segment_id", _SEGMENT_OPERATIONS), **_body_links(pointer)}


# (method, path, status) of a response -> {(method, path) of the target: link fields}.
LINKS: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = {
    ("post", "/segments", "201"): _links_from("/id"),
    ("post", "/segments/lists", "202"): _path_links(
        "/id", "job_id", (("get", "/jobs/{job_id}"),)),
    ("post", "/segments/{segment_id}/backfill", "202"): _path_links(
        "/job/id", "job_id", (("get", "/jobs/{job_id}"),)),
    ("get", "/segments", "200"): {
        **_links_from("/items/0/id"),
        ("get", "/segments"): {"parameters": {"next_token": "$response.body#/next_token"}},
    },
    ("get", "/segments/{segment_id}", "200"): _links_from("/id"),
    ("post", "/segments/{segment_id}/tag-jobs", "202"): _path_links(
        "/id", "job_id", (("get", "/tag-jobs/{job_id}"),)),
    ("post", "/segments/{segment_id}/exports", "202"): _path_links(
        "/id", "job_id", (("get", "/jobs/{job_id}"),)),
    ("get", "/tag-jobs", "200"): _path_links("/items/0/id", "job_id",
                                             (("get", "/tag-jobs/{job_id}"),)),
    ("post", "/journeys", "201"): _path_links("/id", "journey_id", _JOURNEY_OPERATIONS),
    ("get", "/journeys", "200"): _path_links("/items/0/id", "journey_id", _JOURNEY_OPERATIONS),
    ("post", "/measurements", "201"): _path_links(
        "/id", "measurement_id", (("get", "/measurements/{measurement_id}"),)),
    ("get", "/measurements", "200"): _path_links(
        "/items/0/id", "measurement_id", (("get", "/measurements/{measurement_id}"),)),
    ("post", "/experiments", "202"): _path_links(
        "/id", "job_id", (("get", "/jobs/{job_id}"),)),
    # A succeeded experiment job's result is the experiment (another kind's result has
    # another id, which GET /experiments answers 404).
    ("get", "/jobs/{job_id}", "200"): _path_links(
        "/result/id", "experiment_id", (("get", "/experiments/{experiment_id}"),)),
}


def add_links(document: dict[str, Any]) -> None:
    """Put ``LINKS`` into ``document``'s responses, naming targets by operationId."""
    paths = document["paths"]
    for (method, path, status), targets in LINKS.items():
        response = paths[path][method]["responses"][status]
        links = response.setdefault("links", {})
        for (target_method, target_path), fields in targets.items():
            operation_id = paths[target_path][target_method]["operationId"]
            links[operation_id] = {"operationId": operation_id, **fields}
