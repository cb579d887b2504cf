"""The GraphQL documents the tagging function sends, and the builder of aliased batches.

``tagsAdd``/``tagsRemove`` take ONE customer id per call, so a batch is one document with
many aliased calls (``c0: tagsAdd(...) c1: tagsAdd(...) ...``). Each call costs 10 points
and a document may request at most 1000, so one document carries at most 100 calls.
"""

from __future__ import annotations

MUTATION_COST = 10
MAX_DOCUMENT_COST = 1000
MAX_ALIASES_PER_DOCUMENT = MAX_DOCUMENT_COST // MUTATION_COST  # 100
# Shopify's input arrays hold at most 250 items: the most ids one ``nodes`` call may take.
MAX_IDS_PER_NODES_QUERY = 250

# The current tags of up to 250 customers; a deleted customer comes back as null.
CUSTOMER_TAGS_GQL = """
query CustomerTags($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Customer {
      id
      tags
    }
  }
}
"""

_MUTATION_FIELD = {"add": "tagsAdd", "remove": "tagsRemove"}


def customer_gid(customer_id: int | str) -> str:
    """Shopify's global id of a customer from its numeric id."""
    return f"gid://shopify/Customer/{int(customer_id)}"


def nodes_query_cost(count: int) -> int:
    """Requested cost of CUSTOMER_TAGS_GQL for ``count`` ids: one object per id."""
    return max(1, count)


def alias(index: int) -> str:
    return f"c{index}"


def build_tags_mutation(action: str, count: int) -> str:
    """One document of ``count`` aliased ``tagsAdd``/``tagsRemove`` calls.

    Variables: ``$tags`` (the one-tag list, shared) and ``$c0 .. $c<count-1>`` (customer
    gids), so the text depends only on (action, count) and Shopify and the emulator can
    cache its parse. Each alias answers ``userErrors``; a deleted customer is a user error.
    """
    if action not in _MUTATION_FIELD:
        raise ValueError(f"action must be 'add' or 'remove', got {action!r}")
    if not 1 <= count <= MAX_ALIASES_PER_DOCUMENT:
        raise ValueError(f"a document holds 1..{MAX_ALIASES_PER_DOCUMENT} calls, got {count}")
    field = _MUTATION_FIELD[action]
    name = "TagsAddBatch" if action == "add" else "TagsRemoveBatch"
    params = ", ".join(f"${alias(i)}: ID!" for i in range(count))
    calls = "\n".join(
        f"  {alias(i)}: {field}(id: ${alias(i)}, tags: $tags) {{ userErrors {{ field message }} }}"
        for i in range(count)
    )
    return f"mutation {name}($tags: [String!]!, {params}) {{\n{calls}\n}}\n"


def mutation_variables(tag: str, customer_gids: list[str]) -> dict[str, object]:
    variables: dict[str, object] = {"tags": [tag]}
    variables.update({alias(i): gid for i, gid in enumerate(customer_gids)})
    return variables


# ------------------------------------------------------------------ bulk mutation path
# One line of the staged JSONL per customer: {"id": "<gid>", "tags": ["<tag>"]}.
BULK_TAGS_ADD_GQL = """
mutation BulkTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

BULK_TAGS_REMOVE_GQL = """
mutation BulkTagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}
"""

STAGED_UPLOADS_CREATE_GQL = """
mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets {
      url
      resourceUrl
      parameters { name value }
    }
    userErrors { field message }
  }
}
"""

BULK_OPERATION_RUN_MUTATION_GQL = """
mutation BulkOperationRunMutation($mutation: String!, $stagedUploadPath: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $stagedUploadPath) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_OPERATION_STATUS_GQL = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id
    status
    errorCode
    objectCount
    url
    partialDataUrl
  }
}
"""


def bulk_mutation_document(action: str) -> str:
    if action == "add":
        return BULK_TAGS_ADD_GQL
    if action == "remove":
        return BULK_TAGS_REMOVE_GQL
    raise ValueError(f"action must be 'add' or 'remove', got {action!r}")
