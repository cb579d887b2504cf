"""Which AWS operations each Lambda function performs, as IAM would authorise them.

moto enforces no IAM: a function whose role lacks a permission works locally and fails in
AWS (an export written with ``Tagging`` needs ``s3:PutObjectTagging`` besides
``s3:PutObject``). So while a function runs in the in-process runtime, every botocore call
it makes is recorded here as the IAM actions and resource ARNs AWS would check, and
``devkit.local_cloud.iam`` checks them against the function's role in the transformed
template.

How calls are attributed: the runtime pushes the function onto a stack for the length of
an invocation (``acting_as``); a nested synchronous invocation pushes the callee. The stack
is a context variable: a thread starts without it, and a task a function hands to worker
threads in a copy of its context (``seglift.concurrency``) carries it, so the function's
concurrent S3 calls are checked against its role like the others.
A client can instead be bound to an actor for its whole life (``bind``): the state
machines' interpreter makes its calls through clients bound to the executing state machine
(``devkit.local_cloud.state_machine_calls``), whatever thread runs them. Calls on a thread
with no function through an unbound client (tests, the local cloud's own set-up) are not
recorded.
Two hooks catch every call, whoever created the client (boto3, Powertools, PynamoDB's own
botocore session): ``BaseClient._make_api_call`` for API calls, and the S3 presigners for
URLs and POST forms, which a browser later uses with the function's credentials.

The action mapping follows the Service Authorization Reference; operations without a
special rule map to ``<prefix>:<OperationName>``.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlparse

from botocore import signers
from botocore.client import BaseClient

ACCOUNT_ID = "123456789012"  # moto's account


@dataclass(frozen=True)
class AwsCall:
    """One operation a function performed (or presigned): what IAM checks for it."""

    function: str  # the function's physical name, or the state machine's ARN
    service: str  # botocore's service name, e.g. "stepfunctions"
    operation: str  # botocore's operation name, e.g. "PutObject"
    actions: tuple[tuple[str, str], ...]  # (IAM action, resource ARN) pairs, all needed
    presigned: bool = False


_actors: contextvars.ContextVar[tuple[tuple[list[AwsCall], str], ...]] = \
    contextvars.ContextVar("seglift_aws_actors", default=())
_installed = False
_install_lock = threading.Lock()


def _stack() -> tuple[tuple[list[AwsCall], str], ...]:
    return _actors.get()


@contextmanager
def acting_as(sink: list[AwsCall], function_name: str) -> Iterator[None]:
    """Record this context's AWS calls into ``sink`` as made by ``function_name``."""
    install()
    token = _actors.set((*_stack(), (sink, function_name)))
    try:
        yield
    finally:
        _actors.reset(token)


_ACTOR = "_seglift_aws_actor"


def bind(client: BaseClient, sink: list[AwsCall], actor: str) -> BaseClient:
    """Record every call ``client`` makes into ``sink`` as made by ``actor`` (a physical
    name or ARN), on whichever thread it is made."""
    install()
    setattr(client, _ACTOR, (sink, actor))
    return client


def record(sink: list[AwsCall], actor: str, service: str, operation: str,
           actions: tuple[tuple[str, str], ...]) -> None:
    """Record what AWS does with an actor's role without an API call the local cloud can
    see (Step Functions' managed EventBridge rule for ``.sync`` tasks, a Distributed Map's
    child executions)."""
    sink.append(AwsCall(actor, service, operation, actions))


def _record(service: str, signing_name: str, region: str, operation: str,
            params: dict[str, Any], presigned: bool = False,
            bound: tuple[list[AwsCall], str] | None = None) -> None:
    if bound is None:
        stack = _stack()
        if not stack:
            return
        bound = stack[-1]
    sink, function = bound
    actions = tuple(required_actions(signing_name, region, operation, params))
    sink.append(AwsCall(function, service, operation, actions, presigned))


# ---------------------------------------------------------------- hooks
def install() -> None:
    """Hook botocore once per process; the hooks record nothing outside ``acting_as``."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original_call = BaseClient._make_api_call
        original_url = signers.generate_presigned_url
        original_post = signers.generate_presigned_post

        def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]
                          ) -> Any:
            meta = self.meta
            _record(meta.service_model.service_name, meta.service_model.signing_name,
                    meta.region_name, operation_name, api_params,
                    bound=getattr(self, _ACTOR, None))
            return original_call(self, operation_name, api_params)

        def generate_presigned_url(self: BaseClient, ClientMethod: str,
                                   Params: dict[str, Any] | None = None,
                                   *args: Any, **kwargs: Any) -> str:
            meta = self.meta
            operation = meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
            _record(meta.service_model.service_name, meta.service_model.signing_name,
                    meta.region_name, operation, dict(Params or {}), presigned=True)
            return original_url(self, ClientMethod, Params, *args, **kwargs)

        def generate_presigned_post(self: BaseClient, Bucket: str, Key: str,
                                    Fields: dict[str, Any] | None = None,
                                    *args: Any, **kwargs: Any) -> dict[str, Any]:
            params: dict[str, Any] = {"Bucket": Bucket, "Key": Key}
            if (Fields or {}).get("tagging"):
                params["Tagging"] = Fields["tagging"]  # type: ignore[index]
            meta = self.meta
            _record(meta.service_model.service_name, meta.service_model.signing_name,
                    meta.region_name, "PutObject", params, presigned=True)
            return original_post(self, Bucket, Key, Fields, *args, **kwargs)

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        # Looked up when each client class is created, so clients made from now on use them.
        signers.generate_presigned_url = generate_presigned_url  # type: ignore[assignment]
        signers.generate_presigned_post = generate_presigned_post  # type: ignore[assignment]
        _installed = True


# ---------------------------------------------------------------- operation -> IAM
def _s3(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def _s3_actions(operation: str, p: dict[str, Any]) -> list[tuple[str, str]]:
    bucket = str(p.get("Bucket", "*"))
    key = p.get("Key")
    obj = _s3(bucket, str(key)) if key is not None else _s3(bucket, "*")
    versioned = bool(p.get("VersionId"))
    tagged = bool(p.get("Tagging"))
    if operation in ("GetObject", "HeadObject"):
        return [("s3:GetObjectVersion" if versioned else "s3:GetObject", obj)]
    if operation in ("PutObject", "CreateMultipartUpload"):
        return [("s3:PutObject", obj)] + ([("s3:PutObjectTagging", obj)] if tagged else [])
    if operation in ("UploadPart", "CompleteMultipartUpload"):
        return [("s3:PutObject", obj)]
    if operation == "CopyObject":
        source = p.get("CopySource")
        if isinstance(source, dict):
            source_arn = _s3(str(source.get("Bucket")), str(source.get("Key")))
        else:
            source_arn = "arn:aws:s3:::" + str(source).lstrip("/").split("?", 1)[0]
        needed = [("s3:PutObject", obj), ("s3:GetObject", source_arn)]
        if tagged and p.get("TaggingDirective") == "REPLACE":
            needed.append(("s3:PutObjectTagging", obj))
        return needed
    if operation == "DeleteObject":
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", obj)]
    if operation == "DeleteObjects":
        return [
            ("s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject",
             _s3(bucket, str(item["Key"])))
            for item in (p.get("Delete") or {}).get("Objects", [])
        ]
    simple = {
        "ListObjects": ("s3:ListBucket", False),
        "ListObjectsV2": ("s3:ListBucket", False),
        "HeadBucket": ("s3:ListBucket", False),
        "ListObjectVersions": ("s3:ListBucketVersions", False),
        "ListMultipartUploads": ("s3:ListBucketMultipartUploads", False),
        "GetBucketLocation": ("s3:GetBucketLocation", False),
        "AbortMultipartUpload": ("s3:AbortMultipartUpload", True),
        "ListParts": ("s3:ListMultipartUploadParts", True),
        "GetObjectTagging": ("s3:GetObjectVersionTagging" if versioned else "s3:GetObjectTagging",
                             True),
        "PutObjectTagging": ("s3:PutObjectVersionTagging" if versioned else "s3:PutObjectTagging",
                             True),
    }
    if operation in simple:
        action, on_object = simple[operation]
        return [(action, obj if on_object else _s3(bucket))]
    return [(f"s3:{operation}", obj if key is not None else _s3(bucket))]


def _table(region: str, name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb_actions(region: str, operation: str, p: dict[str, Any]) -> list[tuple[str, str]]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", _table(region, t)) for t in p.get("RequestItems", {})]
    if operation == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                 "ConditionCheck": "ConditionCheckItem"}
        return [
            (f"dynamodb:{kinds[kind]}", _table(region, body["TableName"]))
            for item in p.get("TransactItems", []) for kind, body in item.items()
        ]
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", _table(region, item["Get"]["TableName"]))
                for item in p.get("TransactItems", [])]
    table = str(p.get("TableName", "*"))
    return [(f"dynamodb:{operation}", _table(region, table, p.get("IndexName")))]


def _queue_arn(region: str, p: dict[str, Any]) -> str:
    if "QueueUrl" in p:
        account, name = urlparse(str(p["QueueUrl"])).path.strip("/").split("/")[-2:]
        return f"arn:aws:sqs:{region}:{account}:{name}"
    return f"arn:aws:sqs:{region}:{p.get('QueueOwnerAWSAccountId', ACCOUNT_ID)}:" + str(
        p.get("QueueName", "*")
    )


def _parameter(region: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def _function_arn(region: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"


def _identity(region: str, source: str) -> str:
    address = parseaddr(source)[1] or source
    return f"arn:aws:ses:{region}:{ACCOUNT_ID}:identity/{address}"


def required_actions(prefix: str, region: str, operation: str, p: dict[str, Any]
                     ) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS checks for one operation."""
    if prefix == "s3":
        return _s3_actions(operation, p)
    if prefix == "dynamodb":
        return _dynamodb_actions(region, operation, p)
    if prefix == "sqs":
        action = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                  "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}.get(operation,
                                                                                 operation)
        return [(f"sqs:{action}", _queue_arn(region, p))]
    if prefix == "ssm":
        if operation == "GetParametersByPath":
            return [("ssm:GetParametersByPath", _parameter(region, str(p.get("Path", "*"))))]
        names = p.get("Names") or [p.get("Name", "*")]
        return [(f"ssm:{operation}", _parameter(region, str(n))) for n in names]
    if prefix == "lambda":
        action = "InvokeFunction" if operation in ("Invoke", "InvokeAsync") else operation
        return [(f"lambda:{action}", _function_arn(region, str(p.get("FunctionName", "*"))))]
    if prefix == "states":
        target = p.get("stateMachineArn") or p.get("executionArn") or "*"
        return [(f"states:{operation}", str(target))]
    if prefix == "ses":
        if operation in ("SendEmail", "SendRawEmail", "SendTemplatedEmail"):
            source = str(p.get("Source") or p.get("FromEmailAddress") or "*")
            return [(f"ses:{operation}", _identity(region, source))]
        return [(f"ses:{operation}", "*")]
    return [(f"{prefix}:{operation}", "*")]
