"""Functions without Arrow (api, tagging) import these modules: they must not load pyarrow."""

from __future__ import annotations

import subprocess
import sys

MODULES = ["seglift.shopify.client", "seglift.shopify.bulk", "seglift.shopify.tokens",
           "seglift.shopify.errors", "seglift.storage.shop_repository"]


def test_shopify_and_storage_modules_do_not_import_pyarrow() -> None:
    code = "; ".join(f"import {m}" for m in MODULES) + \
        "; import sys; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
