/**
 * Cohorts: customers grouped by the month of their first order, with LTV and repeat rate,
 * cumulative LTV by months since the first order (a heatmap), and how soon customers order
 * again (re-order curve); then the predicted-CLV model with its plain warnings and its
 * calibration-holdout check (predicted against actual purchases), so a merchant can see
 * whether to trust the predictions on their shop.
 */

import { chartBox, draw } from "../charts.js";
import { empty, errorMessage, h, loading, replace, section, table } from "../dom.js";
import { getFigures } from "../jobs.js";

export async function render(container, params, ctx, day = "") {
  const { api, fmt } = ctx;
  // As of any past day: a day the daily run did not store is computed from the history.
  const asOf = h("input", { name: "cohorts_as_of", type: "date", max: fmt.today(), value: day, "aria-label": "As of" });
  const dayForm = h("form", { class: "inline-form" }, h("label", {}, "As of ", asOf), h("button", { type: "submit", class: "secondary" }, "Show"));
  dayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    render(container, params, ctx, asOf.value);
  });
  const dayQuery = day ? `&day=${encodeURIComponent(day)}` : "";
  let page;
  try {
    // A past day the daily run did not store is computed first (a job): its progress shows.
    page = await getFigures(api, `/cohorts?limit=100${dayQuery}`, {
      onProgress: (job) => replace(container, h("h1", {}, "Cohorts"), dayForm, loading(`${job.progress}…`)),
    });
  } catch (error) {
    replace(container, h("h1", {}, "Cohorts"), dayForm, errorMessage(error, "Cohorts could not be loaded"));
    return;
  }
  const cohorts = [...page.items];
  const tableArea = h("div");
  const more = h("button", { type: "button", class: "secondary", hidden: !page.next_token }, "Load more cohorts");
  let nextToken = page.next_token;
  more.addEventListener("click", async () => {
    try {
      const next = await api.get(`/cohorts?limit=100${dayQuery}&next_token=${encodeURIComponent(nextToken)}`);
      cohorts.push(...next.items);
      nextToken = next.next_token;
      more.hidden = !nextToken;
      drawTable();
    } catch (error) {
      tableArea.append(errorMessage(error));
    }
  });
  const drawTable = () => replace(tableArea, cohorts.length ? table([
    { label: "First-order month", value: (c) => c.cohort },
    { label: "Customers", numeric: true, value: (c) => fmt.integer(c.customers) },
    { label: "Net sales", numeric: true, value: (c) => fmt.money(c.net_sales) },
    { label: "LTV", numeric: true, value: (c) => fmt.money(c.ltv) },
    { label: "Repeat rate", numeric: true, value: (c) => fmt.percent(c.repeat_rate) },
  ], cohorts, { caption: `As of ${fmt.day(page.as_of)}` }) : empty("No cohorts yet: they are computed by the daily run."));

  const clvArea = h("div");
  const heatmap = chartBox("cohort-ltv", "Cumulative LTV by cohort and months since the first order", { height: 420 });
  const reorder = chartBox("reorder", "Share of customers who ordered again within N days");
  replace(container, h("h1", {}, "Cohorts"), dayForm,
    section("Cohorts by first-order month", tableArea, more),
    section("Cumulative LTV by months since the first order", page.ltv_by_month.length ? heatmap : empty("Not computed yet.")),
    section("Time to the next order", page.time_to_next_order.length ? reorder : empty("Not computed yet.")),
    section("Predicted CLV: can you trust it on this shop?", clvArea));
  drawTable();
  renderClv(clvArea, ctx, day);

  if (page.ltv_by_month.length) {
    const rows = [...new Set(page.ltv_by_month.map((c) => c.cohort))].sort();
    const months = Math.max(...page.ltv_by_month.map((c) => c.months_since_first)) + 1;
    const values = page.ltv_by_month.map((c) => [c.months_since_first, rows.indexOf(c.cohort), Number(c.cumulative_ltv.amount)]);
    draw(heatmap, {
      grid: { left: 80, right: 110, top: 10, bottom: 50 },
      tooltip: { formatter: (p) => `${rows[p.value[1]]}, month ${p.value[0]}: ${fmt.money(p.value[2])}` },
      xAxis: { type: "category", name: "months since first order", nameLocation: "middle", nameGap: 28, data: Array.from({ length: months }, (_, i) => i) },
      yAxis: { type: "category", data: rows },
      visualMap: { min: 0, max: Math.max(...values.map((v) => v[2])), calculable: true, orient: "vertical", right: 0, top: "middle", inRange: { color: ["#eef3fd", "#2f6fdf", "#0b2a66"] }, formatter: (v) => fmt.money(v) },
      series: [{ type: "heatmap", data: values }],
    });
  }
  if (page.time_to_next_order.length) {
    draw(reorder, {
      grid: { left: 60, right: 20, top: 20, bottom: 40 },
      tooltip: { trigger: "axis", valueFormatter: (v) => fmt.percent(v) },
      xAxis: { type: "category", name: "days", data: page.time_to_next_order.map((p) => p.days) },
      yAxis: { type: "value", axisLabel: { formatter: (v) => fmt.percent(v) } },
      series: [{ name: "Ordered again", type: "line", data: page.time_to_next_order.map((p) => Number(p.share)) }],
    });
  }
}

export async function renderClv(area, { api, fmt }, day) {
  let clv;
  try {
    // The model of that day: the daily run's, or fitted on the history up to the day.
    // A past day no run stored is fitted first (a job): its progress shows meanwhile.
    clv = await getFigures(api, day ? `/clv?day=${encodeURIComponent(day)}` : "/clv", {
      onProgress: (job) => replace(area, loading(`${job.progress}…`)),
    });
  } catch (error) {
    replace(area, error.status === 404 ? empty("Not computed yet: the daily run fits the model.") : errorMessage(error));
    return;
  }
  const warnings = (clv.warnings || []).map((text) => h("p", { class: "warning", role: "note" }, text));
  const status = clv.status === "fitted"
    ? h("p", {}, `Fitted as of ${fmt.day(clv.as_of)} on ${fmt.integer(clv.summary?.customers)} customers; ${fmt.integer(clv.summary?.likely_alive)} are likely still active.`)
    : h("p", {}, `No model as of ${fmt.day(clv.as_of)}: ${clv.reason}`);
  const holdout = clv.holdout;
  if (!holdout || holdout.status !== "checked") {
    replace(area, ...warnings, status, holdout ? h("p", {}, `Holdout check not made: ${holdout.reason}`) : empty("No holdout check for this day."));
    return;
  }
  const chart = chartBox("clv-holdout", "Purchases in the holdout: predicted and actual, by purchases in calibration");
  const summary = h("p", {}, `Fitted on the history up to ${fmt.day(holdout.calibration_end)}, the model predicted ${fmt.decimal(holdout.total_predicted)} purchases in the next ${holdout.holdout_days} days; customers made ${fmt.decimal(holdout.total_actual)} (off by ${fmt.percent(holdout.error_share)}).`);
  replace(area, ...warnings, status, summary, chart);
  draw(chart, {
    grid: { left: 60, right: 20, top: 30, bottom: 50 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", valueFormatter: (v) => fmt.decimal(v) },
    xAxis: { type: "category", name: "repeat purchases in calibration", nameLocation: "middle", nameGap: 28, data: holdout.groups.map((g) => g.frequency) },
    yAxis: { type: "value", name: "mean purchases per customer" },
    series: [
      { name: "Predicted", type: "bar", data: holdout.groups.map((g) => g.mean_predicted) },
      { name: "Actual", type: "bar", data: holdout.groups.map((g) => g.mean_actual) },
    ],
  });
}
