"""The suppression list: redacted ids are dropped from any batch a sync writes, the list
itself names nobody, and shops do not share it."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift import keys
from seglift.privacy.suppression import LOW_BITS, Suppression
from tests.privacy.conftest import PRIVACY_BUCKET

SHOP = "suppress.myshopify.com"


def _batch(customer_ids, order_ids=None):
    columns = {"customer_id": pa.array(customer_ids, pa.int64())}
    if order_ids is not None:
        columns["order_id"] = pa.array(order_ids, pa.int64())
    return pa.table(columns)


def test_redacted_customers_and_orders_are_dropped_after_a_round_trip(aws):
    suppression = Suppression.load(aws.s3, PRIVACY_BUCKET, SHOP)
    assert suppression.empty
    suppression.add("customer", [7300000029])
    suppression.add("order", [5500000001])
    suppression.save(aws.s3, PRIVACY_BUCKET)

    loaded = Suppression.load(aws.s3, PRIVACY_BUCKET, SHOP)
    batch = _batch([7300000029, 7300000030, None, 7300000029 + LOW_BITS + 1, 7300000031],
                   [1, 2, 3, 4, 5500000001])
    kept = loaded.filter(batch)
    assert kept["customer_id"].to_pylist() == [7300000030, None, 7300000029 + LOW_BITS + 1]
    stored = aws.s3.get_object(Bucket=PRIVACY_BUCKET,
                               Key=keys.suppression_key(SHOP))["Body"].read().decode()
    assert "7300000029" not in stored and "5500000001" not in stored


def test_another_shops_list_does_not_apply(aws):
    suppression = Suppression.load(aws.s3, PRIVACY_BUCKET, SHOP)
    suppression.add("customer", [42])
    suppression.save(aws.s3, PRIVACY_BUCKET)
    other = Suppression.load(aws.s3, PRIVACY_BUCKET, "other.myshopify.com")
    assert other.filter(_batch([42]))["customer_id"].to_pylist() == [42]


@settings(max_examples=40, deadline=None)
@given(redacted=st.sets(st.integers(1, 2**40), max_size=20),
       batch=st.lists(st.integers(1, 2**40), max_size=200))
def test_the_filter_drops_exactly_the_redacted_ids(redacted, batch):
    suppression = Suppression(SHOP)
    suppression.add("customer", redacted)
    kept = suppression.filter(_batch(batch))["customer_id"].to_pylist()
    assert kept == [i for i in batch if i not in redacted]
