"""tagsAdd / tagsRemove change the store the way Shopify changes the shop."""

TAGS_ADD = """mutation($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id ... on Customer { tags } } userErrors { field message }
  }
}"""
TAGS_REMOVE = TAGS_ADD.replace("tagsAdd", "tagsRemove")

from .conftest import post  # noqa: E402


def test_tags_added_are_kept_in_the_store_and_bump_updated_at(emulator, store):
    before = store.customers["gid://shopify/Customer/1"]["updatedAt"]
    _, _, body = post(
        emulator, TAGS_ADD, {"id": "gid://shopify/Customer/1", "tags": ["segment-a", "Winter, vip"]}
    )
    assert body["data"]["tagsAdd"] == {
        "node": {"id": "gid://shopify/Customer/1", "tags": ["segment-a", "Winter", "vip"]},
        "userErrors": [],
    }
    record = store.customers["gid://shopify/Customer/1"]
    assert record["tags"] == ["segment-a", "Winter", "vip"]
    assert record["updatedAt"] > before


def test_adding_an_existing_tag_is_idempotent(emulator, store):
    for _ in range(2):
        post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/5", "tags": ["VIP"]})
    assert store.customers["gid://shopify/Customer/5"]["tags"] == ["vip"]


def test_tags_removed_disappear_and_others_stay(emulator, store):
    post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/5", "tags": ["keep", "drop"]})
    _, _, body = post(emulator, TAGS_REMOVE, {"id": "gid://shopify/Customer/5", "tags": ["drop"]})
    assert body["data"]["tagsRemove"]["userErrors"] == []
    assert store.customers["gid://shopify/Customer/5"]["tags"] == ["vip", "keep"]


def test_an_incremental_sync_sees_the_tagged_customer_as_updated(emulator):
    post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/3", "tags": ["x"]})
    _, _, body = post(
        emulator, '{ customers(first: 5, query: "updated_at:>2026-06-01") { nodes { id } } }'
    )
    assert body["data"]["customers"]["nodes"] == [{"id": "gid://shopify/Customer/3"}]


def test_an_unknown_customer_is_a_user_error_on_id(emulator):
    _, _, body = post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/999", "tags": ["x"]})
    assert body["data"]["tagsAdd"] == {
        "node": None,
        "userErrors": [{"field": ["id"], "message": "Resource does not exist"}],
    }


def test_a_malformed_id_and_invalid_tags_are_user_errors(emulator, store):
    _, _, body = post(emulator, TAGS_ADD, {"id": "Customer/1", "tags": ["x"]})
    assert body["data"]["tagsAdd"]["userErrors"][0]["field"] == ["id"]
    _, _, body = post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/1", "tags": ["x" * 256]})
    assert body["data"]["tagsAdd"]["userErrors"][0]["field"] == ["tags"]
    _, _, body = post(emulator, TAGS_ADD, {"id": "gid://shopify/Customer/1", "tags": [" , "]})
    assert body["data"]["tagsAdd"]["userErrors"][0]["field"] == ["tags"]
    assert store.customers["gid://shopify/Customer/1"]["tags"] == []


def test_many_aliased_tag_mutations_in_one_document(emulator, store):
    aliases = "\n".join(
        f'c{n}: tagsAdd(id: "gid://shopify/Customer/{n}", tags: ["batch"]) '
        "{ userErrors { message } }"
        for n in range(1, 21)
    )
    _, _, body = post(emulator, f"mutation {{ {aliases} }}")
    assert all(body["data"][f"c{n}"]["userErrors"] == [] for n in range(1, 21))
    assert body["extensions"]["cost"]["requestedQueryCost"] == 200
    assert all(
        "batch" in store.customers[f"gid://shopify/Customer/{n}"]["tags"] for n in range(1, 21)
    )
