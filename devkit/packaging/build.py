"""The build recipe `sam build` runs for every layer and function (BuildMethod: makefile).

template.yaml gives each layer and function ``Metadata: {BuildMethod: makefile,
ContextPath: .}``, so `sam build` calls ``make build-<LogicalId>`` with ARTIFACTS_DIR set
and the resource's code directory copied as the working directory; the Makefile calls
this module. Plain `sam build` and `make package` therefore ship the same bytes:

- a layer: its generated ``requirements.txt`` (every version pinned, every file's hash)
  installed with pip for the template's Runtime and Architecture whatever the host, what
  is never loaded stripped (``strip.py``), seglift's own package added to the shared
  layer; third-party parts are cached in .package/cache/, keyed by the requirements,
  this recipe and the target;
- a function: its code directory's packages;
- both: compiled to unchecked-hash bytecode by the runtime's Python, so a cold start
  loads .pyc files instead of compiling every module (Lambda's /opt and /var/task are
  read-only: nothing compiled at run time is ever kept).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devkit.packaging import lockfile, runtime_python, strip
from devkit.packaging.target import LambdaTarget, lambda_target

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".package" / "cache"
LAYER_REQUIREMENTS = {
    "SharedLayer": "shared/requirements.txt",
    "ArrowLayer": "infra/layers/arrow/requirements.txt",
}
# Published only as source archives: built here into pure-Python wheels (checked to be
# py3-none-any, so the host's build is the target's), then installed like the others.
SOURCE_ONLY = frozenset({"shopifyapi", "pyactiveresource"})
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                   check=True)


def _cache_key(requirements: Path, target: LambdaTarget) -> str:
    digest = hashlib.sha256()
    for part in (requirements.read_bytes(), Path(__file__).read_bytes(),
                 Path(strip.__file__).read_bytes(), target.runtime.encode(),
                 target.architecture.encode()):
        digest.update(part)
    return digest.hexdigest()[:16]


def _install_third_party(requirements: Path, target: LambdaTarget, python_dir: Path) -> None:
    packages = lockfile.parse(requirements.read_text())
    with tempfile.TemporaryDirectory() as scratch:
        binary = Path(scratch) / "binary.txt"
        binary.write_text("".join("\n".join(p.lines) + "\n" for p in packages.values()
                                  if p.name not in SOURCE_ONLY))
        _pip("install", "--require-hashes", "--no-deps", "--no-compile", "--target",
             str(python_dir), *target.pip_platform_args(), "-r", str(binary))
        sources = [p for p in packages.values() if p.name in SOURCE_ONLY]
        if sources:
            source_file = Path(scratch) / "source.txt"
            source_file.write_text("".join("\n".join(p.lines) + "\n" for p in sources))
            wheels = Path(scratch) / "wheels"
            _pip("wheel", "--require-hashes", "--no-deps", "-w", str(wheels), "-r",
                 str(source_file))
            built = sorted(wheels.glob("*.whl"))
            impure = [w.name for w in built if not w.name.endswith("-none-any.whl")]
            if impure:
                raise RuntimeError(f"source-only packages built platform wheels: {impure}")
            _pip("install", "--no-deps", "--no-compile", "--target", str(python_dir),
                 *map(str, built))


def compile_bytecode(directory: Path, python: str) -> None:
    """Unchecked-hash .pyc beside every module: loaded without reading or hashing the
    source, by the runtime's Python (bytecode is version-specific)."""
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
                    "unchecked-hash", str(directory)], check=True)


def third_party(layer: str, target: LambdaTarget, python: str) -> Path:
    """The layer's stripped, compiled third-party tree for ``target``, cached."""
    requirements = ROOT / LAYER_REQUIREMENTS[layer]
    cached = CACHE / f"{layer}-{target.architecture}-{_cache_key(requirements, target)}"
    if cached.is_dir():
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{layer}-", dir=CACHE))
    python_dir = building / "python"
    _install_third_party(requirements, target, python_dir)
    removed = strip.strip(python_dir)
    lost = strip.missing_needed(python_dir)
    if lost:
        raise RuntimeError(f"stripping removed libraries still needed: {lost}")
    print(f"{layer} ({target.architecture}): stripped {len(removed)} never-loaded paths, "
          f"{sum(size for _, size, _ in removed) / 1e6:.1f} MB", file=sys.stderr)
    compile_bytecode(python_dir, python)
    for stale in CACHE.glob(f"{layer}-{target.architecture}-*"):
        if stale != building:
            shutil.rmtree(stale, ignore_errors=True)
    building.rename(cached)
    return cached


def _copy_packages(source: Path, destination: Path) -> None:
    """Every Python package directory of ``source`` (what a handler imports)."""
    destination.mkdir(parents=True, exist_ok=True)
    for package in sorted(source.iterdir()):
        if package.is_dir() and (package / "__init__.py").is_file():
            shutil.copytree(package, destination / package.name, ignore=_SKIPPED,
                            dirs_exist_ok=True)


def build_layer(layer: str, source: Path, artifacts: Path, target: LambdaTarget,
                python: str) -> None:
    shutil.copytree(third_party(layer, target, python), artifacts, dirs_exist_ok=True,
                    symlinks=True)
    own = artifacts / "python"
    if layer == "SharedLayer":
        _copy_packages(source, own)
        compile_bytecode(own / "seglift", python)


def build_function(source: Path, artifacts: Path, python: str) -> None:
    _copy_packages(source, artifacts)
    compile_bytecode(artifacts, python)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.packaging.build", description=__doc__)
    parser.add_argument("kind", choices=["layer", "function"])
    parser.add_argument("logical_id")
    parser.add_argument("--source", type=Path, default=Path.cwd())
    parser.add_argument("--artifacts", type=Path, required=True)
    parser.add_argument("--arch", help="override the template's architecture")
    args = parser.parse_args()
    target = lambda_target(ROOT / "template.yaml")
    if args.arch:
        target = target.with_architecture(args.arch)
    python = runtime_python.find_or_install(target.python_version)
    if args.kind == "layer":
        if args.logical_id not in LAYER_REQUIREMENTS:
            parser.error(f"unknown layer {args.logical_id}; known: {sorted(LAYER_REQUIREMENTS)}")
        build_layer(args.logical_id, args.source, args.artifacts, target, python)
    else:
        build_function(args.source, args.artifacts, python)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
