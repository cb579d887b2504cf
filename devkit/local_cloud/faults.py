"""Faults in a function of the local cloud, for one shop: a failing step of a workflow.

The Shopify emulator injects Shopify's faults (revoked tokens, slow bulk exports); this
injects ours: a named action of a function fails for one shop, as a crashed invocation
(Lambda reports ``errorType``/``errorMessage``, Step Functions' ``Retry``/``Catch`` see it)
while every other shop's invocations run the real handler. It goes through
``InProcessLambdaRuntime.override_handler``, so the state machine, the retries and the
recording of the failure are all the real ones.

``fail_step(cloud, "segments.handler.lambda_handler", "run_day", shop)`` fails the
shop's day-run. When the day-run is sharded, the same call naming the shard step's
handler and action (and ``when`` picking one shard of the shop) fails one shard.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class InjectedFault(RuntimeError):
    """The failure a test injected (its class is the ``errorType`` Step Functions sees)."""


def fail_step(cloud: Any, handler: str, action: str, shop: str, *,
              message: str = "injected fault: this step ran out of memory",
              when: Callable[[dict[str, Any]], bool] = lambda event: True) -> list[dict[str, Any]]:
    """Fail ``handler``'s ``action`` for ``shop`` (and events ``when`` accepts); returns the
    list the failed events are appended to, so a test can show the fault really fired."""
    module, _, attribute = handler.rpartition(".")
    real = getattr(importlib.import_module(module), attribute)
    fired: list[dict[str, Any]] = []

    def faulty(event: Any, context: Any) -> Any:
        if (isinstance(event, dict) and event.get("action") == action
                and event.get("shop") == shop and when(event)):
            fired.append(event)
            raise InjectedFault(message)
        return real(event, context)

    cloud.runtime.override_handler(handler, faulty)
    return fired
