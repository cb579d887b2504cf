"""The dashboard, as a merchant uses it, in headless Chromium against the local cloud.

Every scenario goes through the real path: the static files from the dashboard server,
config.json with a development session token, the REST API on the local cloud, the
Step Functions workflow, SQS and the tagging function, and the Shopify emulator.
Screenshots of the main pages are kept in tests/browser/artifacts/.
"""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.dashboard_server import DashboardServer
from devkit.local_stack import LOCAL_API_KEY
from devkit.store.model import numeric_id
from tests.browser.accessibility import blocking_violations
from tests.browser.conftest import BACKFILL_DAYS, SHOP, DashboardRun, answered

pytestmark = pytest.mark.browser

MAIN_PAGES = ["home", "segments", "journeys", "cohorts", "predictions", "measurements",
              "tag-jobs", "lists", "sync"]


def chart_series(page: Any, name: str) -> list[dict[str, Any]]:
    """The series an ECharts chart is drawing, read from its instance (getOption())."""
    return page.evaluate(
        """(name) => {
            const element = document.querySelector(`[data-chart="${name}"]`);
            const chart = element && window.echarts.getInstanceByDom(element);
            if (!chart) return null;
            return chart.getOption().series.map((s) => ({type: s.type, data: s.data || [],
                                                          links: s.links || []}));
        }""",
        name,
    )


def wait_for_results(api: Any, names: set[str], timeout_s: float = 60) -> None:
    """Measurements are computed asynchronously: wait until the named ones have results."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = api.get("/measurements?limit=100")["items"]
        if all(m["results"] for m in items if m["name"] in names):
            return
        time.sleep(0.5)
    raise AssertionError(f"no results for {names} after {timeout_s}s")


def open_page(page: Any, run: DashboardRun, route: str) -> None:
    page.goto(f"{run.url}#/{route}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector(".page .loading", state="detached")


def test_the_main_pages_render_with_no_error_at_laptop_and_tablet_widths(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        for route in MAIN_PAGES:
            open_page(page, dashboard_run, route)
            assert page.locator(f'[data-nav="{route}"]').get_attribute("aria-current") == "page"
            assert page.locator("h1").first.is_visible()
            assert page.locator("[role=alert]").count() == 0, page.locator("main").inner_text()
            # Nothing wider than the window: readable without sideways scrolling.
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"#{route} is {overflow}px wider than {width}px"
            page.screenshot(path=str(artifacts / f"{route}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 768])
def test_every_main_page_has_no_serious_accessibility_violation(
    page: Any, dashboard_run: DashboardRun, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    for route in [*MAIN_PAGES, f"segments/{dashboard_run.segments['repeat']['id']}"]:
        open_page(page, dashboard_run, route)
        page.wait_for_timeout(300)  # charts drawn after their data arrives
        violations = blocking_violations(page)
        if violations:
            found[route] = violations
    assert not found, "\n".join(f"{route}: {v}" for route, vs in found.items() for v in vs)


def test_the_home_page_shows_the_store_at_a_glance(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    page.goto(dashboard_run.url)  # no route: the app opens on its home page
    page.wait_for_function("location.hash === '#/home'")
    page.get_by_role("heading", name="Home", level=1).wait_for()
    kpis = page.locator("[data-home-kpis]")
    kpis.wait_for()
    cohorts = dashboard_run.api.get("/cohorts?limit=100")["items"]
    customers = sum(c["customers"] for c in cohorts)
    assert f"{customers:,}" in kpis.inner_text()
    assert "Repeat rate" in kpis.inner_text()
    page.wait_for_selector('[data-chart="home-cohorts"] canvas')
    (bars, ltv) = chart_series(page, "home-cohorts")
    assert sum(bars["data"]) == customers
    assert [round(v, 2) for v in ltv["data"]] == [float(c["ltv"]["amount"]) for c in
                                                  sorted(cohorts, key=lambda c: c["cohort"])]
    # The store's revenue by month over its whole history (from the first month with a
    # sale, any year), new and returning stacked: its total is every order's net sales.
    page.wait_for_selector('[data-chart="home-revenue"] canvas')
    (new, returning) = chart_series(page, "home-revenue")
    months = dashboard_run.api.get("/revenue?start=2022-01-01")["points"]
    sold = [p for p in months if float(p["total"]["net_sales"]["amount"])]
    assert len(new["data"]) == len(months) - months.index(sold[0])
    assert sold[0]["period"][:4] < months[-1]["period"][:4]  # older years too
    assert round(sum(new["data"]) + sum(returning["data"]), 2) == round(
        sum(float(p["total"]["net_sales"]["amount"]) for p in months), 2)
    journey = page.locator("section", has=page.get_by_role("heading", name="Journey at a glance"))
    journey.get_by_role("link", name="One order to repeat").wait_for()
    assert "Repeat buyers" in journey.inner_text()
    clv = dashboard_run.api.get("/clv")
    model = page.locator("[data-model-status]")
    model.wait_for()
    expected = "fitted" if clv["status"] == "fitted" else "insufficient"
    assert model.get_attribute("data-model-status") == expected
    if expected == "insufficient":
        assert "enough history" in model.inner_text()
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"home-{width}.png"), full_page=True)


def test_numbers_and_dates_follow_the_shops_currency_and_time_zone(
    page: Any, dashboard_run: DashboardRun
) -> None:
    open_page(page, dashboard_run, "sync")
    shop = dashboard_run.api.get("/shop")
    header = page.locator("#shop-name").inner_text()
    assert shop["currency"] in header and shop["timezone"] in header
    assert page.locator("[data-sync-status]").inner_text() == "succeeded"
    open_page(page, dashboard_run, "segments")
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "$", "AUD": "$"}
    first_table = page.locator("table").first.inner_text()
    assert symbol.get(shop["currency"], shop["currency"]) in first_table


def test_the_navigation_works_from_the_keyboard_alone(
    page: Any, dashboard_run: DashboardRun
) -> None:
    open_page(page, dashboard_run, "segments")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.nav") == "home"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.nav") == "segments"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.nav") == "cohorts"
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#/cohorts'")
    page.wait_for_selector("h1:has-text('Cohorts')")
    assert page.locator('[data-nav="cohorts"]').get_attribute("aria-current") == "page"
    # After navigating, focus moves to the content, so the next Tab starts there.
    assert page.evaluate("document.activeElement.id") == "main"
    # Focus is visible: the focused link gets an outline.
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_a_segment_created_from_a_template_shows_its_trend_chart_with_data(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    open_page(page, dashboard_run, "segments")
    page.click('button[data-template="journey-active-buyers"]')
    form = page.locator('form[data-template-form="journey-active-buyers"]')
    form.locator("input[name=name]").fill("Active buyers (browser)")
    form.locator("input[name=min_orders]").fill("2")
    form.locator("input[name=days]").fill("365")
    form.get_by_role("button", name="Preview count").click()
    preview = form.locator(".ok")
    preview.wait_for()
    assert re.search(r"\d+ of 300 customers match today", preview.inner_text())
    form.get_by_role("button", name="Create segment").click()
    page.wait_for_function("/^#\\/segments\\/seg_/.test(location.hash)")
    page.wait_for_selector("h1:has-text('Active buyers (browser)')")
    # The segment's past days are computed asynchronously; the page waits for them.
    page.wait_for_selector('[data-chart="trend"] canvas', timeout=90_000)
    page.wait_for_function(
        """() => {
            const el = document.querySelector('[data-chart="trend"]');
            const chart = el && !el.hidden && window.echarts.getInstanceByDom(el);
            return chart && chart.getOption().series[0].data.length > 0;
        }""",
        timeout=90_000,
    )
    series = chart_series(page, "trend")
    assert series[0]["type"] == "line"
    values = [v for v in series[0]["data"] if v is not None]
    assert values and all(isinstance(v, (int, float)) for v in values)
    segment_id = page.evaluate("location.hash").rsplit("/", 1)[1]
    points = dashboard_run.api.get(f"/segments/{segment_id}/metrics")["points"]
    assert int(values[-1]) == int(points[-1]["values"]["member_count"])
    # Another period and metric redraw the same chart from the API.
    page.select_option("select[name=metric]", "ltv")
    page.wait_for_function(
        """() => window.echarts.getInstanceByDom(document.querySelector('[data-chart="trend"]'))
                 .getOption().series[0].name === 'Lifetime value (LTV)'"""
    )
    # The segment's features are computed with its past days (one day-run code path), so
    # the new page shows them, as the API serves them, without waiting for tomorrow.
    page.wait_for_selector("text=Lift above 1 means more common", timeout=90_000)
    profile = dashboard_run.api.get(f"/segments/{segment_id}/profile")
    features = page.locator(".trait-grid").inner_text()
    first_trait = next(traits[0] for traits in profile["traits"].values() if traits)
    assert (first_trait.get("title") or str(first_trait["value"])) in features
    assert page.locator("[role=alert]").count() == 0
    page.screenshot(path=str(artifacts / "segment-new.png"), full_page=True)


def test_an_invalid_condition_is_explained_in_words(page: Any, dashboard_run: DashboardRun) -> None:
    segment = dashboard_run.segments["repeat"]
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    form = page.locator(".condition-form")
    form.get_by_role("button", name="Add a rule").click()
    rule = form.locator(".builder-rule").nth(1)
    rule.get_by_label("Kind of rule").select_option(label="Has the tag")
    rule.get_by_label("Customer tag").fill("no-such-tag-anywhere")
    alert = rule.locator("[role=alert]")
    alert.wait_for()
    # On the row it concerns, in words: no field path, no internal name.
    assert "No customer of your store has the tag “no-such-tag-anywhere”" in alert.inner_text()
    assert "condition" not in alert.inner_text() and "has_tag" not in alert.inner_text()
    rule.get_by_role("button", name="Remove this rule").click()
    count = form.locator(".preview-count .ok")
    count.wait_for()
    expected = answered(dashboard_run.api, dashboard_run.api.post(
        "/segments/preview", {"condition": segment["condition"]}))
    assert count.inner_text().startswith(f"{expected['member_count']:,} of 300")


def test_explaining_one_member_shows_which_parts_of_the_condition_it_meets(
    page: Any, dashboard_run: DashboardRun
) -> None:
    segment = dashboard_run.segments["repeat"]
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    page.locator("button[data-explain]").first.click()
    verdict = page.locator(".explain-tree li.passed").first
    verdict.wait_for()
    assert "is a member" in page.locator("form.inline-form p.ok").first.inner_text()


def test_a_segment_of_the_daily_run_shows_revenue_features_and_members(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    segment = dashboard_run.api.get(f"/segments/{dashboard_run.segments['repeat']['id']}")
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    page.wait_for_selector('[data-chart="revenue"] canvas')
    new, returning = chart_series(page, "revenue")
    assert any(new["data"]) and any(returning["data"])
    page.wait_for_selector(".trait-grid table")
    assert "\u00d7" in page.locator(".trait-grid").inner_text()  # lift is shown, e.g. x1.8
    members = page.locator("section", has=page.get_by_role("heading", name="Members preview"))
    links = members.locator("a[data-admin-link]")
    links.first.wait_for()
    assert links.count() == min(10, segment["member_count"])
    handle = dashboard_run.api.get("/shop")["shop"].removesuffix(".myshopify.com")
    first = links.first.get_attribute("href")
    assert first.startswith(f"https://admin.shopify.com/store/{handle}/customers/")
    assert "@" in members.locator("tbody tr").first.inner_text()  # the e-mail, by name
    page.wait_for_selector('[data-chart="trend"] canvas')
    page.screenshot(path=str(artifacts / "segment-detail.png"), full_page=True)


def test_a_tag_job_starts_only_after_confirming_how_many_customers_it_changes(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    segment = dashboard_run.segments["repeat"]
    api = dashboard_run.api
    members = api.get(f"/segments/{segment['id']}")["member_count"]
    jobs_before = len(api.get("/tag-jobs?limit=100")["items"])
    open_page(page, dashboard_run, "tag-jobs")
    # Where the "done" e-mail goes, set per shop.
    email = page.get_by_label("Send an e-mail when a tag job is done to")
    email.fill("not an address")
    page.get_by_role("button", name="Save e-mail").click()
    page.get_by_role("alert").filter(has_text="is not an e-mail address").wait_for()
    email.fill("marketing@browser-shop.example")
    page.get_by_role("button", name="Save e-mail").click()
    page.get_by_text("Saved: tag job e-mails go to marketing@browser-shop.example").wait_for()
    assert api.get("/shop")["notification_email"] == "marketing@browser-shop.example"

    form = page.locator('form[data-form="tag-job"]')
    form.get_by_label("Segment").select_option(label="Repeat buyers")
    form.get_by_label("Tag", exact=True).fill("browser-repeat")
    form.get_by_role("button", name="Review tag job").click()
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name=f"Tag {members:,} customers")
    confirm.wait_for()
    assert f"Tag {members:,} customers with “browser-repeat”?" in dialog.inner_text()
    page.screenshot(path=str(artifacts / "tag-job-confirm.png"), full_page=True)
    dialog.get_by_role("button", name="Cancel").click()
    assert len(api.get("/tag-jobs?limit=100")["items"]) == jobs_before  # nothing started

    form.get_by_role("button", name="Review tag job").click()
    confirm.click()
    page.wait_for_selector("[data-job-status]")
    page.screenshot(path=str(artifacts / "tag-job-running.png"), full_page=True)
    # The page polls by itself: no reload between "queued" and "completed".
    page.wait_for_selector('[data-job-status="completed"]', timeout=120_000)
    row = page.locator("tr", has=page.locator('[data-job-status="completed"]')).first
    assert f"{members:,} / {members:,}" in row.inner_text()
    store = dashboard_run.stack.emulator.store(dashboard_run.store.domain)
    tagged = sum("browser-repeat" in c.get("tags", []) for c in store.customers.values())
    assert tagged == members
    # The completion e-mail, as the local stack's SES kept it, addressed as set above.
    mail = page.locator("[data-mail]").filter(has_text="marketing@browser-shop.example").first
    mail.wait_for(timeout=30_000)
    mail.get_by_text("marketing@browser-shop.example").click()  # open it
    assert "browser-repeat" in mail.inner_text()
    page.screenshot(path=str(artifacts / "tag-jobs.png"), full_page=True)
    # Tagging again: the confirmation says nobody is left to change.
    form.get_by_role("button", name="Review tag job").click()
    assert "Nothing to change" in page.get_by_role("dialog").inner_text()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()


def test_keep_in_sync_is_offered_only_where_it_applies_and_stops_from_the_dashboard(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    api = dashboard_run.api
    segment = dashboard_run.segments["one-order"]
    frozen = api.follow(api.post("/segments/lists", {"name": "One order, frozen",
                                                     "snapshot_of": segment["id"]}))
    open_page(page, dashboard_run, "segments")
    page.get_by_role("link", name="One order, frozen").click()
    page.get_by_role("heading", name="One order, frozen", level=1).wait_for()
    keep = page.get_by_label("Keep in sync daily", exact=False)
    assert not keep.is_visible()
    assert "not offered for a list" in page.locator("[data-keep-in-sync-why]").inner_text()

    open_page(page, dashboard_run, "segments")
    page.get_by_role("link", name="One order", exact=True).click()
    page.get_by_role("heading", name="One order", level=1).wait_for()
    page.get_by_label("Action").select_option(label="Remove the tag")
    assert not keep.is_visible()
    page.get_by_label("Action").select_option(label="Add the tag")
    keep.check()
    page.get_by_label("Tag", exact=True).fill("one-order-synced")
    page.get_by_role("button", name="Review tag job").click()
    dialog = page.get_by_role("dialog")
    assert "every day: customers who join are tagged" in dialog.inner_text()
    dialog.get_by_role("button", name=re.compile(r"^Tag \d")).click()
    page.wait_for_selector("[data-job-status]")  # the Tag jobs page
    kept = page.locator("section", has=page.get_by_role("heading", name="Tags kept in sync"))
    kept.get_by_role("link", name="One order").wait_for()
    page.screenshot(path=str(artifacts / "tag-sync-kept.png"), full_page=True)
    kept.get_by_role("button", name="Stop keeping “one-order-synced” in sync").click()
    kept.get_by_text("is no longer kept in sync").wait_for()
    assert api.get(f"/segments/{segment['id']}")["keep_in_sync_tag"] is None
    api.delete(f"/segments/{frozen['id']}")


def test_a_csv_list_uploaded_in_the_browser_becomes_a_list_segment(
    page: Any, dashboard_run: DashboardRun, tmp_path: Path
) -> None:
    ids = [numeric_id(gid) for gid in list(dashboard_run.store.customers)[:3]]
    csv = tmp_path / "attendees.csv"
    csv.write_text("customer_id\n" + "".join(f"{i}\n" for i in ids) + "not-an-id\n")
    open_page(page, dashboard_run, "lists")
    form = page.locator('form[data-form="upload"]')
    form.locator("input[name=name]").fill("Event attendees")
    form.locator("input[name=file]").set_input_files(str(csv))
    form.get_by_role("button", name="Upload and create list").click()
    result = page.locator("[data-upload-result]")
    result.wait_for(timeout=30_000)
    assert "created with 3 customers" in result.inner_text()
    assert "1 malformed" in form.inner_text()
    assert "not-an-id" in form.locator("table").inner_text()
    # The browser POSTed the presigned form: the signed policy's retention tag is on the file.
    cloud = dashboard_run.stack.cloud
    s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")
    uploaded = s3.list_objects_v2(Bucket=bucket, Prefix=f"shops/{SHOP}/uploads/")["Contents"]
    assert uploaded and all(
        s3.get_object_tagging(Bucket=bucket, Key=o["Key"])["TagSet"]
        == [{"Key": "retention", "Value": "short"}] for o in uploaded)


def test_an_export_downloads_the_segments_members_as_csv(
    page: Any, dashboard_run: DashboardRun
) -> None:
    segment = dashboard_run.segments["one-order"]
    open_page(page, dashboard_run, "lists")
    form = page.locator('form[data-form="export"]')
    form.locator("select[name=segment_id]").select_option(segment["id"])
    form.get_by_role("button", name="Export CSV").click()
    link = form.locator("a[data-export-link]")
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    lines = Path(download.value.path()).read_text().strip().splitlines()
    members = dashboard_run.api.get(f"/segments/{segment['id']}")["member_count"]
    assert len(lines) == members + 1  # a header line, then one line per member


def history_period(run: DashboardRun) -> dict[str, str]:
    """A past period the segments' history covers: it begins the day after their first
    stored day, so its members are the segment's as they were then."""
    last = date.fromisoformat(run.api.get(
        f"/segments/{run.segments['repeat']['id']}")["last_evaluated_on"])
    return {"start": (last - timedelta(days=BACKFILL_DAYS - 2)).isoformat(),
            "end": last.isoformat()}


def test_two_measurements_compared_side_by_side_with_intervals(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    api = dashboard_run.api
    period = history_period(dashboard_run)
    for key in ("repeat", "one-order"):
        segment = dashboard_run.segments[key]
        api.post("/measurements", {"name": f"Measure {segment['name']}",
                                   "segment_id": segment["id"], "period": period})
    wait_for_results(api, {f"Measure {dashboard_run.segments[k]['name']}"
                           for k in ("repeat", "one-order")})
    open_page(page, dashboard_run, "measurements")
    page.check('input[aria-label="Compare Measure Repeat buyers"]')
    page.check('input[aria-label="Compare Measure One order"]')
    page.get_by_role("button", name="Compare 2 measurements").click()
    table = page.locator("table[data-comparison]")
    table.wait_for()
    text = table.inner_text()
    assert "Measure Repeat buyers" in text and "Measure One order" in text
    interval_row = table.locator("tr", has_text="CVR 95% interval").inner_text()
    assert re.search(r"\d+(\.\d)?% \u2013 \d+(\.\d)?%", interval_row), interval_row
    series = chart_series(page, "comparison")
    assert len(series) == 2 and all(s["data"] for s in series)
    page.screenshot(path=str(artifacts / "measurements-compared.png"), full_page=True)


def test_an_ab_test_in_one_button_makes_a_named_list_per_group_with_a_goal(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    api = dashboard_run.api
    open_page(page, dashboard_run, "measurements")
    form = page.locator('form[data-form="experiment"]')
    form.get_by_label("Name", exact=True).fill("Winter email")
    form.get_by_label("Segment").select_option(label="Repeat buyers")
    form.get_by_label("Keep the last group as an untreated holdout").check()
    form.get_by_label("Name of group A").fill("Gets the winter email")
    form.get_by_label("Name of the holdout (untreated)").fill("No winter email")
    products = form.get_by_label("Orders containing any of these products")
    first_title = products.locator("option").first.inner_text()
    products.select_option(label=first_title)
    form.get_by_label("Minimum order value (USD)").fill("20")
    # A period starting in the past says plainly whose members are measured.
    period = history_period(dashboard_run)
    form.get_by_label("First day").fill(period["start"])
    form.get_by_label("Last day").fill(period["end"])
    assert "as they were when it began" in form.get_by_role("note").inner_text()
    page.screenshot(path=str(artifacts / "experiment-form.png"), full_page=True)
    form.get_by_role("button", name="Split into lists and measure").click()
    link = page.get_by_role("link", name="Open the list “Gets the winter email”")
    link.or_(form.get_by_role("alert")).wait_for()
    assert link.is_visible(), form.get_by_role("alert").inner_text()
    page.screenshot(path=str(artifacts / "experiments.png"), full_page=True)
    experiment_id = next(m["experiment_id"] for m in api.get("/measurements?limit=100")["items"]
                         if m["name"] == "Gets the winter email")
    experiment = api.get(f"/experiments/{experiment_id}")
    assert [g["name"] for g in experiment["groups"]] == ["Gets the winter email",
                                                         "No winter email"]
    assert experiment["goal"]["min_order_value"]["amount"] == "20"
    assert len(experiment["goal"]["product_ids"]) == 1
    group = experiment["groups"][0]
    began = date.fromisoformat(period["start"]) - timedelta(days=1)
    measured = api.get(f"/measurements/{group['measurement_id']}")
    assert measured["members_as_of"] == began.isoformat()  # as they were when it began
    link.click()
    page.get_by_role("heading", name="Gets the winter email", level=1).wait_for()
    assert "List (fixed members)" in page.locator("main").inner_text()
    assert f"{group['customers']:,}" in page.locator(".kpis").inner_text()
    # The group is a list: it can be tagged (never kept in sync) and exported.
    page.get_by_role("button", name="Review tag job").wait_for()
    assert not page.get_by_label("Keep in sync daily", exact=False).is_visible()
    page.get_by_role("button", name="Export CSV").wait_for()
    # The comparison weighs every metric the groups report, each with its interval and
    # its p-value adjusted for every metric and group of the experiment.
    wait_for_results(api, {"Gets the winter email", "No winter email"})
    open_page(page, dashboard_run, "measurements")
    compared = page.locator(f'[data-comparison="{experiment["comparisons"][0]["group"]}"]')
    compared.locator("[data-verdict]").wait_for()
    rows = compared.locator("tbody tr td:first-child").all_inner_texts()
    assert rows == ["Conversion rate", "Revenue per customer", "Orders per customer",
                    "Average order value"][:len(rows)] and len(rows) >= 2, rows
    assert "adjusted for every metric and group" in compared.locator("caption").inner_text()
    compared.screenshot(path=str(artifacts / "experiment-comparison.png"))


def test_an_api_error_on_a_missing_segment_is_shown_in_words(
    page: Any, dashboard_run: DashboardRun
) -> None:
    open_page(page, dashboard_run, "segments/seg_doesnotexist")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "could not be loaded" in alert.inner_text()
    assert page.get_by_role("link", name="Back to all segments").is_visible()


def test_journeys_show_the_funnel_and_the_moves_between_stages(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    journey = dashboard_run.journey
    open_page(page, dashboard_run, f"journeys/{journey['id']}")
    page.wait_for_selector("h2:has-text('One order to repeat')")
    page.wait_for_selector('[data-chart="funnel"] canvas')
    (funnel,) = chart_series(page, "funnel")
    expected = dashboard_run.api.get(f"/journeys/{journey['id']}/funnel")["points"][-1]
    assert [d["value"] for d in funnel["data"]] == [s["reached"] for s in expected["stages"]]
    moves = dashboard_run.api.get(f"/journeys/{journey['id']}/transitions")["cells"]
    moved = sum(c["customers"] for c in moves if c["from_stage"] != c["to_stage"])
    summary = page.locator("[data-moves-summary]")
    summary.wait_for()
    assert f"{moved:,} customers moved between stages" in summary.inner_text()
    if moved:  # "stayed" is left out of the flow so the moves stay visible
        page.wait_for_selector('[data-chart="transitions"] canvas')
        (flow,) = chart_series(page, "transitions")
        assert sum(link["value"] for link in flow["links"]) == moved
    page.get_by_label("Also draw customers who stayed in their stage").check()
    page.wait_for_function(
        """(total) => {
            const el = document.querySelector('[data-chart="transitions"]');
            const chart = el && window.echarts.getInstanceByDom(el);
            const links = chart && chart.getOption().series[0].links;
            return links && links.reduce((sum, l) => sum + l.value, 0) === total;
        }""", arg=sum(c["customers"] for c in moves))
    page.screenshot(path=str(artifacts / "journeys.png"), full_page=True)


def trend_axis(page: Any) -> list[float]:
    """The y-axis extent the trend chart really draws."""
    return page.evaluate(
        """() => window.echarts.getInstanceByDom(document.querySelector('[data-chart="trend"]'))
                 .getModel().getComponent('yAxis', 0).axis.scale.getExtent()""")


def test_trend_charts_tell_the_truth_and_compare(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    open_page(page, dashboard_run, "segments")
    page.get_by_role("link", name="Repeat buyers", exact=True).click()
    page.wait_for_selector('[data-chart="trend"] canvas', timeout=60_000)
    # Periods that fit the data: a week of history offers no "last 90 days".
    periods = page.locator("select[name=period] option").all_inner_texts()
    assert periods == [f"All history ({BACKFILL_DAYS} days)"], periods
    # Counts from zero, rates on 0-100%.
    assert trend_axis(page)[0] == 0
    page.get_by_role("combobox", name=re.compile("^Metric")).select_option(label="Repeat rate")
    page.wait_for_function(
        """() => window.echarts.getInstanceByDom(document.querySelector('[data-chart="trend"]'))
                 .getOption().series[0].name === 'Repeat rate'""")
    assert trend_axis(page) == [0, 1]
    # One date format: the axis and the tooltip both write the day as the shop's locale does.
    last_day = dashboard_run.api.get(
        f"/segments/{dashboard_run.segments['repeat']['id']}/metrics")["points"][-1]["day"]
    box = page.locator('[data-chart="trend"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] - 30, box["y"] + box["height"] / 2)
    tooltip = page.locator('[data-chart="trend"] div').filter(has_text="Repeat rate").last
    tooltip.wait_for()
    written = page.evaluate(
        "(d) => new Intl.DateTimeFormat(navigator.language, {dateStyle: 'medium', "
        "timeZone: 'UTC'}).format(new Date(d + 'T00:00:00Z'))", last_day)
    assert written in tooltip.inner_text()
    assert last_day not in tooltip.inner_text()
    # Compare with another segment, by its name.
    compare = page.get_by_role("combobox", name=re.compile("^Compare with"))
    compare.select_option(label="One order")
    page.wait_for_function(
        """() => window.echarts.getInstanceByDom(document.querySelector('[data-chart="trend"]'))
                 .getOption().series.map((s) => s.name).join('|') === 'Repeat rate|One order'""")
    compare.select_option(label="The previous period")
    page.get_by_text("no history before this period to compare with").wait_for()
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"segment-trend-{width}.png"), full_page=True)


def test_sync_now_runs_a_sync_and_the_page_follows_it_to_the_end(
    page: Any, dashboard_run: DashboardRun
) -> None:
    before = dashboard_run.api.get("/shop")["sync"]
    open_page(page, dashboard_run, "sync")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_selector("text=Sync succeeded.", timeout=60_000)
    after = dashboard_run.api.get("/shop")["sync"]
    assert after["started_at"] > before["started_at"]
    assert page.locator("[data-sync-status]").inner_text() == "succeeded"
    # The sync starts the segment workflow: let it finish before the stack is torn down.
    executions = dashboard_run.stack.cloud.wait_for_executions(timeout_s=300)
    assert {e["status"] for e in executions} == {"SUCCEEDED"}


def test_embedded_in_shopify_the_app_asks_app_bridge_for_a_token_per_request(
    browser: Any, dashboard_run: DashboardRun
) -> None:
    """Production mode: App Bridge (here a stand-in served for Shopify's CDN URL) hands out
    the session token, and the app asks for a fresh one before every API request."""
    token = dashboard_run.stack.session_token(SHOP, ttl=600)
    config = {"mode": "shopify", "apiKey": LOCAL_API_KEY,
              "apiBase": dashboard_run.stack.cloud.api.url}
    app_bridge = ("window.shopify = {idToken: async () => {"
                  f" window.tokensIssued = (window.tokensIssued || 0) + 1; return {token!r}; }}}};")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        embedded = context.new_page()
        embedded.route("https://cdn.shopify.com/shopifycloud/app-bridge.js",
                       lambda route: route.fulfill(body=app_bridge,
                                                   content_type="text/javascript"))
        api_requests: list[str] = []
        embedded.on("request", lambda r: api_requests.append(r.url)
                    if r.url.startswith(config["apiBase"]) and r.method != "OPTIONS" else None)
        with DashboardServer(config) as production_like:
            embedded.goto(f"{production_like.url}#/segments")
            embedded.wait_for_selector("body[data-ready=true]")
            embedded.wait_for_selector("text=Repeat buyers")
            embedded.wait_for_load_state("networkidle")
            assert embedded.locator('meta[name="shopify-api-key"]').get_attribute(
                "content") == LOCAL_API_KEY
            # The admin's sidebar and title bar come from App Bridge's elements.
            home = embedded.locator("ui-nav-menu a[rel=home]")
            assert home.get_attribute("href") == "#/home" and home.inner_text() == "Home"
            assert embedded.locator("ui-title-bar").get_attribute("title") == "Segments"
            issued = embedded.evaluate("window.tokensIssued")
        assert len(api_requests) >= 3  # the shop, the segments, the templates, the trends
        assert issued == len(api_requests)
    finally:
        context.close()


def test_the_clv_models_holdout_check_is_plotted_beside_the_cohorts(
    page: Any, dashboard_run: DashboardRun
) -> None:
    clv = dashboard_run.api.get("/clv")
    open_page(page, dashboard_run, "cohorts")
    holdout = clv.get("holdout") or {}
    if holdout.get("status") == "checked":
        page.wait_for_selector('[data-chart="clv-holdout"] canvas')
        predicted, actual = chart_series(page, "clv-holdout")
        assert predicted["data"] == pytest.approx([g["mean_predicted"] for g in holdout["groups"]])
        assert actual["data"] == pytest.approx([g["mean_actual"] for g in holdout["groups"]])
    else:
        page.get_by_text("Holdout check not made", exact=False).wait_for()
    for warning in clv.get("warnings") or []:
        page.get_by_text(warning[:60], exact=False).wait_for()


def test_cohorts_as_of_a_past_day_the_run_did_not_store(page: Any,
                                                       dashboard_run: DashboardRun) -> None:
    from datetime import date, timedelta

    stored = dashboard_run.api.get("/cohorts?limit=100")
    past = (date.fromisoformat(stored["as_of"]) - timedelta(days=200)).isoformat()
    open_page(page, dashboard_run, "cohorts")
    page.locator("table tbody tr").first.wait_for()
    page.fill("input[name=cohorts_as_of]", past)
    page.locator("input[name=cohorts_as_of]").press("Enter")
    # No run stored that day: the page follows the job computing it, its progress shown.
    working = "/Waiting to group the orders|Grouping every order/"
    page.wait_for_function(f"() => {working}.test(document.body.innerText)", timeout=30_000)
    page.wait_for_function(f"() => !{working}.test(document.body.innerText) && "
                           "document.querySelector('table tbody') !== null", timeout=120_000)
    expected = dashboard_run.api.get(f"/cohorts?limit=100&day={past}")  # stored by the job
    assert expected["as_of"] == past
    assert 0 < len(expected["items"]) < len(stored["items"])  # fewer first-order months then
    page.wait_for_function(
        "n => document.querySelector('table tbody')?.rows.length === n",
        arg=len(expected["items"]))
    first_row = page.locator("table tbody tr").first.inner_text()
    assert expected["items"][0]["cohort"] in first_row


def test_members_and_explanations_as_of_a_past_day(page: Any, dashboard_run: DashboardRun) -> None:
    from datetime import date, timedelta

    segment = dashboard_run.api.get(f"/segments/{dashboard_run.segments['repeat']['id']}")
    past = (date.fromisoformat(segment["last_evaluated_on"]) - timedelta(days=400)).isoformat()
    expected = dashboard_run.api.post("/segments/preview", {"condition": segment["condition"],
                                                            "sample_size": 10, "as_of": past})
    expected = answered(dashboard_run.api, expected)  # the day's first preview: a job
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    page.locator("p.preview-as-of").wait_for()
    page.fill("input[name=preview_as_of]", past)
    page.locator("input[name=preview_as_of]").press("Enter")
    page.wait_for_function(
        "(day) => [...document.querySelectorAll('p.preview-as-of')].some("
        "(p) => !p.textContent.includes('today'))", arg=past)
    shown = page.locator("p.preview-as-of").inner_text()
    assert f"{expected['member_count']:,}" in shown and "today" not in shown
    if expected["sample"]:
        customer = expected["sample"][0]
        page.fill("input[name=customer_id]", str(customer))
        page.fill("input[name=explain_as_of]", past)
        page.locator("input[name=customer_id]").press("Enter")
        verdict = page.locator("form.inline-form p.ok").first
        verdict.wait_for()
        assert "is a member" in verdict.inner_text()


def test_each_customers_predictions_are_listed_beside_the_models_check(
    page: Any, dashboard_run: DashboardRun
) -> None:
    """The Predictions page: the model's status, warnings and holdout chart (as the API
    serves them), then the customers page by page in the order picked, in merchant words."""
    api = dashboard_run.api
    clv = api.get("/clv")
    assert clv["status"] == "fitted", clv.get("reason")  # the browser store fits the model
    first = api.get("/predictions?limit=25")
    assert first["total"] > 25
    open_page(page, dashboard_run, "predictions")
    count = page.locator("[data-predictions-count]")
    count.wait_for()
    assert count.get_attribute("data-predictions-count") == str(first["total"])

    def listed() -> list[str | None]:
        links = page.locator("[data-customer]")
        return [links.nth(i).get_attribute("data-customer") for i in range(links.count())]

    assert listed() == [c["customer_id"] for c in first["items"]]
    holdout = clv.get("holdout") or {}
    if holdout.get("status") == "checked":
        page.wait_for_selector('[data-chart="clv-holdout"] canvas')
        predicted, actual = chart_series(page, "clv-holdout")
        assert predicted["data"] == pytest.approx([g["mean_predicted"] for g in holdout["groups"]])
        assert actual["data"] == pytest.approx([g["mean_actual"] for g in holdout["groups"]])
    else:
        page.get_by_text("Holdout check not made", exact=False).wait_for()
    for warning in clv.get("warnings") or []:
        page.get_by_text(warning[:60], exact=False).wait_for()

    # The next page continues the list; another order starts a new one.
    page.get_by_role("button", name="Next customers").click()
    second = api.get(f"/predictions?limit=25&next_token={first['next_token']}")
    page.wait_for_function("document.querySelectorAll('[data-customer]').length > 25")
    assert listed() == [c["customer_id"] for c in first["items"] + second["items"]]
    page.select_option("select[name=predictions_order]", "1")
    page.get_by_role("button", name="Show").click()
    churn = api.get("/predictions?limit=25&sort=chance_active&order=asc")
    expected = [c["customer_id"] for c in churn["items"]]
    page.wait_for_function(
        "(ids) => [...document.querySelectorAll('[data-customer]')]"
        ".map((a) => a.dataset.customer).join() === ids.join()", arg=expected)
    # What the merchant reads names no column, parameter or model variable.
    text = page.inner_text(".page")
    identifiers = re.findall(r"\b[a-z]+_[a-z0-9_]+\b", text)
    assert not identifiers, identifiers
    for internal in ("p_alive", "bgnbd", "chance_active", "predicted_value"):
        assert internal not in text


# ------------------------------------------------------------------ charts fit their cards
# Every chart and table fits inside its card at 1280 and 768 px: nothing sticks out of
# the card or is cut off by it (bounding boxes and scroll widths measured in Chromium),
# and every chart label is drawn whole, on every main page and a segment's and a
# journey's page. A table wider than its card may scroll sideways inside a wrapper made
# for it (``overflow-x: auto``): that is not clipping. (Here, not in a module of its own,
# so it shares this module's local stack.)

# Offenders on the page: a chart, canvas, svg or table whose box leaves its card's box,
# a card whose content is wider than the card (cut off), and a chart whose canvas is
# wider than the chart's own box.
_MISFITS = r"""() => {
  const out = [];
  const name = (el) => el.getAttribute("data-chart") || el.tagName.toLowerCase()
    + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
  for (const card of document.querySelectorAll("main section.card, main .card")) {
    const box = card.getBoundingClientRect();
    if (box.width === 0) continue;
    const title = (card.querySelector("h2, h3")?.textContent || "a card").trim();
    if (card.scrollWidth > card.clientWidth + 1) {
      out.push(`${title}: its content is ${card.scrollWidth - card.clientWidth}px wider`
               + " than the card (cut off)");
    }
    for (const el of card.querySelectorAll("[data-chart], canvas, svg, table")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      let scroller = el.parentElement;
      while (scroller && scroller !== card && getComputedStyle(scroller).overflowX !== "auto")
        scroller = scroller.parentElement;
      const scrolls = el.tagName === "TABLE" && scroller && scroller !== card;
      if (!scrolls && (r.left < box.left - 1 || r.right > box.right + 1)) {
        out.push(`${title}: ${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}`
                 + ` outside the card's ${Math.round(box.left)}..${Math.round(box.right)}`);
      }
      if (el.hasAttribute("data-chart")) {
        const canvas = el.querySelector("canvas");
        if (canvas && canvas.getBoundingClientRect().width > r.width + 1) {
          out.push(`${title}: the chart ${name(el)} is drawn wider than its box`);
        }
        // Inside the canvas: every label drawn whole within the chart's area, none cut
        // short with an ellipsis (zrender's display list holds each text's box).
        const chart = window.echarts && window.echarts.getInstanceByDom(el);
        if (!chart) continue;
        const zr = chart.getZr();
        const [w, h] = [zr.getWidth(), zr.getHeight()];
        for (const item of zr.storage.getDisplayList(true)) {
          if (!["text", "tspan"].includes(item.type) || item.ignore || item.invisible
              || !item.style) continue;
          const text = String(item.style.text ?? "");
          if (!text.trim()) continue;
          const rect = item.getBoundingRect().clone();
          if (item.transform) rect.applyTransform(item.transform);
          if (rect.x < -1 || rect.y < -1 || rect.x + rect.width > w + 1
              || rect.y + rect.height > h + 1) {
            out.push(`${title}: the chart ${name(el)} cuts off its label “${text}”`);
          } else if (/(…|\.\.\.)$/.test(text)) {
            out.push(`${title}: the chart ${name(el)} shortens its label to “${text}”`);
          }
        }
      }
    }
  }
  return out;
}"""


def _fit_pages(run: DashboardRun) -> list[str]:
    return [*MAIN_PAGES, f"segments/{run.segments['repeat']['id']}",
            f"journeys/{run.journey['id']}"]


@pytest.mark.parametrize("width", [1280, 768])
def test_charts_and_tables_fit_their_cards(page: Any, dashboard_run: DashboardRun,
                                           artifacts: Path, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    found: dict[str, list[str]] = {}
    checked = 0
    for route in _fit_pages(dashboard_run):
        open_page(page, dashboard_run, route)
        page.wait_for_timeout(400)  # charts are drawn after their data arrives
        checked += page.locator("main [data-chart], main table").count()
        misfits = page.evaluate(_MISFITS)
        if misfits:
            found[route] = misfits
            page.screenshot(path=str(artifacts / f"misfit-{route.replace('/', '-')}-{width}.png"),
                            full_page=True)
    assert checked >= 10  # the pages really had charts and tables to measure
    assert not found, "\n".join(f"#{route} at {width}px: {m}" for route, ms in found.items()
                                for m in ms)


def test_the_fit_check_finds_a_misfit(page: Any, dashboard_run: DashboardRun) -> None:
    """The check above can fail: a chart forced wider than its card is reported."""
    open_page(page, dashboard_run, f"segments/{dashboard_run.segments['repeat']['id']}")
    page.wait_for_timeout(400)
    assert page.evaluate(_MISFITS) == []
    # A label longer than the chart is wide is cut off inside the canvas: found too.
    page.evaluate("""() => window.echarts.getInstanceByDom(document.querySelector(
        'main [data-chart="trend"]')).setOption({title: {text: 'Revenue '.repeat(80)}})""")
    assert any("cuts off its label" in m for m in page.evaluate(_MISFITS))
    page.add_style_tag(content="main .card [data-chart] { width: 3000px !important; }")
    assert any("wider than the card" in m or "outside the card" in m
               for m in page.evaluate(_MISFITS))


def test_a_new_segments_page_follows_its_history_and_ends_complete(
    page: Any, dashboard_run: DashboardRun, artifacts: Path
) -> None:
    """Created now, a segment's page shows its history being computed (a progress bar
    over the days stored so far, which only grows: on this small store the 30 days may be
    done before the page polls) and then the complete page: 30 days of trend and revenue
    by month over the whole order history, not this year only."""
    api = dashboard_run.api
    started = time.monotonic()
    segment = api.post("/segments", {"name": "Spent 50 or more (new)",
                                      "shopify_query": "amount_spent >= 50"})
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    progress = page.locator("[data-history-progress]")
    revenue = page.locator('[data-chart="revenue"] canvas')
    seen: list[int] = []
    deadline = time.monotonic() + 180
    stored: list[int] = []  # days stored, as the API counts them while the page polls

    partial: list[list[str]] = []  # the days stored while the history was incomplete

    def points() -> int:
        days = [p["day"] for p in api.get(f"/segments/{segment['id']}/metrics")["points"]]
        if 0 < len(days) < 30:
            partial.append(days)
        stored.append(len(days))
        return stored[-1]

    while not (points() >= 30 and revenue.count() and not progress.count()):
        assert time.monotonic() < deadline, f"history not computed; progress seen {seen}"
        if progress.count():
            value = progress.first.get_attribute("data-history-progress")
            if value is not None and (not seen or seen[-1] != int(value)):
                seen.append(int(value))
        page.wait_for_timeout(200)
    seconds = time.monotonic() - started
    assert seen == sorted(seen) and all(0 <= v < 30 for v in seen), seen
    assert stored == sorted(stored), stored  # days are stored one by one, never undone
    assert len(api.get(f"/segments/{segment['id']}/metrics")["points"]) >= 30
    # Revenue by month from the first month anyone in the segment bought, any year.
    today = date.fromisoformat(api.get(f"/segments/{segment['id']}")["last_evaluated_on"])
    first = f"{today.year - 4}-{today.month:02d}-01"
    months = api.get(f"/segments/{segment['id']}/revenue?period=month&start={first}"
                     f"&end={today}")["points"]
    sold = [p["period"] for p in months if float(p["new"]["net_sales"]["amount"])
            or float(p["returning"]["net_sales"]["amount"])]
    assert sold and sold[0][:4] < str(today.year)  # older years too, not this year only
    (new, _returning) = chart_series(page, "revenue")
    assert len(new["data"]) == len(months) - [p["period"] for p in months].index(sold[0])
    # The newest day comes first, complete (features and revenue), the trend after it.
    assert all(days[-1] == str(today) for days in partial), partial[:3]
    assert page.get_by_text("computed by the daily run").count() == 0  # features are there
    print(f"\nnew segment page complete {seconds:.1f} s after creation; progress seen "
          f"{seen}; days stored as polled {sorted(set(stored))}")
    page.screenshot(path=str(artifacts / "new-segment-complete.png"), full_page=True)

    # What exists before the trend's first day is said plainly, and 90 more days can be
    # computed from the page; the trend then starts 90 days earlier.
    before = page.locator("[data-history-before]")
    first_day = api.get(f"/segments/{segment['id']}/metrics")["points"][0]["day"]
    assert "the segment's days before it were not computed" in before.inner_text()
    before.get_by_role("button", name=re.compile("Compute the 90 days before")).click()
    earlier = str(date.fromisoformat(first_day) - timedelta(days=90))
    deadline = time.monotonic() + 240
    while True:
        text = page.locator("[data-history-before]").inner_text()
        stored_days = len(api.get(f"/segments/{segment['id']}/metrics?start={earlier}"
                                  f"&end={today}")["points"])
        periods = page.locator('select[name="period"]').inner_text()
        if stored_days >= 120 and re.search(r"All history \(1[2-9]\d days\)", periods):
            break
        assert time.monotonic() < deadline, f"90 earlier days not computed: {stored_days}"
        page.wait_for_timeout(500)
    assert "The trend starts on" in text
    page.locator('select[name="period"]').select_option("all")
    page.wait_for_function(r"() => /\(1[2-9]\d days\)/.test(document.body.innerText)",
                           timeout=10_000)
    page.screenshot(path=str(artifacts / "new-segment-earlier-days.png"), full_page=True)

def test_predictions_as_of_a_past_day_are_that_days(page: Any, dashboard_run: DashboardRun
                                                    ) -> None:
    """The Predictions page's "As of" day: the customers and the model of that day (no
    run stored it: computed on the history up to it, as jobs the page follows, their
    progress shown), not the latest run's."""
    from datetime import date, timedelta

    latest = dashboard_run.api.get("/predictions?limit=25")
    past = (date.fromisoformat(latest["as_of"]) - timedelta(days=200)).isoformat()
    open_page(page, dashboard_run, "predictions")
    page.locator("[data-predictions-count]").wait_for()
    page.fill("input[name=predictions_as_of]", past)
    page.get_by_role("button", name="Show").click()
    working = "/purchases as of that day/"
    page.wait_for_function(f"() => {working}.test(document.body.innerText)", timeout=30_000)
    page.wait_for_function(
        f"() => !{working}.test(document.body.innerText) && (document.body"
        ".innerText.includes('No predictions as of') || "
        "document.querySelector('[data-predictions-count]') !== null)", timeout=120_000)
    # The jobs stored the day's figures: the API now answers them at once.
    expected = dashboard_run.api.get(f"/predictions?limit=25&day={past}")
    clv = dashboard_run.api.get(f"/clv?day={past}")
    assert expected["as_of"] == past == clv["as_of"]
    if expected["status"] == "fitted":
        page.wait_for_function(
            "n => document.querySelector('[data-predictions-count]')?.dataset.predictionsCount"
            " === String(n)", arg=expected["total"])
        links = page.locator("[data-customer]")
        assert [links.nth(i).get_attribute("data-customer") for i in range(links.count())] == [
            c["customer_id"] for c in expected["items"]]
    else:
        page.get_by_text("No predictions as of", exact=False).wait_for()
    model = "Fitted as of" if clv["status"] == "fitted" else "No model as of"
    page.get_by_text(model, exact=False).wait_for(timeout=120_000)


def test_past_days_are_computed_as_a_job_followed_on_the_segment_page(
    page: Any, dashboard_run: DashboardRun
) -> None:
    """Compute past days: a backfill of a chosen range, followed day by day (GET
    /jobs/{id}) until every day is computed, and the days stored in the metrics."""
    from datetime import date, timedelta

    segment = dashboard_run.api.get(f"/segments/{dashboard_run.segments['repeat']['id']}")
    end = date.fromisoformat(segment["last_evaluated_on"]) - timedelta(days=300)
    start = end - timedelta(days=2)
    open_page(page, dashboard_run, f"segments/{segment['id']}")
    page.fill("input[name=backfill_start]", start.isoformat())
    page.fill("input[name=backfill_end]", end.isoformat())
    page.get_by_role("button", name="Compute these days").click()
    status = page.locator("[data-backfill] p.ok")
    status.wait_for(timeout=120_000)
    assert status.inner_text() == "All 3 days computed"
    assert page.locator("[data-backfill] progress").get_attribute("value") == "3"
    progress = dashboard_run.api.get(
        f"/segments/{segment['id']}/backfill?start={start}&end={end}")
    assert (progress["days_done"], progress["status"]) == (3, "done")
