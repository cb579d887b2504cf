"""The segment builder by names, as a merchant uses it: templates found by searching the
gallery (descriptions in words, categories in words), a product picked by its title from
the shop's own catalogue, and an unknown product refused in words. No ids, no JSON typed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DashboardRun, answered
from tests.browser.test_dashboard import open_page

pytestmark = pytest.mark.browser


def first_order_product(run: DashboardRun) -> str:
    """The title of a product some customer's first order contained (so the segment has
    members): read from the emulator's store, as the merchant would know it."""
    orders = sorted(run.store.orders.values(), key=lambda o: o["createdAt"])
    seen: set[str] = set()
    for order in orders:
        customer = (order.get("customer") or {}).get("id")
        if order.get("cancelledAt") or customer in seen or customer is None:
            continue
        seen.add(customer)
        for item in order["lineItems"]:
            product = (item.get("product") or {}).get("id") or item.get("productId")
            if product in run.store.products:
                return str(run.store.products[product]["title"])
    raise AssertionError("no first order with a known product")


def test_the_gallery_reads_in_words_and_is_searched(page: Any, dashboard_run: DashboardRun,
                                                      artifacts: Path) -> None:
    open_page(page, dashboard_run, "segments")
    cards = page.locator(".template-card")
    total = cards.count()
    assert total > 60  # every template is reachable, none hidden behind a category
    text = page.locator(".template-grid").inner_text()
    assert "{" not in text and "}" not in text  # descriptions rendered, no placeholders
    assert "At least 2 orders in the last" in text or "at least 2" in text.lower()
    page.get_by_label("Search templates").fill("first purchase")
    page.wait_for_function(f"document.querySelectorAll('.template-card').length < {total}")
    assert page.get_by_role("button", name="Use “First purchase was a product”").is_visible()
    journey = page.get_by_label("Template category").locator("option", has_text="Customer journey")
    page.get_by_label("Template category").select_option(label=journey.inner_text())
    page.wait_for_selector("text=No template matches")
    page.get_by_label("Search templates").fill("")
    page.wait_for_function("document.querySelectorAll('.template-card').length > 5")
    assert page.locator(".template-card .muted").first.inner_text() == "Customer journey"
    # A location is offered from the countries the shop's customers really have.
    everything = page.get_by_label("Template category").locator("option", has_text="All")
    page.get_by_label("Template category").select_option(label=everything.inner_text())
    page.get_by_role("button", name="Use “Customers in a country”").click()
    form = page.locator("form.template-form")
    country = form.get_by_role("combobox", name=re.compile("^Country"))
    country.wait_for()
    offered = page.locator("form.template-form datalist option")
    offered.first.wait_for(state="attached")
    values = [offered.nth(i).get_attribute("value") for i in range(offered.count())]
    assert values and values == dashboard_run.api.get("/catalog")["country_code"]
    page.screenshot(path=str(artifacts / "template-gallery.png"), full_page=True)


def test_a_product_segment_is_made_by_picking_the_product_by_name(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    title = first_order_product(dashboard_run)
    open_page(page, dashboard_run, "segments")
    page.get_by_label("Search templates").fill("first purchase was")
    page.get_by_role("button", name="Use “First purchase was a product”").click()
    form = page.locator("form.template-form")
    product = form.get_by_role("combobox", name=re.compile("^Product"))
    product.wait_for()
    # The shop's products are offered by title (type to search).
    options = form.locator("datalist option")
    assert options.count() >= 1
    assert title in [options.nth(i).get_attribute("value") for i in range(options.count())]
    product.fill("No such thing in this store")
    form.get_by_role("button", name="Preview count").click()
    alert = form.locator("[role=alert]")
    alert.wait_for()
    assert "Your store has no product “No such thing in this store”" in alert.inner_text()
    assert "template.params" not in alert.inner_text() and "field" not in alert.inner_text()
    product.fill(title)
    assert title in form.locator(".template-description").inner_text()
    form.get_by_role("button", name="Preview count").click()
    preview = form.locator(".ok")
    preview.wait_for()
    count = int(re.search(r"([\d,]+) of", preview.inner_text()).group(1).replace(",", ""))
    assert count >= 1  # the product was in someone's first order: not a silent 0
    page.screenshot(path=str(artifacts / "template-form-product.png"), full_page=True)
    form.get_by_role("button", name="Create segment").click()
    page.wait_for_function("/^#\\/segments\\/seg_/.test(location.hash)")
    page.wait_for_selector(f"h1:has-text('First purchase was a product ({title})')")
    body = page.inner_text("body")
    assert f"contained {title}" in body
    assert not re.search(r"contained \d{6,}", body)
    page.screenshot(path=str(artifacts / "segment-by-product.png"), full_page=True)


def row(page: Any, name: str) -> Any:
    return page.locator("table tbody tr", has=page.get_by_role("link", name=name, exact=True))


def test_segments_are_searched_sorted_filtered_renamed_duplicated_and_deleted(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    api = dashboard_run.api
    base = api.post("/segments", {"name": "Big spenders (browser)",
                                  "shopify_query": "amount_spent >= 100"})
    api.post("/segments", {"name": "Big spenders who repeat",
                           "condition": {"and": [{"member_of": base["id"]},
                                                 {"feature": "order_count", "op": ">=",
                                                  "value": 2}]}})
    open_page(page, dashboard_run, "segments")
    assert row(page, "Repeat buyers").locator("td").nth(1).inner_text() == "Condition"
    page.get_by_label("Search segments").fill("big spenders")
    page.wait_for_selector("caption:has-text('2 of')")
    page.get_by_label("Search segments").fill("")
    page.get_by_label("Sort segments").select_option(label="Name (A to Z)")
    names = page.locator("table tbody tr td:first-child a").all_inner_texts()
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    page.get_by_label("Sort segments").select_option(label="Lifetime value (highest first)")
    ltv = [float(t.replace("$", "").replace(",", "")) for t in
           page.locator("table tbody tr td:nth-child(4)").all_inner_texts() if "$" in t]
    assert len(ltv) >= 2 and ltv == sorted(ltv, reverse=True)
    # Delete is refused, naming the segment that uses it.
    row(page, "Big spenders (browser)").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "“Big spenders who repeat” uses it" in alert.inner_text()
    # Rename, duplicate, and delete what nothing uses.
    row(page, "One order").get_by_role("button", name="Rename").click()
    page.get_by_label("New name for One order").fill("First-time buyers")
    page.get_by_role("button", name="Save name").click()
    page.get_by_role("link", name="First-time buyers", exact=True).wait_for()
    row(page, "First-time buyers").get_by_role("button", name="Duplicate").click()
    page.get_by_role("link", name="Copy of First-time buyers", exact=True).wait_for()
    row(page, "Copy of First-time buyers").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    page.get_by_role("link", name="Copy of First-time buyers", exact=True).wait_for(
        state="detached")
    assert "Copy of First-time buyers" not in [s["name"] for s in api.get("/segments")["items"]]
    page.get_by_label("Kind of segment").select_option(label="Lists (fixed members)")
    page.wait_for_selector("text=No segment matches")
    page.get_by_label("Kind of segment").select_option(label="All kinds")
    page.screenshot(path=str(artifacts / "segment-list.png"), full_page=True)


def test_lists_are_listed_and_made_from_segments_by_name(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    api = dashboard_run.api
    # By their current names (another scenario of this module may have renamed them).
    repeat = api.get(f"/segments/{dashboard_run.segments['repeat']['id']}")
    one = api.get(f"/segments/{dashboard_run.segments['one-order']['id']}")
    open_page(page, dashboard_run, "lists")
    lists = page.locator("section", has=page.get_by_role("heading", name="Your lists"))
    form = page.locator("form[data-form=make-list]")
    # A snapshot of a segment, "the most commonly used" list in the seeds.
    form.get_by_label("The list holds").select_option(
        label="A snapshot of one segment or list (its members today, fixed)")
    assert form.get_by_label("Second segment").is_hidden()
    form.get_by_label("First segment").select_option(label=repeat["name"])
    form.get_by_label("List name").fill("Repeat buyers, frozen")
    # Making a list is a job (it can outlast a request at a large shop): the API answers
    # 202 and the page follows GET /jobs/{id} to the list, with nothing more to click.
    with page.expect_response(lambda r: r.url.endswith("/segments/lists")
                              and r.request.method == "POST") as posted, \
            page.expect_response(lambda r: "/jobs/job_" in r.url) as followed:
        form.get_by_role("button", name="Make the list").click()
    assert posted.value.status == 202
    assert posted.value.headers["location"] == f"/jobs/{posted.value.json()['id']}"
    assert followed.value.json()["kind"] == "list"
    form.locator("[data-list-result]").wait_for()
    made = form.locator("[data-list-result]").inner_text()
    assert f"with {repeat['member_count']} customers" in made
    lists.get_by_role("link", name="Repeat buyers, frozen").wait_for()
    # Combining: everyone in either segment, and the first minus the second.
    form.get_by_label("The list holds").select_option(label="Customers in either")
    form.get_by_label("First segment").select_option(label=repeat["name"])
    form.get_by_label("Second segment").select_option(label=one["name"])
    form.get_by_label("List name").fill("Bought at all")
    form.get_by_role("button", name="Make the list").click()
    lists.get_by_role("link", name="Bought at all").wait_for()
    union = next(s for s in api.get("/segments?limit=100")["items"] if s["name"] == "Bought at all")
    assert union["member_count"] == repeat["member_count"] + one["member_count"]
    form.get_by_label("The list holds").select_option(
        label="Customers in the first but not the second (e.g. without those who opted out)")
    form.get_by_label("First segment").select_option(label="Bought at all")
    form.get_by_label("Second segment").select_option(label=one["name"])
    form.get_by_label("List name").fill("Bought twice or more")
    form.get_by_role("button", name="Make the list").click()
    result = form.locator("[data-list-result]:has-text('Bought twice or more')")
    result.wait_for()
    assert f"with {repeat['member_count']} customers" in result.inner_text()
    lists.get_by_role("link", name="Bought twice or more").wait_for()

    # A list from conditions, built with the visual builder by clicks (no JSON): the live
    # count, then the customers who match today saved as a list.
    page.get_by_role("button", name="Build a list from conditions").click()
    rules = page.locator("form[data-form=condition-list]")
    rules.get_by_label("List name").fill("Two orders or more, today")
    first_rule = rules.locator(".builder-rule").first
    assert first_rule.get_by_label("Field").locator("option:checked").inner_text() == \
        "Number of orders"
    count = rules.locator(".preview-count .ok")
    count.wait_for()
    assert f"{repeat['member_count']:,} of" in count.inner_text()
    rules.screenshot(path=str(artifacts / "list-from-conditions.png"))
    rules.get_by_role("button", name="Make the list").click()
    made = rules.locator("[data-list-result]")
    made.wait_for()
    assert f"with {repeat['member_count']:,} customers" in made.inner_text()
    lists.get_by_role("link", name="Two orders or more, today").wait_for()
    # Lists combine like segments: both operands here are lists, picked in their group.
    form.get_by_label("The list holds").select_option(
        label="Customers in the first but not the second (e.g. without those who opted out)")
    form.get_by_label("First segment or list").select_option(label="Bought at all")
    second = form.get_by_label("Second segment or list")
    offered = second.locator("optgroup[label=Lists] option")
    assert "Two orders or more, today" in offered.all_inner_texts()
    second.select_option(label="Two orders or more, today")
    form.get_by_label("List name").fill("One order only, frozen")
    form.get_by_role("button", name="Make the list").click()
    result = form.locator("[data-list-result]:has-text('One order only, frozen')")
    result.wait_for()
    assert f"with {one['member_count']:,} customers" in result.inner_text()
    page.screenshot(path=str(artifacts / "lists.png"), full_page=True)


def test_a_segment_is_built_from_rules_picked_by_name_and_its_members_explained(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    """The seeds' "repeat buyers of a product": rules picked from lists, the product by its
    title; the same condition as Shopify's query and as JSON with names; then the members
    by name with a link to the Shopify admin, and one of them explained with their values.
    """
    title = first_order_product(dashboard_run)
    open_page(page, dashboard_run, "segments")
    page.get_by_role("button", name="Build a condition").click()
    form = page.locator("form[data-condition-form]")
    form.get_by_label("Segment name").fill(f"Repeat buyers of {title}")
    first = form.locator(".builder-rule").first
    assert first.get_by_label("Field").locator("option:checked").inner_text() == "Number of orders"
    assert first.get_by_label("Operator").locator("option:checked").inner_text() == "is at least"
    form.get_by_role("button", name="Add a rule").click()
    bought = form.locator(".builder-rule").nth(1)
    bought.get_by_label("Kind of rule").select_option(label="Bought")
    bought.get_by_label("What was bought").select_option(label="the product")
    product = bought.get_by_label("Product", exact=True)
    offered = bought.locator("datalist option")
    assert title in [offered.nth(i).get_attribute("value") for i in range(offered.count())]
    product.fill("A product this store never sold")
    alert = bought.locator("[role=alert]")
    alert.wait_for()
    assert "is not one of your store's products" in alert.inner_text()
    assert "product_id" not in alert.inner_text() and "condition." not in alert.inner_text()
    product.fill(title)
    count = form.locator(".preview-count .ok")
    count.wait_for()
    members = int(re.search(r"([\d,]+) of", count.inner_text()).group(1).replace(",", ""))
    product_id = next(p["id"] for p in dashboard_run.api.get("/catalog")["products"]
                      if p["title"] == title)
    expected = answered(dashboard_run.api, dashboard_run.api.post(
        "/segments/preview", {"condition": {"and": [
            {"feature": "order_count", "op": ">=", "value": 2},
            {"bought": {"product_id": product_id}}]}}))["member_count"]
    assert members == expected >= 1
    # The same condition in Shopify's language, and back.
    form.get_by_role("tab", name="Shopify query").click()
    query = form.get_by_label("Shopify segment query")
    page.wait_for_function("document.querySelector('[aria-label=\"Shopify segment query\"]')"
                           ".value.length > 0")
    assert query.input_value() == (
        f"number_of_orders >= 2 AND products_purchased(id: {product_id}) = true")
    query.fill("number_of_orders >= 3 AND amount_sp")
    form.get_by_role("button", name="amount_spent").click()  # completion of attribute names
    assert query.input_value() == "number_of_orders >= 3 AND amount_spent"
    query.fill(f"number_of_orders >= 2 AND products_purchased(id: {product_id}) = true")
    form.get_by_role("button", name="Use this query").click()
    form.get_by_text("The builder now shows this query.").wait_for()
    # The expert's JSON names the product, never its id.
    form.get_by_role("tab", name="Advanced (JSON)").click()
    json_text = form.get_by_label("Condition as JSON").input_value()
    assert title in json_text and str(product_id) not in json_text
    form.get_by_role("tab", name="Visual builder").click()
    form.locator(".preview-count .ok").wait_for()
    form.screenshot(path=str(artifacts / "condition-builder.png"))
    form.get_by_role("button", name="Create segment").click()
    # Saving checks the product against the catalogue (a lake read by the local Lambda,
    # which may be busy with the other segments' backfills): allow it a minute.
    page.wait_for_function("/^#\\/segments\\/seg_/.test(location.hash)", timeout=60_000)
    page.wait_for_selector(f"h1:has-text('Repeat buyers of {title}')")
    # Members by name and e-mail, each linked to the customer in the Shopify admin.
    preview = page.locator("section", has=page.get_by_role("heading", name="Members preview"))
    link = preview.locator("a[data-admin-link]").first
    link.wait_for()
    assert link.get_attribute("href").startswith("https://admin.shopify.com/store/")
    first_row = preview.locator("tbody tr").first.inner_text()
    assert "@" in first_row
    preview.locator("button[data-explain]").first.click()
    tree = page.locator(".explain-tree")
    tree.locator("li.passed").first.wait_for()
    text = tree.inner_text()
    assert f"Bought “{title}”" in text and "their value:" in text
    assert re.search(r"Number of orders is at least 2 — their value: \d+", text)
    assert re.search(r"their value: \d+ matching orders?", text)
    assert "{" not in text
    page.locator(".condition-form .preview-count .ok").wait_for()  # the live count, too
    page.screenshot(path=str(artifacts / "members-explained.png"), full_page=True)


def test_collection_and_variant_segments_are_made_by_their_names(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    catalog = dashboard_run.api.get("/catalog")
    collection = max(catalog["collections"], key=lambda c: c["products"])["title"]
    variant = next(v["title"] for v in catalog["variants"] if " — " in v["title"]
                   and "SKU" not in v["title"])
    open_page(page, dashboard_run, "segments")
    page.get_by_label("Search templates").fill("collection")
    page.get_by_role("button", name="Use “Bought from a collection”").click()
    form = page.locator("form.template-form")
    box = form.get_by_role("combobox", name=re.compile("^Collection"))
    box.wait_for()
    offered = form.locator("datalist option")
    offered.first.wait_for(state="attached")
    assert [offered.nth(i).get_attribute("value") for i in range(offered.count())] == [
        c["title"] for c in catalog["collections"]]
    box.fill("Summer sale nobody made")
    form.get_by_role("button", name="Preview count").click()
    alert = form.locator("[role=alert]")
    alert.wait_for()
    assert "Your store has no collection “Summer sale nobody made”" in alert.inner_text()
    box.fill(collection)
    form.get_by_role("button", name="Preview count").click()
    preview = form.locator(".ok")
    preview.wait_for()
    count = int(re.search(r"([\d,]+) of", preview.inner_text()).group(1).replace(",", ""))
    assert count >= 1
    form.get_by_role("button", name="Create segment").click()
    page.wait_for_selector(f"h1:has-text('Bought from a collection ({collection})')")
    page.screenshot(path=str(artifacts / "segment-by-collection.png"), full_page=True)
    # A variant reads as the Shopify admin names it, picked by that name.
    open_page(page, dashboard_run, "segments")
    page.get_by_label("Search templates").fill("variant")
    page.get_by_role("button", name="Use “Bought a variant”").click()
    form = page.locator("form.template-form")
    box = form.get_by_role("combobox", name=re.compile("^Variant"))
    box.wait_for()
    box.fill(variant)
    form.get_by_role("button", name="Create segment").click()
    page.wait_for_selector(f"h1:has-text('Bought a variant ({variant})')")
    body = page.inner_text("body")
    assert f"Bought variant {variant}" in body and "SKU" not in body
    page.screenshot(path=str(artifacts / "segment-by-variant.png"), full_page=True)


def test_several_values_are_chips_added_and_removed_by_name(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    """"Customer tags contains any of": each tag a chip added from the store's tags (Enter
    or picking a suggestion), removed with its button; the live count follows."""
    api = dashboard_run.api
    tags = api.get("/catalog")["tags"][:2]
    assert len(tags) == 2, tags
    open_page(page, dashboard_run, "segments")
    page.get_by_role("button", name="Build a condition").click()
    form = page.locator("form[data-condition-form]")
    rule = form.locator(".builder-rule").first
    rule.get_by_label("Field").select_option(label="Customer tags")
    rule.get_by_label("Operator").select_option(label="contains any of")
    adder = rule.get_by_label("Add a value")
    for tag in tags:
        adder.fill(tag)
        adder.press("Enter")
    chips = rule.locator("[data-chip]")
    assert [c.get_attribute("data-chip") for c in chips.all()] == tags
    count = form.locator(".preview-count .ok")

    def shown() -> int:
        count.wait_for()
        return int(re.search(r"([\d,]+) of", count.inner_text()).group(1).replace(",", ""))

    def expected(values: list[str]) -> int:
        return answered(api, api.post("/segments/preview", {"condition": {
            "feature": "tags", "op": "contains any", "value": values}}))["member_count"]

    both = expected(tags)
    page.wait_for_function(
        "(n) => (document.querySelector('.preview-count .ok')?.innerText || '')"
        ".replace(/,/g, '').startsWith(String(n) + ' of')", arg=both, timeout=30_000)
    assert shown() == both
    form.screenshot(path=str(artifacts / "condition-chips.png"))
    rule.get_by_role("button", name=f"Remove {tags[1]}").click()
    assert [c.get_attribute("data-chip") for c in chips.all()] == tags[:1]
    one = expected(tags[:1])
    page.wait_for_function(
        "(n) => (document.querySelector('.preview-count .ok')?.innerText || '')"
        ".replace(/,/g, '').startsWith(String(n) + ' of')", arg=one, timeout=30_000)
    # The JSON view holds the chips' values.
    form.get_by_role("tab", name="Advanced (JSON)").click()
    assert f'"{tags[0]}"' in form.get_by_label("Condition as JSON").input_value()
    assert f'"{tags[1]}"' not in form.get_by_label("Condition as JSON").input_value()
