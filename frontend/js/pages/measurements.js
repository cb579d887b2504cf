/**
 * Measurements (what a segment's customers, frozen when measured, buy during a period) and
 * experiments (a segment split at random into groups). Pick two or more measurements to
 * compare them side by side, each conversion rate with its 95% interval; experiments show
 * every group's difference against the control with the API's confidence intervals.
 */

import { chartBox, draw } from "../charts.js";
import { empty, errorMessage, field, h, loading, replace, section, table, toast } from "../dom.js";
import { wilsonInterval } from "../stats.js";
import { followJob } from "../jobs.js";
import { allSegments, segmentSelect } from "./common.js";

const POLL_MS = 2000;

export async function render(container, _params, ctx) {
  const { api } = ctx;
  let measurements;
  let segments;
  let products;
  try {
    [measurements, segments, products] = await Promise.all([api.get("/measurements?limit=100").then((p) => p.items), allSegments(api), shopProducts(api)]);
  } catch (error) {
    replace(container, h("h1", {}, "Measurements"), errorMessage(error, "Measurements could not be loaded"));
    return;
  }
  const compareArea = h("div", { "aria-live": "polite" });
  const experimentsArea = h("div");
  const listArea = h("div");
  const timer = { id: null };
  replace(container, h("h1", {}, "Measurements"),
    section("Measurements", listArea, compareArea),
    section("Experiments", experimentsArea),
    section("New measurement", measurementForm(segments, products, ctx)),
    section("New experiment (A/B split)", experimentForm(segments, products, ctx)));
  renderList(listArea, compareArea, measurements, ctx);
  renderExperiments(experimentsArea, measurements, ctx);
  // Results are computed asynchronously: refresh while any measurement is still pending.
  const poll = async () => {
    if (!measurements.some((m) => m.status === "pending") || !container.isConnected) return;
    try {
      measurements = (await api.get("/measurements?limit=100")).items;
      renderList(listArea, compareArea, measurements, ctx);
      renderExperiments(experimentsArea, measurements, ctx);
    } catch {
      // Keep what is shown; the next poll tries again.
    }
    timer.id = setTimeout(poll, POLL_MS);
  };
  timer.id = setTimeout(poll, POLL_MS);
  return () => clearTimeout(timer.id);
}

function renderList(area, compareArea, measurements, ctx) {
  const { fmt } = ctx;
  if (!measurements.length) {
    replace(area, empty("No measurements yet: measure what a segment's customers buy during a period below."));
    return;
  }
  const compare = h("button", { type: "button", disabled: true }, "Compare selected");
  const checkbox = (m) => h("input", { type: "checkbox", name: "compare", value: m.id, "aria-label": `Compare ${m.name}`, onchange: update });
  function update() {
    const picked = area.querySelectorAll("input[name=compare]:checked").length;
    compare.disabled = picked < 2;
    compare.textContent = picked < 2 ? "Compare selected (pick two or more)" : `Compare ${picked} measurements`;
  }
  compare.addEventListener("click", () => {
    const ids = [...area.querySelectorAll("input[name=compare]:checked")].map((b) => b.value);
    renderComparison(compareArea, ids, ctx);
  });
  replace(area, table([
    { label: "Compare", value: checkbox },
    { label: "Name", value: (m) => m.name + (m.group ? ` (group ${m.group})` : "") },
    { label: "Period", value: (m) => `${fmt.day(m.period.start)} – ${fmt.day(m.period.end)}` },
    { label: "Status", value: (m) => (m.last_error ? h("span", { class: "error-text" }, m.last_error) : m.status) },
    { label: "Customers", numeric: true, value: (m) => fmt.integer(m.customers) },
    { label: "Members as of", value: (m) => (m.members_as_of ? fmt.day(m.members_as_of) : "–") },
    { label: "Converted", numeric: true, value: (m) => fmt.integer(m.results?.converted) },
    { label: "CVR", numeric: true, value: (m) => fmt.percent(m.results?.cvr) },
    { label: "Revenue", numeric: true, value: (m) => fmt.money(m.results?.revenue) },
  ], measurements), h("div", { class: "actions" }, compare));
  update();
}

async function renderComparison(area, ids, ctx) {
  const { fmt } = ctx;
  replace(area, loading("Comparing…"));
  let items;
  let series;
  try {
    // The comparison carries the results and products; the daily series come with each
    // measurement on its own.
    [items, series] = await Promise.all([
      ctx.api.post("/measurements/compare", { ids }).then((c) => c.items),
      Promise.all(ids.map((id) => ctx.api.get(`/measurements/${encodeURIComponent(id)}`)))
        .then((all) => new Map(all.map((m) => [m.id, m.results?.series || []]))),
    ]);
  } catch (error) {
    replace(area, errorMessage(error, "The measurements could not be compared"));
    return;
  }
  const interval = (m) => {
    const ci = m.results ? wilsonInterval(m.results.converted, m.results.customers) : null;
    return ci ? `${fmt.percent(ci.low)} – ${fmt.percent(ci.high)}` : "–";
  };
  const rows = [
    ["Customers", (m) => fmt.integer(m.customers)],
    ["Converted", (m) => fmt.integer(m.results?.converted)],
    ["Conversion rate (CVR)", (m) => fmt.percent(m.results?.cvr)],
    ["CVR 95% interval", interval],
    ["Orders", (m) => fmt.integer(m.results?.orders)],
    ["Revenue", (m) => fmt.money(m.results?.revenue)],
    ["Average order value", (m) => fmt.money(m.results?.aov)],
    ["Revenue per customer", (m) => fmt.money(m.results?.revenue_per_customer)],
    ["Status", (m) => (m.results?.final ? "final" : `${m.status}, as of ${fmt.day(m.results?.as_of)}`)],
  ];
  const box = chartBox("comparison", "Customers converted so far, per measurement");
  const ciBox = chartBox("comparison-cvr", "Conversion rate of each measurement with its 95% interval", { height: 220 });
  const comparisonTable = h("div", { class: "table-wrap" }, h("table", { "data-comparison": "" },
    h("caption", {}, "Side by side"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Metric"), items.map((m) => h("th", { scope: "col", class: "num" }, m.name)))),
    h("tbody", {}, rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), items.map((m) => h("td", { class: "num" }, value(m))))))));
  const products = h("div", { class: "two-col" }, items.map((m) => h("div", {},
    h("h4", {}, `What converted customers of “${m.name}” bought`),
    (m.results?.products || []).length
      ? table([
        { label: "Product", value: (p) => p.title || p.product_id },
        { label: "Customers", numeric: true, value: (p) => fmt.integer(p.customers) },
        { label: "Sales", numeric: true, value: (p) => fmt.money(p.sales) },
      ], m.results.products.slice(0, 5))
      : empty("No purchases yet."))));
  replace(area, h("h3", { tabindex: "-1" }, "Comparison"), comparisonTable, h("div", { class: "two-col" }, box, ciBox), products);
  area.querySelector("h3").focus();
  const days = [...new Set(items.flatMap((m) => series.get(m.id).map((p) => p.day)))].sort();
  draw(box, {
    grid: { left: 50, right: 20, top: 40, bottom: 40 },
    legend: { top: 0, type: "scroll" },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days, axisLabel: { formatter: (d) => fmt.day(d) } },
    yAxis: { type: "value", name: "converted" },
    series: items.map((m) => {
      const byDay = new Map(series.get(m.id).map((p) => [p.day, p.converted]));
      return { name: m.name, type: "line", showSymbol: false, data: days.map((d) => byDay.get(d) ?? null) };
    }),
  });
  const intervals = items.map((m) => (m.results ? wilsonInterval(m.results.converted, m.results.customers) : null));
  draw(ciBox, {
    grid: { left: 140, right: 30, top: 30, bottom: 30 },
    legend: { top: 0 },
    tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${fmt.percent(p.value)}` },
    xAxis: { type: "value", min: 0, axisLabel: { formatter: (v) => fmt.percent(v) } },
    yAxis: { type: "category", data: items.map((m) => m.name) },
    series: [
      { name: "CVR", type: "bar", barWidth: 14, data: items.map((m) => Number(m.results?.cvr ?? 0)) },
      { name: "95% interval", type: "scatter", symbol: "rect", symbolSize: [2, 18], data: intervals.flatMap((ci, i) => (ci ? [[ci.low, i], [ci.high, i]] : [])) },
    ],
  });
}

async function renderExperiments(area, measurements, ctx) {
  const { fmt } = ctx;
  const ids = [...new Set(measurements.map((m) => m.experiment_id).filter(Boolean))];
  if (!ids.length) {
    replace(area, empty("No experiments yet: split a segment at random below."));
    return;
  }
  let experiments;
  try {
    experiments = await Promise.all(ids.map((id) => ctx.api.get(`/experiments/${encodeURIComponent(id)}`)));
  } catch (error) {
    replace(area, errorMessage(error, "Experiments could not be loaded"));
    return;
  }
  const estimate = (e, formatValue) => (e && e.difference !== null
    ? `${formatValue(e.difference)} [${formatValue(e.ci_low)}, ${formatValue(e.ci_high)}]${e.p_value !== null ? `, p = ${fmt.decimal(e.p_value)}` : ""}`
    : "–");
  const points = (v) => `${v >= 0 ? "+" : ""}${fmt.decimal(v * 100)} pts`;
  replace(area, experiments.map((experiment) => h("article", { class: "experiment" },
    h("h3", {}, experiment.name),
    h("p", { class: "muted" }, `${experiment.groups.length} groups, control ${groupName(experiment, experiment.control)}, ${fmt.day(experiment.period.start)} – ${fmt.day(experiment.period.end)}${experiment.stratify_by ? `, stratified by ${experiment.stratify_by}` : ""}`),
    table([
      { label: "Group", value: (g) => `${g.name || g.label}${g.holdout ? " (holdout)" : ""}` },
      {
        label: "List (tag or export it)",
        value: (g) => (g.segment_id
          ? h("a", { href: `#/segments/${encodeURIComponent(g.segment_id)}`, "data-group-list": g.label }, `Open the list “${g.name || g.label}”`)
          : "–"),
      },
      { label: "Customers", numeric: true, value: (g) => fmt.integer(g.customers) },
      { label: "Converted", numeric: true, value: (g) => fmt.integer(g.results?.converted) },
      { label: "CVR", numeric: true, value: (g) => fmt.percent(g.results?.cvr) },
      { label: "Revenue per customer", numeric: true, value: (g) => fmt.money(g.results?.revenue_per_customer) },
    ], experiment.groups),
    experiment.comparisons.map((c) => h("div", { class: "comparison", "data-comparison": c.group },
      h("h4", {}, `${groupName(experiment, c.group)} vs ${groupName(experiment, c.control)}`),
      c.cvr ? table([
        { label: "Metric", value: (row) => row.label },
        { label: "Difference [95% CI]", value: (row) => estimate(c[row.key], row.format) },
        { label: "Adjusted p", numeric: true, value: (row) => (c[row.key]?.p_adjusted ?? null) === null ? "–" : fmt.decimal(c[row.key].p_adjusted) },
      ], COMPARED.map((row) => ({ ...row, format: row.kind === "points" ? points : row.kind === "money" ? (v) => fmt.money(v) : (v) => fmt.decimal(v) }))
        .filter((row) => c[row.key]), { caption: "Each difference with its interval; a difference counts when its p-value, adjusted for every metric and group of the experiment (Holm), is below 0.05." }) : null,
      h("p", { class: "verdict", "data-verdict": "" }, c.verdict))))));
}

// What an experiment compares between each group and the control (the API's fields).
const COMPARED = [
  { key: "cvr", label: "Conversion rate", kind: "points" },
  { key: "revenue_per_customer", label: "Revenue per customer", kind: "money" },
  { key: "orders_per_customer", label: "Orders per customer", kind: "decimal" },
  { key: "aov", label: "Average order value", kind: "money" },
];

function groupName(experiment, label) {
  if (!label) return "–";
  const group = experiment.groups.find((g) => g.label === label);
  return group?.name || label;
}

function periodFields(ctx, note) {
  const today = ctx.fmt.today();
  const start = h("input", { type: "date", name: "start", required: true, value: today });
  const explain = () => {
    note.textContent = start.value && start.value < today
      ? `The period starts before today: the customers measured are the segment's members as they were when it began (on ${ctx.fmt.day(ctx.fmt.daysBefore(start.value, 1))}), from the segment's daily history, not its members today. If the segment's history does not go back that far, seglift says so and from which day it can measure.`
      : "";
  };
  start.addEventListener("input", explain);
  explain();
  return [
    field("First day", start),
    field("Last day", h("input", { type: "date", name: "end", required: true, value: ctx.fmt.daysBefore(today, -30) })),
  ];
}

/** What counts as converting: any order, or one with these products and/or a minimum total. */
function goalFields(products, ctx) {
  const picker = h("select", { name: "goal_products", multiple: true, size: Math.min(5, Math.max(2, products.length)) },
    products.map((p) => h("option", { value: String(p.id) }, p.title)));
  return h("fieldset", { class: "goal" }, h("legend", {}, "Goal (what counts as converting)"),
    products.length
      ? field("Orders containing any of these products", picker, "Pick none to count any order. Ctrl or ⌘ picks several.")
      : null,
    field(`Minimum order value (${ctx.fmt.currency})`, h("input", { type: "number", name: "goal_min", min: 0, step: "0.01", inputmode: "decimal" }), "Leave empty for no minimum."));
}

function goalOf(form) {
  const productIds = [...(form.querySelector("select[name=goal_products]")?.selectedOptions || [])].map((o) => o.value);
  const minimum = form.elements.goal_min.value.trim();
  if (!productIds.length && !minimum) return undefined;
  return { product_ids: productIds, min_order_value: minimum || null };
}

async function shopProducts(api) {
  try {
    return (await api.get("/catalog")).products || [];
  } catch {
    return []; // the goal then offers the minimum order value only
  }
}

function measurementForm(segments, products, ctx) {
  if (!segments.length) return empty("Create a segment first.");
  const feedback = h("div", { "aria-live": "polite" });
  const note = h("p", { class: "hint", role: "note" });
  const form = h("form", { class: "inline-form", "data-form": "measurement" },
    field("Name", h("input", { type: "text", name: "name", required: true, maxlength: 255 })),
    field("Segment", segmentSelect(segments)), periodFields(ctx, note), note, goalFields(products, ctx),
    h("button", { type: "submit" }, "Measure"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = form.elements;
    try {
      await ctx.api.post("/measurements", {
        name: values.name.value.trim(), segment_id: values.segment_id.value,
        period: { start: values.start.value, end: values.end.value }, goal: goalOf(form),
      });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      replace(feedback, errorMessage(error, "The measurement was not created"));
    }
  });
  return form;
}

function experimentForm(segments, products, ctx) {
  if (!segments.length) return empty("Create a segment first.");
  const feedback = h("div", { "aria-live": "polite" });
  const note = h("p", { class: "hint", role: "note" });
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 255 });
  const count = h("input", { type: "number", name: "groups", min: 2, max: 10, value: 2, required: true });
  const holdout = h("input", { type: "checkbox", name: "holdout" });
  const namesArea = h("fieldset", { class: "group-names" });
  const typed = new Map(); // what the merchant typed per group, kept when the count changes
  function drawNames() {
    const n = Math.min(10, Math.max(2, Number(count.value) || 2));
    const labels = Array.from({ length: n }, (_, i) => (holdout.checked && i === n - 1 ? "holdout" : String.fromCharCode(65 + i)));
    replace(namesArea, h("legend", {}, "Group names (each group becomes a list you can tag and export)"),
      labels.map((label, i) => field(label === "holdout" ? "Name of the holdout (untreated)" : `Name of group ${label}`,
        h("input", {
          type: "text", name: "group_name", required: true, maxlength: 255, "data-index": i,
          value: typed.get(i) ?? `${name.value.trim() || "Test"} — ${label === "holdout" ? "holdout" : `group ${label}`}`,
          oninput: (event) => typed.set(i, event.target.value),
        }))));
  }
  for (const input of [count, holdout, name]) input.addEventListener("input", drawNames);
  holdout.addEventListener("change", drawNames);
  drawNames();
  const form = h("form", { class: "inline-form", "data-form": "experiment" },
    h("p", { class: "hint" }, "One step for the A/B test of the seeds: the segment's members are split at random, each group is saved as a list (tag it or export it to send each group its own campaign), and each group's purchases are measured and compared."),
    field("Name", name), field("Segment", segmentSelect(segments)), field("Groups", count),
    h("label", { class: "check" }, holdout, " Keep the last group as an untreated holdout"),
    namesArea, periodFields(ctx, note), note, goalFields(products, ctx),
    h("button", { type: "submit" }, "Split into lists and measure"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = form.elements;
    replace(feedback, loading("Checking the experiment…"));
    try {
      // The API checks the request, then splits the customers as a job (a large segment
      // takes longer than a request may wait): follow it to the experiment or its failure.
      const job = await ctx.api.post("/experiments", {
        name: values.name.value.trim(), segment_id: values.segment_id.value,
        groups: Number(values.groups.value), holdout: values.holdout.checked,
        group_names: [...form.querySelectorAll("input[name=group_name]")].map((input) => input.value.trim()),
        period: { start: values.start.value, end: values.end.value }, goal: goalOf(form),
      });
      const experiment = await followJob(ctx.api, job, {
        onProgress: (now) => replace(feedback, loading(now.status === "queued" ? "Splitting and making the lists…" : `${now.progress}…`)),
      });
      toast(experiment ? `Experiment “${experiment.name}” created: ${experiment.groups.length} groups` : "Experiment created");
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      replace(feedback, errorMessage(error, "The experiment was not created"));
    }
  });
  return form;
}
