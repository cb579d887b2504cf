"""``make demo``: the daily job end to end on the local cloud, with a readable report.

1. generate a store and serve it from the Shopify emulator;
2. deploy template.yaml into the local cloud and install the shop;
3. create segments through the REST API (templates and Shopify query syntax);
4. fire the daily schedule: sync -> Step Functions (features, segments, metrics);
5. measure what one segment's customers bought, and split them for an A/B comparison;
6. tag the members of one segment in Shopify through SQS and the tagging Lambda;
7. report: segments with their metrics, the measurement, the tag job, the email SES sent;
8. end with the operator's view: the metrics the run emitted and the template's alarms
   evaluated on them (which would have fired), also when a step failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from devkit.cli.progress import Progress, StepFailed
from devkit.import_orders import ImportOptions, imported_store
from devkit.local_stack import LocalStack, local_stack
from devkit.store.describe import describe_store
from devkit.store.generator import StoreSpec, generate_store
from seglift.measurements.report_lines import measurement_report_lines


@dataclass(frozen=True)
class DemoSegment:
    """A segment the demo creates: from a template, or from Shopify's query syntax."""

    name: str
    template: str | None = None
    params: dict[str, Any] | None = None
    shopify_query: str | None = None

    def body(self) -> dict[str, Any]:
        if self.template:
            return {
                "name": self.name,
                "template": {"id": self.template, "params": self.params or {}},
            }
        return {"name": self.name, "shopify_query": self.shopify_query}


DEMO_SEGMENTS = [
    DemoSegment("First-time buyers (F1)", template="journey-f1"),
    DemoSegment("Second-time buyers (F2)", template="journey-f2"),
    DemoSegment("Loyal customers (F3+)", template="journey-f3-plus"),
    DemoSegment("Dormant (no order in 180 days)", template="journey-dormant"),
    DemoSegment("Champions (RFM)", template="rfm-champions"),
    DemoSegment(
        "VIPs who ordered in the last 90 days",
        shopify_query="customer_tags CONTAINS 'vip' AND last_order_date > -90d",
    ),
]
TAGGED_SEGMENT = "Loyal customers (F3+)"
DEMO_TAG = "seglift-loyal"


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f"{float(value['amount']):,.2f} {value.get('currency', '')}".strip()
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def _metric(segment: dict[str, Any], name: str) -> Any:
    latest = segment.get("latest_metrics") or {}
    return (latest.get("money") or {}).get(name, (latest.get("values") or {}).get(name))


def _report_segments(progress: Progress, segments: list[dict[str, Any]]) -> None:
    columns = [
        "members",
        "ltv",
        "aov",
        "avg_purchase_count",
        "avg_purchase_interval_days",
        "repeat_rate",
    ]
    progress.say("")
    progress.say(f"{'segment':<40}" + "".join(f"{c[:14]:>16}" for c in columns))
    for segment in segments:
        values = [segment.get("member_count")] + [_metric(segment, c) for c in columns[1:]]
        progress.say(f"{segment['name'][:39]:<40}" + "".join(f"{_fmt(v):>16}" for v in values))


def report_operator_view(stack: LocalStack, progress: Progress) -> int:
    """What CloudWatch would show after this run: the business metrics the functions
    emitted and the template's alarms evaluated on them. Returns how many fired."""
    view = stack.cloud.operator_view()
    progress.say("\noperator's view (CloudWatch, as the local cloud collected it):")
    for line in view.lines():
        progress.say("  " + line)
    return len(view.fired)


def _wait_for_job(
    stack: LocalStack, shop: str, job_id: str, progress: Progress, timeout_s: float = 900
) -> dict:
    """Deliver the job's SQS messages batch by batch, reporting its counts as they move."""
    assert stack.cloud.poller is not None
    api = stack.api(shop)
    deadline = time.monotonic() + timeout_s
    last_report = 0.0
    while True:
        delivered = stack.cloud.poller.poll_once()
        job = api.get(f"/tag-jobs/{job_id}")
        if job["status"] not in ("queued", "running"):
            return job
        if time.monotonic() - last_report > 5:
            progress.say(
                f"    {job['status']}: {job['done'] + job['skipped'] + job['failed']:,}"
                f" of {job['total']:,} customers"
            )
            last_report = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"tag job {job_id} still {job['status']} after {timeout_s:.0f}s")
        if not delivered:
            time.sleep(0.1)


def _end_with_dashboard(
    stack: LocalStack, shop: str, progress: Progress, *, keep_serving: bool, port: int
) -> None:
    """End by pointing at the dashboard: serve it until Ctrl-C on a terminal, otherwise
    (CI, pipes, --no-serve) say how to open it and return at once."""
    from devkit.serve import start_dashboard, wait_for_ctrl_c

    if not keep_serving:
        progress.say("\nTo explore these results in the web dashboard: make serve")
        progress.say(f"  then open Dashboard http://127.0.0.1:{port}/")
        return
    assert stack.cloud.poller is not None
    stack.cloud.poller.start()  # tag jobs started from the dashboard are delivered
    dashboard = start_dashboard(stack, shop, port)
    try:
        progress.say(f"\nDashboard {dashboard.url}")
        progress.say("open it in a browser; Ctrl-C to stop.")
        wait_for_ctrl_c()
    except KeyboardInterrupt:
        progress.say("stopping")
    finally:
        dashboard.stop()


def run_demo(
    *,
    customers: int = 3000,
    seed: int = 42,
    shop: str = "demo-shop.myshopify.com",
    keep_serving: bool = False,
    dashboard_port: int = 8601,
    imported: ImportOptions | None = None,
) -> int:
    progress = Progress()
    if imported is not None:
        progress.say(f"seglift demo: {imported.orders_path}, shop {shop}\n")
        store = imported_store(imported, shop, progress)
    else:
        progress.say(f"seglift demo: {customers:,} customers, seed {seed}, shop {shop}\n")
        with progress.step(f"generating the store ({customers:,} customers)"):
            store = generate_store(StoreSpec(domain=shop, customers=customers, seed=seed))
    summary = describe_store(store)
    shown = [
        "customers",
        "customers_with_orders",
        "repeat_buyer_share",
        "orders",
        "line_items",
        "refunds",
        "net_revenue",
        "first_order_at",
        "last_order_at",
    ]
    progress.say("  " + ", ".join(f"{k.replace('_', ' ')}: {_fmt(summary[k])}" for k in shown))

    with progress.step(
        "starting the Shopify emulator and deploying template.yaml to the local cloud"
    ):
        context = local_stack([store])
        stack = context.__enter__()
    operator_view_shown = False
    try:
        api = stack.api(shop)
        with progress.step(f"creating {len(DEMO_SEGMENTS)} segments through the REST API"):
            created = {s.name: api.post("/segments", s.body()) for s in DEMO_SEGMENTS}

        with progress.step("firing the daily schedule: privacy, sync, segment workflow per shop"):
            stack.cloud.fire_schedule()
            executions = stack.cloud.wait_for_executions(timeout_s=1800)
        failed = [e for e in executions if e["status"] != "SUCCEEDED"]
        if not executions or failed:
            raise StepFailed(f"workflow did not succeed: {[e['status'] for e in executions]}")
        shop_status = api.get("/shop")
        sync = shop_status["sync"]
        if sync["status"] != "succeeded":
            raise StepFailed(f"the shop's sync {sync['status']}: {sync.get('error')}")
        progress.say(
            f"  sync {sync['status']}: {_fmt(sync.get('records'))} records in "
            f"{_fmt((sync.get('duration_ms') or 0) / 1000)} s"
        )

        segments = api.get("/segments?limit=100")["items"]
        _report_segments(progress, segments)
        errors = [s for s in segments if s.get("last_error")]
        for segment in errors:
            progress.say(f"  ! {segment['name']}: {segment['last_error']}")

        progress.say("")
        with progress.step(
            "measuring what the largest segment bought, with an A/B split"
        ):
            lines = measurement_report_lines(api, shop)
        for line in lines:
            progress.say("  " + line)

        target = created[TAGGED_SEGMENT]
        progress.say("")
        progress.say(f"  paced by the shop's cost bucket: {store.plan} plan, 10 points a tagsAdd")
        with progress.step(f"tagging '{TAGGED_SEGMENT}' with '{DEMO_TAG}' in Shopify"):
            job = api.post(f"/segments/{target['id']}/tag-jobs", {"tag": DEMO_TAG, "action": "add"})
            progress.say("")
            job = _wait_for_job(stack, shop, job["id"], progress)
        progress.say(
            f"  job {job['id']}: {job['status']}, total {job['total']}, done {job['done']}, "
            f"skipped {job['skipped']}, failed {job['failed']}"
        )
        tagged = sum(
            DEMO_TAG in c.get("tags", []) for c in stack.emulator.store(shop).customers.values()
        )
        progress.say(f"  customers carrying '{DEMO_TAG}' in the emulator's store: {tagged}")

        emails = stack.cloud.sent_emails()
        progress.say(f"\nemails sent by SES: {len(emails)}")
        for email in emails:
            progress.say(f"  to {', '.join(email.to)}: {email.subject}")
            for line in email.body.strip().splitlines()[:8]:
                progress.say(f"    {line}")
        operator_view_shown = True
        fired = report_operator_view(stack, progress)
        if errors or job["status"] != "completed":
            raise StepFailed("the demo finished with errors (see above)")
        if fired:
            progress.say(f"\ndemo finished: every step succeeded, but {fired} alarm(s) fired")
        else:
            progress.say("\ndemo finished: every step succeeded")
        _end_with_dashboard(
            stack, shop, progress, keep_serving=keep_serving, port=dashboard_port
        )
        return 0
    finally:
        if not operator_view_shown:  # a step failed: what would the operator have seen?
            try:
                report_operator_view(stack, progress)
            except Exception as error:  # never hide the step's own failure
                progress.say(f"(operator's view unavailable: {type(error).__name__}: {error})")
        context.__exit__(None, None, None)
