"""template.yaml -> a template moto deploys: each packaging step on its own."""

import io
import zipfile
from pathlib import Path

import pytest

from devkit.local_cloud import template as sam

ROOT = Path(__file__).resolve().parents[2]


def test_short_tags_become_intrinsic_functions():
    loaded = sam.load_sam_template(ROOT / "template.yaml")
    tagging = loaded["Resources"]["TaggingFunction"]["Properties"]
    assert tagging["Environment"]["Variables"]["TAG_JOB_QUEUE_URL"] == {"Ref": "TagJobQueue"}
    assert tagging["Events"]["TagJobMessages"]["Properties"]["Queue"] == {
        "Fn::GetAtt": ["TagJobQueue", "Arn"]
    }


def test_package_uploads_each_code_directory_once_and_inlines_the_state_machine():
    uploads: dict[str, bytes] = {}

    def upload(key: str, body: bytes) -> str:
        uploads[key] = body
        return f"s3://artifacts/{key}"

    packaged = sam.package(sam.load_sam_template(ROOT / "template.yaml"), ROOT, upload)
    resources = packaged["Resources"]
    assert resources["SyncFunction"]["Properties"]["CodeUri"] == "s3://artifacts/functions.zip"
    assert resources["ApiFunction"]["Properties"]["CodeUri"] == "s3://artifacts/functions.zip"
    assert sorted(uploads) == ["functions.zip", "infra-layers-arrow.zip", "shared.zip"]
    machine = resources["PipelineStateMachine"]["Properties"]
    assert "DefinitionUri" not in machine and machine["Definition"]["StartAt"] == "PlanDay"
    names = zipfile.ZipFile(io.BytesIO(uploads["shared.zip"])).namelist()
    assert "seglift/config.py" in names and not any("__pycache__" in n for n in names)


def test_package_names_a_missing_code_directory():
    broken = {
        "Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "no/such/dir"}}
        }
    }
    with pytest.raises(FileNotFoundError, match="no/such/dir"):
        sam.package(broken, ROOT, lambda key, body: key)


def test_unknown_parameter_is_rejected_with_the_declared_names():
    template = {"Parameters": {"Stage": {"Type": "String", "Default": "dev"}}}
    with pytest.raises(ValueError, match=r"Stagee.*Stage"):
        sam.parameter_values(template, {"Stagee": "x"})


def test_parameter_conditions_choose_a_branch():
    template = {
        "Parameters": {"Url": {"Type": "String", "Default": ""}},
        "Conditions": {"HasUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Url"}, ""]}]}},
        "Resources": {
            "F": {"Properties": {"V": {"Fn::If": ["HasUrl", {"Ref": "Url"}, "fallback"]}}}
        },
    }
    assert sam.resolve_parameter_conditions(template, {})["Resources"]["F"]["Properties"]["V"] == (
        "fallback"
    )
    chosen = sam.resolve_parameter_conditions(template, {"Url": "http://x"})
    assert chosen["Resources"]["F"]["Properties"]["V"] == {"Ref": "Url"}


def test_unsupported_resources_and_their_dependents_are_removed():
    template = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "Perm": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"SourceArn": {"Fn::Sub": "arn:${Api}/*"}},
            },
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        },
        "Outputs": {"Url": {"Value": {"Ref": "Api"}}, "Fn": {"Value": {"Ref": "Fn"}}},
    }
    pruned, removed = sam.without_unsupported(template)
    assert removed == ["Api", "Perm"]
    assert list(pruned["Resources"]) == ["Fn"] and list(pruned["Outputs"]) == ["Fn"]
