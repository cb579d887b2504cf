"""moto's S3 backend reloads its URL module on every request; the local cloud reads it once.

``S3Backend._url_module`` calls ``importlib.reload(moto.s3.urls)`` each time moto matches a
request to a backend (twice per S3 request) because the URLs depend on
``MOTO_S3_CUSTOM_ENDPOINTS``, which may change between tests. Inside one local cloud that
variable never changes, and the reloads were a measurable share of a many-shop run (each
re-executes the module: file stats, compile cache, regex building). ``install`` keeps the
module loaded when the cloud starts; ``uninstall`` restores moto's own property.
"""

from __future__ import annotations

import importlib
from typing import Any

from moto.s3.models import S3Backend

_ORIGINAL = S3Backend.__dict__["_url_module"]


def install() -> None:
    import moto.s3.urls as urls_module

    loaded: Any = importlib.reload(urls_module)  # this cloud's environment, once
    S3Backend._url_module = property(lambda self: loaded)  # type: ignore[assignment,method-assign]


def uninstall() -> None:
    S3Backend._url_module = _ORIGINAL  # type: ignore[method-assign]
