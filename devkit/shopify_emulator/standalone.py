"""Run the emulator in the foreground (the ``seglift emulator`` command) until Ctrl-C."""

from __future__ import annotations

import threading

from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.model import ShopStore


def _wait_for_ctrl_c() -> None:
    threading.Event().wait()


def run(port: int, stores: list[ShopStore], *, restore_rate: float | None = None) -> None:
    """Serve ``stores`` on 127.0.0.1:``port``; prints the endpoint and each shop's token."""
    emulator = ShopifyEmulator(stores, restore_rate=restore_rate, port=port)
    emulator.start()
    print(f"Shopify emulator (Admin API 2026-10): {emulator.graphql_url}", flush=True)
    for domain in emulator.domains:
        store = emulator.store(domain)
        print(
            f"  {domain}  token={emulator.token_for(domain)}  plan={store.plan}  "
            f"customers={len(store.customers)} orders={len(store.orders)} "
            f"products={len(store.products)}",
            flush=True,
        )
    print("Press Ctrl-C to stop.", flush=True)
    try:
        _wait_for_ctrl_c()
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        emulator.stop()
