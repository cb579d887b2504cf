"""The fleet simulation's per-shop figures (``devkit.fleet_simulation.per_shop_medians``),
which README's 1,000-shop projection scales: each invocation is counted for the shop its
event names, the fleet's own steps for none, and the medians are over shops."""

from __future__ import annotations

from devkit.fleet_simulation import per_shop_medians, shop_of_event
from devkit.local_cloud.lambda_runtime import Invocation


def _call(event: object, started: float, seconds: float) -> Invocation:
    return Invocation(function_name="f", handler="h", duration_s=seconds, error=None,
                      started_at=started, event=event)


def test_an_invocation_belongs_to_the_shop_its_event_names_at_any_level() -> None:
    assert shop_of_event({"action": "sync", "shop": "a.myshopify.com"}) == "a.myshopify.com"
    assert shop_of_event({"action": "shard_features",
                          "item": {"shop": "b.myshopify.com", "shard": 0}}) == "b.myshopify.com"
    assert shop_of_event({"action": "list_shops", "request": {"source": "seglift.schedule"}}) \
        is None
    assert shop_of_event(None) is None


def test_medians_are_over_shops_and_the_fleet_steps_are_apart() -> None:
    calls = [
        _call({"action": "list_shops"}, 0.0, 0.5),
        _call({"shop": "a"}, 1.0, 1.0), _call({"shop": "a"}, 5.0, 1.0),      # span 5, 2 s
        _call({"item": {"shop": "b"}}, 2.0, 0.5),                           # span 0.5
        _call({"shop": "c"}, 0.0, 2.0), _call({"shop": "c"}, 3.0, 1.0),
        _call({"shop": "c"}, 9.0, 1.0),                                     # span 10, 4 s
    ]
    figures = per_shop_medians(calls)
    assert figures["fleet_invocations"] == 1
    assert figures["shop_invocations_median"] == 2
    assert figures["shop_invocations_max"] == 3
    assert figures["shop_lambda_seconds_median"] == 2.0
    assert figures["shop_span_seconds_median"] == 5.0


def test_no_shop_step_gives_no_medians() -> None:
    assert per_shop_medians([_call({"action": "list_shops"}, 0.0, 1.0)]) == {
        "fleet_invocations": 1}
