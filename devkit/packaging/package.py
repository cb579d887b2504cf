"""``make package``: `sam build` (the real SAM CLI) for the template's Runtime and
Architectures, then every check in ``devkit.packaging.check``; exits non-zero on any
failure, and on any check that cannot run.

The handlers cannot be imported from the arm64 build on an x86_64 host (its compiled
extensions are aarch64 ELF). The same recipe builds the layers from the same lock for the
host's architecture, and the imports run against those with the function code `sam build`
produced; sizes and bytecode are checked on both builds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from devkit.packaging import build, check, lockfile, runtime_python, transformed
from devkit.packaging.target import lambda_target

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / ".aws-sam" / "build"
HOST_BUILD = ROOT / ".package" / "host-build"
SDK_PACKAGES = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six",
                "urllib3"}
HOST_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def sam_build(sam: str, python: str) -> None:
    env = {**os.environ, "SEGLIFT_RUNTIME_PYTHON": python, "SAM_CLI_TELEMETRY": "0",
           "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([sam, "build", "--template-file", str(ROOT / "template.yaml"),
                    "--build-dir", str(BUILD_DIR)], cwd=ROOT, env=env, check=True)


def runtime_sdk() -> Path:
    """boto3 and what it needs, at the lock's versions, where the runtime's would be."""
    lock = ROOT / "requirements" / "lambda.lock"
    packages = lockfile.parse(lock.read_text())
    chosen = [packages[name] for name in sorted(SDK_PACKAGES) if name in packages]
    text = "".join("\n".join(p.lines) + "\n" for p in chosen)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    target = ROOT / ".package" / f"runtime-sdk-compiled-{digest}"
    if not target.is_dir():
        requirements = ROOT / ".package" / "runtime-sdk.txt"
        requirements.write_text(text)
        subprocess.run([sys.executable, "-m", "pip", "-q", "--disable-pip-version-check",
                        "install", "--require-hashes", "--no-deps", "--no-compile",
                        "--target", str(target), "-r", str(requirements)], check=True)
        # The runtime's own boto3 is precompiled too: compare like with like.
        build.compile_bytecode(target, runtime_python.find_or_install(
            lambda_target(ROOT / "template.yaml").python_version))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.packaging.package",
                                     description=__doc__)
    parser.add_argument("--sam", required=True, help="the SAM CLI executable")
    args = parser.parse_args()
    failures: list[str] = []

    target = lambda_target(ROOT / "template.yaml")
    python = runtime_python.find_or_install(target.python_version)
    print(f"== sam build: {target.runtime} {target.architecture}, with {python}")
    sam_build(args.sam, python)

    host = HOST_ARCHITECTURE.get(platform.machine())
    if host is None:
        raise check.CheckFailed(f"no Lambda architecture matches this host ({platform.machine()})")
    host_target = target.with_architecture(host)
    host_layers: dict[str, Path] = {}
    for layer in build.LAYER_REQUIREMENTS:
        destination = HOST_BUILD / layer
        shutil.rmtree(destination, ignore_errors=True)
        source = ROOT / Path(build.LAYER_REQUIREMENTS[layer]).parent
        build.build_layer(layer, source, destination, host_target, python)
        host_layers[layer] = destination

    functions = check.built_functions(BUILD_DIR)
    host_functions = check.built_functions(BUILD_DIR, host_layers)
    print(f"\n== size: code + layers, unzipped (budget {check.BUDGET_MB:.0f} MB; "
          "Lambda's limit 250 MB)")
    on_target, on_host = check.sizes(functions), check.sizes(host_functions)
    print(f"   {'function':<28} {target.architecture + ' (built)':>16} "
          f"{host + ' (same lock)':>18}")
    for name in on_target:
        print(f"   {name:<28} {on_target[name]:>13.1f} MB {on_host[name]:>15.1f} MB")
        for arch, figure in ((target.architecture, on_target[name]), (host, on_host[name])):
            if figure > check.BUDGET_MB:
                failures.append(f"{name} is {figure:.1f} MB on {arch}, over {check.BUDGET_MB} MB")

    print("\n== bytecode: unchecked-hash .pyc for the runtime's Python beside every module")
    bytecode = check.runtime_bytecode(python)
    directories = sorted({d for f in functions + host_functions for d in (f.code, *f.layers)})
    for directory in directories:
        problems = check.bytecode_problems(directory, bytecode)
        status = "ok" if not problems else f"{len(problems)} without bytecode"
        print(f"   {directory.relative_to(ROOT)}: {status}")
        failures += [f"{directory.name}: {p}" for p in problems[:5]]

    print(f"\n== imports: each handler by {python} (-I -S), only the built code, the "
          f"{host} layers and the runtime's boto3 on its path")
    sdk = runtime_sdk()
    for function in host_functions:
        try:
            probe = check.import_handler(python, function, sdk)
        except check.CheckFailed as failed:
            failures.append(str(failed))
            print(f"   {function.logical_id}: FAILED")
            continue
        print(f"   {function.logical_id:<28} {function.handler:<40} {probe['modules']:>4} "
              f"modules, {probe['cpu'] * 1000:6.0f} ms CPU, "
              f"{len(probe['without_bytecode'])} compiled at import")
        if probe["without_bytecode"]:
            failures.append(f"{function.logical_id} compiled {probe['without_bytecode'][:5]}")

    print("\n== time zones with /usr/share/zoneinfo hidden")
    paths = [host_layers["SharedLayer"] / "python", host_layers["ArrowLayer"] / "python"]
    try:
        zones = check.time_zones_without_system_database(python, paths)
        print(f"   zoneinfo and seglift's day boundaries resolve America/New_York "
              f"(tzdata in the shared layer); pyarrow's own zone database: {zones['pyarrow_own']}"
              " (seglift never uses it)")
    except check.CheckFailed as failed:
        failures.append(str(failed))

    print(f"\n== runtime SDK: shipped packages accept boto3/botocore {lockfile.RUNTIME_SDK_FLOOR}")
    for layer in ("SharedLayer", "ArrowLayer"):
        problems = check.sdk_floor_problems(BUILD_DIR / layer / "python")
        failures += problems
        print(f"   {layer}: {problems or 'ok'}")
    for name in lockfile.RUNTIME_PROVIDED:
        if any((BUILD_DIR / layer / "python" / name).exists()
               for layer in build.LAYER_REQUIREMENTS):
            failures.append(f"{name} is shipped in a layer; the runtime provides it")

    print("\n== cfn-lint on the SAM-transformed template (errors fatal)")
    result = transformed.lint(transformed.transformed_template(ROOT / "template.yaml"))
    errors = transformed.lint_errors(result)
    print("   " + ("no errors" if not errors and not result.returncode & 3 else
                   result.stdout + result.stderr))
    if errors or result.returncode & 3:
        failures.append(f"cfn-lint: {len(errors)} error(s) in the transformed template")

    if failures:
        print("\nmake package FAILED:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print("\nmake package: every check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
