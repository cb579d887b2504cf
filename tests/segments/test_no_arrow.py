"""What the API and tagging import from the segment engine loads no pyarrow."""

from __future__ import annotations

import subprocess
import sys

import pytest

PYARROW_FREE = [
    "seglift.segments.conditions",
    "seglift.segments.dependencies",
    "seglift.segments.templates",
    "seglift.segments.shopify_query",
    "seglift.segments.lists",
    "seglift.segments.member_ids",
    "seglift.segments.definitions",
    "seglift.storage.segment_repository",
]


@pytest.mark.parametrize("module", PYARROW_FREE)
def test_module_does_not_load_pyarrow(module):
    code = f"import sys, {module}; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
