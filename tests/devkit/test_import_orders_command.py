"""`seglift import-orders`: a merchant's export replayed, with a report of what it read."""

import io

from devkit.cli.main import main
from devkit.import_orders import import_orders_command
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.order_export_csv import export_order_csv


def _export(tmp_path, customers=20):
    store = generate_store(StoreSpec(customers=customers, seed=5))
    path = tmp_path / "orders_export.csv"
    export_order_csv(store, path)
    return store, path


def test_an_export_is_imported_and_reported(tmp_path):
    store, path = _export(tmp_path)
    out = io.StringIO()
    assert import_orders_command(str(path), "my-shop.myshopify.com", out=out) == 0
    assert f"orders imported {len(store.orders):,}" in out.getvalue()


def test_rows_that_cannot_be_read_are_listed_and_the_exit_status_says_so(tmp_path):
    _, path = _export(tmp_path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    created = header.index("Created at")
    broken = lines[1].split(",")
    broken[created] = "yesterday-ish"
    path.write_text("\n".join([lines[0], ",".join(broken), *lines[2:]]) + "\n")
    out = io.StringIO()
    assert import_orders_command(str(path), "my-shop.myshopify.com", out=out) == 1
    assert "'Created at'" in out.getvalue() and "yesterday-ish" in out.getvalue()


def test_a_file_that_is_not_an_order_export_is_refused_with_the_reason(tmp_path, capsys):
    path = tmp_path / "notes.csv"
    path.write_text("name,amount\nalice,3\n")
    assert main(["import-orders", str(path), "--shop", "my-shop.myshopify.com"]) == 2
    assert "cannot be imported" in capsys.readouterr().err


def test_a_bad_shop_domain_is_refused(tmp_path, capsys):
    _, path = _export(tmp_path, customers=2)
    assert main(["import-orders", str(path), "--shop", "My Shop"]) == 2
    assert "myshopify.com" in capsys.readouterr().err
