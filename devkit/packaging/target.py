"""What the template deploys to: the runtime's Python and the architecture, read from
template.yaml (Globals, or a function's own Properties), and pip's tags for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devkit.local_cloud.template import load_sam_template

# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to
# that glibc loads there.
GLIBC_MAX_MINOR = 34
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}


@dataclass(frozen=True)
class LambdaTarget:
    runtime: str  # python3.12
    architecture: str  # arm64 | x86_64

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def machine(self) -> str:
        return MACHINES[self.architecture]

    def with_architecture(self, architecture: str) -> LambdaTarget:
        if architecture not in MACHINES:
            raise ValueError(f"unknown architecture {architecture!r}; known: {sorted(MACHINES)}")
        return LambdaTarget(self.runtime, architecture)

    def pip_platform_args(self) -> list[str]:
        """pip install/download flags that select this target's wheels, whatever the host."""
        platforms = [f"manylinux_2_{minor}_{self.machine}" for minor in
                     range(GLIBC_MAX_MINOR, 16, -1)] + [f"manylinux2014_{self.machine}"]
        args = ["--only-binary=:all:", "--implementation", "cp",
                "--python-version", self.python_version,
                "--abi", f"cp{self.python_version.replace('.', '')}"]
        for platform in platforms:
            args += ["--platform", platform]
        return args


def lambda_target(template_path: Path) -> LambdaTarget:
    """The Globals' Runtime and Architectures; every function must agree with them (one
    build of each layer serves every function)."""
    template = load_sam_template(template_path)
    defaults = template.get("Globals", {}).get("Function", {})
    runtime = defaults.get("Runtime")
    architectures = defaults.get("Architectures", ["x86_64"])
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        if properties.get("Runtime", runtime) != runtime or properties.get(
            "Architectures", architectures
        ) != architectures:
            raise ValueError(f"{name} overrides the Globals' Runtime or Architectures")
    if not isinstance(runtime, str) or not runtime.startswith("python3."):
        raise ValueError(f"Globals.Function.Runtime {runtime!r} is not a python3.x runtime")
    if len(architectures) != 1:
        raise ValueError(f"Globals.Function.Architectures must name one: {architectures}")
    return LambdaTarget(runtime, architectures[0])
