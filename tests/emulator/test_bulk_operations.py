"""Bulk operations export (and import) through JSONL files, as on Shopify."""

import json
import urllib.request
import uuid

import pytest

from .conftest import SHOP, post

RUN_QUERY = """mutation($q: String!) {
  bulkOperationRunQuery(query: $q, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
STATUS = """query($id: ID!) { node(id: $id) { ... on BulkOperation {
  id status errorCode objectCount rootObjectCount fileSize url partialDataUrl type } } }"""

VIP_EXPORT = """{
  customers(query: "tag:vip") { edges { node {
    id tags defaultEmailAddress { emailAddress }
    orders { edges { node {
      id name customer { id } totalPriceSet { shopMoney { amount } }
      lineItems { edges { node { id quantity product { id title } } } }
    } } }
  } } }
}"""


def run_bulk(emulator, query):
    _, _, body = post(emulator, RUN_QUERY, {"q": query})
    payload = body["data"]["bulkOperationRunQuery"]
    assert payload["userErrors"] == [], payload
    operation_id = payload["bulkOperation"]["id"]
    emulator.wait_for_bulk_operation(operation_id)
    _, _, body = post(emulator, STATUS, {"id": operation_id})
    return payload, body["data"]["node"]


def download(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_a_bulk_query_writes_jsonl_with_parent_ids(emulator, store):
    created, operation = run_bulk(emulator, VIP_EXPORT)
    assert created["bulkOperation"]["status"] == "CREATED"
    assert operation["status"] == "COMPLETED"
    lines = [json.loads(line) for line in download(operation["url"]).splitlines()]
    customers = [line for line in lines if "__parentId" not in line]
    orders = [line for line in lines if line["id"].startswith("gid://shopify/Order/")]
    items = [line for line in lines if line["id"].startswith("gid://shopify/LineItem/")]
    assert [c["id"] for c in customers] == [
        f"gid://shopify/Customer/{n}" for n in (5, 10, 15, 20, 25, 30)
    ]
    assert customers[0] == {
        "id": "gid://shopify/Customer/5",
        "tags": ["vip"],
        "defaultEmailAddress": {"emailAddress": "c5@example.com"},
    }
    expected_orders = [
        o for o in store.orders.values() if o["customer"]["id"] in {c["id"] for c in customers}
    ]
    assert {o["id"] for o in orders} == {o["id"] for o in expected_orders}
    assert all(o["__parentId"] == o["customer"]["id"] for o in orders)
    assert len(items) == 2 * len(orders)
    assert all(item["product"]["title"].startswith("Product ") for item in items)
    # nested objects stay inline, children come right after their parent
    assert orders[0]["totalPriceSet"] == {"shopMoney": {"amount": "24.00"}}
    assert lines[1]["__parentId"] == lines[0]["id"]
    assert operation["objectCount"] == str(len(lines))
    assert operation["rootObjectCount"] == "6"
    assert operation["fileSize"] == str(len(download(operation["url"]).encode()))


def test_bulk_operations_are_not_charged_against_the_bucket(emulator):
    _, _, body = post(emulator, RUN_QUERY, {"q": VIP_EXPORT})
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 10  # the mutation itself, not the export
    assert cost["throttleStatus"]["currentlyAvailable"] >= 1990


def test_current_bulk_operation_is_the_latest(emulator):
    _, operation = run_bulk(emulator, "{ products { edges { node { id title } } } }")
    _, _, body = post(emulator, "{ currentBulkOperation { id status type objectCount } }")
    assert body["data"]["currentBulkOperation"] == {
        "id": operation["id"],
        "status": "COMPLETED",
        "type": "QUERY",
        "objectCount": "3",
    }


def test_an_empty_result_has_no_url(emulator):
    _, operation = run_bulk(
        emulator, '{ customers(query: "tag:nobody") { edges { node { id } } } }'
    )
    assert operation["status"] == "COMPLETED"
    assert operation["objectCount"] == "0"
    assert operation["url"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ shop { name } }", "must contain at least one connection"),
        (
            "{ customers { edges { node { id } } } products { edges { node { id } } } }",
            "exactly one top-level field",
        ),
        (
            "{ customers { edges { node { firstName orders { edges { node { id } } } } } } }",
            "must select the 'id' field",
        ),
        ("{ customers { edges { node { id shoeSize } } } }", "Invalid bulk query"),
        (
            "{ customers { edges { node { id orders { edges { node { id lineItems { edges {"
            " node { id suggestedReturnReasonDefinitions { edges { node { id } } } } } } } } }"
            " } } } }",
            "nesting depth greater than 2",
        ),
        ('mutation { tagsAdd(id: "x", tags: ["a"]) { node { id } } }', "query operation"),
    ],
)
def test_invalid_bulk_queries_are_user_errors(emulator, query, message):
    _, _, body = post(emulator, RUN_QUERY, {"q": query})
    payload = body["data"]["bulkOperationRunQuery"]
    assert payload["bulkOperation"] is None
    [error] = payload["userErrors"]
    assert message in error["message"]
    assert error["field"] == ["query"]
    assert error["code"] == "INVALID"


def test_at_most_five_bulk_operations_run_at_once(emulator):
    state = emulator.shop_state(SHOP)
    for n in range(5):
        state.bulk_operations[f"gid://shopify/BulkOperation/{900 + n}"] = {
            "id": f"gid://shopify/BulkOperation/{900 + n}",
            "status": "RUNNING",
            "type": "QUERY",
        }
    _, _, body = post(emulator, RUN_QUERY, {"q": VIP_EXPORT})
    [error] = body["data"]["bulkOperationRunQuery"]["userErrors"]
    assert error["code"] == "LIMIT_REACHED"


def test_a_finished_operation_cannot_be_canceled(emulator):
    _, operation = run_bulk(emulator, "{ products { edges { node { id } } } }")
    _, _, body = post(
        emulator,
        "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } "
        "userErrors { message } } }",
        {"id": operation["id"]},
    )
    payload = body["data"]["bulkOperationCancel"]
    assert payload["bulkOperation"]["status"] == "COMPLETED"
    assert "cannot be canceled" in payload["userErrors"][0]["message"]


# ---- bulk mutations from a staged upload -------------------------------------------------

STAGE = """mutation($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) {
  stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }"""
RUN_MUTATION = """mutation($m: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $m, stagedUploadPath: $path) {
    bulkOperation { id status } userErrors { field message code } } }"""
TAG_MUTATION = (
    "mutation call($id: ID!, $tags: [String!]!) "
    "{ tagsAdd(id: $id, tags: $tags) { node { id } userErrors { message } } }"
)


def stage(emulator, method):
    _, _, body = post(
        emulator,
        STAGE,
        {
            "input": [
                {
                    "resource": "BULK_MUTATION_VARIABLES",
                    "filename": "tags.jsonl",
                    "mimeType": "text/jsonl",
                    "httpMethod": method,
                }
            ]
        },
    )
    [target] = body["data"]["stagedUploadsCreate"]["stagedTargets"]
    return target, {p["name"]: p["value"] for p in target["parameters"]}


def upload_multipart(target, parameters, content: bytes):
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in parameters.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="tags.jsonl"\r\n'
        "Content-Type: text/jsonl\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        target["url"],
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_a_bulk_tagging_mutation_from_a_multipart_upload(emulator, store):
    target, parameters = stage(emulator, "POST")
    variables = [{"id": f"gid://shopify/Customer/{n}", "tags": ["bulk-vip"]} for n in (1, 2, 999)]
    upload_multipart(target, parameters, "\n".join(json.dumps(v) for v in variables).encode())
    _, _, body = post(emulator, RUN_MUTATION, {"m": TAG_MUTATION, "path": parameters["key"]})
    payload = body["data"]["bulkOperationRunMutation"]
    assert payload["userErrors"] == []
    emulator.wait_for_bulk_operation(payload["bulkOperation"]["id"])
    _, _, body = post(emulator, STATUS, {"id": payload["bulkOperation"]["id"]})
    operation = body["data"]["node"]
    assert (operation["status"], operation["type"], operation["objectCount"]) == (
        "COMPLETED",
        "MUTATION",
        "3",
    )
    results = [json.loads(line) for line in download(operation["url"]).splitlines()]
    assert [r["__lineNumber"] for r in results] == [0, 1, 2]
    assert results[0]["data"]["tagsAdd"] == {
        "node": {"id": "gid://shopify/Customer/1"},
        "userErrors": [],
    }
    assert results[2]["data"]["tagsAdd"]["userErrors"] == [{"message": "Resource does not exist"}]
    assert store.customers["gid://shopify/Customer/2"]["tags"] == ["bulk-vip"]


def test_a_put_upload_works_too(emulator, store):
    target, parameters = stage(emulator, "PUT")
    request = urllib.request.Request(
        target["url"],
        method="PUT",
        data=json.dumps({"id": "gid://shopify/Customer/3", "tags": ["put"]}).encode(),
    )
    urllib.request.urlopen(request, timeout=10).close()
    _, _, body = post(emulator, RUN_MUTATION, {"m": TAG_MUTATION, "path": parameters["key"]})
    emulator.wait_for_bulk_operation(
        body["data"]["bulkOperationRunMutation"]["bulkOperation"]["id"]
    )
    assert store.customers["gid://shopify/Customer/3"]["tags"] == ["put"]


def test_bulk_mutation_user_errors(emulator):
    _, _, body = post(emulator, RUN_MUTATION, {"m": TAG_MUTATION, "path": "tmp/nothing"})
    assert body["data"]["bulkOperationRunMutation"]["userErrors"][0]["code"] == "NO_SUCH_FILE"
    _, _, body = post(emulator, RUN_MUTATION, {"m": "{ shop { name } }", "path": "tmp/x"})
    assert body["data"]["bulkOperationRunMutation"]["userErrors"][0]["code"] == "INVALID_MUTATION"
    target, parameters = stage(emulator, "POST")
    upload_multipart(target, parameters, b'{"id": "x"}\nnot json\n')
    _, _, body = post(emulator, RUN_MUTATION, {"m": TAG_MUTATION, "path": parameters["key"]})
    [error] = body["data"]["bulkOperationRunMutation"]["userErrors"]
    assert error["code"] == "INVALID_STAGED_UPLOAD_FILE"
    assert "line 2" in error["message"]


def test_a_running_operation_can_be_canceled(emulator, store):
    # Holding the store's lock keeps the export waiting for its snapshot of the records.
    with store.lock:
        _, _, body = post(
            emulator, RUN_QUERY, {"q": '{ customers(query: "id:>0") { edges { node { id } } } }'}
        )
        operation_id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        _, _, body = post(
            emulator,
            "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } "
            "userErrors { message } } }",
            {"id": operation_id},
        )
        assert body["data"]["bulkOperationCancel"] == {
            "bulkOperation": {"status": "CANCELING"},
            "userErrors": [],
        }
    operation = emulator.wait_for_bulk_operation(operation_id)
    assert operation["status"] == "CANCELED"
    assert operation["url"] is None
