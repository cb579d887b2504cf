"""The CloudFormation that SAM turns template.yaml into, and cfn-lint run over it.

cfn-lint on template.yaml alone misses rules that only see the generated resources: the
event source mapping SAM generates for an SQS event is where Lambda refuses a queue whose
visibility timeout is shorter than the function's timeout (E3505). ``make package`` lints
this transformed template with errors fatal; tests check the same rule directly.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from devkit.local_cloud.template import Template, load_sam_template, parameter_values

REGION = "us-east-1"


class _NoManagedPolicies:
    """samtranslator asks IAM for managed policy ARNs only when a template names a managed
    policy by its bare name; this template names none, and a lint needs no AWS account."""

    def load(self) -> dict[str, str]:
        return {}


def _with_remote_code(template: Template) -> Template:
    """Local code paths replaced by s3:// URIs, as after `sam package` (the transform does
    not read code, but it refuses local paths)."""
    packaged = copy.deepcopy(template)
    for resource in packaged.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri", "DefinitionUri"):
            location = properties.get(field)
            if isinstance(location, str) and not location.startswith("s3://"):
                key = location.strip("/").replace("/", "-") or "root"
                properties[field] = f"s3://seglift-artifacts/{key}"
    return packaged


def transformed_template(path: Path, overrides: dict[str, str] | None = None) -> Template:
    """template.yaml after samtranslator's transform, with the parameters' defaults."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = load_sam_template(path)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=REGION),
    )
    return translator.translate(
        _with_remote_code(template),
        parameter_values(template, overrides or {}),
        get_managed_policy_map=_NoManagedPolicies().load,
    )


def lint(template: Template) -> subprocess.CompletedProcess[str]:
    """cfn-lint over a CloudFormation template; its exit code has bit 2 set on errors."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "transformed.json"
        path.write_text(json.dumps(template, indent=1))
        return subprocess.run(
            [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", str(path)],
            capture_output=True, text=True, check=False,
        )


def lint_errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines of a parseable cfn-lint run (warnings and notes are not fatal)."""
    return [line for line in result.stdout.splitlines() if re.search(r":E\d{4}:", line)]


def sqs_mappings(template: Template) -> list[dict[str, Any]]:
    """Each SQS event source mapping: its function, queue and both timeouts (seconds)."""
    resources = template["Resources"]
    found = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        queue_ref = properties["EventSourceArn"].get("Fn::GetAtt", [None])[0]
        function_ref = properties["FunctionName"]["Ref"]
        queue = resources.get(queue_ref)
        if queue is None or queue["Type"] != "AWS::SQS::Queue":
            continue
        found.append({
            "mapping": name,
            "queue": queue_ref,
            "function": function_ref,
            "visibility_timeout": int(queue["Properties"].get("VisibilityTimeout", 30)),
            "function_timeout": int(resources[function_ref]["Properties"].get("Timeout", 3)),
        })
    return found


def main() -> int:
    template = transformed_template(Path("template.yaml"))
    result = lint(template)
    print(result.stdout, end="")
    print(result.stderr, end="", file=sys.stderr)
    errors = lint_errors(result)
    if errors or result.returncode & 2 or result.returncode & 1:
        print(f"cfn-lint: {len(errors)} error(s) in the SAM-transformed template", file=sys.stderr)
        return 1
    print("cfn-lint: the SAM-transformed template has no errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
