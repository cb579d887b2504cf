/**
 * The visual condition builder: groups ("all of", "any of", "none of") of rules, each rule
 * a field, an operator and a value picked from what the store has (products and variants
 * by name, tags, sources, UTM values, locations, segments by name), so a merchant never
 * writes JSON. The same condition is shown as Shopify's segment query (read back with the
 * API, with completion of attribute names) and, for experts, as JSON with names instead
 * of ids. The live count and the API's errors appear on the row they concern.
 *
 * The vocabulary (field labels, kinds, operators in words) comes from GET /conditions/fields;
 * the store's values from GET /catalog; segments from GET /segments.
 */

import { debounce, errorMessage, h, loading, replace } from "../dom.js";
import { answerOf } from "../jobs.js";
import { allSegments } from "./common.js";

const RULE_KINDS = [
  { value: "feature", label: "Customer field" },
  { value: "has_tag", label: "Has the tag" },
  { value: "bought", label: "Bought" },
  { value: "nth_order", label: "The n-th order contains" },
  { value: "first_order_from", label: "The first order came from" },
  { value: "member_of", label: "Is a member of the segment" },
];
const GROUP_MODES = [
  { value: "and", label: "all of these are true" },
  { value: "or", label: "any of these is true" },
  { value: "none", label: "none of these is true" },
];
const ITEMS = [
  { value: "", label: "anything (any order)" },
  { value: "product_id", label: "the product" },
  { value: "variant_id", label: "the variant" },
  { value: "collection_id", label: "a product of the collection" },
  { value: "product_type", label: "a product of the type" },
];
const ITEM_KEYS = ["product_id", "variant_id", "collection_id", "product_type"];
// Item key -> (catalogue list, what the merchant calls one).
const ITEM_SOURCES = {
  product_id: ["products", "Product", "product"],
  variant_id: ["variants", "Variant", "variant"],
  collection_id: ["collections", "Collection", "collection"],
};
const WINDOWS = [
  { value: "", label: "ever" },
  { value: "within_days", label: "in the last … days" },
  { value: "before_days_ago", label: "more than … days ago" },
  { value: "between", label: "between two dates" },
];
const FIRST_ORDER = [
  { value: "source", label: "source", list: "first_visit_source" },
  { value: "source_type", label: "source type", list: null },
  { value: "utm_source", label: "UTM source", list: "utm_source" },
  { value: "utm_medium", label: "UTM medium", list: "utm_medium" },
  { value: "utm_campaign", label: "UTM campaign", list: "utm_campaign" },
];
// Text fields whose values come from the store (GET /catalog lists).
const FIELD_LISTS = {
  country_code: "country_code", province_code: "province_code",
  first_order_source: "first_visit_source", first_order_utm_source: "utm_source",
  first_order_utm_medium: "utm_medium", first_order_utm_campaign: "utm_campaign",
};
const MULTI_OPS = new Set(["in", "not in", "contains any", "contains all"]);
const NO_VALUE_OPS = new Set(["is null", "is not null", "is empty", "is not empty"]);

let listCounter = 0;

/** Everything the builder needs, loaded once per page. */
export async function loadVocabulary(api) {
  const [fields, catalog, segments] = await Promise.all([
    api.get("/conditions/fields"),
    api.get("/catalog").catch(() => ({ products: [], variants: [], collections: [] })),
    allSegments(api).catch(() => []),
  ]);
  const byName = new Map(fields.fields.map((f) => [f.name, f]));
  return { fields: fields.fields, byName, attributes: fields.shopify_attributes, catalog, segments };
}

// ------------------------------------------------------------------ names <-> ids

function productTitle(vocab, id) {
  return vocab.catalog.products?.find((p) => p.id === Number(id))?.title ?? `product ${id}`;
}
function variantTitle(vocab, id) {
  return vocab.catalog.variants?.find((v) => v.id === Number(id))?.title ?? `variant ${id}`;
}
function collectionTitle(vocab, id) {
  return vocab.catalog.collections?.find((c) => c.id === Number(id))?.title ?? `collection ${id}`;
}
/** The name of an item of the catalogue (product, variant or collection) by its id. */
function itemTitle(vocab, key, id) {
  return key === "product_id" ? productTitle(vocab, id) : key === "variant_id" ? variantTitle(vocab, id) : collectionTitle(vocab, id);
}
function segmentName(vocab, id) {
  return vocab.segments.find((s) => s.id === id)?.name ?? id;
}
function byTitle(list, text) {
  const wanted = String(text).trim().toLowerCase();
  return (list || []).find((x) => String(x.title).toLowerCase() === wanted);
}

/** A picker: a text input offering `options` (strings) as suggestions. */
function suggest(value, options, label, placeholder = "Type to search") {
  const id = `builder-choices-${++listCounter}`;
  const input = h("input", { type: "text", value: value ?? "", list: id, autocomplete: "off", "aria-label": label, placeholder });
  return [input, h("datalist", { id }, (options || []).map((o) => h("option", { value: o })))];
}

function select(options, value, label) {
  return h("select", { "aria-label": label }, options.map((o) => h("option", { value: o.value, selected: o.value === value }, o.label)));
}

// ------------------------------------------------------------------ the model

/** A condition JSON tree -> the builder's model (groups and rules). */
function toModel(node) {
  if (node && (node.and || node.or)) {
    const mode = node.and ? "and" : "or";
    return { group: true, mode, rows: node[mode].map(toModel) };
  }
  if (node && node.not && (node.not.or || node.not.and)) {
    const inner = toModel(node.not);
    return inner.mode === "or" ? { ...inner, mode: "none" } : { group: true, mode: "none", rows: [inner] };
  }
  if (node && node.not) return { ...toModel(node.not), negate: !toModel(node.not).negate };
  return { rule: node || { feature: "order_count", op: ">=", value: 1 } };
}

function emptyRule(kind, vocab) {
  switch (kind) {
    case "has_tag": return { has_tag: vocab.catalog.tags?.[0] ?? "" };
    case "bought": return { bought: {} };
    case "nth_order": return { nth_order: { n: 1, contains: { product_id: vocab.catalog.products?.[0]?.id ?? 0 } } };
    case "first_order_from": return { first_order_from: { utm_campaign: vocab.catalog.utm_campaign?.[0] ?? "" } };
    case "member_of": return { member_of: vocab.segments[0]?.id ?? "" };
    default: return { feature: "order_count", op: ">=", value: 1 };
  }
}

function kindOf(rule) {
  return "feature" in rule ? "feature" : Object.keys(rule)[0];
}

// ------------------------------------------------------------------ the builder

/**
 * conditionBuilder(ctx, vocab, {condition, onChange}) -> {element, condition(), set(c),
 * showError(error)}: `condition()` reads the rows into the JSON the API takes.
 */
export function conditionBuilder(ctx, vocab, { condition, onChange = () => {} } = {}) {
  let model = toModel(condition || { feature: "order_count", op: ">=", value: 1 });
  if (!model.group) model = { group: true, mode: "and", rows: [model] };
  const changed = () => onChange();
  const visual = h("div", { class: "builder-visual" });
  const rowsByPath = new Map();

  function groupView(group, depth, onRemove) {
    const rowsArea = h("ul", { class: "builder-rows" });
    const mode = select(GROUP_MODES, group.mode, "How the rules combine");
    mode.addEventListener("change", () => { group.mode = mode.value; changed(); });
    const draw = () => replace(rowsArea, group.rows.map((row, index) => h("li", { class: "builder-row-item" },
      row.group
        ? groupView(row, depth + 1, () => { group.rows.splice(index, 1); draw(); changed(); })
        : ruleView(row, () => { group.rows.splice(index, 1); draw(); changed(); }))));
    draw();
    const add = (row) => { group.rows.push(row); draw(); changed(); };
    return h("div", { class: `builder-group depth-${depth}`, role: "group", "aria-label": depth ? "Group of rules" : "Condition" },
      h("div", { class: "builder-group-head" }, h("span", {}, depth ? "Customers for whom" : "Customers for whom"), mode,
        onRemove ? h("button", { type: "button", class: "secondary small", onclick: onRemove }, "Remove group") : null),
      rowsArea,
      h("div", { class: "builder-add" },
        h("button", { type: "button", class: "secondary small", onclick: () => add({ rule: emptyRule("feature", vocab) }) }, "Add a rule"),
        depth < 3 ? h("button", { type: "button", class: "secondary small", onclick: () => add({ group: true, mode: "or", rows: [{ rule: emptyRule("feature", vocab) }] }) }, "Add a group") : null));
  }

  function ruleView(row, onRemove) {
    const box = h("div", { class: "builder-rule" });
    const errorArea = h("div", { class: "builder-row-error", "aria-live": "polite" });
    row.element = errorArea;
    const draw = () => {
      const kind = select(RULE_KINDS, kindOf(row.rule), "Kind of rule");
      kind.addEventListener("change", () => { row.rule = emptyRule(kind.value, vocab); draw(); changed(); });
      const negate = h("input", { type: "checkbox", checked: !!row.negate, "aria-label": "Not: customers for whom this rule is false" });
      negate.addEventListener("change", () => { row.negate = negate.checked; changed(); });
      replace(box,
        h("label", { class: "check builder-not" }, negate, " not"),
        kind, ...ruleInputs(row, draw),
        h("button", { type: "button", class: "secondary small", "aria-label": "Remove this rule", onclick: onRemove }, "Remove"),
        errorArea);
    };
    draw();
    return box;
  }

  /** The inputs of one rule; each writes into row.rule and reports a change. */
  function ruleInputs(row, redraw) {
    const rule = row.rule;
    const kind = kindOf(rule);
    const on = (input, event, write) => { input.addEventListener(event, () => { write(input.value); changed(); }); return input; };
    if (kind === "has_tag") {
      const [input, list] = suggest(rule.has_tag, vocab.catalog.tags, "Customer tag", "Type to search your tags");
      on(input, "input", (v) => { rule.has_tag = v.trim(); });
      return [input, list];
    }
    if (kind === "member_of") {
      const options = vocab.segments.filter((s) => s.kind === "condition").map((s) => ({ value: s.id, label: s.name }));
      return [on(select(options, rule.member_of, "Segment"), "change", (v) => { rule.member_of = v; })];
    }
    if (kind === "first_order_from") {
      const [[key, value]] = Object.entries(rule.first_order_from).length ? Object.entries(rule.first_order_from) : [["utm_campaign", ""]];
      const which = select(FIRST_ORDER, key, "Attribute of the first visit");
      which.addEventListener("change", () => { rule.first_order_from = { [which.value]: "" }; redraw(); changed(); });
      const listName = FIRST_ORDER.find((f) => f.value === key)?.list;
      const [input, list] = suggest(value, listName ? vocab.catalog[listName] : [], "Value", "Type to search your values");
      on(input, "input", (v) => { rule.first_order_from = { [key]: v.trim() }; });
      return [which, h("span", {}, "="), input, list];
    }
    if (kind === "bought" || kind === "nth_order") return itemInputs(rule, kind, redraw, on);
    return featureInputs(rule, redraw, on);
  }

  function itemPicker(spec, key, redraw, on) {
    if (key === "product_type") {
      const [input, list] = suggest(spec.product_type, vocab.catalog.product_types, "Product type");
      on(input, "input", (v) => { spec.product_type = v.trim(); });
      return [input, list];
    }
    if (!key) return [];
    const [listName, label, what] = ITEM_SOURCES[key];
    const source = vocab.catalog[listName];
    const current = Array.isArray(spec[key]) ? spec[key][0] : spec[key];
    const title = current ? itemTitle(vocab, key, current) : "";
    const [input, list] = suggest(title, (source || []).map((p) => p.title), label, `Type to search your ${what}s`);
    on(input, "input", (v) => {
      const found = byTitle(source, v);
      // Until a title of the list is picked the rule keeps the text, refused in words.
      spec[key] = found ? found.id : v.trim();
    });
    return [input, list];
  }

  function itemInputs(rule, kind, redraw, on) {
    const spec = kind === "bought" ? rule.bought : rule.nth_order.contains;
    const key = ITEM_KEYS.find((k) => k in spec) || "";
    const which = select(kind === "bought" ? ITEMS : ITEMS.slice(1), key, "What was bought");
    which.addEventListener("change", () => {
      for (const k of ITEM_KEYS) delete spec[k];
      if (which.value) spec[which.value] = which.value === "product_type" ? (vocab.catalog.product_types?.[0] ?? "") : vocab.catalog[ITEM_SOURCES[which.value][0]]?.[0]?.id ?? "";
      redraw(); changed();
    });
    const parts = [which, ...itemPicker(spec, key, redraw, on)];
    if (kind === "nth_order") {
      const n = h("input", { type: "number", min: 1, step: 1, value: rule.nth_order.n, class: "narrow", "aria-label": "Which order (1 = first)" });
      on(n, "input", (v) => { rule.nth_order.n = Number(v); });
      return [h("span", {}, "order number"), n, h("span", {}, "contains"), ...parts];
    }
    const windowKey = WINDOWS.find((w) => w.value && w.value in spec)?.value || "";
    const when = select(WINDOWS, windowKey, "When");
    when.addEventListener("change", () => {
      for (const w of ["within_days", "before_days_ago", "between"]) delete spec[w];
      if (when.value === "between") spec.between = [ctx.fmt.daysBefore(ctx.fmt.today(), 30), ctx.fmt.today()];
      else if (when.value) spec[when.value] = 30;
      redraw(); changed();
    });
    parts.push(when);
    if (windowKey === "between") {
      const [first, last] = spec.between;
      const a = h("input", { type: "date", value: typeof first === "string" ? first : "", "aria-label": "First day" });
      const b = h("input", { type: "date", value: typeof last === "string" ? last : ctx.fmt.today(), "aria-label": "Last day" });
      on(a, "change", (v) => { spec.between[0] = v; });
      on(b, "change", (v) => { spec.between[1] = v; });
      parts.push(a, h("span", {}, "and"), b);
    } else if (windowKey) {
      const days = h("input", { type: "number", min: windowKey === "within_days" ? 1 : 0, step: 1, value: spec[windowKey], class: "narrow", "aria-label": "Days" });
      on(days, "input", (v) => { spec[windowKey] = Number(v); });
      parts.push(days, h("span", {}, "days"));
    }
    const least = h("input", { type: "number", min: 0, step: 1, value: spec.at_least ?? 1, class: "narrow", "aria-label": "At least this many orders" });
    on(least, "input", (v) => { if (v === "" || Number(v) === 1) delete spec.at_least; else spec.at_least = Number(v); });
    const most = h("input", { type: "number", min: 0, step: 1, value: spec.at_most ?? "", class: "narrow", placeholder: "any", "aria-label": "At most this many orders" });
    on(most, "input", (v) => { if (v === "") delete spec.at_most; else spec.at_most = Number(v); });
    parts.push(h("span", {}, "in at least"), least, h("span", {}, "and at most"), most, h("span", {}, "orders"));
    return parts;
  }

  function featureInputs(rule, redraw, on) {
    const fieldSpec = vocab.byName.get(rule.feature) || vocab.fields[0];
    const fieldSelect = select(vocab.fields.map((f) => ({ value: f.name, label: f.label })), fieldSpec.name, "Field");
    fieldSelect.addEventListener("change", () => {
      const next = vocab.byName.get(fieldSelect.value);
      const op = next.operators[0].op;
      rule.feature = next.name;
      rule.op = op;
      rule.value = defaultValue(next, op);
      if (NO_VALUE_OPS.has(op)) delete rule.value;
      redraw(); changed();
    });
    const opSelect = select(fieldSpec.operators.map((o) => ({ value: o.op, label: o.label })), rule.op, "Operator");
    opSelect.addEventListener("change", () => {
      rule.op = opSelect.value;
      if (NO_VALUE_OPS.has(rule.op)) delete rule.value;
      else rule.value = defaultValue(fieldSpec, rule.op);
      redraw(); changed();
    });
    return [fieldSelect, opSelect, ...valueInputs(rule, fieldSpec, on)];
  }

  function defaultValue(spec, op) {
    if (op === "between") return spec.kind === "date" ? [{ days_ago: 30 }, { days_ago: 0 }] : [0, 100];
    if (op === "in last days" || op === "more than days ago") return 30;
    if (MULTI_OPS.has(op)) return spec.choices?.length ? [spec.choices[0].value] : [];
    if (spec.kind === "date") return { days_ago: 30 };
    if (spec.kind === "enum") return spec.choices[0]?.value ?? "";
    if (["integer", "number", "money"].includes(spec.kind)) return 1;
    if (spec.kind === "id_list") return vocab.catalog.products?.[0]?.id ?? 0;
    const list = vocab.catalog[FIELD_LISTS[spec.name]] || (spec.kind === "string_list" ? vocab.catalog.tags : null);
    return list?.[0] ?? "";
  }

  function valueInputs(rule, spec, on) {
    const op = rule.op;
    if (NO_VALUE_OPS.has(op)) return [];
    if (op === "in last days" || op === "more than days ago") {
      const days = h("input", { type: "number", min: 0, step: 1, value: rule.value, class: "narrow", "aria-label": "Days" });
      on(days, "input", (v) => { rule.value = Number(v); });
      return [days, h("span", {}, "days")];
    }
    if (op === "between") {
      const [low, high] = Array.isArray(rule.value) ? rule.value : [null, null];
      const a = scalarInput(spec, low, (v) => { rule.value[0] = v; }, "Lowest", on);
      const b = scalarInput(spec, high, (v) => { rule.value[1] = v; }, "Highest", on);
      return [...a, h("span", {}, "and"), ...b];
    }
    if (MULTI_OPS.has(op)) {
      if (spec.kind === "enum") {
        const multi = h("select", { multiple: true, "aria-label": "Values", size: Math.min(4, spec.choices.length) },
          spec.choices.map((c) => h("option", { value: c.value, selected: (rule.value || []).includes(c.value) }, c.label)));
        multi.addEventListener("change", () => { rule.value = [...multi.selectedOptions].map((o) => o.value); changed(); });
        return [multi];
      }
      const options = spec.kind === "id_list" ? (vocab.catalog.products || []).map((p) => p.title) : listFor(spec);
      return [chipsInput(rule, spec, options)];
    }
    return scalarInput(spec, rule.value, (v) => { rule.value = v; }, "Value", on);
  }

  /**
   * Several values as chips: each value a chip with a remove button, and one field to
   * add the next (picked from the store's values, or typed; Enter, a comma or picking a
   * suggestion adds it; Backspace in the empty field removes the last chip).
   */
  function chipsInput(rule, spec, options) {
    if (!Array.isArray(rule.value)) rule.value = [];
    const shownOf = (v) => (spec.kind === "id_list" ? productTitle(vocab, v) : String(v));
    const chips = h("ul", { class: "chips", "aria-label": "Values" });
    const [input, list] = suggest("", options, "Add a value", rule.value.length ? "Add another" : "Type to search, Enter to add");
    const draw = () => {
      replace(chips, rule.value.map((v, i) => h("li", { class: "chip", "data-chip": shownOf(v) }, shownOf(v),
        h("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${shownOf(v)}`, onclick: () => {
          rule.value.splice(i, 1);
          draw(); changed();
          input.focus();
        } }, "×"))));
      input.placeholder = rule.value.length ? "Add another" : "Type to search, Enter to add";
    };
    const add = (text) => {
      const values = text.split(",").map((x) => x.trim()).filter(Boolean).map((x) => parseValue(spec, x));
      const fresh = values.filter((v) => !rule.value.some((w) => String(w) === String(v)));
      if (!fresh.length) return false;
      rule.value.push(...fresh);
      input.value = "";
      draw(); changed();
      return true;
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault();
        add(input.value);
      } else if (event.key === "Backspace" && !input.value && rule.value.length) {
        rule.value.pop();
        draw(); changed();
      }
    });
    // Picking a suggestion from the list fills the field with a whole known value.
    input.addEventListener("input", () => { if ((options || []).includes(input.value)) add(input.value); });
    input.addEventListener("blur", () => { if (input.value.trim()) add(input.value); });
    draw();
    return h("div", { class: "chips-input" }, chips, input, list);
  }

  function listFor(spec) {
    if (spec.kind === "string_list") return vocab.catalog.tags;
    return vocab.catalog[FIELD_LISTS[spec.name]] || [];
  }

  function parseValue(spec, text) {
    if (["integer"].includes(spec.kind)) return /^-?\d+$/.test(text) ? Number(text) : text;
    if (["number", "money"].includes(spec.kind)) return text !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
    if (spec.kind === "id_list") return byTitle(vocab.catalog.products, text)?.id ?? text;
    return text;
  }

  function scalarInput(spec, value, write, label, on) {
    if (spec.kind === "date") {
      const relative = value && typeof value === "object";
      const mode = select([{ value: "ago", label: "days ago" }, { value: "on", label: "the day" }], relative || !value ? "ago" : "on", `${label}: relative or a day`);
      const days = h("input", { type: "number", min: 0, step: 1, value: relative ? value.days_ago : 30, class: "narrow", hidden: !(relative || !value), "aria-label": `${label}: days ago` });
      const day = h("input", { type: "date", value: typeof value === "string" ? value : "", hidden: relative || !value, "aria-label": `${label}: day` });
      const sync = () => {
        days.hidden = mode.value !== "ago";
        day.hidden = mode.value !== "on";
        write(mode.value === "ago" ? { days_ago: Number(days.value || 0) } : day.value);
        changed();
      };
      mode.addEventListener("change", sync);
      days.addEventListener("input", sync);
      day.addEventListener("change", sync);
      return [days, day, mode];
    }
    if (spec.kind === "enum") {
      return [on(select(spec.choices, value, label), "change", write)];
    }
    if (["integer", "number", "money"].includes(spec.kind)) {
      const input = h("input", { type: "number", step: spec.kind === "integer" ? 1 : "any", value: value ?? "", class: "narrow", "aria-label": label });
      on(input, "input", (v) => write(parseValue(spec, v)));
      return spec.kind === "money" ? [input, h("span", { class: "unit" }, ctx.shop?.currency || "")] : [input];
    }
    if (spec.kind === "id_list") {
      const [input, list] = suggest(value ? productTitle(vocab, value) : "", (vocab.catalog.products || []).map((p) => p.title), "Product", "Type to search your products");
      on(input, "input", (v) => write(byTitle(vocab.catalog.products, v)?.id ?? v.trim()));
      return [input, list];
    }
    const [input, list] = suggest(value, listFor(spec), label, listFor(spec).length ? "Type to search your values" : "");
    on(input, "input", (v) => write(v.trim()));
    return [input, list];
  }

  /** The rows as condition JSON; remembers which row each JSON path came from. */
  function build(node, path) {
    if (node.group) {
      const children = node.rows.map((row, index) => build(row, `${path}.${node.mode === "and" ? "and" : "or"}[${index}]`));
      const joined = { [node.mode === "and" ? "and" : "or"]: children };
      if (node.mode === "none") {
        // The API reports paths inside {"not": {"or": [...]}}: re-key the rows' paths.
        for (const [key, row] of [...rowsByPath]) {
          if (key.startsWith(`${path}.or[`)) { rowsByPath.delete(key); rowsByPath.set(key.replace(`${path}.or[`, `${path}.not.or[`), row); }
        }
        return { not: joined };
      }
      return joined;
    }
    const rule = structuredClone(node.rule);
    if (node.negate) {
      rowsByPath.set(`${path}.not`, node);
      return { not: rule };
    }
    rowsByPath.set(path, node);
    return rule;
  }

  function read() {
    rowsByPath.clear();
    // A single rule at the top is saved as itself (no one-rule group).
    if (model.mode === "and" && model.rows.length === 1 && !model.rows[0].group) return build(model.rows[0], "condition");
    return build(model, "condition");
  }

  function clearErrors(group = model) {
    for (const row of group.rows) {
      if (row.group) clearErrors(row);
      else if (row.element) replace(row.element);
    }
  }

  /** Put an API error on the row its field names; false if no row matches. */
  function showError(error) {
    clearErrors();
    const where = error?.field || "";
    let best = null;
    for (const [path, row] of rowsByPath) {
      if ((where === path || where.startsWith(`${path}.`) || where.startsWith(`${path}[`)) && (!best || path.length > best[0].length)) best = [path, row];
    }
    if (!best || !best[1].element) return false;
    replace(best[1].element, errorMessage(error));
    return true;
  }

  function set(condition) {
    model = toModel(condition);
    if (!model.group) model = { group: true, mode: "and", rows: [model] };
    replace(visual, groupView(model, 0, null));
    changed();
  }

  replace(visual, groupView(model, 0, null));
  return { element: visual, condition: read, set, showError, clearErrors };
}

// ------------------------------------------------------------------ the three views

/** JSON for experts, with products, variants and segments by name instead of ids. */
function namedJson(node, vocab) {
  return JSON.parse(JSON.stringify(node), (key, value) => {
    if (key === "product_id") return Array.isArray(value) ? value.map((v) => productTitle(vocab, v)) : productTitle(vocab, value);
    if (key === "variant_id") return Array.isArray(value) ? value.map((v) => variantTitle(vocab, v)) : variantTitle(vocab, value);
    if (key === "collection_id") return Array.isArray(value) ? value.map((v) => collectionTitle(vocab, v)) : collectionTitle(vocab, value);
    if (key === "member_of") return segmentName(vocab, value);
    return value;
  });
}

function idJson(node, vocab) {
  const product = (v) => (typeof v === "string" ? byTitle(vocab.catalog.products, v)?.id ?? v : v);
  const variant = (v) => (typeof v === "string" ? byTitle(vocab.catalog.variants, v)?.id ?? v : v);
  const collection = (v) => (typeof v === "string" ? byTitle(vocab.catalog.collections, v)?.id ?? v : v);
  return JSON.parse(JSON.stringify(node), (key, value) => {
    if (key === "product_id") return Array.isArray(value) ? value.map(product) : product(value);
    if (key === "variant_id") return Array.isArray(value) ? value.map(variant) : variant(value);
    if (key === "collection_id") return Array.isArray(value) ? value.map(collection) : collection(value);
    if (key === "member_of") return vocab.segments.find((s) => s.name === value)?.id ?? value;
    return value;
  });
}

/**
 * The builder with its live count and the two other views (Shopify query, JSON).
 * conditionEditorPanel(ctx, vocab, {condition, onCondition}) -> {element, condition()}.
 */
export function conditionEditorPanel(ctx, vocab, { condition } = {}) {
  const count = h("div", { class: "preview-count", "aria-live": "polite" });
  let sequence = 0;
  const refresh = debounce(async () => {
    const mine = ++sequence;
    const current = builder.condition();
    replace(count, loading("Counting…"));
    try {
      // The first count of a day reads the store's history first (a job): its progress shows.
      const preview = await answerOf(ctx.api, await ctx.api.post("/segments/preview", { condition: current, sample_size: 0 }), {
        onProgress: (job) => { if (mine === sequence) replace(count, loading(`${job.progress}…`)); },
      });
      if (mine !== sequence) return;
      builder.clearErrors();
      replace(count, h("p", { class: "ok" }, `${ctx.fmt.integer(preview.member_count)} of ${ctx.fmt.integer(preview.customer_count)} customers match today.`),
        ...(preview.warnings || []).map((text) => h("p", { class: "warning", role: "note" }, text)));
    } catch (error) {
      if (mine !== sequence) return;
      // On the row it concerns when there is one; above the rules otherwise.
      replace(count, builder.showError(error) ? h("p", { class: "muted" }, "Fix the rule marked below to see the count.") : errorMessage(error));
    }
  }, 400);
  const builder = conditionBuilder(ctx, vocab, { condition, onChange: refresh });

  const queryText = h("textarea", { rows: 4, spellcheck: "false", class: "code", "aria-label": "Shopify segment query" });
  const queryNote = h("div", { "aria-live": "polite" });
  const completions = h("div", { class: "completions", "aria-label": "Attribute names" });
  const complete = () => {
    const before = queryText.value.slice(0, queryText.selectionStart ?? queryText.value.length);
    const word = (before.match(/[A-Za-z_]+$/) || [""])[0].toLowerCase();
    const matches = word ? vocab.attributes.filter((a) => a.startsWith(word) && a !== word) : [];
    replace(completions, matches.map((name) => h("button", {
      type: "button", class: "secondary small", onclick: () => {
        const start = before.length - word.length;
        queryText.value = queryText.value.slice(0, start) + name + queryText.value.slice(before.length);
        queryText.focus();
        replace(completions);
      },
    }, name)));
  };
  queryText.addEventListener("input", complete);
  const queryView = h("div", { class: "builder-view", hidden: true },
    h("p", { class: "hint" }, "The condition in the language of Shopify's customer segment editor: copy it to Shopify, or paste a query from Shopify and use it here."),
    queryText, completions,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => applyQuery() }, "Use this query")), queryNote);

  const jsonText = h("textarea", { rows: 10, spellcheck: "false", class: "code", "aria-label": "Condition as JSON" });
  const jsonNote = h("div", { "aria-live": "polite" });
  const jsonView = h("div", { class: "builder-view", hidden: true },
    h("p", { class: "hint" }, "For experts: the condition as JSON, with your products and segments by name."),
    jsonText, h("div", { class: "actions" }, h("button", { type: "button", onclick: () => applyJson() }, "Use this JSON")), jsonNote);

  const visualView = h("div", { class: "builder-view" }, builder.element);
  const tabs = [["visual", "Visual builder", visualView], ["query", "Shopify query", queryView], ["json", "Advanced (JSON)", jsonView]];
  const tabButtons = tabs.map(([key, label]) => h("button", { type: "button", role: "tab", class: "tab", "data-view": key, "aria-selected": key === "visual" ? "true" : "false", onclick: () => show(key) }, label));

  async function show(key) {
    tabs.forEach(([k, , view], i) => { view.hidden = k !== key; tabButtons[i].setAttribute("aria-selected", k === key ? "true" : "false"); });
    if (key === "query") {
      replace(queryNote, loading("Writing the query…"));
      try {
        const out = await ctx.api.post("/conditions/translate", { condition: builder.condition() });
        queryText.value = out.shopify_query ?? "";
        replace(queryNote, out.untranslatable ? h("p", { class: "warning" }, out.untranslatable) : null);
      } catch (error) {
        replace(queryNote, errorMessage(error, "Fix the condition first"));
      }
    }
    if (key === "json") {
      jsonText.value = JSON.stringify(namedJson(builder.condition(), vocab), null, 2);
      replace(jsonNote);
    }
  }

  async function applyQuery() {
    replace(queryNote, loading("Reading the query…"));
    try {
      const out = await ctx.api.post("/conditions/translate", { shopify_query: queryText.value });
      builder.set(out.condition);
      replace(queryNote, h("p", { class: "ok" }, "The builder now shows this query."));
    } catch (error) {
      replace(queryNote, errorMessage(error));
    }
  }

  function applyJson() {
    let parsed;
    try {
      parsed = JSON.parse(jsonText.value);
    } catch (error) {
      replace(jsonNote, errorMessage(new Error(`This is not valid JSON: ${error.message}`)));
      return;
    }
    builder.set(idJson(parsed, vocab));
    replace(jsonNote, h("p", { class: "ok" }, "The builder now shows this condition."));
  }

  refresh();
  return {
    element: h("div", { class: "condition-panel" }, h("div", { role: "tablist", class: "tabs", "aria-label": "Condition views" }, tabButtons), visualView, queryView, jsonView, count),
    condition: () => builder.condition(),
    showError: (error) => builder.showError(error),
  };
}

// ------------------------------------------------------------------ words

/** One rule in words ("Number of orders is at least 2"), for explain and summaries. */
export function describeRule(rule, vocab) {
  const kind = kindOf(rule);
  if (kind === "feature") {
    const spec = vocab.byName.get(rule.feature);
    const op = spec?.operators.find((o) => o.op === rule.op)?.label ?? rule.op;
    return `${spec?.label ?? rule.feature} ${op}${"value" in rule ? ` ${valueWords(rule.value, spec, vocab)}` : ""}`;
  }
  if (kind === "has_tag") return `Has the tag “${rule.has_tag}”`;
  if (kind === "member_of") return `Is a member of “${segmentName(vocab, rule.member_of)}”`;
  if (kind === "first_order_from") return `The first order came from ${Object.entries(rule.first_order_from).map(([k, v]) => `${FIRST_ORDER.find((f) => f.value === k)?.label ?? k} “${v}”`).join(" and ")}`;
  const spec = kind === "bought" ? rule.bought : rule.nth_order.contains;
  const item = spec.product_id !== undefined ? [spec.product_id].flat().map((id) => `“${productTitle(vocab, id)}”`).join(" or ")
    : spec.variant_id !== undefined ? [spec.variant_id].flat().map((id) => `“${variantTitle(vocab, id)}”`).join(" or ")
    : spec.collection_id !== undefined ? `a product of the collection ${[spec.collection_id].flat().map((id) => `“${collectionTitle(vocab, id)}”`).join(" or ")}`
      : spec.product_type !== undefined ? `a product of the type “${[spec.product_type].flat().join("” or “")}”` : "anything";
  if (kind === "nth_order") return `Order number ${rule.nth_order.n} contains ${item}`;
  const when = spec.within_days ? ` in the last ${spec.within_days} days` : spec.before_days_ago !== undefined ? ` more than ${spec.before_days_ago} days ago` : spec.between ? ` between ${spec.between.map((d) => (typeof d === "string" ? d : `${d.days_ago} days ago`)).join(" and ")}` : "";
  const times = spec.at_most !== undefined ? ` in ${spec.at_least ?? 1} to ${spec.at_most} orders` : (spec.at_least ?? 1) !== 1 ? ` in at least ${spec.at_least} orders` : "";
  return `Bought ${item}${when}${times}`;
}

function valueWords(value, spec, vocab) {
  const one = (v) => {
    if (v && typeof v === "object" && "days_ago" in v) return `${v.days_ago} days ago`;
    if (spec?.kind === "id_list") return `“${productTitle(vocab, v)}”`;
    if (spec?.kind === "enum") return spec.choices.find((c) => c.value === v)?.label ?? v;
    return typeof v === "string" ? `“${v}”` : String(v);
  };
  if (Array.isArray(value)) return value.map(one).join(spec && value.length === 2 ? " and " : ", ");
  return one(value);
}
