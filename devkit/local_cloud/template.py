"""template.yaml -> a CloudFormation template moto can deploy, the way `sam package` would.

Steps, each a small function so tests can check them one by one:
1. ``load_sam_template``: YAML with CloudFormation short tags (``!Ref``, ``!GetAtt``...).
2. ``package``: every local ``CodeUri``/``ContentUri`` is zipped and uploaded to an
   artifacts bucket (the template then names ``s3://`` URIs, as after ``sam package``);
   a state machine's ``DefinitionUri`` is read and inlined as ``Definition``.
3. ``transform``: samtranslator's own SAM -> CloudFormation transform.
4. ``resolve_parameter_conditions``: ``Fn::If`` on conditions that only depend on
   parameters is replaced by the chosen branch (moto's CloudFormation would otherwise
   keep references to resources that step 5 removes).
5. ``without_unsupported``: drops what moto cannot deploy (the API Gateway resources SAM
   generates from a Swagger body, SES identities, the dashboard's CloudFront distribution)
   and everything that refers to them. The local API adapter serves the API instead (see
   ``devkit.local_cloud.api_adapter``), the local cloud verifies the template's SES
   identities itself, and ``seglift serve`` serves the dashboard's files
   (``devkit.dashboard_server``).
"""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

Template = dict[str, Any]

# Resource types moto's CloudFormation cannot create; the local cloud stands in for them:
# the API adapter serves the REST API, SES identities are verified through the SES API, and
# the dashboard server stands in for CloudFront (the frontend bucket itself is deployed).
# CloudWatch alarms are created by the local cloud through the CloudWatch API instead
# (moto's CloudFormation has no AWS::CloudWatch::Alarm), see devkit.local_cloud.monitoring.
UNSUPPORTED_PREFIXES = ("AWS::ApiGateway::", "AWS::SES::EmailIdentity", "AWS::CloudFront::",
                        "AWS::CloudWatch::Alarm")
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short tags into their long JSON forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_sam_template(path: Path) -> Template:
    with path.open() as stream:
        return yaml.load(stream, Loader=_CfnLoader)


def zip_directory(directory: Path) -> bytes:
    """A deployment zip of ``directory`` (what `sam build` would hand to Lambda)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(
                d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info")
            )
            for name in sorted(files):
                if name.endswith(".pyc"):
                    continue
                full = Path(root) / name
                archive.write(full, full.relative_to(directory).as_posix())
    return buffer.getvalue()


def package(
    template: Template, project_root: Path, upload: Callable[[str, bytes], str]
) -> Template:
    """Rewrite local code locations to uploaded artifacts and inline state machines.

    ``upload(key, body)`` stores a zip and returns its ``s3://bucket/key`` URI. Directories
    shared by several functions (CodeUri: functions/) are zipped and uploaded once.
    """
    packaged = copy.deepcopy(template)
    uploaded: dict[str, str] = {}

    def artifact(relative: str) -> str:
        if relative not in uploaded:
            directory = (project_root / relative).resolve()
            if not directory.is_dir():
                raise FileNotFoundError(
                    f"template.yaml points at {relative!r}, which is not a directory"
                )
            key = relative.strip("/").replace("/", "-") or "root"
            uploaded[relative] = upload(f"{key}.zip", zip_directory(directory))
        return uploaded[relative]

    for resource in packaged.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri"):
            location = properties.get(field)
            if isinstance(location, str) and not location.startswith("s3://"):
                properties[field] = artifact(location)
        definition_uri = properties.get("DefinitionUri")
        if isinstance(definition_uri, str) and not definition_uri.startswith("s3://"):
            properties["Definition"] = json.loads((project_root / definition_uri).read_text())
            del properties["DefinitionUri"]
    return packaged


def transform(
    template: Template, parameters: dict[str, str], region: str, iam_client: Any
) -> Template:
    """Run samtranslator's transform (needs the region to build ARNs and a IAM client
    to look up managed policies, which moto provides)."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform as sam_transform

    values = {**parameter_values(template, parameters), "AWS::Region": region}
    return sam_transform(copy.deepcopy(template), values, ManagedPolicyLoader(iam_client))


def parameter_values(template: Template, overrides: dict[str, str]) -> dict[str, str]:
    """Every parameter's value: its default unless overridden; unknown names are errors."""
    declared = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ValueError(f"unknown template parameters {unknown}; declared: {sorted(declared)}")
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    values.update(overrides)
    return values


def _evaluate_condition(expression: Any, conditions: dict[str, Any], params: dict[str, str]) -> Any:
    if isinstance(expression, dict) and len(expression) == 1:
        ((op, arg),) = expression.items()
        if op == "Ref":
            if arg not in params:
                raise _NotStatic(arg)
            return params[arg]
        if op == "Condition":
            return _evaluate_condition(conditions[arg], conditions, params)
        if op == "Fn::Equals":
            left, right = (_evaluate_condition(a, conditions, params) for a in arg)
            return str(left) == str(right)
        if op == "Fn::Not":
            return not _evaluate_condition(arg[0], conditions, params)
        if op == "Fn::And":
            return all(_evaluate_condition(a, conditions, params) for a in arg)
        if op == "Fn::Or":
            return any(_evaluate_condition(a, conditions, params) for a in arg)
        raise _NotStatic(op)
    return expression


class _NotStatic(Exception):
    """A condition depends on something other than parameters; leave it to CloudFormation."""


def resolve_parameter_conditions(template: Template, parameters: dict[str, str]) -> Template:
    resolved = copy.deepcopy(template)
    params = parameter_values(resolved, parameters)
    conditions = resolved.get("Conditions", {})
    known: dict[str, bool] = {}
    for name, expression in conditions.items():
        try:
            known[name] = bool(_evaluate_condition(expression, conditions, params))
        except _NotStatic:
            continue

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::If" in node and node["Fn::If"][0] in known:
                name, when_true, when_false = node["Fn::If"]
                return walk(when_true if known[name] else when_false)
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    for section in ("Resources", "Outputs"):
        if section in resolved:
            resolved[section] = walk(resolved[section])
    return resolved


def references(node: Any) -> Iterator[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, DependsOn, ${X} in Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                yield target
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                for part in str(text).split("${")[1:]:
                    yield part.split("}")[0].split(".")[0]
                yield from references(value)
            elif key == "DependsOn":
                yield from ([value] if isinstance(value, str) else value)
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def without_unsupported(template: Template) -> tuple[Template, list[str]]:
    """The template minus resources moto cannot deploy and all that depend on them."""
    pruned = copy.deepcopy(template)
    resources = pruned["Resources"]
    removed = {
        name
        for name, resource in resources.items()
        if resource["Type"].startswith(UNSUPPORTED_PREFIXES)
    }
    changed = True
    while changed:
        changed = False
        for name, resource in list(resources.items()):
            if name not in removed and removed.intersection(references(resource)):
                removed.add(name)
                changed = True
    for name in removed:
        resources.pop(name, None)
    outputs = pruned.get("Outputs", {})
    for name, output in list(outputs.items()):
        if removed.intersection(references(output)):
            del outputs[name]
    return pruned, sorted(removed)
