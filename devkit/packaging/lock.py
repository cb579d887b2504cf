"""``make lock``: re-resolve requirements/lambda.lock and regenerate the layers'
requirements from it.

The lock is universal (one resolution for arm64 and x86_64, every file's hash), for the
runtime's Python (3.12). Each layer's ``requirements.in`` names its roots; its
``requirements.txt`` is the part of the lock that layer ships (``lockfile.layer_packages``).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from devkit.packaging import lockfile
from devkit.packaging.target import lambda_target

LOCK = "requirements/lambda.lock"
# Each layer's roots and where its generated requirements go.
LAYERS = {
    "SharedLayer": ("shared/requirements.in", "shared/requirements.txt"),
    "ArrowLayer": ("infra/layers/arrow/requirements.in", "infra/layers/arrow/requirements.txt"),
}
# Pinned in the lock only so the import check can stand in for the runtime's SDK.
RUNTIME_SDK_IN = "requirements/runtime-sdk.in"


def compile_lock(uv: str, root: Path, upgrade: bool) -> None:
    target = lambda_target(root / "template.yaml")
    sources = [roots for roots, _ in LAYERS.values()] + [RUNTIME_SDK_IN]
    command = [
        uv, "pip", "compile", *sources, "--universal",
        "--python-version", target.python_version, "--generate-hashes",
        "--no-header", "--annotation-style", "split", "-o", LOCK, "--quiet",
    ]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=root, check=True)


def compile_tools(uv: str, root: Path, upgrade: bool) -> None:
    """The SAM CLI and uv for `make package` and `make lock`, for the project's Python."""
    command = [uv, "pip", "compile", "requirements/tools.in", "--universal",
               "--python-version", "3.11", "--generate-hashes", "--no-header", "--quiet",
               "-o", "requirements/tools.lock"]
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, cwd=root, check=True)


def write_layer_requirements(root: Path) -> None:
    packages = lockfile.parse((root / LOCK).read_text())
    for roots, output in LAYERS.values():
        chosen = lockfile.layer_packages(packages, roots)
        (root / output).write_text(lockfile.render(chosen, roots, LOCK))
        print(f"{output}: {len(chosen)} packages")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.packaging.lock", description=__doc__)
    parser.add_argument("--uv", required=True, help="the uv executable")
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions")
    args = parser.parse_args()
    root = Path.cwd()
    compile_lock(args.uv, root, args.upgrade)
    compile_tools(args.uv, root, args.upgrade)
    write_layer_requirements(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
