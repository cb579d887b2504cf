"""What Lambda and CloudFormation check at deploy time, checked on the SAM-transformed
template (moto enforces none of it, and cfn-lint sees it only after the transform)."""

import copy
from pathlib import Path

import pytest

from devkit.packaging.transformed import lint, lint_errors, sqs_mappings, transformed_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def transformed():
    return transformed_template(ROOT / "template.yaml")


def test_every_sqs_event_source_has_a_queue_visibility_at_least_the_function_timeout(
    transformed,
):
    mappings = sqs_mappings(transformed)
    assert {m["function"] for m in mappings} >= {"TaggingFunction", "TaggingDeadLetterFunction"}
    too_short = [m for m in mappings if m["visibility_timeout"] < m["function_timeout"]]
    assert too_short == []


def test_sqs_mappings_reads_the_queue_default_of_30_seconds(transformed):
    transformed = copy.deepcopy(transformed)
    queue = next(m["queue"] for m in sqs_mappings(transformed))
    del transformed["Resources"][queue]["Properties"]["VisibilityTimeout"]
    mapping = next(m for m in sqs_mappings(transformed) if m["queue"] == queue)
    assert mapping["visibility_timeout"] == 30


def test_cfn_lint_finds_no_error_in_the_transformed_template(transformed):
    result = lint(transformed)
    assert lint_errors(result) == [], result.stdout
    assert result.returncode & 2 == 0, result.stdout + result.stderr


def test_cfn_lint_reports_a_dead_letter_queue_shorter_than_its_function(transformed):
    transformed = copy.deepcopy(transformed)
    transformed["Resources"]["TagJobDeadLetterQueue"]["Properties"]["VisibilityTimeout"] = 30
    errors = lint_errors(lint(transformed))
    assert any("E3505" in line for line in errors), errors
