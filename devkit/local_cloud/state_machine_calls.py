"""What each state machine does with its role, recorded as the functions' calls are.

A state machine acts with its own execution role: it invokes Lambda functions, reads a
Distributed Map's item list from S3, starts and awaits other executions. moto's interpreter
(``moto.stepfunctions.parser``) performs these as botocore calls through clients it makes
with ``boto_client_for``; here each such client is bound (``aws_calls.bind``) to the state
machine whose execution made it, found from the interpreter's ``Environment`` on the call
stack, so its calls are recorded under the state machine's ARN and checked by
``devkit.local_cloud.iam`` against the role in the transformed template.

Some of what Step Functions does with the role has no API call in moto, and is recorded
as AWS documents it ("IAM policies for nested Step Functions calls", "IAM policies for
using Distributed Map states"):

- a ``.sync`` / ``.sync:2`` ``startExecution`` task awaits the child through the managed
  EventBridge rule ``StepFunctionsGetEventsForStepFunctionsExecutionRule``
  (``events:PutTargets``, ``events:PutRule``, ``events:DescribeRule``) and may stop it
  (``states:StopExecution`` on the child execution);
- a Distributed Map starts each child workflow as an execution of its own state machine
  (``states:StartExecution`` on the state machine, ``states:DescribeExecution`` on the
  child executions ``execution:<name>/<map run>:<id>``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

# The parser imports every state and service-task module, so each module that took its own
# reference to ``boto_client_for`` is loaded by the time ``install`` replaces it.
from moto.stepfunctions.parser.asl.parse import asl_parser  # noqa: F401
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client

from devkit.local_cloud import aws_calls
from devkit.local_cloud.aws_calls import AwsCall

_PARSER = "moto.stepfunctions.parser"
_ORIGINAL_CLIENT_FOR = moto_boto_client.boto_client_for
_SFN = sfn_service.StateTaskServiceSfn  # the states:startExecution task
_ORIGINAL_SYNC = _SFN._build_sync_resolver
_ORIGINAL_SYNC2 = _SFN._build_sync2_resolver
_DISTRIBUTED = distributed.DistributedIterationComponent
_ORIGINAL_MAP_RUN = _DISTRIBUTED._map_run
_FRAMES_SEARCHED = 40


def _environment(start: Any) -> Environment | None:
    """The interpreter's Environment of the nearest caller that has one (``env``)."""
    frame = start
    for _ in range(_FRAMES_SEARCHED):
        if frame is None:
            return None
        candidate = frame.f_locals.get("env")
        if isinstance(candidate, Environment):
            return candidate
        frame = frame.f_back
    return None


def _state_machine(env: Environment) -> str:
    return str(env.states.context_object.context_object_data["StateMachine"]["Id"])


def _modules_using_client_for() -> list[Any]:
    return [module for name, module in list(sys.modules.items())
            if name.startswith(_PARSER) and module is not None
            and getattr(module, "boto_client_for", None) is not None]


def _unless_running(resolver: Callable[[], Any], execution_arn: str) -> Callable[[], Any]:
    """moto's ``.sync`` task calls ``resolver`` every 0.5 s, and each call is a
    DescribeExecution through botocore and moto's request dispatch. With a fleet's 40
    shops each awaiting its day-run at once, that polling took most of a 300-shop run's
    interpreter time (a py-spy profile: two thirds of the samples, against 7% in the
    Lambdas). Step Functions itself is told by an event when the child ends; here the
    child's status is read from moto's execution object while it runs (no request), and
    the real DescribeExecution (recorded for the IAM check, its output converted as
    before) is made once, when it has ended."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    region, account = execution_arn.split(":")[3:5]
    try:
        execution = stepfunctions_parser_backends[account][region].describe_execution(
            execution_arn)
    except Exception:  # not moto's executing backend, or not found: poll as moto does
        return resolver

    def resolve() -> Any:
        status = getattr(execution, "exec_status", None)  # None: not started yet
        if status is None or status == ExecutionStatus.RUNNING:
            return None
        return resolver()

    return resolve


class StateMachineCalls:
    """Installs the recording; one per local cloud, into that cloud's record of calls.

    Only the state machines the cloud registered (``register``, from its template) are
    recorded: an execution another local cloud of the same process left behind (the cloud
    stops its own executions when it stops, but moto's threads may still finish a step)
    must not be checked against this cloud's roles."""

    def __init__(self, sink: list[AwsCall]) -> None:
        self.sink = sink
        self.state_machines: set[str] = set()

    def register(self, state_machine_arn: str) -> None:
        self.state_machines.add(state_machine_arn)

    def install(self) -> None:
        sink = self.sink
        recorder = self
        # What runs a Map Run now (the Step Functions bridge's, installed first).
        running_map_run = _DISTRIBUTED._map_run

        clients: dict[tuple[str, str, str], Any] = {}
        clients_lock = threading.Lock()

        def boto_client_for(*args: Any, **kwargs: Any) -> Any:
            env = _environment(sys._getframe(1))
            if env is None:
                raise RuntimeError("a state machine's client was made outside any execution; "
                                   "update devkit.local_cloud.state_machine_calls for moto")
            state_machine = _state_machine(env)
            if state_machine not in recorder.state_machines:
                return _ORIGINAL_CLIENT_FOR(*args, **kwargs)
            # moto makes a new client for every task it runs (a Lambda invoke, an S3 read):
            # a third of a many-shop run's time went to building clients (endpoint
            # resolution, an SSL context each). One client per state machine, service and
            # arguments serves them all (boto3 clients are thread-safe; moto sets nothing
            # on them and the binding is per state machine).
            key = (repr(args), repr(sorted(kwargs.items())), state_machine)
            with clients_lock:
                client = clients.get(key)
            if client is None:
                client = aws_calls.bind(_ORIGINAL_CLIENT_FOR(*args, **kwargs), sink,
                                        state_machine)
                with clients_lock:
                    client = clients.setdefault(key, client)
            return client

        def awaiting(original: Callable[..., Any]) -> Callable[..., Any]:
            def build_resolver(task: Any, env: Environment, *args: Any, **kwargs: Any) -> Any:
                state_machine = _state_machine(env)
                if state_machine not in recorder.state_machines:
                    return original(task, env, *args, **kwargs)
                submitted = env.stack[-1]
                child = submitted.get("ExecutionArn") if isinstance(submitted, dict) else None
                region, account = state_machine.split(":")[3:5]
                rule = (f"arn:aws:events:{region}:{account}:rule/"
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule")
                actions = tuple((f"events:{a}", rule)
                                for a in ("PutTargets", "PutRule", "DescribeRule"))
                if child:
                    actions += (("states:StopExecution", str(child)),)
                aws_calls.record(sink, state_machine, "stepfunctions", "AwaitExecution",
                                 actions)
                resolver = original(task, env, *args, **kwargs)
                return _unless_running(resolver, str(child)) if child else resolver
            return build_resolver

        def map_run(component: Any, env: Environment, eval_input: Any) -> None:
            state_machine = _state_machine(env)
            if state_machine not in recorder.state_machines:
                running_map_run(component, env, eval_input)
                return
            children = eval_input.map_run_record.map_run_arn.replace(":mapRun:", ":execution:")
            aws_calls.record(sink, state_machine, "stepfunctions", "DistributedMapRun", (
                ("states:StartExecution", state_machine),
                ("states:DescribeExecution", children),
            ))
            running_map_run(component, env, eval_input)

        for module in _modules_using_client_for():
            module.boto_client_for = boto_client_for
        _SFN._build_sync_resolver = awaiting(_ORIGINAL_SYNC)  # type: ignore[method-assign]
        _SFN._build_sync2_resolver = awaiting(_ORIGINAL_SYNC2)  # type: ignore[method-assign]
        _DISTRIBUTED._map_run = map_run  # type: ignore[method-assign]

    @staticmethod
    def uninstall() -> None:
        for module in _modules_using_client_for():
            module.boto_client_for = _ORIGINAL_CLIENT_FOR
        _SFN._build_sync_resolver = _ORIGINAL_SYNC  # type: ignore[method-assign]
        _SFN._build_sync2_resolver = _ORIGINAL_SYNC2  # type: ignore[method-assign]
        _DISTRIBUTED._map_run = _ORIGINAL_MAP_RUN  # type: ignore[method-assign]
