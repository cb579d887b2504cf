"""Every handler the template names is traced, logs as JSON with per-invocation keys, and
routes the shared modules' stdlib logs through its formatter (read from the source, so a
new handler is held to it the day it is added to template.yaml)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devkit.local_cloud.template import load_sam_template

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(
    r["Properties"]["Handler"]
    for r in load_sam_template(ROOT / "template.yaml")["Resources"].values()
    if r["Type"] == "AWS::Serverless::Function"
)


def _function(dotted: str) -> ast.FunctionDef:
    module, _, name = dotted.rpartition(".")
    tree = ast.parse((ROOT / "functions" / (module.replace(".", "/") + ".py")).read_text())
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)


def test_the_template_names_every_handler():
    assert len(HANDLERS) >= 8


@pytest.mark.parametrize("dotted", HANDLERS)
def test_handler_is_traced_logged_and_routes_library_logs(dotted):
    function = _function(dotted)
    decorators = [ast.unparse(d) for d in function.decorator_list]
    assert any(d.startswith("tracer.capture_lambda_handler") for d in decorators), decorators
    [inject] = [d for d in function.decorator_list
                if ast.unparse(d).startswith("logger.inject_lambda_context")]
    assert isinstance(inject, ast.Call), f"{dotted}: inject_lambda_context(clear_state=True)"
    assert any(k.arg == "clear_state" and ast.literal_eval(k.value) is True
               for k in inject.keywords), f"{dotted}: keys must not leak between invocations"
    first = function.body[1] if isinstance(function.body[0], ast.Expr) and isinstance(
        function.body[0].value, ast.Constant) else function.body[0]
    assert "observability.route_library_logs(logger" in ast.unparse(first), (
        f"{dotted}: route the seglift loggers first thing in the invocation")
