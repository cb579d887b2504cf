"""What moto 5.2.5's Step Functions interpreter lacks for seglift's workflows, bridged.

The local cloud runs the real ASL from ``infra/statemachine/``; these patches only fill
gaps in moto's interpreter (which is why moto is pinned exactly):

- **Wait states are time-compressed.** moto really sleeps a Wait state's seconds; the
  daily workflow waits minutes between checks on a bulk export that takes Shopify hours.
  Here each Wait sleeps ``seconds * time_scale`` of real time (0: just yield), and the
  seconds it stood for are counted (``waited_seconds``) so tests can show how long a
  shop was awaited in workflow time.
- **The ``states:startExecution.sync:2`` integration.** moto passes the ASL's
  ``StateMachineArn``/``Input``/``Name`` to boto3 unchanged (boto3 wants
  ``stateMachineArn``...) and hands back boto3's casing where the ASL reads
  ``ExecutionArn``/``Output``: the parameters and responses are converted both ways as
  Step Functions does.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
    wait_function,
)

_ORIGINAL_WAIT = wait_function.WaitFunction._wait_interval
_SFN = sfn_service.StateTaskServiceSfn
_ORIGINAL_NORMALISE_PARAMETERS = _SFN._normalise_parameters
_ORIGINAL_EVAL_SERVICE_TASK = _SFN._eval_service_task
_ORIGINAL_NORMALISE_RESPONSE = _SFN._normalise_response

_PARAMETER_NAMES = {"StateMachineArn": "stateMachineArn", "Input": "input", "Name": "name"}


def _sfn_cased(value: dict[str, Any]) -> None:
    """boto3's ``executionArn`` -> Step Functions' ``ExecutionArn``, in place."""
    for key in list(value):
        if key and key[0].islower():
            value[key[0].upper() + key[1:]] = value.pop(key)


class StepFunctionsBridge:
    """Installs the patches; one per local cloud (``LocalCloud`` owns it)."""

    def __init__(self, time_scale: float = 0.0) -> None:
        self.time_scale = time_scale
        self.waited_seconds = 0.0
        self.waits = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        bridge = self

        def wait_interval(function: Any, env: Any, wait_seconds: int) -> None:
            with bridge._lock:
                bridge.waited_seconds += max(0, wait_seconds)
                bridge.waits += 1
            # Yield to other executions, then go on (interrupted when the run stops).
            env.program_state_event.wait(max(0.0, wait_seconds * bridge.time_scale))

        def normalise_parameters(task: Any, parameters: dict, boto_service_name: Any = None,
                                 service_action_name: Any = None) -> None:
            _ORIGINAL_NORMALISE_PARAMETERS(task, parameters, boto_service_name,
                                           service_action_name)
            if service_action_name is None:
                for asl_name, boto_name in _PARAMETER_NAMES.items():
                    if asl_name in parameters:
                        parameters[boto_name] = parameters.pop(asl_name)

        def eval_service_task(task: Any, env: Any, *args: Any, **kwargs: Any) -> None:
            _ORIGINAL_EVAL_SERVICE_TASK(task, env, *args, **kwargs)
            response = env.stack[-1]
            if isinstance(response, dict):
                _sfn_cased(response)

        def normalise_response(task: Any, response: Any, boto_service_name: Any = None,
                               service_action_name: Any = None) -> None:
            _ORIGINAL_NORMALISE_RESPONSE(task, response, boto_service_name,
                                         service_action_name)
            if isinstance(response, dict):
                _sfn_cased(response)

        wait_function.WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
        _SFN._normalise_parameters = normalise_parameters  # type: ignore[method-assign]
        _SFN._eval_service_task = eval_service_task  # type: ignore[method-assign]
        _SFN._normalise_response = normalise_response  # type: ignore[method-assign]

    @staticmethod
    def uninstall() -> None:
        wait_function.WaitFunction._wait_interval = _ORIGINAL_WAIT  # type: ignore[method-assign]
        _SFN._normalise_parameters = _ORIGINAL_NORMALISE_PARAMETERS  # type: ignore[method-assign]
        _SFN._eval_service_task = _ORIGINAL_EVAL_SERVICE_TASK  # type: ignore[method-assign]
        _SFN._normalise_response = _ORIGINAL_NORMALISE_RESPONSE  # type: ignore[method-assign]
