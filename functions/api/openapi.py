"""Print the API's OpenAPI document: ``python -m api.openapi > docs/openapi.json``.

The document is generated from the routes and models; docs/openapi.json is the committed
copy, and tests/api/test_openapi.py fails when the two drift.
"""

from __future__ import annotations

import sys


def main() -> int:
    from api.handler import openapi_json

    sys.stdout.write(openapi_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
