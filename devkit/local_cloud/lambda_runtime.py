"""Run the template's Lambda functions in this process instead of a Docker container.

moto invokes a function through one private method,
``moto.awslambda.models.LambdaFunction._invoke_lambda`` (this is why moto is pinned
exactly). ``InProcessLambdaRuntime.install`` replaces it with a call of the Python handler
named by the function's ``Handler``, imported from the same packages the deployment zip
holds, with the function's own environment variables and a Lambda-like context object.

Handlers read their configuration from ``os.environ`` exactly as in Lambda, so each
invocation swaps the process environment for the function's and restores it afterwards.
Invocations are serialised by a lock: the Step Functions interpreter runs executions on
its own threads, and two handlers must never see each other's environment.

What this runtime cannot do: interrupt a handler at its timeout. A handler that overruns
is reported as Lambda reports it ("Task timed out after N seconds") once it returns, and
``context.get_remaining_time_in_millis()`` counts down from the configured timeout so
handlers that checkpoint before their deadline behave as in AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from devkit.local_cloud import aws_calls

_ORIGINAL_INVOKE = LambdaFunction._invoke_lambda


@dataclass
class LambdaContext:
    """The attributes of the real Lambda context object that handlers and Powertools use."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One handler call, kept for tests and for `seglift serve`'s log."""

    function_name: str
    handler: str
    duration_s: float
    error: str | None
    # With ``InProcessLambdaRuntime(measure_memory=True)`` (the benchmarks): this process's
    # resident memory when the call started and its high-water mark during the call (the
    # mark is reset before each call; calls are serialised by the runtime's lock).
    rss_start_mb: float | None = None
    peak_rss_mb: float | None = None


def _status_mb(field_name: str) -> float | None:
    """A ``/proc/self/status`` memory figure (``VmRSS``, ``VmHWM``) in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


class InProcessLambdaRuntime:
    def __init__(self, base_environment: dict[str, str] | None = None,
                 measure_memory: bool = False) -> None:
        self._base_environment = dict(base_environment or {})
        self.measure_memory = measure_memory
        self._lock = threading.RLock()
        self.invocations: list[Invocation] = []
        # Every AWS operation the functions performed, for the IAM check (aws_calls).
        self.aws_calls: list[aws_calls.AwsCall] = []
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}

    # -- installation -------------------------------------------------------------
    def install(self) -> None:
        aws_calls.install()
        runtime = self

        def invoke(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(function, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign]

    def acting_as(self, function_name: str) -> Any:
        """Attribute this thread's AWS calls to ``function_name``'s role while inside."""
        return aws_calls.acting_as(self.aws_calls, function_name)

    @staticmethod
    def uninstall() -> None:
        LambdaFunction._invoke_lambda = _ORIGINAL_INVOKE  # type: ignore[method-assign]

    def override_handler(self, dotted: str, handler: Callable[[Any, Any], Any]) -> None:
        """Run ``handler`` wherever the template names ``dotted`` (tests of the cloud itself)."""
        self._handlers[dotted] = handler

    # -- invocation ---------------------------------------------------------------
    def _handler(self, dotted: str) -> Callable[[Any, Any], Any]:
        if dotted not in self._handlers:
            module_name, _, attribute = dotted.rpartition(".")
            if not module_name:
                raise ValueError(f"Handler {dotted!r} must look like 'package.module.function'")
            self._handlers[dotted] = getattr(importlib.import_module(module_name), attribute)
        return self._handlers[dotted]

    def _environment(self, function: LambdaFunction) -> dict[str, str]:
        environment = dict(self._base_environment)
        environment.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
                "AWS_REGION": function.region,
                "AWS_DEFAULT_REGION": function.region,
                "_HANDLER": function.handler,
            }
        )
        environment.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
        return environment

    @contextmanager
    def _environ(self, environment: dict[str, str]) -> Iterator[None]:
        """The function's environment for the call, then the process's back.

        Other threads (the API adapter, the SQS poller, tests) read ``os.environ`` at the
        same time, so only the keys the call set are touched, one at a time: clearing and
        refilling the whole mapping would briefly hide every variable (AWS_REGION, PATH)
        from them.
        """
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """Call the handler; return (payload, is_error, logs) as moto expects."""
        if event is None or event == "":
            event = {}
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        context = LambdaContext(
            function_name=function.function_name,
            function_version=str(function.version),
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size),
            timeout_seconds=float(function.timeout),
        )
        with self._lock, self._environ(self._environment(function)), self.acting_as(
            function.function_name
        ):
            measured = self.measure_memory and _reset_peak_rss()
            rss_start = _status_mb("VmRSS") if measured else None
            start = time.monotonic()
            error: str | None = None
            try:
                result = self._handler(function.handler)(event, context)
                elapsed = time.monotonic() - start
                if elapsed > float(function.timeout):
                    error = f"Task timed out after {float(function.timeout):.2f} seconds"
                    payload = json.dumps({"errorMessage": error, "errorType": "Sandbox.Timedout"})
                else:
                    payload = json.dumps(result, default=str)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                payload = json.dumps(
                    {
                        "errorMessage": str(exc),
                        "errorType": type(exc).__name__,
                        "stackTrace": traceback.format_exception(exc),
                    }
                )
            self.invocations.append(
                Invocation(
                    function.function_name, function.handler, time.monotonic() - start, error,
                    rss_start, _status_mb("VmHWM") if measured else None,
                )
            )
        return payload, error is not None, ""
