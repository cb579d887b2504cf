/**
 * The segment list: every segment with its members, key metrics and a 30-day trend
 * sparkline, and the template gallery to create a segment from (parameters in a form,
 * with a preview of how many customers it would select today).
 */

import { query } from "../api.js";
import { chartBox, draw, sparklineOption } from "../charts.js";
import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { answerOf, followJob } from "../jobs.js";
import { conditionEditorPanel, loadVocabulary } from "./builder.js";
import { allSegments, formatMetric, METRICS, metricValue } from "./common.js";

const LIST_METRICS = ["ltv", "aov", "avg_purchase_count", "repeat_rate"].map((key) => METRICS.find((m) => m.key === key));

export async function render(container, _params, ctx) {
  const listArea = h("div", {}, loading("Loading segments…"));
  const galleryArea = h("div", {}, loading("Loading templates…"));
  replace(container,
    h("h1", {}, "Segments"),
    section("Your segments", listArea),
    section("Create a segment from conditions", conditionCreator(ctx)),
    section("Create a segment from a template", galleryArea));
  await Promise.all([renderList(listArea, ctx), renderGallery(galleryArea, ctx)]);
}

/** A new segment from rules picked in the visual builder (no JSON, no ids). */
function conditionCreator(ctx) {
  const area = h("div");
  const start = h("button", { type: "button", class: "secondary", onclick: () => open() }, "Build a condition");
  replace(area, h("p", { class: "muted" }, "Combine rules on your customers' orders, products, tags, sources and locations; the count updates as you pick."), start);
  async function open() {
    replace(area, loading("Loading your store's fields and values…"));
    let vocab;
    try {
      vocab = await loadVocabulary(ctx.api);
    } catch (error) {
      replace(area, errorMessage(error, "The condition builder could not be loaded"));
      return;
    }
    const name = h("input", { name: "name", type: "text", required: true, maxlength: 255, placeholder: "e.g. Repeat buyers of the AeroPress" });
    const panel = conditionEditorPanel(ctx, vocab, { condition: { feature: "order_count", op: ">=", value: 2 } });
    const feedback = h("div", { "aria-live": "polite" });
    const form = h("form", { class: "condition-form", "data-condition-form": "" }, field("Segment name", name), panel.element,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create segment"),
        h("button", { type: "button", class: "secondary", onclick: () => area.replaceWith(conditionCreator(ctx)) }, "Cancel")), feedback);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(feedback, loading("Creating the segment…"));
      try {
        const created = await ctx.api.post("/segments", { name: name.value.trim(), condition: panel.condition() });
        ctx.navigate(`#/segments/${encodeURIComponent(created.id)}`);
      } catch (error) {
        replace(feedback, panel.showError(error) ? h("p", { class: "error" }, "Not created: fix the rule marked above.") : errorMessage(error, "The segment was not created"));
      }
    });
    replace(area, form);
    name.focus();
  }
  return area;
}

const KIND_NAMES = { condition: "Condition", list: "List" };

const SORTS = {
  name: { label: "Name (A to Z)", compare: (a, b) => a.name.localeCompare(b.name) },
  members: { label: "Members (most first)", compare: (a, b) => (b.member_count ?? -1) - (a.member_count ?? -1) },
  newest: { label: "Newest first", compare: (a, b) => String(b.created_at).localeCompare(String(a.created_at)) },
  ltv: { label: "Lifetime value (highest first)", compare: (a, b) => (metricValue(b.latest_metrics, "ltv") ?? -1) - (metricValue(a.latest_metrics, "ltv") ?? -1) },
};

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
  const search = h("input", { type: "search", placeholder: "Search by name or description", "aria-label": "Search segments" });
  const kind = h("select", { "aria-label": "Kind of segment" },
    h("option", { value: "" }, "All kinds"),
    h("option", { value: "condition" }, "Condition segments"),
    h("option", { value: "list" }, "Lists (fixed members)"));
  const sort = h("select", { "aria-label": "Sort segments" },
    Object.entries(SORTS).map(([key, s]) => h("option", { value: key }, s.label)));
  const feedback = h("div", { "aria-live": "polite" });
  const tableArea = h("div");
  const sparkCells = new Map();
  const reload = () => renderList(area, ctx);

  const actions = (segment) => {
    const cell = h("div", { class: "row-actions" });
    const reset = () => replace(cell,
      h("button", { type: "button", class: "secondary small", onclick: () => rename() }, "Rename"),
      h("button", { type: "button", class: "secondary small", onclick: () => duplicate() }, "Duplicate"),
      h("button", { type: "button", class: "secondary small danger", onclick: () => confirmDelete() }, "Delete"));
    const rename = () => {
      const input = h("input", { type: "text", value: segment.name, maxlength: 255, "aria-label": `New name for ${segment.name}` });
      const form = h("form", { class: "inline-rename" }, input,
        h("button", { type: "submit", class: "small" }, "Save name"),
        h("button", { type: "button", class: "secondary small", onclick: reset }, "Cancel"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await api.patch(`/segments/${encodeURIComponent(segment.id)}`, { name: input.value.trim() });
          replace(feedback, h("p", { class: "ok" }, `Renamed to “${input.value.trim()}”.`));
          reload();
        } catch (error) {
          replace(feedback, errorMessage(error, "The segment was not renamed"));
        }
      });
      replace(cell, form);
      input.focus();
    };
    const duplicate = async () => {
      const name = `Copy of ${segment.name}`;
      try {
        if (segment.kind === "list") {
          // Making a list is a job: followed here until the copy exists.
          const job = await api.post("/segments/lists", { name, snapshot_of: segment.id });
          await followJob(api, job, { onProgress: (now) => replace(feedback, loading(`${now.progress}…`)) });
        }
        else await api.post("/segments", { name, description: segment.description || undefined, condition: segment.condition });
        replace(feedback, h("p", { class: "ok" }, `“${name}” created.`));
        reload();
      } catch (error) {
        replace(feedback, errorMessage(error, "The segment was not duplicated"));
      }
    };
    const confirmDelete = () => replace(cell,
      h("span", {}, `Delete “${segment.name}”? `),
      h("button", {
        type: "button", class: "small danger", onclick: async () => {
          try {
            await api.delete(`/segments/${encodeURIComponent(segment.id)}`);
            replace(feedback, h("p", { class: "ok" }, `“${segment.name}” deleted.`));
            reload();
          } catch (error) {
            replace(feedback, errorMessage(error, `“${segment.name}” was not deleted`));
            reset();
          }
        },
      }, "Yes, delete"),
      h("button", { type: "button", class: "secondary small", onclick: reset }, "Keep it"));
    reset();
    return cell;
  };

  const columns = [
    { label: "Segment", value: (s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name) },
    { label: "Kind", value: (s) => KIND_NAMES[s.kind] || s.kind },
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
    { label: "Actions", value: actions },
  ];
  const trends = new Map();
  const drawTable = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = segments
      .filter((s) => !kind.value || s.kind === kind.value)
      .filter((s) => words.every((w) => `${s.name} ${s.description || ""}`.toLowerCase().includes(w)))
      .sort(SORTS[sort.value].compare);
    sparkCells.clear();
    replace(tableArea, shown.length
      ? table(columns, shown, { caption: shown.length === segments.length ? `${segments.length} segments` : `${shown.length} of ${segments.length} segments` })
      : empty("No segment matches. Try other words or all kinds."));
    for (const [id, cell] of sparkCells) {
      const values = trends.get(id);
      if (values?.length) draw(cell, sparklineOption(values));
      else if (values) cell.replaceChildren(h("span", { class: "muted" }, "no trend yet"));
    }
  };
  for (const control of [search, kind, sort]) control.addEventListener(control === search ? "input" : "change", drawTable);
  replace(area, h("div", { class: "gallery-filters" }, field("Search", search), field("Kind", kind), field("Sort by", sort)), feedback, tableArea);
  drawTable();
  const end = fmt.today();
  const start = fmt.daysBefore(end, 29);
  await Promise.all(segments.map(async (segment) => {
    try {
      const metrics = await api.get(`/segments/${encodeURIComponent(segment.id)}/metrics${query({ start, end })}`);
      trends.set(segment.id, metrics.points.map((p) => metricValue(p, "member_count")));
    } catch {
      trends.set(segment.id, []);
    }
    const cell = sparkCells.get(segment.id);
    if (!cell?.isConnected) return;
    const values = trends.get(segment.id);
    if (values.length) draw(cell, sparklineOption(values));
    else cell.replaceChildren(h("span", { class: "muted" }, "no trend yet"));
  }));
}

// Template categories and parameters in the merchant's words.
const CATEGORY_NAMES = {
  journey: "Customer journey",
  products: "Products",
  acquisition: "Acquisition and campaigns",
  rfm: "RFM (recency, frequency, spend)",
  value: "Customer value",
  engagement: "Engagement",
  discounts: "Discounts",
  location: "Location",
  tags: "Customer tags",
  predictions: "Predictions",
};

const PARAMETER_NAMES = {
  product_id: "Product",
  first_product_id: "Product of the first order",
  second_product_id: "Product of the second order",
  other_product_id: "Product not bought",
  variant_id: "Variant",
  collection_id: "Collection",
  product_type: "Product type",
  min_orders: "Minimum orders",
  min_spent: "Minimum spent",
  max_spent: "Maximum spent",
  min_aov: "Minimum average order value",
  min_refunded: "Minimum refunded",
  min_days: "At least this many days",
  max_days: "At most this many days",
  days: "Days",
  times: "Number of orders",
  tag: "Customer tag",
  campaign: "Campaign (UTM campaign)",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  source: "Source of the first visit",
  source_type: "Source type of the first visit",
  country_code: "Country code",
  province_code: "Province or state code",
  month: "Month",
  max_chance: "Chance still active below (%)",
  min_chance: "Chance still active at least (%)",
  min_value: "Minimum predicted spend",
  min_purchases: "Minimum expected purchases",
};

// The shop's values offered for each text parameter (from GET /catalog).
const CATALOG_LISTS = {
  product_type: "product_types",
  tag: "tags",
  campaign: "utm_campaign",
  utm_source: "utm_source",
  utm_medium: "utm_medium",
  source: "first_visit_source",
  country_code: "country_code",
  province_code: "province_code",
};

export function categoryName(category) {
  return CATEGORY_NAMES[category] || category.charAt(0).toUpperCase() + category.slice(1).replaceAll("_", " ");
}

function parameterName(parameter) {
  return PARAMETER_NAMES[parameter.name] || parameter.name.replaceAll("_", " ");
}

const PICK_HINTS = {
  product_id: "Pick one of your products by name.",
  variant_id: "Pick one of your variants by name (those your customers have ordered).",
  collection_id: "Pick one of your collections by name.",
};

/** Products, variants and collections are picked by name from the shop's catalogue. */
function isProduct(parameter) {
  return ["product_id", "variant_id", "collection_id"].includes(parameter.type);
}

/** The template's description with parameter values (its defaults, or what was typed). */
export function describeTemplate(template, values = {}) {
  const byName = new Map((template.parameters || []).map((p) => [p.name, p]));
  return (template.description || "").replace(/\{(\w+)\}/g, (_match, name) => {
    const value = values[name] ?? byName.get(name)?.default;
    if (value !== null && value !== undefined && String(value) !== "") return String(value);
    // Not chosen yet: the parameter's name in brackets ("contained [product]").
    const parameter = byName.get(name);
    return `[${(parameter ? parameterName(parameter) : name.replaceAll("_", " ")).toLowerCase()}]`;
  });
}

/** The shop's catalogue, read once per page (products by title, tags, sources, UTM values). */
function catalogLoader(api) {
  let pending = null;
  return () => {
    pending ??= api.get("/catalog").catch((error) => {
      pending = null;
      throw error;
    });
    return pending;
  };
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
  const catalog = catalogLoader(ctx.api);
  const formArea = h("div", { class: "template-form-area" });
  const categories = [...new Set(templates.map((t) => t.category))];
  const filter = h("select", { "aria-label": "Template category" },
    h("option", { value: "" }, `All categories (${templates.length})`),
    categories.map((c) => h("option", { value: c }, `${categoryName(c)} (${templates.filter((t) => t.category === c).length})`)));
  const search = h("input", { type: "search", placeholder: "Search templates, e.g. first order, AOV, campaign", "aria-label": "Search templates" });
  const count = h("p", { class: "muted", role: "status" });
  const grid = h("ul", { class: "template-grid" });
  const drawGrid = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = templates.filter((t) => {
      if (filter.value && t.category !== filter.value) return false;
      const text = `${t.name} ${describeTemplate(t)} ${categoryName(t.category)}`.toLowerCase();
      return words.every((w) => text.includes(w));
    });
    count.textContent = `${shown.length} of ${templates.length} templates`;
    replace(grid, shown.length ? shown.map((template) => h("li", { class: "template-card" },
      h("h3", {}, template.name),
      h("p", { class: "muted" }, categoryName(template.category)),
      h("p", {}, describeTemplate(template)),
      h("button", {
        type: "button",
        "data-template": template.id,
        onclick: () => renderTemplateForm(formArea, template, { ...ctx, catalog }),
      }, `Use “${template.name}”`))) : h("li", { class: "empty" }, "No template matches. Try other words or all categories."));
  };
  filter.addEventListener("change", drawGrid);
  search.addEventListener("input", drawGrid);
  drawGrid();
  replace(area, h("div", { class: "gallery-filters" }, field("Search", search), field("Category", filter)), count, formArea, grid);
}

let listCounter = 0;

/** A text input offering `values` as suggestions (type to search, pick to fill). */
function suggestingInput(common, value, values, placeholder) {
  const id = `choices-${++listCounter}`;
  return [
    h("input", { ...common, type: "text", value, list: id, autocomplete: "off", placeholder }),
    h("datalist", { id }, values.map((v) => h("option", { value: v }))),
  ];
}

function parameterInput(parameter, shopCatalog) {
  const common = { name: parameter.name, required: parameter.default === null || parameter.default === undefined };
  const value = parameter.default ?? "";
  switch (parameter.type) {
    case "integer":
      return h("input", { ...common, type: "number", step: "1", min: "0", value });
    case "number":
      return h("input", { ...common, type: "number", step: "any", min: "0", value });
    case "date":
      return h("input", { ...common, type: "date", value });
    case "month":
      return h("input", { ...common, type: "month", value, placeholder: "YYYY-MM" });
    case "product_id":
      return suggestingInput(common, value, (shopCatalog?.products || []).map((p) => p.title), "Type to search your products");
    case "variant_id":
      return suggestingInput(common, value, (shopCatalog?.variants || []).map((v) => v.title), "Type to search your variants");
    case "collection_id":
      return suggestingInput(common, value, (shopCatalog?.collections || []).map((c) => c.title), "Type to search your collections");
    case "enum":
      return h("select", common, (parameter.choices || []).map((c) => h("option", { value: c, selected: c === value }, c)));
    default: {
      const list = shopCatalog?.[CATALOG_LISTS[parameter.name]];
      if (list) return suggestingInput(common, value, list, list.length ? "Type to search your store's values" : "");
      return h("input", { ...common, type: "text", value });
    }
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

async function renderTemplateForm(area, template, ctx) {
  const needsCatalog = (template.parameters || []).some((p) => isProduct(p) || CATALOG_LISTS[p.name]);
  let shopCatalog = null;
  if (needsCatalog) {
    replace(area, loading("Loading your products and store values…"));
    try {
      shopCatalog = await ctx.catalog();
    } catch (error) {
      replace(area, errorMessage(error, "Your products could not be loaded"));
      return;
    }
  }
  const feedback = h("div", { "aria-live": "polite" });
  const description = h("p", { class: "template-description" }, describeTemplate(template));
  const nameInput = h("input", { name: "name", type: "text", required: true, value: template.name, maxlength: 255 });
  const form = h("form", { class: "template-form", "data-template-form": template.id },
    h("h3", {}, `New segment from “${template.name}”`),
    description,
    field("Segment name", nameInput),
    (template.parameters || []).map((p) => field(parameterName(p), parameterInput(p, shopCatalog), isProduct(p) ? PICK_HINTS[p.type] : p.description)),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => preview() }, "Preview count"),
      h("button", { type: "submit" }, "Create segment"),
      h("button", { type: "button", class: "secondary", onclick: () => replace(area) }, "Cancel")),
    feedback);

  // The name follows the products picked until the merchant types a name of their own.
  let nameTyped = false;
  nameInput.addEventListener("input", () => { nameTyped = true; });
  form.addEventListener("input", (event) => {
    const values = readParameters(form, template);
    description.textContent = describeTemplate(template, values);
    if (nameTyped || event.target === nameInput) return;
    const picked = (template.parameters || []).filter((p) => isProduct(p) && values[p.name]).map((p) => values[p.name]);
    nameInput.value = picked.length ? `${template.name} (${picked.join(", ")})` : template.name;
  });

  async function preview() {
    replace(feedback, loading("Counting…"));
    try {
      const result = await answerOf(ctx.api, await ctx.api.post("/segments/preview", { template: { id: template.id, params: readParameters(form, template) }, sample_size: 0 }), {
        onProgress: (job) => replace(feedback, loading(`${job.progress}…`)),
      });
      replace(feedback, h("p", { class: "ok" }, `${ctx.fmt.integer(result.member_count)} of ${ctx.fmt.integer(result.customer_count)} customers match today.`),
        ...(result.warnings || []).map((text) => h("p", { class: "warning", role: "note" }, text)));
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
