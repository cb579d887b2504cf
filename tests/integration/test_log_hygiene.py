"""No secret and no customer's e-mail address ever reaches a log line.

An OAuth install, the daily pipeline (schedule -> sync -> Step Functions: features,
segments, metrics, analytics), a tag job through SQS and the tagging Lambda (with a 502
and a THROTTLED on the way), a tag-job preview, a forged session token and a GDPR data
request run on the local cloud against the Shopify emulator with every product
logger at DEBUG. Every log line is captured three ways: whatever any logging handler
formats (Powertools' JSON lines, tracebacks and ``extra`` fields included), every record
of the product's own loggers at any level, and anything written to stdout or stderr
(file-descriptor capture: ``print``, and the ShopifyAPI package's own error printing). None
may hold a Shopify access token (``shpat_...``), a session token (a JWT), the app's
secret, or the e-mail address of any customer of the store.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aws_lambda_powertools import Logger

from devkit.local_stack import LOCAL_API_KEY, local_stack
from devkit.shopify_emulator.webhooks import deliver_webhook
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import numeric_id
from seglift.auth.oauth import query_signature

pytestmark = pytest.mark.e2e

SHOP = "hygiene-shop.myshopify.com"
NEW_SHOP = "hygiene-new.myshopify.com"
ACCESS_TOKEN = re.compile(r"shpat_[0-9A-Za-z]{6,}")
JWT = re.compile(r"eyJ[0-9A-Za-z_-]{4,}\.eyJ[0-9A-Za-z_-]{4,}\.[0-9A-Za-z_-]+")
# The product's loggers: the shared package and each function's package.
PRODUCT_LOGGERS = ("seglift", "sync", "segments", "metrics", "tagging", "api",
                   "measurements", "exports")


# Made at import, before the capture starts, as the handlers' module-level loggers are.
PROBE = Logger(service="hygiene-probe")


class Recorder(logging.Handler):
    """Keeps every record of the product's loggers with all its attributes (``extra``)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


class CapturedLogs:
    """Every formatted log line and record, and stdout/stderr as the test saw them."""

    def __init__(self, lines: list[str], capfd: pytest.CaptureFixture[str]) -> None:
        self.lines = lines
        self._capfd = capfd

    def text(self) -> str:
        printed = self._capfd.readouterr()
        self.lines.extend([printed.out, printed.err])
        return "\n".join(self.lines)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch,
         capfd: pytest.CaptureFixture[str]) -> Iterator[CapturedLogs]:
    lines: list[str] = []
    original_format = logging.Handler.format

    def recording_format(handler: logging.Handler, record: logging.LogRecord) -> str:
        text = original_format(handler, record)
        lines.append(text)
        return text

    monkeypatch.setattr(logging.Handler, "format", recording_format)
    recorder = Recorder(lines)
    root = logging.getLogger()
    root.addHandler(recorder)
    levels = {name: logging.getLogger(name).level for name in PRODUCT_LOGGERS}
    for name in PRODUCT_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(lines, capfd)
    finally:
        root.removeHandler(recorder)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _install_through_oauth(stack: Any, shop: str) -> int:
    """/auth/install, Shopify's consent (played by the emulator), then /auth/callback."""
    def status_and_location(path: str) -> tuple[int, str]:
        parts = urlsplit(stack.cloud.api.url + path)
        connection = http.client.HTTPConnection(parts.netloc, timeout=60)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            response = connection.getresponse()
            return response.status, response.getheader("Location") or ""
        finally:
            connection.close()

    _, consent = status_and_location(f"/auth/install?{urlencode({'shop': shop})}")
    state = parse_qs(urlsplit(consent).query)["state"][0]
    params = {"code": stack.emulator.authorization_code(shop, LOCAL_API_KEY), "shop": shop,
              "state": state, "timestamp": str(int(time.time())), "host": "YWRtaW4"}
    params["hmac"] = query_signature(params, stack.api_secret)
    return status_and_location(f"/auth/callback?{urlencode(params)}")[0]


def _customer_email(customer: dict[str, Any]) -> str | None:
    return (customer.get("defaultEmailAddress") or {}).get("emailAddress")


def test_no_token_and_no_customer_email_reaches_any_log_line(logs):
    store = generate_store(StoreSpec(domain=SHOP, customers=60, seed=5, products=8))
    emails = {e.casefold() for e in map(_customer_email, store.customers.values()) if e}
    assert len(emails) > 10
    with local_stack([store], log_level="DEBUG") as stack:
        # The OAuth install: the code exchange brings a fresh access token through the API.
        stack.emulator.add_store(generate_store(StoreSpec(domain=NEW_SHOP, customers=3,
                                                          seed=6)))
        assert _install_through_oauth(stack, NEW_SHOP) == 302
        api = stack.api(SHOP)
        segment = api.post("/segments", {"name": "Repeat buyers",
                                         "shopify_query": "number_of_orders >= 2"})
        stack.cloud.fire_schedule()
        executions = stack.cloud.wait_for_executions(timeout_s=300)
        assert {e["status"] for e in executions} == {"SUCCEEDED"}
        preview = api.get(f"/segments/{segment['id']}/tag-jobs/preview?tag=hygiene")
        assert preview["members"] > 0
        # Faults on the way: error and retry paths log too.
        stack.emulator.faults.fail_next(1, status=502, shop=SHOP)
        stack.emulator.faults.throttle_next(1, shop=SHOP)
        job = api.post(f"/segments/{segment['id']}/tag-jobs",
                       {"tag": "hygiene", "action": "add"})
        stack.cloud.drain_queues(timeout_s=120)
        assert api.get(f"/tag-jobs/{job['id']}")["status"] == "completed"
        customer = next(iter(store.customers.values()))
        assert deliver_webhook(f"{stack.cloud.api.url}/webhooks", "customers/data_request",
                               SHOP, {"shop_id": 1, "shop_domain": SHOP,
                                      "orders_requested": [],
                                      "customer": {"id": numeric_id(customer["id"]),
                                                   "email": _customer_email(customer)},
                                      "data_request": {"id": 77}},
                               stack.api_secret) == 200
        stack.cloud.invoke("SyncFunction", {"action": "privacy", "shop": SHOP})
        assert api.get("/privacy-requests")["items"][0]["status"] == "done"
        # A session token with a forged signature is refused; the refusal is logged.
        forged = stack.session_token(SHOP)[:-4] + "AAAA"
        refused = urllib.request.Request(f"{stack.cloud.api.url}/segments",
                                         headers={"Authorization": f"Bearer {forged}"})
        with pytest.raises(urllib.error.HTTPError) as unauthorized:
            urllib.request.urlopen(refused, timeout=30)
        assert unauthorized.value.code == 401
        secrets = {stack.emulator.token_for(SHOP), stack.emulator.token_for(NEW_SHOP),
                   stack.api_secret, stack.session_token(SHOP), forged}
    text = logs.text()
    for stage in ("sync state answered", "day planned", "day reduced", "shop analytics stored",
                  "tag job finished"):
        assert stage in text, f"the run's {stage!r} line was not captured"
    leaks = [s[:12] + "..." for s in secrets if s in text]
    leaks += sorted({m.group(0)[:12] + "..." for m in ACCESS_TOKEN.finditer(text)})
    leaks += sorted({m.group(0)[:12] + "..." for m in JWT.finditer(text)})
    lowered = text.casefold()
    leaks += sorted(e for e in emails if e in lowered)
    assert leaks == [], f"secrets or customer e-mails in the logs: {leaks}"


def test_the_capture_sees_powertools_lines_debug_records_and_prints(logs):
    """Without this, a capture that saw nothing would pass the test above."""
    PROBE.info("probe", extra={"token": "shpat_probe0001"})
    logging.getLogger("seglift.probe").debug("probe %s", "shpat_probe0002")
    print("shpat_probe0003")
    text = logs.text()
    assert all(f"shpat_probe000{n}" in text for n in (1, 2, 3))
