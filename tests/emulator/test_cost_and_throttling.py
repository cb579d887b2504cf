"""Shopify's cost rules and leaky bucket, observed through ``extensions.cost``."""

import pytest

from devkit.shopify_emulator import ShopifyEmulator

from .conftest import SHOP, build_store, post


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def frozen(clock):
    with ShopifyEmulator([build_store()], clock=clock) as running:
        yield running


def cost_of(emulator, document, variables=None):
    _, _, body = post(emulator, document, variables)
    return body["extensions"]["cost"]


def test_scalars_are_free_and_objects_cost_one(frozen):
    cost = cost_of(frozen, "{ shop { name currencyCode plan { publicDisplayName } } }")
    assert cost["requestedQueryCost"] == 2
    assert cost["actualQueryCost"] == 2


def test_a_connection_costs_two_plus_first_times_its_node(frozen):
    document = "{ customers(first: 10) { nodes { id defaultEmailAddress { emailAddress } } } }"
    cost = cost_of(frozen, document)
    assert cost["requestedQueryCost"] == 2 + 10 * 2
    assert cost["actualQueryCost"] == 2 + 10 * 2


def test_first_given_as_a_variable_counts_too(frozen):
    document = "query($n: Int) { customers(first: $n) { nodes { id } } }"
    assert cost_of(frozen, document, {"n": 7})["requestedQueryCost"] == 2 + 7


def test_the_difference_to_the_actual_cost_is_refunded(frozen):
    # 30 customers, 6 of them tagged vip: 100 requested, 2 + 6 returned
    cost = cost_of(frozen, '{ customers(first: 100, query: "tag:vip") { nodes { id } } }')
    assert cost["requestedQueryCost"] == 102
    assert cost["actualQueryCost"] == 8
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000,
        "currentlyAvailable": 2000 - 8,
        "restoreRate": 100,
    }


def test_interfaces_cost_their_most_expensive_fragment(frozen):
    document = """{ node(id: "gid://shopify/Order/1") { id
        ... on Customer { defaultAddress { city } }
        ... on Order { customer { id } totalPriceSet { shopMoney { amount } } } } }"""
    assert cost_of(frozen, document)["requestedQueryCost"] == 1 + 3


def test_each_mutation_costs_ten_even_when_aliased(frozen):
    document = """mutation {
        a: tagsAdd(id: "gid://shopify/Customer/1", tags: ["x"]) { userErrors { message } }
        b: tagsAdd(id: "gid://shopify/Customer/2", tags: ["x"]) { userErrors { message } }
        c: tagsRemove(id: "gid://shopify/Customer/3", tags: ["x"]) { userErrors { message } }
    }"""
    cost = cost_of(frozen, document)
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 30


def test_restore_rate_follows_the_plan():
    stores = [
        build_store("std.myshopify.com", customers=1),
        build_store("plus.myshopify.com", customers=1, plan="plus"),
    ]
    with ShopifyEmulator(stores) as emulator:
        _, _, standard = post(emulator, "{ shop { name } }", shop="std.myshopify.com")
        _, _, plus = post(emulator, "{ shop { name } }", shop="plus.myshopify.com")
    assert standard["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 100
    assert plus["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 1000


def test_a_drained_bucket_throttles_and_refills_with_time(clock):
    document = "{ customers(first: 10) { nodes { id } } }"  # 12 points, all used
    with ShopifyEmulator([build_store()], clock=clock, bucket_size=50) as emulator:
        for _ in range(4):
            _, _, body = post(emulator, document)
            assert "errors" not in body
        status, _, body = post(emulator, document)
        assert status == 200
        assert body["errors"] == [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ]
        assert "data" not in body
        assert body["extensions"]["cost"]["requestedQueryCost"] == 12
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2

        clock.now += 0.1  # 100 points/s: 10 more points -> 12 available
        _, _, body = post(emulator, document)
        assert "errors" not in body
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0

        clock.now += 60  # refills up to the bucket size, never beyond
        _, _, body = post(emulator, "{ shop { name } }")
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 49
        assert emulator.stats.snapshot()["throttled"] == 1
        assert emulator.stats.snapshot()["per_shop"][SHOP]["throttled"] == 1


def test_an_explicit_restore_rate_overrides_the_plan(clock):
    with ShopifyEmulator([build_store()], clock=clock, restore_rate=5000) as emulator:
        _, _, body = post(emulator, "{ shop { name } }")
    assert body["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 5000
