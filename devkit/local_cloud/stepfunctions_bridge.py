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
- **A Distributed Map fails when its items fail.** moto counts a failed child workflow
  and carries on as if it had succeeded (its output ``null``), so the state after the
  Map ran on a missing shard's output. Step Functions fails the Map Run, and with it the
  Map state, with ``States.ExceedToleratedFailureThreshold`` ("The specified tolerated
  failure threshold was exceeded") once more items failed or timed out than
  ``ToleratedFailureCount`` / ``ToleratedFailurePercentage`` allow (neither given: none
  may fail; both given: exceeding either fails it); the Map's ``Retry``/``Catch`` see that
  error, never the item's own ("Tolerated failure threshold for Distributed Map state",
  AWS Step Functions Developer Guide). Checked once every item has run: Step Functions
  may also run items on after the threshold is crossed, before the Map Run fails.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
    wait_function,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

_ORIGINAL_WAIT = wait_function.WaitFunction._wait_interval
_SFN = sfn_service.StateTaskServiceSfn
_ORIGINAL_NORMALISE_PARAMETERS = _SFN._normalise_parameters
_ORIGINAL_EVAL_SERVICE_TASK = _SFN._eval_service_task
_ORIGINAL_NORMALISE_RESPONSE = _SFN._normalise_response

_STATE_MAP = state_map.StateMap
_ORIGINAL_MAP_PROPS = _STATE_MAP.from_state_props
_DISTRIBUTED = distributed.DistributedIterationComponent
_ORIGINAL_MAP_RUN = _DISTRIBUTED._map_run
THRESHOLD_EXCEEDED = "The specified tolerated failure threshold was exceeded"

_PARAMETER_NAMES = {"StateMachineArn": "stateMachineArn", "Input": "input", "Name": "name"}


def _sfn_cased(value: dict[str, Any]) -> None:
    """boto3's ``executionArn`` -> Step Functions' ``ExecutionArn``, in place."""
    for key in list(value):
        if key and key[0].islower():
            value[key[0].upper() + key[1:]] = value.pop(key)


def threshold_exceeded(failed: int, total: int, count: int | None,
                       percentage: float | None) -> bool:
    """Step Functions' rule: ``count``/``percentage`` are None when the Map does not give
    them; given neither, a single failed item fails the Map Run."""
    if count is None and percentage is None:
        return failed > 0
    over_count = count is not None and failed > count
    over_share = percentage is not None and total > 0 and 100.0 * failed / total > percentage
    return over_count or over_share


def _map_run_failed(env: Any) -> FailureEventException:
    error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
    return FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName(typ=error),
        event_type=HistoryEventType.ExecutionFailed,
        event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
            error=error.to_name(), cause=THRESHOLD_EXCEEDED))))


class StepFunctionsBridge:
    """Installs the patches; one per local cloud (``LocalCloud`` owns it)."""

    def __init__(self, time_scale: float = 0.0) -> None:
        self.time_scale = time_scale
        self.waited_seconds = 0.0
        self.waits = 0
        self.failed_map_runs = 0  # Distributed Map Runs failed by their items
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

        def map_props(state: Any, state_props: Any) -> None:
            _ORIGINAL_MAP_PROPS(state, state_props)
            # Which thresholds the definition gives (moto fills in 0 for a missing one).
            state.iteration_component.seglift_tolerance_given = (
                state_props.get(ToleratedFailureCountDecl) is not None,
                state_props.get(ToleratedFailurePercentageDecl) is not None)

        def map_run(component: Any, env: Any, eval_input: Any) -> None:
            _ORIGINAL_MAP_RUN(component, env, eval_input)
            items = eval_input.map_run_record.item_counter
            count_given, percentage_given = getattr(component, "seglift_tolerance_given",
                                                    (False, False))
            failed = items.failed.get() + items.timed_out.get()
            if threshold_exceeded(
                    failed, items.total.get(),
                    eval_input.tolerated_failure_count if count_given else None,
                    eval_input.tolerated_failure_percentage if percentage_given else None):
                with bridge._lock:
                    bridge.failed_map_runs += 1
                env.stack.pop()  # the items' outputs: the Map has none
                raise _map_run_failed(env)

        wait_function.WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
        _STATE_MAP.from_state_props = map_props  # type: ignore[method-assign]
        _DISTRIBUTED._map_run = map_run  # type: ignore[method-assign]
        _SFN._normalise_parameters = normalise_parameters  # type: ignore[method-assign]
        _SFN._eval_service_task = eval_service_task  # type: ignore[method-assign]
        _SFN._normalise_response = normalise_response  # type: ignore[method-assign]

    @staticmethod
    def uninstall() -> None:
        wait_function.WaitFunction._wait_interval = _ORIGINAL_WAIT  # type: ignore[method-assign]
        _STATE_MAP.from_state_props = _ORIGINAL_MAP_PROPS  # type: ignore[method-assign]
        _DISTRIBUTED._map_run = _ORIGINAL_MAP_RUN  # type: ignore[method-assign]
        _SFN._normalise_parameters = _ORIGINAL_NORMALISE_PARAMETERS  # type: ignore[method-assign]
        _SFN._eval_service_task = _ORIGINAL_EVAL_SERVICE_TASK  # type: ignore[method-assign]
        _SFN._normalise_response = _ORIGINAL_NORMALISE_RESPONSE  # type: ignore[method-assign]
