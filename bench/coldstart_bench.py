"""Cold start of each function from what `make package` built, against boto3 + Powertools.

A Lambda cold start pays for every import of the handler module. Each figure is the CPU
time (``time.process_time``) of importing the handler in a fresh python3.12 interpreter
(``-I -S``: nothing on its path but the built function code, its layers and the lock's
boto3 where the runtime's would be), every module loaded from the shipped unchecked-hash
bytecode; the peer, measured in the same run, imports boto3 and Powertools' event handler
alone from the same shared layer. Medians of RUNS fresh processes each, the two sides
interleaved run by run.

Every import runs with the variables Lambda's runtime sets (``lambda_environment``): the
X-Ray SDK decides at import whether it is in Lambda (``LAMBDA_TASK_ROOT``). Outside Lambda
its recorder builds the centralized-sampling client (a botocore session and X-Ray client,
~200 ms here) and Powertools disables the Tracer, so nothing is patched; in Lambda it takes
the local sampler (the segment and its sampling decision come from the service) and the
Tracer patches the libraries it traces. Measuring outside Lambda charged a cost no cold
start pays and left out one every cold start does.

Run `make package` first: the arm64 build's compiled extensions cannot load on an x86_64
host, so the handlers are imported with the layers built for the host from the same lock
(.package/host-build), with the code `sam build` produced.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from bench.records import BenchRecord
from devkit.packaging import check
from devkit.packaging.package import BUILD_DIR, HOST_BUILD, runtime_sdk
from devkit.packaging.runtime_python import find_or_install
from devkit.packaging.target import lambda_target

RUNS = 7
ROOT = Path(__file__).resolve().parents[1]
PEER_MODULE = "seglift_peer_boto3_powertools"
PEER_SOURCE = "import boto3, aws_lambda_powertools, aws_lambda_powertools.event_handler\n"
# What a handler pays beyond the peer before any code of its own, from libraries the
# design fixes, reported so the ratios can be read: Powertools' Tracer (the X-Ray SDK's
# recorder and patching botocore); PynamoDB's models (every API request reads the shop's
# record, every tag batch its job); for the API, Powertools' request validation (pydantic
# and Powertools' OpenAPI parameter models); for tagging, ShopifyAPI (``import shopify``
# loads its every REST resource).
_TRACER = "from seglift import observability\nobservability.tracer_for('floor')\n"
_PYNAMODB = "import pynamodb.models, pynamodb.attributes\n"
_VALIDATION = (
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "APIGatewayRestResolver(enable_validation=True)\n"
    "import aws_lambda_powertools.event_handler.openapi.params, pydantic\n")
FLOORS = {
    "boto3+powertools+tracer": PEER_SOURCE + _TRACER,
    "boto3+powertools+tracer+validation": PEER_SOURCE + _TRACER + _VALIDATION,
    "boto3+powertools+tracer+validation+pynamodb (api)": (
        PEER_SOURCE + _TRACER + _VALIDATION + _PYNAMODB),
    "boto3+powertools+tracer+pynamodb+shopify (tagging)": (
        PEER_SOURCE + _TRACER + _PYNAMODB + "import shopify\n"),
}
# Short record names: "cold start api built".
NAMES = {"ApiFunction": "api", "TaggingFunction": "tagging",
         "TaggingDeadLetterFunction": "tagging dead-letter", "SyncFunction": "sync",
         "SegmentsFunction": "segments", "MetricsFunction": "metrics",
         "ExportFunction": "export", "MeasurementsFunction": "measurements"}


def lambda_environment(function: check.Function) -> dict[str, str]:
    """What Lambda's runtime sets that the imported libraries read at import time (the X-Ray
    SDK and Powertools' Tracer look at ``LAMBDA_TASK_ROOT``), with the function's code as
    the task root as in Lambda."""
    return {"LAMBDA_TASK_ROOT": str(function.code), "AWS_REGION": "us-east-1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}


def _import_cpu(python: str, function: check.Function, sdk: Path) -> float:
    return float(check.import_handler(python, function, sdk,
                                      lambda_environment(function))["cpu"])


def _paired_medians(python: str, ours: check.Function, peer: check.Function, sdk: Path,
                    runs: int) -> tuple[float, float]:
    """Medians of ``runs`` imports of each, interleaved (ours, peer, ours, peer...) so that
    both see the same machine load: on a shared machine the load drifts within seconds, and
    measuring one side's runs before the other's moved the ratio by ±30%."""
    pairs = [(_import_cpu(python, ours, sdk), _import_cpu(python, peer, sdk))
             for _ in range(runs)]
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)


def benchmarks(quick: bool) -> list[BenchRecord]:
    if not (BUILD_DIR / "template.yaml").is_file() or not HOST_BUILD.is_dir():
        raise RuntimeError("no built artefacts: run `make package` before this benchmark")
    runs = 3 if quick else RUNS
    python = find_or_install(lambda_target(ROOT / "template.yaml").python_version)
    sdk = runtime_sdk()
    layers = {p.name: p for p in HOST_BUILD.iterdir() if p.is_dir()}
    functions = check.built_functions(BUILD_DIR, layers)
    peer_dir = ROOT / ".package" / "coldstart-peer"
    peer_dir.mkdir(parents=True, exist_ok=True)
    shared = next(f for f in functions if f.logical_id == "ApiFunction").layers

    def module(name: str, source: str) -> check.Function:
        file_name = re.sub(r"[^A-Za-z0-9_]", "_", name)
        (peer_dir / f"{file_name}.py").write_text(source)
        return check.Function(name, f"{file_name}.handler", peer_dir, shared)

    peer = module(PEER_MODULE, PEER_SOURCE)
    floors = {name: module(f"floor_{name}", source) for name, source in FLOORS.items()}
    # One throw-away import each so no measured run pays for a cold disk cache.
    for function in [peer, *floors.values(), *functions]:
        _import_cpu(python, function, sdk)
    records = []
    for name, floor_module in floors.items():
        floor, peer_cpu = _paired_medians(python, floor_module, peer, sdk, runs)
        records.append(BenchRecord.against(
            f"cold start floor {name}", floor * 1000, "ms CPU", "boto3+powertools import",
            peer_cpu * 1000))
    for function in functions:
        # The peer is measured beside each function so both see the same machine load.
        ours, peer_cpu = _paired_medians(python, function, peer, sdk, runs)
        name = NAMES.get(function.logical_id, function.logical_id)
        records.append(BenchRecord.against(
            f"cold start {name} built", ours * 1000, "ms CPU", "boto3+powertools import",
            peer_cpu * 1000))
    return records
