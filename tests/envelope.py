"""A function's direct answer read as its caller reads it (``seglift.invocation``).

Handler tests call ``lambda_handler`` directly; ``read`` sends the answer through the
same ``read_reply`` the API's adapters use, so a refusal raises ``FunctionRefused`` (its
text is ``<function> refused: <errorType>: <errorMessage>``) and a result comes back bare.
"""

from __future__ import annotations

import io
import json
from typing import Any

from seglift.invocation import read_reply


def read(answer: Any, function: str = "function") -> dict[str, Any]:
    payload = io.BytesIO(json.dumps(answer, default=str).encode())
    return read_reply(function, {"Payload": payload})
