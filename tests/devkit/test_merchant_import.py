"""A merchant's own exports as the store ``serve --import`` and ``demo --import`` run on:
currency and time zone read from the file or named, the customer export's tags, consent
and addresses applied, and every unreadable row reported by line."""

from __future__ import annotations

import csv
import io

import pytest

from devkit.cli.main import _import_options, build_parser
from devkit.import_orders import ImportOptions, ImportRefused, load_merchant_store

ORDER_COLUMNS = ["Name", "Email", "Financial Status", "Accepts Marketing", "Currency",
                 "Subtotal", "Shipping", "Taxes", "Total", "Created at", "Lineitem quantity",
                 "Lineitem name", "Lineitem price", "Billing Name", "Billing Country", "Tags"]
CUSTOMER_COLUMNS = ["Customer ID", "First Name", "Last Name", "Email",
                    "Accepts Email Marketing", "Default Address City",
                    "Default Address Province Code", "Default Address Country Code",
                    "Total Spent", "Total Orders", "Note", "Tags"]
SHOP = "merchant.myshopify.com"


def write_csv(path, columns, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def order(name, email, created, total, currency="EUR", marketing="no"):
    return {"Name": name, "Email": email, "Financial Status": "paid",
            "Accepts Marketing": marketing, "Currency": currency, "Subtotal": total,
            "Shipping": "0.00", "Taxes": "0.00", "Total": total, "Created at": created,
            "Lineitem quantity": "1", "Lineitem name": "Tea", "Lineitem price": total,
            "Billing Name": "Anna Jansen", "Billing Country": "NL"}


WINTER_AND_SUMMER = [
    order("#1001", "anna@example.com", "2025-01-10 23:30:00 +0100", "20.00"),
    order("#1002", "anna@example.com", "2025-07-10 23:30:00 +0200", "35.50"),
    order("#1003", "bert@example.com", "2025-07-11 08:00:00 +0200", "12.00", marketing="yes"),
]


def test_currency_and_a_daylight_saving_zone_are_read_from_the_file(tmp_path):
    path = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, WINTER_AND_SUMMER)
    result = load_merchant_store(path, SHOP)
    assert result.ok
    assert result.store.currency == "EUR"
    assert result.store.timezone == "Europe/Berlin"
    assert any("Europe/Berlin" in note for note in result.notes)
    # 23:30 at UTC+1 on 10 January is 22:30 UTC: the instant is kept, only days use the zone.
    created = sorted(o["createdAt"] for o in result.store.orders.values())
    assert created[0] == "2025-01-10T22:30:00Z"


def test_one_offset_all_year_is_a_fixed_zone_and_options_win(tmp_path):
    rows = [order("#1", "a@example.com", "2025-03-01 10:00:00 +0900", "1500", currency="JPY")]
    path = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, rows)
    assert load_merchant_store(path, SHOP).store.timezone == "Etc/GMT-9"
    named = load_merchant_store(path, SHOP, timezone="Asia/Tokyo", currency="jpy")
    assert (named.store.timezone, named.store.currency) == ("Asia/Tokyo", "JPY")
    assert named.notes == []


def test_a_named_zone_that_disagrees_with_the_file_gets_a_note(tmp_path):
    path = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, WINTER_AND_SUMMER)
    result = load_merchant_store(path, SHOP, timezone="America/New_York")
    assert result.store.timezone == "America/New_York"
    assert any("check that --timezone" in note for note in result.notes)


def test_an_order_in_another_currency_is_reported_by_line(tmp_path):
    rows = [*WINTER_AND_SUMMER, order("#1004", "c@example.com", "2025-08-01 10:00:00 +0200",
                                      "9.00", currency="USD")]
    path = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, rows)
    result = load_merchant_store(path, SHOP)
    (error,) = result.orders.errors
    assert (error.row, error.column, error.value) == (5, "Currency", "USD")
    assert "differs from the shop's currency EUR" in error.message
    assert result.orders.orders_imported == 3


@pytest.mark.parametrize("options, message", [
    ({"currency": "euro"}, "not a currency code"),
    ({"timezone": "Mars/Olympus"}, "IANA name"),
])
def test_bad_options_are_refused_before_anything_is_read(tmp_path, options, message):
    path = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, WINTER_AND_SUMMER)
    with pytest.raises(ImportRefused, match=message):
        load_merchant_store(path, SHOP, **options)


def test_rows_of_one_order_apart_from_each_other_are_reported():
    rows = [WINTER_AND_SUMMER[0], WINTER_AND_SUMMER[2],
            {**WINTER_AND_SUMMER[0], "Lineitem name": "Cup"}]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ORDER_COLUMNS)
    writer.writerows([[row.get(c, "") for c in ORDER_COLUMNS] for row in rows])
    from devkit.store.model import ShopStore
    from devkit.store.order_export_csv import import_order_export

    report = import_order_export(buffer.getvalue(), ShopStore(domain=SHOP, currency="EUR"))
    (error,) = report.errors
    assert error.row == 4 and "not next to each other" in error.message
    assert report.orders_imported == 2 and report.rows_skipped == 1


def test_the_customer_export_sets_tags_consent_and_address_and_adds_non_buyers(tmp_path):
    orders = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, WINTER_AND_SUMMER)
    customers = write_csv(tmp_path / "customers_export.csv", CUSTOMER_COLUMNS, [
        {"Customer ID": "1", "First Name": "Anna", "Last Name": "Jansen",
         "Email": "ANNA@example.com", "Accepts Email Marketing": "yes",
         "Default Address City": "Utrecht", "Default Address Country Code": "NL",
         "Tags": "vip, wholesale"},
        {"Customer ID": "2", "First Name": "Bert", "Email": "bert@example.com",
         "Accepts Email Marketing": "no", "Default Address Country Code": "DE", "Tags": ""},
        {"Customer ID": "3", "First Name": "Cleo", "Email": "cleo@example.com",
         "Accepts Email Marketing": "yes", "Tags": "newsletter"},
        {"Customer ID": "4", "Email": "not-an-address", "Tags": ""},
        {"Customer ID": "5", "Email": "dora@example.com", "Accepts Email Marketing": "maybe"},
    ])
    result = load_merchant_store(orders, SHOP, customers_path=customers)
    report = result.customers
    assert report is not None and not result.ok
    assert [(e.row, e.column) for e in report.errors] == [
        (5, "Email"), (6, "Accepts Email Marketing")]
    assert (report.customers_updated, report.customers_created) == (2, 1)
    by_email = {c["defaultEmailAddress"]["emailAddress"].lower(): c
                for c in result.store.customers.values()}
    anna, bert, cleo = by_email["anna@example.com"], by_email["bert@example.com"], by_email[
        "cleo@example.com"]
    assert anna["tags"] == ["vip", "wholesale"] and anna["numberOfOrders"] == "2"
    assert anna["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"
    assert anna["defaultAddress"]["city"] == "Utrecht"
    # Consent given at checkout and since withdrawn: the customer export is current.
    assert bert["defaultEmailAddress"]["marketingState"] == "NOT_SUBSCRIBED"
    assert bert["defaultAddress"]["countryCodeV2"] == "DE"
    assert cleo["numberOfOrders"] == "0" and cleo["tags"] == ["newsletter"]
    # A customer who never ordered signed up no later than the export's last order.
    assert cleo["createdAt"] == max(o["createdAt"] for o in result.store.orders.values())


def test_a_customer_file_that_is_an_order_export_is_refused(tmp_path):
    orders = write_csv(tmp_path / "orders_export.csv", ORDER_COLUMNS, WINTER_AND_SUMMER)
    with pytest.raises(ImportRefused, match="an order export, not the customer export"):
        load_merchant_store(orders, SHOP, customers_path=orders)
    other = write_csv(tmp_path / "other.csv", ["Email", "Score"], [{"Email": "a@b.co"}])
    with pytest.raises(ImportRefused, match="missing column"):
        load_merchant_store(orders, SHOP, customers_path=other)


def test_serve_and_demo_take_the_import_options():
    for command in ("serve", "demo"):
        args = build_parser().parse_args([command, "--import", "o.csv", "--customers-file",
                                          "c.csv", "--currency", "EUR", "--timezone",
                                          "Europe/Berlin"])
        assert _import_options(args) == ImportOptions("o.csv", "c.csv", "EUR", "Europe/Berlin")
    assert _import_options(build_parser().parse_args(["serve"])) is None


def test_help_advertises_only_options_that_exist():
    text = build_parser().format_help()
    assert "--out" not in text and "--import" in text
