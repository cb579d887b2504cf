"""Every boto3 session of the local cloud reads AWS's service models through one loader.

A boto3 session parses the JSON service model and endpoint rules of each service it builds
a client for (tens of milliseconds of CPU per client), cached in the session's own
``data_loader``. In AWS each Lambda container pays that once, at its cold start, on its
own CPU. The local cloud runs every container as a thread of one process: fifty tagging
containers starting together parse the same files fifty times over on one interpreter,
and the shops whose jobs start in that moment wait for it (their buckets refill into
nothing). Sharing one loader per data path keeps each container's own session and
clients, as in AWS, and parses each model once per process.

The loader's cache holds parsed JSON that botocore only reads; concurrent loads of one
file at worst parse it twice. boto3 appends its own data directory to a new session's
loader search path: the shared loader's path list ignores a path it already holds.
``install`` patches botocore's loader factory when the cloud starts; ``uninstall`` restores it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import SupportsIndex

import botocore.session
from botocore.loaders import Loader, create_loader

_ORIGINAL: Callable[..., Loader] = create_loader
_LOADERS: dict[str | None, Loader] = {}
_LOCK = threading.Lock()


class _SearchPaths(list[str]):
    """A search path list that keeps one copy of each path (boto3 appends on every session)."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)

    def insert(self, index: SupportsIndex, path: str) -> None:
        if path not in self:
            super().insert(index, path)


def shared_loader(search_path_string: str | None = None) -> Loader:
    """The process's loader for ``search_path_string`` (``AWS_DATA_PATH``), built once."""
    with _LOCK:
        loader = _LOADERS.get(search_path_string)
        if loader is None:
            loader = _ORIGINAL(search_path_string)
            loader._search_paths = _SearchPaths(loader.search_paths)  # type: ignore[attr-defined]
            _LOADERS[search_path_string] = loader
        return loader


def install() -> None:
    botocore.session.create_loader = shared_loader  # type: ignore[attr-defined]


def uninstall() -> None:
    botocore.session.create_loader = _ORIGINAL  # type: ignore[attr-defined]
