"""The lock, the layers' requirements derived from it, and the build recipe's pieces."""

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.packaging import check, lock, lockfile, strip
from devkit.packaging.target import LambdaTarget, lambda_target

ROOT = Path(__file__).resolve().parents[2]

LOCK_SAMPLE = """\
aws-lambda-powertools==3.37.0 \\
    --hash=sha256:aa
    # via -r shared/requirements.in
boto3==1.44.8 \\
    --hash=sha256:bb
    # via -r requirements/runtime-sdk.in
botocore==1.44.8 \\
    --hash=sha256:cc
    # via
    #   boto3
    #   pynamodb
    #   s3transfer
jmespath==1.1.0 \\
    --hash=sha256:dd
    # via
    #   aws-lambda-powertools
    #   botocore
pynamodb==6.1.0 \\
    --hash=sha256:ee
    # via -r shared/requirements.in
urllib3==2.8.0 \\
    --hash=sha256:ff
    # via botocore
"""


def test_a_layer_ships_its_closure_without_the_runtime_sdk_or_what_only_it_needs():
    packages = lockfile.parse(LOCK_SAMPLE)
    shipped = [p.name for p in lockfile.layer_packages(packages, "shared/requirements.in")]
    assert shipped == ["aws-lambda-powertools", "jmespath", "pynamodb"]
    assert packages["jmespath"].lines == ["jmespath==1.1.0 \\", "    --hash=sha256:dd"]


def test_the_layers_requirements_are_what_the_lock_gives_them():
    packages = lockfile.parse((ROOT / lock.LOCK).read_text())
    for roots, output in lock.LAYERS.values():
        expected = lockfile.render(lockfile.layer_packages(packages, roots), roots, lock.LOCK)
        assert (ROOT / output).read_text() == expected, f"{output}: run `make lock`"


def test_every_locked_package_is_pinned_with_hashes_and_the_sdk_is_never_shipped():
    packages = lockfile.parse((ROOT / lock.LOCK).read_text())
    assert all(any("--hash=sha256:" in line for line in p.lines) for p in packages.values())
    for _, output in lock.LAYERS.values():
        shipped = lockfile.requirement_names(ROOT / output)
        assert not set(shipped) & lockfile.RUNTIME_PROVIDED
    assert "tzdata" in lockfile.requirement_names(ROOT / "shared/requirements.txt")


def test_the_target_is_the_templates_runtime_and_architecture():
    target = lambda_target(ROOT / "template.yaml")
    assert target == LambdaTarget("python3.12", "arm64")
    args = target.pip_platform_args()
    assert "manylinux_2_28_aarch64" in args and "manylinux2014_aarch64" in args
    assert "manylinux_2_35_aarch64" not in args  # Amazon Linux 2023 has glibc 2.34
    assert args[args.index("--python-version") + 1] == "3.12"
    assert "x86_64" in target.with_architecture("x86_64").pip_platform_args()[-1]
    with pytest.raises(ValueError):
        target.with_architecture("sparc")


def test_strip_removes_flight_and_library_copies_but_keeps_what_is_loaded(tmp_path):
    pyarrow = tmp_path / "pyarrow"
    (pyarrow / "tests").mkdir(parents=True)
    for name in ("libarrow_flight.so.2600", "_flight.cpython-312-aarch64-linux-gnu.so",
                 "flight.py", "lib.pyx", "compute.py"):
        (pyarrow / name).write_bytes(b"x" * 10)
    removed = {path for path, _, _ in strip.strip(tmp_path)}
    assert {"pyarrow/libarrow_flight.so.2600", "pyarrow/flight.py", "pyarrow/tests",
            "pyarrow/lib.pyx"} <= removed
    assert (pyarrow / "compute.py").exists()


def _pyc(path: Path, magic: bytes, flags: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(magic + struct.pack("<I", flags) + b"\0" * 8)


def test_bytecode_problems_names_missing_stale_and_timestamp_pycs(tmp_path):
    bytecode = check.runtime_bytecode(sys.executable)
    magic, tag = bytecode.magic, bytecode.cache_tag
    for name in ("good", "missing", "timestamp", "foreign"):
        (tmp_path / f"{name}.py").write_text("x = 1\n")
    _pyc(tmp_path / "__pycache__" / f"good.{tag}.pyc", magic, check.UNCHECKED_HASH_FLAGS)
    _pyc(tmp_path / "__pycache__" / f"timestamp.{tag}.pyc", magic, 0)
    _pyc(tmp_path / "__pycache__" / f"foreign.{tag}.pyc", b"\x00\x00\r\n", 1)
    problems = check.bytecode_problems(tmp_path, bytecode)
    assert sorted(p.split(":")[0].split("/")[-1] for p in problems) == [
        f"foreign.{tag}.pyc", "missing.py", f"timestamp.{tag}.pyc"]


def test_compileall_unchecked_hash_satisfies_the_bytecode_check(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("x = 1\n")
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode",
                    "unchecked-hash", str(tmp_path)], check=True)
    assert check.bytecode_problems(tmp_path, check.runtime_bytecode(sys.executable)) == []


def test_the_runtime_python_is_found_by_version_or_not_at_all():
    from devkit.packaging import runtime_python

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = runtime_python.find(version)
    assert found is not None
    assert subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip() == str(
        sys.version_info[:2])
    assert runtime_python.find("2.99") is None


def test_every_function_and_layer_is_built_by_the_makefile_recipe():
    from devkit.local_cloud.template import load_sam_template

    resources = load_sam_template(ROOT / "template.yaml")["Resources"]
    built = {name: r.get("Metadata", {}) for name, r in resources.items()
             if r["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")}
    assert built
    assert {name: m for name, m in built.items()
            if m.get("BuildMethod") != "makefile" or m.get("ContextPath") != "."} == {}
    makefile = (ROOT / "Makefile").read_text()
    for name in built:
        assert name.endswith("Function") or f"build-{name}" in makefile, name
