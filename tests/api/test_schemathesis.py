"""Property-based API testing with schemathesis: every operation of the committed OpenAPI
document (docs/openapi.json), fed generated inputs (valid and invalid), against the API
running on the local cloud, must never answer with a 5xx.

A handful of examples per operation keeps the run around a minute; the requests carry a
real session token of an installed shop, so generated inputs reach the routes' own
validation and logic rather than stopping at authentication.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from devkit.local_stack import local_stack
from devkit.store.generator import StoreSpec, generate_store

pytestmark = pytest.mark.e2e

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SHOP = "fuzzed-shop.myshopify.com"
EXAMPLES_PER_OPERATION = 8



@pytest.fixture(scope="module")
def stack():
    with local_stack([generate_store(StoreSpec(domain=SHOP, customers=20, seed=5))]) as s:
        yield s


def operations() -> list[Any]:
    loaded = schemathesis.openapi.from_path(str(DOCUMENT))
    return [result.ok() for result in loaded.get_all_operations()]


def server_errors(operation: Any, stack: Any, statuses: list[int]) -> list[str]:
    """Run ``operation`` with generated inputs; the 5xx answers, each with a curl line.
    Every status seen is appended to ``statuses``."""
    found: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        headers = {"Authorization": f"Bearer {stack.session_token(SHOP)}"}
        response = case.call(base_url=stack.cloud.api.url, headers=headers)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            found.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                         f"{response.text[:300]}\n  {case.as_curl_command(headers=headers)}")

    run()
    return found


def test_the_document_covers_the_api():
    paths = {operation.path for operation in operations()}
    assert {"/segments", "/segments/{segment_id}/exports", "/auth/install",
            "/webhooks"} <= paths


def test_no_generated_request_gets_a_server_error(stack):
    statuses: list[int] = []
    failures = [line for operation in operations()
                for line in server_errors(operation, stack, statuses)]
    assert failures == []
    # The inputs went past authentication and validation into the routes, too.
    assert any(200 <= status < 300 for status in statuses)
    assert {400, 404} <= set(statuses)
