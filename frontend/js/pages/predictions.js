/**
 * Predictions: what the shop's purchase model expects of each customer who has ordered
 * (chance of still being active, purchases and spend to come, the expected next order),
 * a page at a time in the order the merchant picks (GET /predictions), beside how far to
 * trust it: the model's plain warnings and its calibration-holdout check, plotted.
 */

import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { getFigures } from "../jobs.js";
import { renderClv } from "./cohorts.js";
import { adminCustomerUrl } from "./members.js";

const PAGE_SIZE = 25;

// How the list can be ordered: [sort, order, words].
export const ORDERS = [
  ["predicted_value_365d", "desc", "Highest predicted spend in the next 365 days"],
  ["chance_active", "asc", "Most likely to churn (lowest chance still active)"],
  ["days_to_expected_order", "asc", "Next order expected soonest"],
  ["predicted_purchases_90d", "desc", "Most purchases expected in the next 90 days"],
];

export async function render(container, params, ctx) {
  const modelArea = h("div", {}, loading("Loading the model…"));
  const listArea = h("div", {}, loading("Loading customers…"));
  const choice = h("select", { name: "predictions_order" },
    ORDERS.map(([, , words], index) => h("option", { value: String(index) }, words)));
  // As of any past day: the predictions a daily run that day made, or computed on the
  // history up to it (never a later run's).
  const asOf = h("input", { name: "predictions_as_of", type: "date", max: ctx.fmt.today() });
  const form = h("form", { class: "inline-form" }, field("Order", choice), field("As of", asOf), h("button", { type: "submit", class: "secondary" }, "Show"));
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Next customers");
  replace(container, h("h1", {}, "Predictions"),
    h("p", { class: "muted" }, "What the shop's purchase model expects of each customer who has ordered. Use them in segments: the “Predictions” templates, or any prediction in the condition builder."),
    section("Can you trust the predictions on this shop?", modelArea),
    section("Customers", form, listArea, more));
  renderClv(modelArea, ctx, "");

  let rows = [];
  let token = null;
  const load = async (fresh) => {
    const [sort, order] = ORDERS[Number(choice.value)];
    if (fresh) {
      rows = [];
      token = null;
      replace(listArea, loading("Loading customers…"));
    }
    const query = new URLSearchParams({ sort, order, limit: String(PAGE_SIZE) });
    if (token) query.set("next_token", token);
    else if (asOf.value) query.set("day", asOf.value);
    let page;
    try {
      // A past day no run stored is computed first (a job): its progress shows meanwhile.
      page = await getFigures(ctx.api, `/predictions?${query}`, {
        onProgress: (job) => replace(listArea, loading(`${job.progress}…`)),
      });
    } catch (error) {
      more.hidden = true;
      replace(listArea, error.status === 404 ? empty(error.message) : errorMessage(error, "The predictions could not be loaded"));
      return;
    }
    rows.push(...page.items);
    token = page.next_token;
    more.hidden = !token;
    replace(listArea, page.status !== "fitted"
      ? empty(`No predictions as of ${ctx.fmt.day(page.as_of)}: ${page.reason || "the model could not be fitted."}`)
      : customersTable(rows, page, ctx));
  };
  let shownDay = "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (asOf.value !== shownDay) {
      shownDay = asOf.value;
      replace(modelArea, loading("Loading the model…"));
      renderClv(modelArea, ctx, shownDay);
    }
    load(true);
  });
  more.addEventListener("click", () => load(false));
  await load(true);
}

function customersTable(rows, page, { fmt, shop }) {
  if (!rows.length) return empty("No customer has a prediction yet.");
  const money = (value) => (value ? fmt.money(value) : h("span", { class: "muted" }, "not predicted"));
  return h("div", {},
    h("p", { "data-predictions-count": String(page.total) }, `${fmt.integer(rows.length)} of ${fmt.integer(page.total)} customers with predictions, as of ${fmt.day(page.as_of)}.`),
    table([
      { label: "Customer", value: (c) => h("a", { href: adminCustomerUrl(shop?.shop, c.customer_id), target: "_blank", rel: "noopener", "data-customer": c.customer_id }, c.name || c.email || `Customer ${c.customer_id}`) },
      { label: "Orders", numeric: true, value: (c) => fmt.integer(c.order_count) },
      { label: "Spent", numeric: true, value: (c) => fmt.money(c.total_spent) },
      { label: "Chance still active", numeric: true, value: (c) => fmt.percent(c.chance_active / 100) },
      { label: "Purchases, next 90 days", numeric: true, value: (c) => fmt.decimal(c.predicted_purchases_90d) },
      { label: "Predicted spend, next 365 days", numeric: true, value: (c) => money(c.predicted_value_365d) },
      { label: "Expected next order", value: (c) => (c.expected_next_order_date ? fmt.day(c.expected_next_order_date) : "") },
    ], rows, { caption: "Customers and their predictions" }));
}
