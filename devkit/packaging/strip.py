"""What a layer never loads, removed after pip installs it (each rule with its reason).

pyarrow's wheel carries Arrow Flight (RPC), filesystems for S3/GCS/Azure/HDFS (seglift
reads S3 through boto3), C++ headers, Cython sources and its own tests; pip also copies
each shared library's symlinks as full files, of which only the SONAME is ever loaded.
numpy's tests and f2py (a build tool) are never imported by a handler. Whatever is kept
must still load: ``missing_needed`` lists shared libraries a kept one needs but lost.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# Paths (globs relative to the layer's python/ directory) and why each is never loaded.
NEVER_LOADED: dict[str, str] = {
    "pyarrow/*flight*": "Arrow Flight RPC: seglift runs no Flight server or client",
    "pyarrow/_s3fs*": "pyarrow's S3 filesystem: seglift reads S3 through boto3",
    "pyarrow/libarrow_s3*": "pyarrow's S3 filesystem: seglift reads S3 through boto3",
    "pyarrow/_gcsfs*": "Google Cloud Storage filesystem",
    "pyarrow/_azurefs*": "Azure filesystem",
    "pyarrow/_hdfs*": "HDFS filesystem",
    "pyarrow/_pyarrow_cpp_tests*": "pyarrow's own C++ tests",
    "pyarrow/include": "C++ headers, for building extensions",
    "pyarrow/src": "C++ sources, for building extensions",
    "pyarrow/tests": "pyarrow's own tests",
    "pyarrow/**/*.pxd": "Cython declarations, for building extensions",
    "pyarrow/**/*.pyx": "Cython sources, for building extensions",
    "pyarrow/**/*.pxi": "Cython includes, for building extensions",
    "numpy/**/tests": "numpy's own tests",
    "numpy/f2py": "numpy's Fortran wrapper generator, a build tool",
    "numpy/_core/include": "C headers, for building extensions",
    # Imported but never used: ShopifyAPI and pyactiveresource import PyYAML inside
    # try/except ImportError, only to read YAML-typed elements of REST XML answers;
    # seglift speaks GraphQL JSON. Without it `import shopify` costs ~12 ms less CPU on
    # every cold start of the functions that call Shopify.
    "yaml": "PyYAML: an optional import of ShopifyAPI's REST XML reader, never used",
    "_yaml": "PyYAML's C-extension shim: see yaml",
    "pyyaml-*.dist-info": "PyYAML's metadata: see yaml",
}
_VERSIONED = re.compile(r"^(lib[\w+-]+\.so)(\.\d+)*$")


def strip(python_dir: Path) -> list[tuple[str, int, str]]:
    """Remove what is never loaded; (path, bytes, reason) for each removal."""
    removed: list[tuple[str, int, str]] = []
    for pattern, reason in NEVER_LOADED.items():
        for path in sorted(python_dir.glob(pattern)):
            if not path.exists():
                continue
            size = _size(path)
            _remove(path)
            removed.append((path.relative_to(python_dir).as_posix(), size, reason))
    removed += _duplicate_library_copies(python_dir)
    return removed


def _duplicate_library_copies(python_dir: Path) -> list[tuple[str, int, str]]:
    """libX.so and libX.so.N.M.P copies beside the SONAME libX.so.N that is loaded."""
    needed = {name for library in _elf_files(python_dir) for name in needed_libraries(library)}
    removed = []
    for path in sorted(python_dir.rglob("lib*.so*")):
        match = _VERSIONED.match(path.name)
        if not match or path.name in needed or ".cpython-" in path.name:
            continue
        siblings = [p for p in path.parent.glob(match.group(1) + "*") if p.name in needed]
        if siblings:
            size = path.stat().st_size
            path.unlink()
            removed.append((path.relative_to(python_dir).as_posix(), size,
                            f"a copy of {siblings[0].name}, which is what gets loaded"))
    return removed


def needed_libraries(elf: Path) -> list[str]:
    """DT_NEEDED entries of a shared object (readelf reads any architecture's ELF)."""
    out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True,
                         check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _elf_files(python_dir: Path) -> list[Path]:
    return [p for p in python_dir.rglob("*.so*") if p.is_file()]


def missing_needed(python_dir: Path) -> dict[str, list[str]]:
    """Kept shared objects whose bundled dependencies (lib*arrow*, libparquet, the wheels'
    .libs copies) are no longer in the layer; system libraries are not checked here."""
    present = {p.name for p in _elf_files(python_dir)}
    bundled = re.compile(r"^(libarrow|libparquet)|-[0-9a-f]{8}\.so")
    missing = {}
    for library in _elf_files(python_dir):
        lost = [n for n in needed_libraries(library) if bundled.search(n) and n not in present]
        if lost:
            missing[library.relative_to(python_dir).as_posix()] = lost
    return missing


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
