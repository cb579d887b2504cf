/**
 * The store at a glance, the app's home: customers, repeat rate, lifetime value and how
 * they trend by month of first order (GET /cohorts), the first journey's stages on its
 * latest day (GET /journeys/<id>/funnel), the store's revenue by month over its whole
 * history, new and returning orders (GET /revenue), and the predicted value and churn risk of the
 * CLV model (GET /clv) only where the model says it has enough history; otherwise its reason.
 */

import { query } from "../api.js";
import { chartBox, draw, truthfulAxis } from "../charts.js";
import { empty, errorMessage, h, loading, replace, section, table } from "../dom.js";
import { revenueByMonth } from "./common.js";

export async function render(container, _params, ctx) {
  const kpis = h("div", {}, loading("Loading your store…"));
  const trend = h("div");
  const journey = h("div", {}, loading("Loading the journey…"));
  const model = h("div", {}, loading("Loading the prediction…"));
  replace(container, h("h1", {}, "Home"),
    h("p", { class: "muted" }, "Your store at a glance. Every figure links to the page that explains it."),
    kpis, section("Revenue by month (the whole store)", revenueByMonth("/revenue", ctx, { chart: "home-revenue", what: "The store's net sales", none: "No revenue yet: it is computed by the daily run after the first sync." })),
    section("Customers and lifetime value by month of first order", trend),
    h("div", { class: "two-col" }, section("Journey at a glance", journey), section("Predicted value and churn risk", model)));
  await Promise.all([renderCohorts(kpis, trend, ctx), renderJourney(journey, ctx), renderModel(model, ctx)]);
}

async function allCohorts(api) {
  const items = [];
  let token = null;
  let asOf = null;
  do {
    const page = await api.get(`/cohorts${query({ limit: 100, next_token: token })}`);
    items.push(...page.items);
    asOf = asOf || page.as_of;
    token = page.next_token;
  } while (token);
  return { items: items.sort((a, b) => a.cohort.localeCompare(b.cohort)), asOf };
}

async function renderCohorts(kpis, trend, ctx) {
  const { fmt } = ctx;
  let cohorts;
  try {
    cohorts = await allCohorts(ctx.api);
  } catch (error) {
    replace(kpis, error.code === "not_computed" ? empty(error.message) : errorMessage(error, "Your store's figures could not be loaded"));
    replace(trend);
    return;
  }
  if (!cohorts.items.length) {
    replace(kpis, empty("No customer has ordered yet: the figures appear after the first daily run with orders."));
    replace(trend);
    return;
  }
  const customers = cohorts.items.reduce((sum, c) => sum + c.customers, 0);
  const sales = cohorts.items.reduce((sum, c) => sum + Number(c.net_sales.amount), 0);
  const repeaters = cohorts.items.reduce((sum, c) => sum + Number(c.repeat_rate) * c.customers, 0);
  const currency = cohorts.items[0].net_sales.currency;
  replace(kpis, h("dl", { class: "kpis", "data-home-kpis": "" },
    kpi("Customers with an order", fmt.integer(customers)),
    kpi("Repeat rate", fmt.percent(customers ? repeaters / customers : null)),
    kpi("Lifetime value (LTV)", fmt.money({ amount: customers ? sales / customers : 0, currency })),
    kpi("Net sales, all time", fmt.money({ amount: sales, currency }))),
  h("p", { class: "muted" }, `As of ${fmt.day(cohorts.asOf)}. `, h("a", { href: "#/cohorts" }, "See every cohort")));
  const month = new Intl.DateTimeFormat(navigator.language || "en-US", { month: "short", year: "numeric", timeZone: "UTC" });
  const label = (cohort) => month.format(new Date(`${cohort}-01T00:00:00Z`));
  const box = chartBox("home-cohorts", "New customers and their lifetime value by month of first order", { height: 300 });
  replace(trend, box);
  draw(box, {
    grid: { left: 70, right: 90, top: 40, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", formatter: (items) => [label(items[0].axisValue), ...items.map((i) => `${i.marker}${i.seriesName}: ${i.seriesIndex === 0 ? fmt.integer(i.value) : i.seriesIndex === 1 ? fmt.money(i.value) : fmt.percent(i.value)}`)].join("<br>") },
    xAxis: { type: "category", data: cohorts.items.map((c) => c.cohort), axisLabel: { formatter: label, hideOverlap: true } },
    yAxis: [
      { ...truthfulAxis("integer", (v) => fmt.integer(v)), name: "customers" },
      { ...truthfulAxis("money", (v) => fmt.money(v)), name: "LTV", splitLine: { show: false } },
    ],
    series: [
      { name: "New customers", type: "bar", data: cohorts.items.map((c) => c.customers) },
      { name: "LTV", type: "line", yAxisIndex: 1, data: cohorts.items.map((c) => Number(c.ltv.amount)) },
    ],
  });
}

function kpi(label, value) {
  return h("div", {}, h("dt", {}, label), h("dd", {}, value));
}

async function renderJourney(area, ctx) {
  const { api, fmt } = ctx;
  try {
    const journeys = (await api.get("/journeys?limit=1")).items;
    if (!journeys.length) {
      replace(area, empty("No journey yet."), h("p", {}, h("a", { href: "#/journeys" }, "Define a journey from your segments")));
      return;
    }
    const [journey] = journeys;
    const end = fmt.today();
    const [funnel, segments] = await Promise.all([
      api.get(`/journeys/${encodeURIComponent(journey.id)}/funnel${query({ start: fmt.daysBefore(end, 6), end })}`),
      api.get("/segments?limit=100").then((p) => new Map(p.items.map((s) => [s.id, s.name]))),
    ]);
    const latest = funnel.points[funnel.points.length - 1];
    if (!latest) {
      replace(area, h("h3", {}, journey.name), empty("Its stages are counted by the next daily run."));
      return;
    }
    replace(area, h("h3", {}, h("a", { href: `#/journeys/${encodeURIComponent(journey.id)}` }, journey.name)),
      table([
        { label: "Stage", value: (s) => segments.get(s.segment_id) || "a deleted segment" },
        { label: "Customers", numeric: true, value: (s) => fmt.integer(s.reached) },
        { label: "From the stage before", numeric: true, value: (s) => (s.conversion === null || s.conversion === undefined ? "–" : fmt.percent(s.conversion)) },
      ], latest.stages, { caption: `On ${fmt.day(latest.day)}` }));
  } catch (error) {
    replace(area, errorMessage(error, "The journey could not be loaded"));
  }
}

async function renderModel(area, ctx) {
  const { fmt } = ctx;
  let clv;
  try {
    clv = await ctx.api.get("/clv");
  } catch (error) {
    replace(area, error.code === "not_computed" ? empty(error.message) : errorMessage(error, "The prediction could not be loaded"));
    return;
  }
  if (clv.status !== "fitted" || !clv.summary) {
    replace(area, h("p", { "data-model-status": "insufficient" }, "Not shown: the model does not have enough history to predict this store yet. ", clv.reason || ""));
    return;
  }
  const { summary } = clv;
  const year = summary.horizons.find((hz) => hz.days === 365) || summary.horizons[summary.horizons.length - 1];
  const risk = summary.mean_p_alive === null ? null : 1 - summary.mean_p_alive;
  replace(area, h("dl", { class: "kpis", "data-model-status": "fitted" },
    year ? kpi(`Predicted value, next ${fmt.integer(year.days)} days`, fmt.money(year.total_clv)) : null,
    year ? kpi("Per customer", fmt.money(year.mean_clv)) : null,
    kpi("Churn risk (average)", fmt.percent(risk)),
    kpi("Likely still active", `${fmt.integer(summary.likely_alive)} of ${fmt.integer(summary.customers)}`)),
  (clv.warnings || []).map((w) => h("p", { class: "hint" }, w)),
  h("p", { class: "muted" }, `Model fitted on ${fmt.day(clv.as_of)}. `, h("a", { href: "#/cohorts" }, "How well it predicted the past"), " · ", h("a", { href: "#/predictions" }, "Each customer's predictions")));
}
