"""An API client over ``api.handler.handle`` with fake dependencies and real tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from api import handler
from api.ports import ApiContext
from seglift.auth.session_tokens import issue_session_token
from seglift.storage.job_repository import JobRepository
from tests.api.events import proxy_event
from tests.api.fakes import API_KEY, SECRET, fake_context

SHOP_A = "alpha-store.myshopify.com"
SHOP_B = "bravo-store.myshopify.com"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    @property
    def error(self) -> dict[str, Any]:
        body = self.json
        assert set(body) == {"error"}, body
        assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "field"}
        return body["error"]


class Client:
    """Sends proxy events through the real handler, as ``shop`` unless told otherwise."""

    def __init__(self, api: ApiContext, shop: str | None) -> None:
        self.api = api
        self.shop = shop

    def token(self, shop: str | None = None) -> str:
        return issue_session_token(shop or self.shop, API_KEY, SECRET, 60)

    def request(self, method: str, url: str, *, body: Any = None, headers: dict | None = None,
                auth: str | bool | None = True, **kwargs: Any) -> Reply:
        all_headers = dict(headers or {})
        if auth is True and self.shop:
            all_headers["Authorization"] = f"Bearer {self.token()}"
        elif isinstance(auth, str):
            all_headers["Authorization"] = auth
        event = proxy_event(method, url, body=body, headers=all_headers, **kwargs)
        result = handler.handle(event, None, self.api)
        headers_out = {k: v[0] for k, v in (result.get("multiValueHeaders") or {}).items() if v}
        headers_out.update(result.get("headers") or {})
        return Reply(result["statusCode"], headers_out, result.get("body") or "")

    def get(self, url: str, **kw: Any) -> Reply:
        return self.request("GET", url, **kw)

    def post(self, url: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", url, body=body, **kw)

    def patch(self, url: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("PATCH", url, body=body, **kw)

    def delete(self, url: str, **kw: Any) -> Reply:
        return self.request("DELETE", url, **kw)


@pytest.fixture
def api() -> ApiContext:
    context = fake_context()
    context.shops.add(SHOP_A)
    context.shops.add(SHOP_B, currency="JPY")
    return context


@pytest.fixture
def client(api: ApiContext) -> Client:
    return Client(api, SHOP_A)


@pytest.fixture
def client_b(api: ApiContext) -> Client:
    return Client(api, SHOP_B)


def idempotency_table() -> Any:
    """A DynamoDB client (inside ``mock_aws``) with the template's idempotency table
    shape, named ``idem``: the table the API's jobs and fair-use counters share."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="idem", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return dynamodb


@contextmanager
def moto_jobs(api: ApiContext) -> Iterator[JobRepository]:
    """The API's jobs in the real repository over an in-memory DynamoDB (moto): a route
    that answers with a job records it as it does in AWS, and a test follows it."""
    with mock_aws():
        api.jobs = JobRepository(idempotency_table(), "idem")
        yield api.jobs


@pytest.fixture
def jobs(api: ApiContext) -> Iterator[JobRepository]:
    """The API's jobs recorded in the real repository (``moto_jobs``)."""
    with moto_jobs(api) as repository:
        yield repository


def evaluated(api: ApiContext, shop: str, name: str = "Repeat", members: int = 12) -> Any:
    """A segment that the daily run has evaluated (so it can be tagged)."""
    return api.segments.create(
        shop, name=name, condition={"feature": "order_count", "op": ">=", "value": 2},
        member_count=members, last_evaluated_on=date(2026, 11, 19).isoformat(),
    )


def body_schema_accepts(path: str, method: str) -> Any:
    """Whether the committed-from-code OpenAPI document's request body schema of
    ``method path`` accepts a body: the document's side of a rule the server also checks."""
    import jsonschema

    document = json.loads(handler.openapi_json())
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    root = {"$ref": body["schema"]["$ref"], "components": document["components"]}
    return jsonschema.Draft202012Validator(root).is_valid
