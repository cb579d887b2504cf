"""The local cloud's moto speed-ups change nothing moto answers (``moto_speed``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table

from devkit.local_cloud import moto_speed

_PARTITIONS = ["a", "b", "bb", "c"]


def _table_with_items(client: Any, seed: int) -> None:
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                              {"AttributeName": "s", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"},
                   {"AttributeName": "s", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g",
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                               {"AttributeName": "s", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    client.create_table(
        TableName="n", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "N"},
                              {"AttributeName": "s", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"},
                   {"AttributeName": "s", "KeyType": "RANGE"}])
    rng = random.Random(seed)
    for i in range(rng.randint(0, 60)):
        partition = rng.choice(_PARTITIONS)
        client.put_item(TableName="t", Item={
            "p": {"S": partition}, "s": {"S": f"{rng.randint(0, 40):03d}"},
            "g": {"S": rng.choice("xy")}, "v": {"N": str(rng.randint(0, 9))},
            "i": {"N": str(i)}})
        client.put_item(TableName="n", Item={
            "p": {"N": str(rng.randint(0, 3))}, "s": {"N": str(rng.randint(-5, 40))},
            "v": {"N": str(rng.randint(0, 9))}})


def _queries(client: Any) -> list[Callable[[], Any]]:
    def pages(**kwargs: Any) -> Callable[[], Any]:
        return lambda: [page["Items"] for page in
                        client.get_paginator("query").paginate(**kwargs)]

    queries = []
    for partition in [*_PARTITIONS, "missing"]:
        key = {":p": {"S": partition}}
        queries += [
            pages(TableName="t", KeyConditionExpression="p = :p",
                  ExpressionAttributeValues=key),
            pages(TableName="t", KeyConditionExpression="p = :p", Limit=3,
                  ScanIndexForward=False, ExpressionAttributeValues=key),
            pages(TableName="t", KeyConditionExpression="p = :p AND s BETWEEN :a AND :b",
                  Limit=2, ExpressionAttributeValues={**key, ":a": {"S": "010"},
                                                      ":b": {"S": "030"}}),
            pages(TableName="t", KeyConditionExpression="p = :p AND begins_with(s, :a)",
                  ExpressionAttributeValues={**key, ":a": {"S": "02"}}),
            pages(TableName="t", KeyConditionExpression="p = :p AND s > :a",
                  FilterExpression="v > :v", ProjectionExpression="s, v",
                  ExpressionAttributeValues={**key, ":a": {"S": "005"}, ":v": {"N": "3"}}),
            lambda partition=partition: client.query(
                TableName="t", KeyConditionExpression="p = :p", Select="COUNT",
                ExpressionAttributeValues={":p": {"S": partition}})["Count"],
        ]
    queries += [pages(TableName="t", IndexName="by_g", KeyConditionExpression="g = :g",
                      ExpressionAttributeValues={":g": {"S": "x"}})]
    for number in ("0", "1", "1.0", "3"):
        queries += [pages(TableName="n", KeyConditionExpression="p = :p AND s < :s",
                          ExpressionAttributeValues={":p": {"N": number}, ":s": {"N": "20"}})]
    return queries


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_key_queries_answer_the_same_with_the_partition_lookup(seed: int) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table_with_items(client, seed)
        queries = _queries(client)
        moto_speed.uninstall()
        plain = [query() for query in queries]
        moto_speed.install()
        try:
            assert Table.query is not moto_speed._QUERY  # the speed-up is in place
            fast = [query() for query in queries]
        finally:
            moto_speed.uninstall()
    assert fast == plain


def test_a_key_query_reads_its_partition_not_the_whole_table() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table_with_items(client, 1)
        for i in range(50):
            client.put_item(TableName="t", Item={"p": {"S": "other"}, "s": {"S": str(i)}})
        whole: list[int] = []
        original = moto_speed._ALL_ITEMS

        def counting(self: Table) -> list[Any]:
            items = original(self)
            whole.append(len(items))
            return items

        moto_speed.install()
        try:
            moto_speed._ALL_ITEMS = counting
            client.query(TableName="t", KeyConditionExpression="p = :p",
                         ExpressionAttributeValues={":p": {"S": "a"}})
            assert whole == []  # the whole table was never listed (and sorted)
            client.scan(TableName="t")  # a scan still reads everything
            assert len(whole) == 1 and whole[0] >= 50
        finally:
            moto_speed._ALL_ITEMS = original
            moto_speed.uninstall()
