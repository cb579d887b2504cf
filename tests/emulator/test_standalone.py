"""``seglift emulator`` prints what a developer needs to point a client at the emulator."""

import urllib.request

from devkit.shopify_emulator import standalone
from devkit.shopify_emulator.server import ShopifyEmulator

from .conftest import SHOP, build_store, post


class _StopsWhenChecked:
    """Stands in for the 'serve forever' wait: checks the server answers, then Ctrl-C."""

    seen_health = False
    url = ""

    @classmethod
    def wait(cls):
        with urllib.request.urlopen(cls.url + "/__emulator/health", timeout=5) as response:
            cls.seen_health = response.status == 200
        raise KeyboardInterrupt


def test_run_prints_the_endpoint_and_each_token_and_stops_on_ctrl_c(monkeypatch, capsys):
    started = []
    original_start = ShopifyEmulator.start

    def start(self):
        url = original_start(self)
        started.append(self)
        _StopsWhenChecked.url = url
        return url

    monkeypatch.setattr(ShopifyEmulator, "start", start)
    monkeypatch.setattr(standalone, "_wait_for_ctrl_c", _StopsWhenChecked.wait)
    standalone.run(0, [build_store(customers=2)])
    output = capsys.readouterr().out
    emulator = started[0]
    assert "/admin/api/2026-10/graphql.json" in output
    assert SHOP in output and emulator.token_for(SHOP) in output
    assert _StopsWhenChecked.seen_health


def test_a_deleted_customer_reference_is_null(emulator, store):
    store.delete_customer("gid://shopify/Customer/1", "2026-03-01T00:00:00Z")
    _, _, body = post(
        emulator, '{ order(id: "gid://shopify/Order/1") { customer { displayName } } }'
    )
    assert body["data"]["order"] == {"customer": None}
