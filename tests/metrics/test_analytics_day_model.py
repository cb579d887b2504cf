"""The shop analytics step applies the purchase model the day-run fitted that day instead
of fitting it again: the stored CLV model and predictions are the same to the bit, so
/clv serves the model the day's prediction features were made with."""

from __future__ import annotations

import boto3
from moto import mock_aws

from metrics import analytics
from metrics.logic import DayModels
from seglift import keys
from seglift.analytics import clv
from seglift.dayrun.compute import day_context, shard_features
from seglift.segments.tables import LakeTables
from tests.metrics.analytics_store import RUN_DATE, TablesReader, shop_store
from tests.metrics.test_analytics_logic import (
    FakeAnalytics,
    FakeJourneys,
    FakeSnapshots,
    FakeWriter,
)

SHOP = "demo-shop.myshopify.com"
BUCKET = "day-model-test"


def _run(day_model):
    out, writer = FakeAnalytics(), FakeWriter()
    analytics.compute_shop_analytics(
        SHOP, RUN_DATE, [], reader=TablesReader(shop_store(regulars=True)),
        snapshots=FakeSnapshots(), store=out, journeys=FakeJourneys(), writer=writer,
        day_model=day_model)
    key = keys.clv_predictions_key(SHOP, RUN_DATE)
    return out.items[(SHOP, "shop", "clv", RUN_DATE.isoformat())], writer.written[key]


def _day_model():
    """The model as the day-run's context step fits it, from the shop's orders."""
    reader = TablesReader(shop_store(regulars=True))
    tables = LakeTables.of(orders=reader.read_table("orders"),
                           refunds=reader.read_table("refunds"))
    model = day_context([shard_features(tables, RUN_DATE).stats]).predictions
    assert model is not None and model.bgnbd is not None
    return model


def test_the_days_stored_model_is_applied_not_refitted(monkeypatch):
    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "x"),
                        ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    fitted, predictions = _run(lambda: None)  # no stored model: fitted here
    assert fitted["status"] == "fitted"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        models = DayModels(s3, BUCKET)
        assert models.read(SHOP, RUN_DATE) is None
        s3.put_object(Bucket=BUCKET, Key=keys.prediction_model_key(SHOP, RUN_DATE),
                      Body=_day_model().model_dump_json().encode())
        stored = models.read(SHOP, RUN_DATE)

    def no_fit(*args, **kwargs):
        raise AssertionError("the analytics step fitted the model again")

    monkeypatch.setattr(clv, "fit_clv_model", no_fit)
    applied, applied_predictions = _run(lambda: stored)
    assert applied == fitted
    assert applied_predictions.equals(predictions)
