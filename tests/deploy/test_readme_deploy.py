"""The README's deploy command is the one that works: every option it passes exists in the
SAM CLI the project installs, every parameter it overrides is declared in template.yaml,
and it deploys what `make package` builds."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from devkit.packaging.package import BUILD_DIR

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".package" / "tools" / "bin" / "sam"


def _deploy_command() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying to AWS", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    command = block.split(".package/tools/bin/sam deploy", 1)[1]
    return shlex.split(command.replace("\\\n", " "))


def test_the_deploy_command_overrides_only_declared_parameters(sam_template):
    words = _deploy_command()
    start = words.index("--parameter-overrides") + 1
    overrides = dict(w.split("=", 1) for w in words[start:] if "=" in w and
                     not w.startswith("--"))
    assert overrides, "the README's deploy command sets no parameters"
    assert set(overrides) <= set(sam_template["Parameters"])
    stage = sam_template["Parameters"]["Stage"]["AllowedPattern"]
    assert re.fullmatch(stage, overrides["Stage"])


def test_the_deploy_command_ships_what_make_package_builds():
    words = _deploy_command()
    template = ROOT / words[words.index("--template-file") + 1]
    assert template == BUILD_DIR / "template.yaml"


def test_every_option_exists_in_the_installed_sam_cli():
    if not SAM.exists():
        pytest.skip(f"NOT CHECKED: {SAM} is missing; `make package` installs the SAM CLI")
    help_text = subprocess.run([str(SAM), "deploy", "--help"], capture_output=True,
                               text=True, check=True, timeout=120).stdout
    options = {w for w in _deploy_command() if w.startswith("--")}
    assert options and {o for o in options if o not in help_text} == set()
