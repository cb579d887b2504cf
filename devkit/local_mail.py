"""The e-mails the local cloud "sent": what moto's SES kept, for the local dashboard.

In AWS a tag job's completion e-mail leaves through SES to the shop's notification address.
Locally moto accepts the same ``SendEmail`` call and keeps the message in memory, inside
this process only. The dashboard server answers ``/_local-mail`` with this list (newest
first) so a merchant trying the app locally sees what would have arrived in their inbox.
Never part of a deployment: only ``seglift serve`` and the browser tests wire it in.
"""

from __future__ import annotations

from typing import Any

from devkit.local_cloud.cloud import ACCOUNT_ID


def sent_emails(region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> list[dict[str, Any]]:
    """Every message moto's SES kept in ``region``, newest first, as plain JSON."""
    from moto.ses.models import ses_backends  # moto is a development dependency only

    backend = ses_backends[account_id][region]
    messages: list[dict[str, Any]] = []
    for message in getattr(backend, "sent_messages", []):
        destinations = getattr(message, "destinations", {}) or {}
        messages.append({
            "id": getattr(message, "id", ""),
            "from": getattr(message, "source", ""),
            "to": list(destinations.get("ToAddresses", [])),
            "subject": getattr(message, "subject", ""),
            "body": getattr(message, "body", ""),
        })
    return list(reversed(messages))
