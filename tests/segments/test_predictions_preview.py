"""The editor's preview (segments function, feature cache, moto) of a condition on
predictions says why they are unknown when the history is too short: never a silent 0."""

from __future__ import annotations

from seglift.segments.templates import instantiate_template
from tests.segments.prediction_store import AS_OF, modelled_store
from tests.segments.test_handler_editor import FakeReader, _invoke, cloud

__all__ = ["cloud"]
CHURN = instantiate_template("predicted-likely-to-churn", {}).condition


def _preview(condition, day):
    return _invoke({"action": "preview", "condition": condition, "run_date": day,
                    "sample_size": 0})


def test_a_preview_on_predictions_carries_the_models_reason(cloud, monkeypatch):
    from segments import wiring

    store = modelled_store()
    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(store))
    young = _preview(CHURN, "2024-01-20")
    assert young["member_count"] == 0
    assert young["warnings"][0].startswith("Predictions are not available")
    fitted = _preview(CHURN, AS_OF.isoformat())
    assert fitted["member_count"] > 0 and fitted["warnings"] == []
    plain = _preview({"feature": "order_count", "op": ">=", "value": 1}, "2024-01-20")
    assert plain["member_count"] > 0 and plain["warnings"] == []
