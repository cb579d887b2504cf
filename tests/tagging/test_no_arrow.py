"""The tagging function ships without the Arrow layer: nothing it imports may load pyarrow."""

from __future__ import annotations

import subprocess
import sys


def test_the_tagging_function_and_its_logic_never_import_pyarrow():
    code = (
        "import sys, tagging.handler, seglift.tagging.jobs, seglift.tagging.keep_in_sync\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'pyarrow')\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
