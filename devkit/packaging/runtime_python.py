"""Find (or install) an interpreter of the Lambda runtime's Python version.

Bytecode is version-specific and handlers must be imported by the runtime's own Python,
so `make package` needs python3.<minor> of the template's Runtime. Looked for on PATH,
then in pyenv's versions (pyenv shims refuse a version that is not selected), then Debian
is asked for it. Nothing found is an error that says so: no check passes without it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path


class RuntimePythonMissing(RuntimeError):
    pass


def _version_of(executable: str) -> str | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _candidates(version: str) -> list[str]:
    found = []
    if os.environ.get("SEGLIFT_RUNTIME_PYTHON"):
        found.append(os.environ["SEGLIFT_RUNTIME_PYTHON"])
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"),
                    reverse=True)
    found += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    return found


def find(version: str) -> str | None:
    for candidate in _candidates(version):
        if _version_of(candidate) == version:
            return candidate
    return None


def find_or_install(version: str) -> str:
    """The interpreter's path; asks apt for python<version> when none is found."""
    found = find(version)
    if found:
        return found
    tried = "PATH, pyenv versions, /usr/bin, /usr/local/bin"
    if shutil.which("apt-get"):
        package = f"python{version}"
        print(f"python{version} not found ({tried}); installing {package} with apt-get")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False)
        tried += f", apt-get install {package}"
        found = find(version)
        if found:
            return found
    raise RuntimePythonMissing(
        f"python{version} (the Lambda runtime's Python) was not found or installed "
        f"(tried {tried}). Install it (e.g. `pyenv install {version}` or your "
        f"distribution's python{version}) or set SEGLIFT_RUNTIME_PYTHON; the package "
        "checks cannot run without it."
    )
