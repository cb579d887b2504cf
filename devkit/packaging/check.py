"""Checks of what `sam build` built (.aws-sam/build), each loud when it cannot run.

- size: each function's code plus its layers, unzipped, within BUDGET_MB (Lambda refuses
  250 MB; the budget leaves room for a dependency to grow);
- bytecode: every module ships an unchecked-hash .pyc for the runtime's Python;
- imports: each handler imported by the runtime's Python with only the built artefacts on
  its path (and the runtime's boto3 stand-in), then every other module of its package (those
  it imports only when a request needs them), every loaded module from shipped bytecode;
- time zones: Python's zoneinfo and seglift's day boundaries resolve a zone with the
  system's /usr/share/zoneinfo hidden (a mount namespace);
- the runtime's SDK: no shipped package needs a newer boto3/botocore than the floor.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.local_cloud.template import load_sam_template
from devkit.packaging.lockfile import RUNTIME_SDK_FLOOR

BUDGET_MB = 200.0
UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off


class CheckFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    code: Path
    layers: tuple[Path, ...]


def built_functions(build_dir: Path, layer_dirs: dict[str, Path] | None = None) -> list[Function]:
    """Each function of the built template with its code and its layers' directories
    (``layer_dirs`` replaces a layer's directory, e.g. with another architecture's build)."""
    template = load_sam_template(build_dir / "template.yaml")
    globals_ = template.get("Globals", {}).get("Function", {})
    resources = template["Resources"]
    functions = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        layers = []
        for ref in [*globals_.get("Layers", []), *properties.get("Layers", [])]:
            layer = ref["Ref"]
            if layer_dirs and layer in layer_dirs:
                layers.append(layer_dirs[layer])
            else:
                layers.append(build_dir / resources[layer]["Properties"]["ContentUri"])
        functions.append(Function(name, properties["Handler"],
                                  build_dir / properties["CodeUri"], tuple(layers)))
    return sorted(functions, key=lambda f: f.logical_id)


def tree_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()
               and not p.is_symlink())


def sizes(functions: list[Function]) -> dict[str, float]:
    return {f.logical_id: sum(tree_bytes(d) for d in (f.code, *f.layers)) / 1e6
            for f in functions}


@dataclass(frozen=True)
class Bytecode:
    """What a Python's .pyc files look like: the magic number and the cache tag."""

    magic: bytes
    cache_tag: str  # cpython-312


def runtime_bytecode(python: str) -> Bytecode:
    out = subprocess.run(
        [python, "-c", "import importlib.util, sys; "
         "print(importlib.util.MAGIC_NUMBER.hex(), sys.implementation.cache_tag)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return Bytecode(bytes.fromhex(out[0]), out[1])


def bytecode_problems(directory: Path, bytecode: Bytecode) -> list[str]:
    """Modules without a usable unchecked-hash .pyc for the runtime's Python."""
    problems = []
    for source in directory.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{bytecode.cache_tag}.pyc"
        if not pyc.is_file():
            problems.append(f"{source.relative_to(directory)}: no {pyc.name}")
            continue
        header = pyc.read_bytes()[:8]
        if header[:4] != bytecode.magic:
            problems.append(f"{pyc.relative_to(directory)}: compiled by another Python")
        elif int.from_bytes(header[4:8], "little") != UNCHECKED_HASH_FLAGS:
            problems.append(f"{pyc.relative_to(directory)}: not unchecked-hash")
    return problems


# Run by the runtime's Python with -I -S: nothing but the stdlib and the given paths.
_IMPORT_PROBE = r"""
import importlib, json, sys, time, os
paths = json.loads(sys.argv[1]); module_name = sys.argv[2]
sys.path[:0] = paths
start = time.process_time()
importlib.import_module(module_name)
cpu = time.process_time() - start
# Then every other module of the handler's package: a handler imports some of them only
# when a request needs them (the API's routes), and each must load from the artefacts too.
import pkgutil
package = importlib.import_module(module_name.split(".", 1)[0])
for info in pkgutil.walk_packages(getattr(package, "__path__", []), package.__name__ + "."):
    importlib.import_module(info.name)
roots = tuple(os.path.realpath(p) + os.sep for p in paths[:-1])  # the last is the SDK stand-in
from_artefacts, without_bytecode = 0, []
for name, module in list(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if not os.path.realpath(origin).startswith(roots) or not origin.endswith(".py"):
        continue
    from_artefacts += 1
    cached = getattr(spec, "cached", None)
    if not cached or not os.path.exists(cached):
        without_bytecode.append(name)
print(json.dumps({"cpu": cpu, "modules": from_artefacts, "without_bytecode": without_bytecode}))
"""


def import_handler(python: str, function: Function, sdk: Path,
                   environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Import ``function``'s handler module in a fresh interpreter that sees only the
    function's code, its layers' python/ directories and ``sdk`` (where the runtime's
    /var/runtime would be); ``environment`` adds variables (e.g. Lambda's own)."""
    module = function.handler.rsplit(".", 1)[0]
    paths = [str(function.code)] + [str(layer / "python") for layer in function.layers]
    paths.append(str(sdk))
    result = subprocess.run(
        [python, "-I", "-S", "-B", "-c", _IMPORT_PROBE, json.dumps(paths), module],
        capture_output=True, text=True, check=False,
        env={"AWS_DEFAULT_REGION": "us-east-1", **(environment or {})},
    )
    if result.returncode != 0:
        raise CheckFailed(f"{function.logical_id}: importing {module} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# Run in a mount namespace where /usr/share/zoneinfo is an empty directory.
_TZ_PROBE = r"""
import json, sys, os
sys.path[:0] = json.loads(sys.argv[1])
assert not os.listdir("/usr/share/zoneinfo"), "the system zoneinfo is still visible"
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo
import pyarrow as pa
from seglift.segments.timeutil import end_of_day_utc, local_dates
zone = ZoneInfo("America/New_York")
assert datetime(2024, 7, 1, tzinfo=zone).utcoffset().total_seconds() == -4 * 3600
midnight = datetime(2024, 7, 2, 4, tzinfo=timezone.utc)
assert end_of_day_utc(date(2024, 7, 1), "America/New_York") == midnight
stamps = pa.array([datetime(2024, 7, 2, 3, 59, tzinfo=timezone.utc)], pa.timestamp("us", tz="UTC"))
assert local_dates(stamps, "America/New_York").to_pylist() == [date(2024, 7, 1)]
import pyarrow.compute as pc
try:
    pc.cast(stamps, pa.timestamp("us", tz="America/New_York")).cast(pa.string())
    pyarrow_own = "resolved"
except pa.ArrowInvalid:
    pyarrow_own = "not resolved"
print(json.dumps({"zoneinfo_source": type(zone).__module__, "pyarrow_own": pyarrow_own}))
"""


def time_zones_without_system_database(python: str, paths: list[Path]) -> dict[str, str]:
    empty = Path("/tmp/seglift-empty-zoneinfo")
    empty.mkdir(exist_ok=True)
    script = (f"mount --bind {empty} /usr/share/zoneinfo && exec \"$0\" -I -S -B -c \"$1\" \"$2\"")
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, python, _TZ_PROBE,
         json.dumps([str(p) for p in paths])],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise CheckFailed(
            "time-zone check could not hide /usr/share/zoneinfo or failed without it "
            f"(needs root and unshare):\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def sdk_floor_problems(layer_python: Path) -> list[str]:
    """Shipped distributions whose requirements on boto3/botocore exclude the floor."""
    from packaging.requirements import Requirement

    problems = []
    for metadata in layer_python.glob("*.dist-info/METADATA"):
        for line in metadata.read_text(errors="replace").splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.split(":", 1)[1].strip())
            floor = RUNTIME_SDK_FLOOR.get(requirement.name.lower())
            if floor is None or (requirement.marker and "extra" in str(requirement.marker)):
                continue
            if not requirement.specifier.contains(floor, prereleases=True):
                problems.append(f"{metadata.parent.name} needs {requirement} "
                                f"(the runtime may have {requirement.name} {floor})")
    return problems
