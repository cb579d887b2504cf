"""The shared layer ships without PyYAML (devkit/packaging/strip.py): ShopifyAPI must still
import and prepare its GraphQL requests without it, as seglift's transport uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devkit.packaging import strip

ROOT = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys
sys.modules["yaml"] = None  # as in the built layer: `import yaml` raises ImportError
from seglift.shopify.transport import ShopifyApiTransport
transport = ShopifyApiTransport("a-shop.myshopify.com", "token", base_url="http://127.0.0.1:9",
                                api_version="2025-01", timeout=1.0)
graphql = transport._prepare()
print(json.dumps({"endpoint": graphql.endpoint,
                  "token": graphql.headers.get("X-Shopify-Access-Token")}))
"""


def test_the_layer_strips_pyyaml() -> None:
    assert {"yaml", "_yaml"} <= set(strip.NEVER_LOADED)


def test_shopify_transport_works_without_pyyaml() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT / "shared")},
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["endpoint"] == "http://127.0.0.1:9/admin/api/2025-01/graphql.json"
    assert report["token"] == "token"
