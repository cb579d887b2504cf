"""Run the template's Lambda functions in this process instead of a Docker container.

moto invokes a function through one private method,
``moto.awslambda.models.LambdaFunction._invoke_lambda`` (this is why moto is pinned
exactly). ``InProcessLambdaRuntime.install`` replaces it with a call of the Python handler
named by the function's ``Handler``, imported from the same packages the deployment zip
holds, with the function's own environment variables and a Lambda-like context object.

Handlers read their configuration from ``os.environ`` exactly as in Lambda: each
invocation sees the function's environment laid over the process's, on its own thread only
(``environ.ThreadEnviron``), so two handlers never see each other's environment.
Invocations of most functions are still serialised by a lock (the Step Functions
interpreter and the API adapter call them from their own threads, and their module state
was written for Lambda's one-invocation-per-container). Functions marked
``allow_concurrency`` (those an SQS mapping scales out, see ``sqs_poller``) run as many
invocations at once as their callers start, as Lambda's concurrent containers do.

What this runtime cannot do: interrupt a handler at its timeout. A handler that overruns
is reported as Lambda reports it ("Task timed out after N seconds") once it returns, and
``context.get_remaining_time_in_millis()`` counts down from the configured timeout so
handlers that checkpoint before their deadline behave as in AWS.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from devkit.local_cloud import aws_calls, environ

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
    started_at: float = 0.0  # time.monotonic() when the handler was called
    event: Any = None
    # What the handler printed (its EMF metric blobs, and its log lines when its logger
    # writes to stdout as in Lambda), and when it started in epoch seconds: the local
    # cloud's metrics are collected from these (devkit.local_cloud.monitoring).
    output: str = ""
    started_epoch: float = 0.0
    # With ``InProcessLambdaRuntime(measure_memory=True)`` (the benchmarks): this process's
    # resident memory when the call started and its high-water mark during the call (the
    # mark is reset before each call; exact for functions the runtime serialises; a
    # concurrent function's figure also holds whatever ran beside it).
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


def _is_metrics_blob(line: str) -> bool:
    return line.startswith('{"_aws"')


class InvocationOutput:
    """``sys.stdout`` while functions run: what a handler prints goes to its own
    invocation's buffer (per thread, nested invocations stacked), like the log stream of
    one Lambda invocation. Put in place while at least one invocation runs rather than
    once, because test runners swap ``sys.stdout`` between tests. At the end of an
    invocation its lines are echoed on, except the EMF metric blobs, which CloudWatch
    would turn into metrics rather than show. Other threads' output passes straight through.
    """

    _install_lock = threading.Lock()

    def __init__(self, target: Any) -> None:
        self.target = target
        self._local = threading.local()
        self._active = 0

    @classmethod
    def enter(cls) -> InvocationOutput:
        """Start capturing this thread's output (installing the capture if needed)."""
        with cls._install_lock:
            current = sys.stdout
            output = current if isinstance(current, cls) else cls(current)
            sys.stdout = output  # type: ignore[assignment]
            output._active += 1
        output._stack().append(io.StringIO())
        return output

    def leave(self) -> str:
        """Stop capturing this thread's output; returns it (and echoes its log lines)."""
        text = self._stack().pop().getvalue()
        shown = [line for line in text.splitlines() if not _is_metrics_blob(line)]
        if shown:
            self.write("\n".join(shown) + "\n")
        with self._install_lock:
            self._active -= 1
            if self._active == 0 and sys.stdout is self:
                sys.stdout = self.target
        return text

    def _stack(self) -> list[io.StringIO]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def write(self, text: str) -> int:
        stack = self._stack()
        return (stack[-1] if stack else self.target).write(text)

    def flush(self) -> None:
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


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
        self._concurrent: set[str] = set()
        self.environ = environ.install()

    def allow_concurrency(self, function_name: str) -> None:
        """Let invocations of ``function_name`` run at the same time (each in its thread)."""
        self._concurrent.add(function_name)

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
        serial = function.function_name not in self._concurrent
        with (
            self._lock if serial else nullcontext(),
            self.environ.overlay(self._environment(function)),
            self.acting_as(function.function_name),
        ):
            measured = self.measure_memory and _reset_peak_rss()
            rss_start = _status_mb("VmRSS") if measured else None
            start = time.monotonic()
            started_epoch = time.time()
            error: str | None = None
            output = InvocationOutput.enter()
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
            finally:
                printed = output.leave()
            self.invocations.append(
                Invocation(
                    function.function_name, function.handler, time.monotonic() - start, error,
                    start, event, printed, started_epoch,
                    rss_start_mb=rss_start,
                    peak_rss_mb=_status_mb("VmHWM") if measured else None,
                )
            )
        return payload, error is not None, ""
