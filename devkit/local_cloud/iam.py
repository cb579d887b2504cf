"""Does a function's role, as the transformed template defines it, allow what it did?

The roles come from samtranslator's output (policy templates such as S3CrudPolicy and
DynamoDBCrudPolicy already expanded into statements); their intrinsic functions are
resolved against the deployed local stack, so resources compare as real ARNs. Evaluation
is IAM's for identity policies without conditions: an explicit Deny wins, otherwise some
Allow must match the action (wildcards ``*`` and ``?``, case-insensitive) and the resource
(wildcards, case-sensitive). A statement with a Condition is never taken as allowing
anything, so the check errs towards a false alarm, never a false pass.

Managed policies SAM attaches are known by their published documents (below); an unknown
managed policy makes the check fail loudly rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from devkit.local_cloud.aws_calls import ACCOUNT_ID, AwsCall

# The AWS managed policies SAM attaches to function roles, from their published documents.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "AWSLambdaBasicExecutionRole": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                       "logs:PutLogEvents"], "Resource": "*"}
    ],
    "AWSXrayWriteOnlyAccess": [
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                       "xray:GetSamplingRules", "xray:GetSamplingTargets",
                                       "xray:GetSamplingStatisticSummaries"], "Resource": "*"}
    ],
    "AWSLambdaSQSQueueExecutionRole": [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                       "sqs:GetQueueAttributes", "logs:CreateLogGroup",
                                       "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "*"}
    ],
}


@dataclass(frozen=True)
class Violation:
    function: str  # logical id of the function or state machine
    operation: str
    action: str
    resource: str

    def __str__(self) -> str:
        return (f"{self.function}: {self.operation} needs {self.action} on {self.resource}, "
                f"which its role does not allow")


@cache
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        if not _matches(_listed(statement["Action"]), action, True):
            return False
    elif _matches(_listed(statement.get("NotAction")), action, True):
        return False
    if "Resource" in statement:
        return _matches(_listed(statement["Resource"]), resource, False)
    return not _matches(_listed(statement.get("NotResource")), resource, False)


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM's answer for one action on one resource, conditions treated as unmet."""
    if any(s.get("Effect") == "Deny" and _applies(s, action, resource) for s in statements):
        return False
    return any(
        s.get("Effect") == "Allow" and not s.get("Condition") and _applies(s, action, resource)
        for s in statements
    )


class IntrinsicResolver:
    """Ref / Fn::GetAtt / Fn::Sub / Fn::Join values of the deployed local stack."""

    def __init__(self, template: dict[str, Any], physical: dict[str, str],
                 parameters: dict[str, str], region: str,
                 attribute: Callable[[str, str, str], str] | None = None) -> None:
        self._resources = template.get("Resources", {})
        self._physical = physical
        self._pseudo = {"AWS::Partition": "aws", "AWS::Region": region,
                        "AWS::AccountId": ACCOUNT_ID, "AWS::URLSuffix": "amazonaws.com",
                        **parameters}
        self._region = region
        self._attribute = attribute

    def _type(self, logical: str) -> str:
        return str(self._resources.get(logical, {}).get("Type", ""))

    def ref(self, logical: str) -> str:
        if logical in self._pseudo:
            return self._pseudo[logical]
        if logical not in self._physical:
            raise KeyError(f"policy refers to {logical!r}, which the local stack did not deploy")
        return self._physical[logical]

    def get_att(self, logical: str, attribute: str) -> str:
        kind, name = self._type(logical), self.ref(logical)
        region = self._region
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"
        if kind == "AWS::SQS::Queue":
            queue = name.rstrip("/").rsplit("/", 1)[-1]
            if attribute == "QueueName":
                return queue
            if attribute == "Arn":
                return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        if kind == "AWS::StepFunctions::StateMachine":
            if attribute == "Name":
                return name.rsplit(":", 1)[-1]
            if attribute == "Arn":
                return name
        if kind == "AWS::SNS::Topic":
            if attribute == "TopicName":
                return name.rsplit(":", 1)[-1]
            if attribute in ("Arn", "TopicArn"):
                return name
        if self._attribute is not None:
            return self._attribute(logical, kind, attribute)
        raise ValueError(f"cannot resolve Fn::GetAtt {logical}.{attribute} ({kind}); "
                         "extend devkit.local_cloud.iam.IntrinsicResolver")

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                logical, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Join":
                separator, parts = value
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(value)
        return {key: self.resolve(value) for key, value in node.items()}

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else value
        resolved = {k: str(self.resolve(v)) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return resolved[name]
            if "." in name and name.split(".", 1)[0] not in self._pseudo:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


# What acts with a role of its own: a function (``Role``) or a state machine (``RoleArn``).
_ROLE_PROPERTY = {"AWS::Lambda::Function": "Role", "AWS::StepFunctions::StateMachine": "RoleArn"}


def role_statements(template: dict[str, Any], function_logical: str,
                    resolver: IntrinsicResolver) -> list[dict[str, Any]]:
    """Every statement of the function's (or state machine's) execution role, intrinsics
    resolved."""
    resources = template["Resources"]
    resource = resources[function_logical]
    role_ref = resource["Properties"][_ROLE_PROPERTY.get(resource["Type"], "Role")]
    if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
        raise ValueError(f"{function_logical}: the check needs its role in the template")
    role = resources[role_ref["Fn::GetAtt"][0]]["Properties"]
    statements: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        statements.extend(_listed_statements(resolver.resolve(policy["PolicyDocument"])))
    for arn in role.get("ManagedPolicyArns", []):
        name = str(resolver.resolve(arn)).rsplit("/", 1)[-1]
        if name not in MANAGED_POLICIES:
            raise ValueError(f"{function_logical}: managed policy {name!r} is unknown to the "
                             "check; add its document to devkit.local_cloud.iam")
        statements.extend(MANAGED_POLICIES[name])
    return statements


def _listed_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statement = document.get("Statement", [])
    return [statement] if isinstance(statement, dict) else list(statement)


def violations(calls: Iterable[AwsCall], template: dict[str, Any], physical: dict[str, str],
               resolver: IntrinsicResolver) -> list[Violation]:
    """Every recorded (function or state machine, action, resource) its role does not
    allow, once each."""
    logical_of = {
        name: logical for logical, name in physical.items()
        if template["Resources"].get(logical, {}).get("Type") in _ROLE_PROPERTY
    }
    statements: dict[str, list[dict[str, Any]]] = {}
    found: dict[tuple[str, str, str], Violation] = {}
    for call in calls:
        logical = logical_of.get(call.function, call.function)
        if logical not in statements:
            statements[logical] = role_statements(template, logical, resolver)
        for action, resource in call.actions:
            if not allowed(statements[logical], action, resource):
                found.setdefault((logical, action, resource),
                                 Violation(logical, call.operation, action, resource))
    return sorted(found.values(), key=lambda v: (v.function, v.action, v.resource))
