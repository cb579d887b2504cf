"""A store on disk (``devkit.store.spill``) holds the same records as one in memory: the
same export imported into each gives equal customers and orders, record for record, and
the table behaves as the dict it stands in for."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from devkit.store.customer_export_csv import import_customer_export
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import ShopStore
from devkit.store.order_export_csv import export_order_csv, import_order_export
from devkit.store.spill import LazyRecords, SpillTable

SHOP = "spill-test.myshopify.com"


@pytest.fixture(scope="module")
def export_text() -> str:
    source = generate_store(StoreSpec(domain=SHOP, customers=250, seed=5))
    buffer = io.StringIO()
    export_order_csv(source, buffer)
    return buffer.getvalue()


def _both(text: str) -> tuple[ShopStore, ShopStore]:
    memory = ShopStore(domain=SHOP, timezone="Europe/Berlin")
    disk = ShopStore.on_disk(SHOP, timezone="Europe/Berlin")
    for store in (memory, disk):
        report = import_order_export(io.StringIO(text), store)
        assert report.ok, report.errors[:3]
    return memory, disk


def test_an_export_imported_on_disk_equals_the_same_import_in_memory(export_text):
    memory, disk = _both(export_text)
    assert isinstance(disk.orders, SpillTable)
    assert len(disk.orders) == len(memory.orders) > 300
    assert len(disk.customers) == len(memory.customers) > 100
    # Same ids in the same (insertion) order, and record for record the same content,
    # including the customer totals and order indexes recomputed in SQL.
    assert list(disk.orders) == list(memory.orders)
    assert list(disk.customers.values()) == list(memory.customers.values())
    assert list(disk.orders.values()) == list(memory.orders.values())
    indexes = {o["customerJourneySummary"]["customerOrderIndex"] for o in disk.orders.values()
               if o["customer"]}
    assert min(indexes) == 1 and max(indexes) > 1


def test_reimporting_on_disk_replaces_orders_by_name(export_text):
    memory, disk = _both(export_text)
    for store in (memory, disk):
        report = import_order_export(io.StringIO(export_text), store)
        assert report.orders_updated == report.orders_imported and report.orders_created == 0
    assert len(disk.orders) == len(memory.orders)
    assert list(disk.orders.values()) == list(memory.orders.values())
    assert list(disk.customers.values()) == list(memory.customers.values())


def test_the_customer_export_applies_on_disk_as_in_memory(export_text):
    memory, disk = _both(export_text)
    first = next(iter(memory.customers.values()))
    email = first["defaultEmailAddress"]["emailAddress"]
    customers_csv = ("First Name,Last Name,Email,Accepts Email Marketing,City,Province Code,"
                     "Country Code,Tags,Note\n"
                     f"Ada,Lovelace,{email.upper()},yes,Hamburg,HH,DE,\"vip, wholesale\",hi\n"
                     "New,Person,new.person@example.com,no,,,,newsletter,\n")
    for store in (memory, disk):
        report = import_customer_export(io.StringIO(customers_csv), store,
                                        now=datetime(2026, 5, 1, tzinfo=UTC))
        assert (report.customers_updated, report.customers_created) == (1, 1)
    assert disk.customers[first["id"]]["tags"] == ["vip", "wholesale"]
    assert list(disk.customers.values()) == list(memory.customers.values())


def test_a_spill_table_is_a_mapping_in_insertion_order():
    store = ShopStore.on_disk(SHOP)
    table = store.customers
    records = [{"__typename": "Customer", "id": f"gid://shopify/Customer/{n}",
                "defaultEmailAddress": {"emailAddress": f"C{n}@example.com"}, "tags": []}
               for n in (5, 2, 9)]
    for record in records:
        store.add_customer(record)
    assert list(table) == [r["id"] for r in records] and len(table) == 3
    changed = dict(records[0], tags=["vip"])
    store.put(changed)                          # replaced in place: position kept
    assert list(table) == [r["id"] for r in records] and len(table) == 3
    assert table["gid://shopify/Customer/5"]["tags"] == ["vip"]
    read = table["gid://shopify/Customer/5"]
    read["tags"].append("not kept")             # a copy: unchanged until written back
    assert table["gid://shopify/Customer/5"]["tags"] == ["vip"]
    assert isinstance(table, SpillTable)
    assert table.gid_where("email", "c2@example.com") == "gid://shopify/Customer/2"
    del table["gid://shopify/Customer/2"]
    assert "gid://shopify/Customer/2" not in table and len(table) == 2
    with pytest.raises(KeyError):
        table["gid://shopify/Customer/2"]
    with pytest.raises(ValueError):
        table["gid://shopify/Customer/1"] = records[2]
    lazy = LazyRecords(table, ["gid://shopify/Customer/9", "gid://shopify/Customer/5"])
    assert [r["id"] for r in lazy[::-1]] == ["gid://shopify/Customer/5",
                                              "gid://shopify/Customer/9"]
    assert [r["id"] for r in lazy] == ["gid://shopify/Customer/9", "gid://shopify/Customer/5"]


def test_the_file_is_removed_when_the_store_is_closed():
    store = ShopStore.on_disk(SHOP)
    assert store.spill is not None
    directory = store.spill.directory
    assert (directory / "store.sqlite").exists()
    store.spill.close()
    assert not directory.exists()
