"""Shopify's order-export CSV: what we write reads back as the same orders, and a bad file
or a bad cell gets an error that says exactly what to fix."""

from __future__ import annotations

import csv
import io

import pytest

from devkit.store.describe import describe_store
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import ShopStore
from devkit.store.order_export_csv import (
    EXPORT_COLUMNS,
    OrderExportFormatError,
    export_order_csv,
    import_order_export,
)
from tests.store.invariants import money

HEADER = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
          "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,"
          "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,"
          "Billing City,Billing Province,Billing Country,Refunded Amount,Vendor,Id,Tags,"
          "Source,Lineitem discount")
FIRST = ("#1050,Anna@Example.com,paid,2026-05-01 10:00:00 +0200,fulfilled,yes,USD,100.90,"
         "0.00,8.33,109.23,,0.00,2026-05-01 09:59:00 +0200,1,Matcha Essence - 100 g,62.94,"
         "MAT-100,Anna Jansen,Toronto,ON,CA,0.00,Leaf & Ladle,555,,web,0.00")


def continuation_row(**values: str) -> str:
    """A later row of an order: only Name, Email and the line-item columns are filled."""
    columns = HEADER.split(",")
    cells = [""] * len(columns)
    for column, value in values.items():
        cells[columns.index(column.replace("_", " "))] = value
    return ",".join(cells)


SECOND = continuation_row(Name="#1050", Email="Anna@Example.com", Lineitem_quantity="2",
                          Lineitem_name="Matcha Essence - 50 g", Lineitem_price="18.98",
                          Lineitem_sku="MAT-50", Vendor="Leaf & Ladle",
                          Lineitem_discount="0.00")


def empty_store() -> ShopStore:
    return ShopStore(domain="import-test.myshopify.com", timezone="America/New_York")


def exported(store: ShopStore) -> str:
    buffer = io.StringIO()
    export_order_csv(store, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def source_store():
    return generate_store(StoreSpec(customers=300, seed=11))


def test_export_has_shopifys_header_and_one_row_per_line_item(source_store):
    rows = list(csv.reader(io.StringIO(exported(source_store))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert len(rows) - 1 == sum(len(o["lineItems"]) for o in source_store.orders.values())
    first_order = min(source_store.orders.values(), key=lambda o: o["createdAt"])
    assert rows[1][0] == first_order["name"] == "#1001"
    created_at = rows[1][EXPORT_COLUMNS.index("Created at")]
    assert created_at.endswith(("-0500", "-0400")), "dates are in the shop's time zone"


def test_round_trip_reproduces_orders_and_customers(source_store):
    target = empty_store()
    report = import_order_export(exported(source_store).splitlines(keepends=True), target)
    assert report.ok and report.rows_skipped == 0
    assert report.orders_imported == len(source_store.orders) == len(target.orders)
    buyers = [c for c in source_store.customers.values() if c["numberOfOrders"] != "0"]
    assert report.customers_created == len(buyers)
    by_name = {o["name"]: o for o in target.orders.values()}
    for original in source_store.orders.values():
        copy = by_name[original["name"]]
        assert copy["createdAt"] == original["createdAt"]
        assert copy["cancelledAt"] == original["cancelledAt"]
        assert copy["email"] == original["email"]
        assert copy["discountCodes"] == original["discountCodes"]
        assert copy["displayFinancialStatus"] == original["displayFinancialStatus"]
        for field in ("subtotalPriceSet", "totalDiscountsSet", "totalShippingPriceSet",
                      "totalTaxSet", "totalPriceSet", "totalRefundedSet",
                      "currentTotalPriceSet"):
            assert money(copy[field]) == money(original[field]), field
        assert [(line["name"], line["sku"], line["quantity"],
                 money(line["originalUnitPriceSet"]), money(line["discountedTotalSet"]))
                for line in copy["lineItems"]] == [
                (line["name"], line["sku"], line["quantity"],
                 money(line["originalUnitPriceSet"]), money(line["discountedTotalSet"]))
                for line in original["lineItems"]]
        assert (copy["customerJourneySummary"]["customerOrderIndex"]
                == original["customerJourneySummary"]["customerOrderIndex"])
    imported = {c["defaultEmailAddress"]["emailAddress"]: c for c in target.customers.values()}
    for customer in buyers:
        copy = imported[customer["defaultEmailAddress"]["emailAddress"]]
        assert copy["numberOfOrders"] == customer["numberOfOrders"]
        assert copy["amountSpent"] == customer["amountSpent"]
        assert copy["displayName"] == customer["displayName"]
        assert copy["defaultAddress"]["countryCodeV2"] == customer["defaultAddress"][
            "countryCodeV2"]
    same = ("orders", "line_items", "refunds", "cancelled_orders", "repeat_buyers",
            "net_revenue", "gross_revenue", "first_order_at", "last_order_at")
    before, after = describe_store(source_store), describe_store(target)
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    # Variants of one product come back grouped under one product.
    sold_variants = {line["sku"] for o in source_store.orders.values() for line in o["lineItems"]}
    assert report.products_created < len(sold_variants)


def test_reimporting_into_the_same_store_updates_instead_of_duplicating(source_store,
                                                                        tmp_path):
    store = generate_store(StoreSpec(customers=300, seed=11))
    path = tmp_path / "orders_export.csv"
    export_order_csv(store, path)
    before = describe_store(store)
    report = import_order_export(path, store)
    assert report.ok
    assert report.orders_updated == report.orders_imported == len(store.orders)
    assert report.customers_created == 0 and report.products_created == 0
    after = describe_store(store)
    for key in ("customers", "orders", "line_items", "net_revenue", "repeat_buyers"):
        assert after[key] == before[key]


def test_bom_crlf_blank_lines_and_quoted_cells_are_read():
    quoted = FIRST.replace("Anna Jansen", '"Jansen, Anna ""AJ"""')
    text = "\ufeff" + HEADER + "\r\n\r\n" + quoted + "\r\n" + SECOND + "\r\n\r\n"
    store = empty_store()
    report = import_order_export(text.encode("utf-8"), store)
    assert report.ok, [str(e) for e in report.errors]
    assert report.orders_imported == 1 and report.rows_read == 2
    order = next(iter(store.orders.values()))
    assert [line["quantity"] for line in order["lineItems"]] == [1, 2]
    assert order["createdAt"] == "2026-05-01T07:59:00Z"
    customer = store.customers[order["customer"]["id"]]
    assert customer["displayName"] == 'Jansen, Anna "AJ"'
    assert customer["defaultEmailAddress"] == {"emailAddress": "Anna@Example.com",
                                               "marketingState": "SUBSCRIBED"}
    assert customer["defaultAddress"]["country"] == "Canada"
    assert customer["numberOfOrders"] == "1" and customer["amountSpent"]["amount"] == "109.23"
    product = store.products[order["lineItems"][0]["product"]["id"]]
    assert product["title"] == "Matcha Essence"
    assert [v["title"] for v in product["variants"]] == ["100 g", "50 g"]


def test_existing_customer_is_matched_by_email_ignoring_case():
    store = empty_store()
    import_order_export([HEADER, FIRST, SECOND], store)
    second_order = FIRST.replace("#1050", "#1051").replace("Anna@Example.com",
                                                           "anna@example.COM").replace(
        "2026-05-01", "2026-06-01")
    report = import_order_export([HEADER, second_order], store)
    assert report.customers_created == 0 and report.customers_updated == 1
    (customer,) = store.customers.values()
    assert customer["numberOfOrders"] == "2"
    assert customer["amountSpent"]["amount"] == "218.46"
    indexes = sorted((o["name"], o["customerJourneySummary"]["customerOrderIndex"])
                     for o in store.orders.values())
    assert indexes == [("#1050", 1), ("#1051", 2)]


def test_guest_order_without_email_has_no_customer():
    store = empty_store()
    guest = FIRST.replace("Anna@Example.com", "")
    report = import_order_export([HEADER, guest], store)
    assert report.ok and report.customers_created == 0
    assert next(iter(store.orders.values()))["customer"] is None


def test_missing_required_column_names_it_and_imports_nothing():
    store = empty_store()
    header = HEADER.replace("Lineitem price,", "")
    row = FIRST.replace("62.95,", "", 1)
    with pytest.raises(OrderExportFormatError, match="'Lineitem price'") as raised:
        import_order_export([header, row], store)
    assert raised.value.missing_columns == ("Lineitem price",)
    assert not store.orders and not store.customers and not store.products


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
    (b'{"orders": [{"id": 1}]}', "does not look like a Shopify order export"),
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
    (b"Name,Email\n\xff\xfe\xfa broken", "not UTF-8"),
])
def test_a_file_that_is_not_an_order_export_is_refused(content, message, tmp_path):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    store = empty_store()
    with pytest.raises(OrderExportFormatError, match=message):
        import_order_export(path, store)
    assert not store.orders


def test_unbalanced_quote_is_reported_with_its_line():
    with pytest.raises(OrderExportFormatError, match="unbalanced double quote"):
        import_order_export([HEADER + "\n", '#1,"a@b.co,unterminated\n'], empty_store())


@pytest.mark.parametrize("column, bad, fragment", [
    ("Lineitem price", "12,5x", "amount like 12.50"),
    ("Lineitem quantity", "0", "at least 1"),
    ("Created at", "yesterday", "date like 2025-10-07 09:50:26 +0200"),
    ("Email", "not-an-email", "address like"),
    ("Financial Status", "kinda paid", "must be one of"),
    ("Currency", "EUR", "differs from the shop's currency USD"),
    ("Refunded Amount", "500.00", "exceeds the order Total"),
])
def test_a_bad_cell_skips_its_order_and_says_what_to_fix(column, bad, fragment):
    columns = HEADER.split(",")
    cells = next(csv.reader([FIRST]))
    cells[columns.index(column)] = bad
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    good_order = FIRST.replace("#1050", "#1060").replace("Anna@Example.com", "b@example.com")
    store = empty_store()
    report = import_order_export([HEADER, buffer.getvalue(), SECOND, good_order], store)
    assert not report.ok
    (error,) = report.errors
    assert (error.row, error.column, error.value) == (2, column, bad)
    assert fragment in error.message
    assert report.orders_skipped == 1 and report.rows_skipped == 2
    assert report.orders_imported == 1
    assert [o["name"] for o in store.orders.values()] == ["#1060"]


def test_row_without_order_name_is_reported_and_skipped():
    report = import_order_export([HEADER, FIRST, "," + FIRST.split(",", 1)[1]], empty_store())
    assert report.orders_imported == 1 and report.rows_skipped == 1
    assert report.errors[0].row == 3 and report.errors[0].column == "Name"


def test_whole_file_text_is_accepted_as_well_as_lines():
    store = empty_store()
    report = import_order_export("\n".join([HEADER, FIRST, SECOND]), store)
    assert report.ok and report.orders_imported == 1
