"""The Lambda context handlers receive in tests: the local cloud's own model of it, so
tests and the local cloud agree on its attributes and on the remaining-time countdown."""

from __future__ import annotations

from devkit.local_cloud.lambda_runtime import LambdaContext


def lambda_context(function_name: str = "test-function", *, timeout_seconds: float = 60.0
                   ) -> LambdaContext:
    return LambdaContext(
        function_name=function_name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        memory_limit_in_mb=1024,
        timeout_seconds=timeout_seconds,
    )
