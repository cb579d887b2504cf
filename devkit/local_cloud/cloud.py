"""The local cloud: template.yaml deployed into moto, with the gaps moto leaves bridged.

``LocalCloud`` is built from the template and nothing else. Tests and the demo never
create a table or queue by hand: they ask the cloud for the physical names of the
template's logical resources. If a resource changes in template.yaml, the local cloud
changes with it.

What moto does not do, and what stands in here (details in each module):
- Lambda runs in-process (``lambda_runtime``) instead of in Docker;
- the state machines are created in moto's *executing* Step Functions backend, with the
  template's ``DefinitionSubstitutions`` resolved from the deployed stack; Wait states are
  time-compressed, ``startExecution.sync:2`` is made to work and a Distributed Map fails
  when its items fail beyond what it tolerates (``stepfunctions_bridge``);
- moto enforces no IAM: every AWS operation a function or a state machine performs is
  recorded (``aws_calls``, ``state_machine_calls``) and checked against its role in the
  transformed template (``iam``, ``policy_violations``);
- SQS delivery follows Lambda's semantics (``sqs_poller``), scaled out as the template's
  mapping says (concurrent in-process invocations on warm-container threads, ``environ``,
  ``moto_threads``); containers' boto3 sessions share the parsed service models
  (``shared_models``: in AWS each cold start parses them on its own CPU);
- the EventBridge schedule is fired on request (``fire_schedule``) with the rule's input,
  to its target (a function or a state machine);
- SES identities declared in the template are verified through the SES API (moto's
  CloudFormation has no ``AWS::SES::EmailIdentity``); sent mail is read from moto;
- the REST API is served by ``api_adapter``;
- the template's CloudWatch alarms are created through the CloudWatch API, and the metrics
  a run emitted are collected and the alarms evaluated on them (``monitoring``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from devkit.local_cloud import iam, monitoring, moto_speed, moto_threads, shared_models
from devkit.local_cloud import template as sam
from devkit.local_cloud.api_adapter import LocalApiServer, routes_from_template
from devkit.local_cloud.lambda_runtime import InProcessLambdaRuntime
from devkit.local_cloud.sqs_poller import SqsLambdaPoller
from devkit.local_cloud.state_machine_calls import StateMachineCalls
from devkit.local_cloud.stepfunctions_bridge import StepFunctionsBridge
from seglift.observability import NAMESPACE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"
ARTIFACTS_BUCKET = "seglift-local-artifacts"
# The template's AlarmEmail when none is given: the local cloud sends no mail anyway.
LOCAL_ALARM_EMAIL = "operator@example.com"
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class PolicyAudit:
    """What one local stack's functions did in AWS, checked against their roles."""

    stack_name: str
    calls: int
    actions: dict[str, list[str]]  # function logical id -> sorted distinct IAM actions
    violations: list[str]


# Every stopped local stack's audit, for the test session's IAM report (tests/conftest.py).
POLICY_AUDITS: list[PolicyAudit] = []


# What the functions sign presigned URLs and POST policies with (the local S3 relay checks
# POST signatures with it, as S3 would with the role's credentials).
LOCAL_SECRET_ACCESS_KEY = _AWS_ENV["AWS_SECRET_ACCESS_KEY"]
LOCAL_ACCESS_KEY_ID = _AWS_ENV["AWS_ACCESS_KEY_ID"]


class LambdaInvocationError(RuntimeError):
    """A function returned an error; the message carries its type and message."""


@dataclass(frozen=True)
class SentEmail:
    source: str
    to: list[str]
    subject: str
    body: str


class LocalCloud:
    def __init__(
        self,
        *,
        parameters: dict[str, str] | None = None,
        project_root: Path = PROJECT_ROOT,
        region: str = "us-east-1",
        stack_name: str = "seglift-local",
        serve_api: bool = False,
        api_port: int = 0,
        redelivery_delay: float | None = 0.0,
        wait_time_scale: float = 0.0,
    ) -> None:
        self.project_root = project_root
        self.region = region
        self.stack_name = stack_name
        self.redelivery_delay = redelivery_delay
        self._parameters = dict(parameters or {})
        self._serve_api = serve_api
        self._api_port = api_port
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.runtime = InProcessLambdaRuntime(base_environment={**_AWS_ENV})
        # Wait states sleep this share of their seconds (0: none); see stepfunctions_bridge.
        self.stepfunctions = StepFunctionsBridge(wait_time_scale)
        # The state machines' own AWS calls, recorded beside the functions' for the IAM check.
        self.state_machine_calls = StateMachineCalls(self.runtime.aws_calls)
        self.resources: dict[str, str] = {}
        self.outputs: dict[str, str] = {}
        self.removed_resources: list[str] = []
        self.sam_template: dict[str, Any] = {}
        self.cfn_template: dict[str, Any] = {}
        self.poller: SqsLambdaPoller | None = None
        self.api: LocalApiServer | None = None
        self.state_machine_arns: dict[str, str] = {}
        self._effective_parameters: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        for key, value in {**_AWS_ENV, "AWS_DEFAULT_REGION": self.region}.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        moto_threads.install()
        moto_speed.install()
        shared_models.install()
        self.runtime.install()
        self.stepfunctions.install()
        self.state_machine_calls.install()
        try:
            self._deploy()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.poller:
            self.poller.stop()
        self._stop_running_executions()
        if self.runtime.aws_calls and self.resources:
            POLICY_AUDITS.append(self.policy_audit())
        if self.api:
            self.api.stop()
            self.api = None
        InProcessLambdaRuntime.uninstall()
        StepFunctionsBridge.uninstall()
        StateMachineCalls.uninstall()
        moto_speed.uninstall()
        shared_models.uninstall()
        if self._mock:
            self._mock.stop()
            self._mock = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def client(self, service: str) -> Any:
        # No proxies: botocore would look them up by iterating os.environ, which the
        # in-process runtime swaps while a function runs in another thread (Step Functions,
        # concurrent API requests), and the iteration then fails with a KeyError.
        return boto3.client(service, region_name=self.region, config=Config(proxies={}))

    # -- deployment -----------------------------------------------------------------
    def _upload_artifact(self, key: str, body: bytes) -> str:
        self.client("s3").put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)
        return f"s3://{ARTIFACTS_BUCKET}/{key}"

    def _deploy(self) -> None:
        parameters = dict(self._parameters)
        if self._serve_api:
            stage = sam.parameter_values(
                sam.load_sam_template(self.project_root / "template.yaml"), {}
            ).get("Stage", "dev")
            self.api = LocalApiServer([], self._invoke_api, stage=stage, port=self._api_port)
            parameters.setdefault("AppBaseUrl", self.api.url)
            parameters.setdefault("ApiBaseUrl", self.api.url)

        self._effective_parameters = parameters
        self.client("s3").create_bucket(Bucket=ARTIFACTS_BUCKET)
        self.sam_template = sam.load_sam_template(self.project_root / "template.yaml")
        if "AlarmEmail" in self.sam_template.get("Parameters", {}):
            parameters.setdefault("AlarmEmail", LOCAL_ALARM_EMAIL)
        packaged = sam.package(self.sam_template, self.project_root, self._upload_artifact)
        transformed = sam.transform(packaged, parameters, self.region, self.client("iam"))
        resolved = sam.resolve_parameter_conditions(transformed, parameters)
        self.cfn_template, self.removed_resources = sam.without_unsupported(resolved)

        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=self.stack_name,
            TemplateBody=json.dumps(self.cfn_template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cfn.describe_stacks(StackName=self.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(
                f"local stack failed: {stack['StackStatus']} {stack.get('StackStatusReason')}"
            )
        paginator = cfn.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=self.stack_name):
            for resource in page["StackResourceSummaries"]:
                self.resources[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

        self._create_executing_state_machines()
        self._verify_email_identities(parameters)
        self._create_alarms(resolved)
        self.poller = SqsLambdaPoller.from_event_source_mappings(
            self.client("sqs"),
            self.client("lambda"),
            redelivery_delay=self.redelivery_delay,
            acting_as=self.runtime.acting_as,
            allow_concurrency=self.runtime.allow_concurrency,
        )
        if self.api:
            api_id = next(
                name
                for name, r in self.sam_template["Resources"].items()
                if r["Type"] == "AWS::Serverless::Api"
            )
            self.api.routes = routes_from_template(self.sam_template, api_id)
            self.api.start()

    def _resolve(self, value: Any) -> str:
        """A DefinitionSubstitutions value (Ref / GetAtt) -> the deployed resource's value."""
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return self.resources[value["Ref"]]
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            resource_type = self.cfn_template["Resources"][logical]["Type"]
            physical = self.resources[logical]
            if resource_type == "AWS::Lambda::Function" and attribute == "Arn":
                return self.client("lambda").get_function(FunctionName=physical)["Configuration"][
                    "FunctionArn"
                ]
            if resource_type == "AWS::IAM::Role" and attribute == "Arn":
                return self.client("iam").get_role(RoleName=physical)["Role"]["Arn"]
            if resource_type == "AWS::SQS::Queue" and attribute == "Arn":
                return self.client("sqs").get_queue_attributes(
                    QueueUrl=physical, AttributeNames=["QueueArn"]
                )["Attributes"]["QueueArn"]
            if resource_type == "AWS::SQS::Queue" and attribute == "QueueName":
                return physical.rstrip("/").rsplit("/", 1)[-1]
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name in sorted(self.resources, key=len, reverse=True):
                text = text.replace("${" + name + "}", self.resources[name])
            if "${" not in text:
                return text
        raise ValueError(f"the local cloud cannot resolve {value!r}; extend LocalCloud._resolve")

    def _create_executing_state_machines(self) -> None:
        sfn = self.client("stepfunctions")
        for logical, resource in self.cfn_template["Resources"].items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            properties = resource["Properties"]
            definition = properties.get("DefinitionString")
            if isinstance(definition, dict) and "Fn::Join" in definition:
                separator, parts = definition["Fn::Join"]
                definition = separator.join(parts)
            for name, value in properties.get("DefinitionSubstitutions", {}).items():
                definition = definition.replace("${" + name + "}", self._resolve(value))
            if "${" in definition:
                raise ValueError(f"{logical}: unresolved substitution left in the definition")
            arn = self.resources[logical]
            created = sfn.create_state_machine(
                name=arn.rsplit(":", 1)[-1],
                definition=definition,
                roleArn=self._resolve(properties["RoleArn"]),
                type=properties.get("StateMachineType", "STANDARD"),
            )
            if created["stateMachineArn"] != arn:
                raise RuntimeError(
                    f"{logical}: executing state machine ARN {created['stateMachineArn']} != {arn}"
                )
            self.state_machine_arns[logical] = arn
            self.state_machine_calls.register(arn)

    def _verify_email_identities(self, parameters: dict[str, str]) -> None:
        values = sam.parameter_values(self.sam_template, parameters)
        ses = self.client("ses")
        for resource in self.sam_template["Resources"].values():
            if resource["Type"] != "AWS::SES::EmailIdentity":
                continue
            identity = resource["Properties"]["EmailIdentity"]
            if isinstance(identity, dict) and "Ref" in identity:
                identity = values[identity["Ref"]]
            ses.verify_email_identity(EmailAddress=identity)

    def _create_alarms(self, template: dict[str, Any]) -> None:
        """The template's alarms, created through the CloudWatch API (moto's CloudFormation
        cannot), their Ref/GetAtt/Sub values resolved from the deployed stack."""
        cloudwatch = self.client("cloudwatch")
        for logical, resource in template["Resources"].items():
            if resource["Type"] != "AWS::CloudWatch::Alarm":
                continue
            if set(self.removed_resources).intersection(sam.references(resource)):
                continue  # it watches something the local cloud could not deploy
            properties = resource["Properties"]
            arguments: dict[str, Any] = {
                "AlarmName": properties.get("AlarmName") or f"{self.stack_name}-{logical}",
                "Dimensions": [{"Name": d["Name"], "Value": self._resolve(d["Value"])}
                               for d in properties.get("Dimensions", [])],
                "AlarmActions": [self._resolve(a) for a in properties.get("AlarmActions", [])],
            }
            if "AlarmDescription" in properties:
                arguments["AlarmDescription"] = self._resolve(properties["AlarmDescription"])
            for key in ("Namespace", "MetricName", "Statistic", "ExtendedStatistic", "Period",
                        "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
                        "ComparisonOperator", "TreatMissingData", "Unit"):
                if key in properties:
                    arguments[key] = properties[key]
            cloudwatch.put_metric_alarm(**arguments)

    # -- monitoring -------------------------------------------------------------------------
    def alarm_definitions(self) -> list[monitoring.AlarmDefinition]:
        """The deployed alarms (the template's), as CloudWatch describes them."""
        paginator = self.client("cloudwatch").get_paginator("describe_alarms")
        return [monitoring.AlarmDefinition.from_cloudwatch(alarm)
                for page in paginator.paginate(AlarmTypes=["MetricAlarm"])
                for alarm in page["MetricAlarms"]]

    def metric_datapoints(self) -> list[monitoring.Datapoint]:
        """Every datapoint the run so far would have given CloudWatch (see ``monitoring``)."""
        points = monitoring.lambda_datapoints(list(self.runtime.invocations))
        sfn = self.client("stepfunctions")
        for arn in self.state_machine_arns.values():
            described = [sfn.describe_execution(executionArn=e["executionArn"])
                         for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
            points += monitoring.execution_datapoints(arn, described)
        sqs = self.client("sqs")
        now = time.time()
        for logical, resource in self.cfn_template["Resources"].items():
            if resource["Type"] != "AWS::SQS::Queue":
                continue
            url = self.resources[logical]
            # The API's ApproximateNumberOfMessages is CloudWatch's ...MessagesVisible.
            visible = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
            points.append(monitoring.queue_depth_datapoint(
                url.rstrip("/").rsplit("/", 1)[-1], int(visible), now))
        return points

    def operator_view(self, namespace: str = NAMESPACE) -> monitoring.OperatorView:
        """The run's metrics, and the template's alarms evaluated on them."""
        points = self.metric_datapoints()
        outcomes = [monitoring.evaluate(alarm, points) for alarm in self.alarm_definitions()]
        return monitoring.OperatorView(namespace, points, outcomes)

    # -- views of the deployed stack ---------------------------------------------------------
    def physical(self, logical_id: str) -> str:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise KeyError(
                f"template.yaml has no deployed resource {logical_id!r}; "
                f"deployed: {sorted(self.resources)}"
            ) from None

    def function_environment(self, logical_id: str) -> dict[str, str]:
        configuration = self.client("lambda").get_function(FunctionName=self.physical(logical_id))
        return configuration["Configuration"].get("Environment", {}).get("Variables", {})

    # -- IAM: what the functions did against what their roles allow ---------------------------
    def policy_violations(self, template: dict[str, Any] | None = None) -> list[iam.Violation]:
        """Every AWS operation a function or state machine performed that its role in the
        transformed template (or in ``template``, a changed copy of it) does not allow (moto
        itself enforces no IAM)."""
        template = self.cfn_template if template is None else template
        resolver = iam.IntrinsicResolver(
            template,
            self.resources,
            {**sam.parameter_values(self.sam_template, self._effective_parameters),
             "AWS::StackName": self.stack_name},
            self.region,
        )
        return iam.violations(list(self.runtime.aws_calls), template, self.resources, resolver)

    def policy_audit(self) -> PolicyAudit:
        logical_of = {physical: logical for logical, physical in self.resources.items()}
        actions: dict[str, set[str]] = {}
        for call in list(self.runtime.aws_calls):
            function = logical_of.get(call.function, call.function)
            actions.setdefault(function, set()).update(a for a, _ in call.actions)
        try:
            found = [str(v) for v in self.policy_violations()]
        except (KeyError, ValueError) as error:
            found = [f"the IAM check could not run: {error}"]
        return PolicyAudit(
            self.stack_name,
            len(self.runtime.aws_calls),
            {name: sorted(names) for name, names in sorted(actions.items())},
            found,
        )

    # -- driving it -------------------------------------------------------------------------
    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function synchronously through moto's Lambda API; raise on a function error."""
        response = self.client("lambda").invoke(
            FunctionName=self.physical(logical_id), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise LambdaInvocationError(
                f"{logical_id} failed: {payload.get('errorType')}: {payload.get('errorMessage')}"
            )
        return payload

    def _invoke_api(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.invoke(logical_id, event)

    def fire_schedule(self) -> list[Any]:
        """Fire every scheduled EventBridge rule once, as EventBridge would at its time:
        a function target is invoked (its result returned), a state machine target gets an
        execution started (its ARN returned; ``wait_for_executions`` awaits it)."""
        events = self.client("events")
        results = []
        for rule in events.list_rules()["Rules"]:
            if not rule.get("ScheduleExpression"):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                payload = (
                    json.loads(target["Input"])
                    if "Input" in target
                    else {
                        "version": "0",
                        "id": "local",
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "account": ACCOUNT_ID,
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "region": self.region,
                        "resources": [rule["Arn"]],
                        "detail": {},
                    }
                )
                if ":states:" in target["Arn"]:
                    # EventBridge names the execution itself (moto would leave it None).
                    started = self.client("stepfunctions").start_execution(
                        stateMachineArn=target["Arn"], input=json.dumps(payload),
                        name=f"schedule-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}")
                    results.append(started["executionArn"])
                    continue
                function = target["Arn"].rsplit(":", 1)[-1]
                logical = next(k for k, v in self.resources.items() if v == function)
                results.append(self.invoke(logical, payload))
        return results

    def executions(self, status: str | None = None, sfn: Any = None) -> list[dict[str, Any]]:
        """Every execution of every state machine (all pages; ``status`` filters).
        ``sfn``: a Step Functions client to list with (a poll reuses one: making a client
        costs more than the listing)."""
        pages = (sfn or self.client("stepfunctions")).get_paginator("list_executions")
        found = []
        for arn in self.state_machine_arns.values():
            for page in pages.paginate(stateMachineArn=arn,
                                       **({"statusFilter": status} if status else {})):
                found.extend(page["executions"])
        return found

    def _stop_running_executions(self, timeout_s: float = 30.0) -> None:
        """Stop what is still running (a test that started a run and did not wait for it),
        so that no execution of this cloud goes on into the next local cloud of the
        process, whose state machines may have the same names."""
        if not self._mock or not self.state_machine_arns:
            return
        sfn = self.client("stepfunctions")
        for execution in self.executions(status="RUNNING", sfn=sfn):
            with contextlib.suppress(ClientError):  # it ended meanwhile
                sfn.stop_execution(executionArn=execution["executionArn"],
                                   cause="the local cloud stopped")
        deadline = time.monotonic() + timeout_s
        while self.executions(status="RUNNING", sfn=sfn):
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def wait_for_executions(self, timeout_s: float = 300.0,
                            poll_s: float = 0.25) -> list[dict[str, Any]]:
        """Wait until no execution is RUNNING; return every execution's description.

        One filtered listing per state machine per poll, not a description of every
        execution: with hundreds of shops the poll itself would otherwise compete with
        the workflow for the interpreter (it was most of a 300-shop run's time)."""
        deadline = time.monotonic() + timeout_s
        sfn = self.client("stepfunctions")
        while self.executions(status="RUNNING", sfn=sfn):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Step Functions executions still running after {timeout_s:.0f}s"
                )
            time.sleep(poll_s)
        return [sfn.describe_execution(executionArn=e["executionArn"])
                for e in self.executions(sfn=sfn)]

    def drain_queues(self, timeout_s: float = 120.0) -> None:
        assert self.poller is not None
        self.poller.drain(timeout_s)

    def sent_emails(self) -> list[SentEmail]:
        from moto.ses.models import ses_backends

        backend = ses_backends[ACCOUNT_ID][self.region]
        emails = []
        for message in backend.sent_messages:
            destinations = getattr(message, "destinations", {}) or {}
            to = list(destinations.get("ToAddresses", [])) if isinstance(destinations, dict) else []
            emails.append(
                SentEmail(
                    source=getattr(message, "source", ""),
                    to=to,
                    subject=getattr(message, "subject", "") or "",
                    body=getattr(message, "body", "") or "",
                )
            )
        return emails
