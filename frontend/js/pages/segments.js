/**
 * The segment list: every segment with its members, key metrics and a 30-day trend
 * sparkline, and the template gallery to create a segment from (parameters in a form,
 * with a preview of how many customers it would select today).
 */

import { query } from "../api.js";
import { chartBox, draw, sparklineOption } from "../charts.js";
import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { allSegments, formatMetric, METRICS, metricValue } from "./common.js";

const LIST_METRICS = ["ltv", "aov", "avg_purchase_count", "repeat_rate"].map((key) => METRICS.find((m) => m.key === key));

export async function render(container, _params, ctx) {
  const listArea = h("div", {}, loading("Loading segments…"));
  const galleryArea = h("div", {}, loading("Loading templates…"));
  replace(container,
    h("h1", {}, "Segments"),
    section("Your segments", listArea),
    section("Create a segment from a template", galleryArea));
  await Promise.all([renderList(listArea, ctx), renderGallery(galleryArea, ctx)]);
}

async function renderList(area, ctx) {
  const { api, fmt } = ctx;
  let segments;
  try {
    segments = await allSegments(api);
  } catch (error) {
    replace(area, errorMessage(error, "Segments could not be loaded"));
    return;
  }
  if (!segments.length) {
    replace(area, empty("No segments yet. Pick a template below to create your first one."));
    return;
  }
  const sparkCells = new Map();
  const columns = [
    { label: "Segment", value: (s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name) },
    { label: "Members", numeric: true, value: (s) => (s.member_count === null ? h("span", { class: "muted" }, "computing…") : fmt.integer(s.member_count)) },
    ...LIST_METRICS.map((metric) => ({ label: metric.label, numeric: true, value: (s) => formatMetric(fmt, metric, s.latest_metrics) })),
    {
      label: "Members, 30 days",
      value: (s) => {
        const cell = chartBox(`spark-${s.id}`, `Member count of ${s.name} over the last 30 days`, { height: 32 });
        cell.classList.add("sparkline");
        sparkCells.set(s.id, cell);
        return cell;
      },
    },
    { label: "Status", value: (s) => (s.last_error ? h("span", { class: "error-text" }, s.last_error) : s.last_evaluated_on ? `evaluated ${fmt.day(s.last_evaluated_on)}` : "waiting for the first run") },
  ];
  replace(area, table(columns, segments, { caption: `${segments.length} segments` }));
  const end = fmt.today();
  const start = fmt.daysBefore(end, 29);
  await Promise.all(segments.map(async (segment) => {
    const cell = sparkCells.get(segment.id);
    try {
      const metrics = await api.get(`/segments/${encodeURIComponent(segment.id)}/metrics${query({ start, end })}`);
      const values = metrics.points.map((p) => metricValue(p, "member_count"));
      if (values.length && cell.isConnected) draw(cell, sparklineOption(values));
      else cell.replaceChildren(h("span", { class: "muted" }, "no trend yet"));
    } catch {
      cell.replaceChildren(h("span", { class: "muted" }, "trend unavailable"));
    }
  }));
}

async function renderGallery(area, ctx) {
  let templates;
  try {
    templates = (await ctx.api.get("/templates?limit=100")).items;
  } catch (error) {
    replace(area, errorMessage(error, "Templates could not be loaded"));
    return;
  }
  if (!templates.length) {
    replace(area, empty("No templates are available."));
    return;
  }
  const formArea = h("div", { class: "template-form-area" });
  const categories = [...new Set(templates.map((t) => t.category))];
  const filter = h("select", { "aria-label": "Template category" },
    h("option", { value: "" }, `All categories (${templates.length})`),
    categories.map((c) => h("option", { value: c }, c)));
  const grid = h("ul", { class: "template-grid" });
  const drawGrid = () => {
    const shown = templates.filter((t) => !filter.value || t.category === filter.value);
    replace(grid, shown.map((template) => h("li", { class: "template-card" },
      h("h3", {}, template.name),
      h("p", { class: "muted" }, template.category),
      h("p", {}, template.description || ""),
      h("button", {
        type: "button",
        "data-template": template.id,
        onclick: () => renderTemplateForm(formArea, template, ctx),
      }, `Use “${template.name}”`))));
  };
  // The journey templates (first-time to loyal) are where most merchants start.
  if (categories.includes("journey")) filter.value = "journey";
  filter.addEventListener("change", drawGrid);
  drawGrid();
  replace(area, field("Category", filter), formArea, grid);
}

function parameterInput(parameter) {
  const common = { name: parameter.name, required: parameter.default === null || parameter.default === undefined };
  const value = parameter.default ?? "";
  switch (parameter.type) {
    case "integer":
      return h("input", { ...common, type: "number", step: "1", value });
    case "number":
      return h("input", { ...common, type: "number", step: "any", value });
    case "date":
      return h("input", { ...common, type: "date", value });
    case "month":
      return h("input", { ...common, type: "month", value, placeholder: "YYYY-MM" });
    case "product_id":
    case "variant_id":
      return h("input", { ...common, type: "text", inputmode: "numeric", pattern: "[0-9]+", value, placeholder: "numeric Shopify id" });
    case "enum":
      return h("select", common, (parameter.choices || []).map((c) => h("option", { value: c, selected: c === value }, c)));
    default:
      return h("input", { ...common, type: "text", value });
  }
}

function readParameters(form, template) {
  const params = {};
  for (const parameter of template.parameters || []) {
    const raw = form.elements[parameter.name].value.trim();
    if (raw === "") continue;
    params[parameter.name] = parameter.type === "integer" || parameter.type === "number" ? Number(raw) : raw;
  }
  return params;
}

function renderTemplateForm(area, template, ctx) {
  const feedback = h("div", { "aria-live": "polite" });
  const nameInput = h("input", { name: "name", type: "text", required: true, value: template.name, maxlength: 255 });
  const form = h("form", { class: "template-form", "data-template-form": template.id },
    h("h3", {}, `New segment from “${template.name}”`),
    h("p", {}, template.description || ""),
    field("Segment name", nameInput),
    (template.parameters || []).map((p) => field(p.name.replaceAll("_", " "), parameterInput(p), p.description)),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => preview() }, "Preview count"),
      h("button", { type: "submit" }, "Create segment"),
      h("button", { type: "button", class: "secondary", onclick: () => replace(area) }, "Cancel")),
    feedback);

  async function preview() {
    replace(feedback, loading("Counting…"));
    try {
      const result = await ctx.api.post("/segments/preview", { template: { id: template.id, params: readParameters(form, template) }, sample_size: 0 });
      replace(feedback, h("p", { class: "ok" }, `${ctx.fmt.integer(result.member_count)} of ${ctx.fmt.integer(result.customer_count)} customers match today.`));
    } catch (error) {
      replace(feedback, errorMessage(error));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(feedback, loading("Creating the segment…"));
    try {
      const created = await ctx.api.post("/segments", {
        name: nameInput.value.trim(),
        template: { id: template.id, params: readParameters(form, template) },
      });
      ctx.navigate(`#/segments/${encodeURIComponent(created.id)}`);
    } catch (error) {
      replace(feedback, errorMessage(error, "The segment was not created"));
    }
  });
  replace(area, form);
  nameInput.focus();
  area.scrollIntoView?.({ block: "nearest" });
}
