"""``seglift serve``: the local stack kept running for the dashboard, curl or exploration.

The SQS poller delivers tag jobs in the background; the daily schedule can be fired with
``POST /shop/sync`` through the API or by restarting with a new store. The dashboard
(frontend/) is served beside the API with a ``config.json`` that points it at the local
API with a development session token.
"""

from __future__ import annotations

import threading

from devkit.cli.progress import Progress
from devkit.dashboard_server import DashboardServer, development_config
from devkit.import_orders import ImportOptions, imported_store
from devkit.local_mail import sent_emails
from devkit.local_s3_relay import relay_to_s3
from devkit.local_stack import LocalStack, local_stack
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import ShopStore

# Long enough for an afternoon of curl; App Bridge issues one-minute tokens in production.
SERVE_TOKEN_TTL_SECONDS = 12 * 3600
DEFAULT_DASHBOARD_PORT = 8601


def start_dashboard(
    stack: LocalStack, shop: str, port: int = DEFAULT_DASHBOARD_PORT
) -> DashboardServer:
    """Serve frontend/ against ``stack``'s API, acting for ``shop`` (12-hour dev token)."""
    if stack.cloud.api is None:
        raise RuntimeError("the local stack was started without the API")
    token = stack.session_token(shop, ttl=SERVE_TOKEN_TTL_SECONDS)
    server = DashboardServer(
        development_config(stack.cloud.api.url, token), port=port, s3_relay=relay_to_s3,
        local_mail=lambda: sent_emails(stack.cloud.region),
    )
    server.start()
    return server


def wait_for_ctrl_c() -> None:
    """Block the main thread; the servers run in daemon threads until Ctrl-C."""
    threading.Event().wait()


def store_for(
    progress: Progress, *, shop: str, customers: int, seed: int,
    imported: ImportOptions | None,
) -> ShopStore:
    """The merchant's own export when ``--import`` names one, else a generated store."""
    if imported is not None:
        return imported_store(imported, shop, progress)
    with progress.step(f"generating {customers:,} customers for {shop}"):
        return generate_store(StoreSpec(domain=shop, customers=customers, seed=seed))


def serve(
    *,
    customers: int,
    seed: int,
    shop: str,
    api_port: int,
    emulator_port: int,
    dashboard_port: int = DEFAULT_DASHBOARD_PORT,
    imported: ImportOptions | None = None,
) -> int:
    progress = Progress()
    store = store_for(progress, shop=shop, customers=customers, seed=seed, imported=imported)
    with progress.step("starting the Shopify emulator and the local cloud"):
        stack_context = local_stack(
            [store],
            api_port=api_port,
            emulator_port=emulator_port,
            log_level="INFO",
            redelivery_delay=None,
        )
        stack = stack_context.__enter__()
    dashboard: DashboardServer | None = None
    try:
        assert stack.cloud.api is not None and stack.cloud.poller is not None
        stack.cloud.poller.start()
        with progress.step("running the first daily sync and workflow"):
            stack.cloud.fire_schedule()
            stack.cloud.wait_for_executions()
        dashboard = start_dashboard(stack, shop, dashboard_port)
        progress.say("")
        progress.say(f"REST API         {stack.cloud.api.url}")
        progress.say(f"OpenAPI          {stack.cloud.api.url}/openapi.json")
        progress.say(f"Shopify emulator {stack.emulator.graphql_url}")
        progress.say(f"  access token   {stack.emulator.token_for(shop)}")
        token = stack.session_token(shop, ttl=SERVE_TOKEN_TTL_SECONDS)
        progress.say(f"Session token    {token}  (development token, valid 12 hours)")
        progress.say(f'  TOKEN={token}')
        progress.say(f'  curl -H "Authorization: Bearer $TOKEN" {stack.cloud.api.url}/segments')
        progress.say("")
        progress.say(f"Dashboard {dashboard.url}")
        progress.say("Ctrl-C to stop.")
        wait_for_ctrl_c()
    except KeyboardInterrupt:
        progress.say("stopping")
    finally:
        if dashboard is not None:
            dashboard.stop()
        stack_context.__exit__(None, None, None)
    return 0
