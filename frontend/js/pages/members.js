/**
 * A segment's members by name: the preview lists each member's name and e-mail with a link
 * to the customer in the Shopify admin, and "Why?" explains that customer: every rule of
 * the condition in words, met or not, with the customer's own value next to it.
 */

import { query } from "../api.js";
import { empty, errorMessage, field, h, loading, replace, table } from "../dom.js";
import { answerOf } from "../jobs.js";
import { describeRule } from "./builder.js";

/** https://admin.shopify.com/store/<handle>/customers/<id> for the shop's domain. */
export function adminCustomerUrl(shopDomain, customerId) {
  const handle = String(shopDomain || "").replace(/\.myshopify\.com$/, "");
  return `https://admin.shopify.com/store/${encodeURIComponent(handle)}/customers/${encodeURIComponent(customerId)}`;
}

let explainCustomer = () => {};

export function membersPreview(segment, ctx) {
  // Any past day of the shop's history, or today (empty): a merchant analysing an old
  // export sees the shop as it was.
  const day = h("input", { name: "preview_as_of", type: "date", max: ctx.fmt.today() });
  const area = h("div", {}, loading("Loading members…"));
  const form = h("form", { class: "inline-form" }, field("As of (empty: today)", day), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => { event.preventDefault(); show(); });
  const show = async () => {
    replace(area, loading("Loading members…"));
    const asOf = day.value || undefined;
    const when = asOf ? `on ${ctx.fmt.day(asOf)}` : "today";
    try {
      // The first preview of a day reads the store's history first (a job): its progress shows.
      const preview = await answerOf(ctx.api, await ctx.api.post("/segments/preview", { condition: segment.condition, sample_size: 10, as_of: asOf }), {
        onProgress: (job) => replace(area, loading(`${job.progress}…`)),
      });
      if (!preview.sample.length) {
        replace(area, empty(`No customer meets this condition ${when}.`));
        return;
      }
      const customers = preview.customers?.length ? preview.customers : preview.sample.map((id) => ({ id }));
      replace(area,
        h("p", { class: "preview-as-of" }, `${ctx.fmt.integer(preview.member_count)} of ${ctx.fmt.integer(preview.customer_count)} customers ${when}. First ${customers.length}:`),
        ...(preview.warnings || []).map((text) => h("p", { class: "warning", role: "note" }, text)),
        table([
          { label: "Customer", value: (c) => c.name || h("span", { class: "muted" }, "No name") },
          { label: "E-mail", value: (c) => c.email || h("span", { class: "muted" }, "No e-mail") },
          { label: "Shopify admin", value: (c) => h("a", { href: adminCustomerUrl(ctx.shop?.shop, c.id), target: "_blank", rel: "noopener", "data-admin-link": c.id }, `Open ${c.name || "customer"} in Shopify`) },
          { label: "Why a member?", value: (c) => h("button", { type: "button", class: "secondary small", "data-explain": c.id, onclick: () => explainCustomer(c) }, `Explain ${c.name || "this customer"}`) },
        ], customers, { caption: `Members ${when}` }));
    } catch (error) {
      replace(area, errorMessage(error, "Members could not be previewed"));
    }
  };
  show();
  return h("div", {}, form, area);
}

/** The explain form: a customer from the preview (or typed by number) and a day. */
export function explainForm(path, ctx, vocabulary) {
  const input = h("input", { name: "customer_id", type: "text", inputmode: "numeric", pattern: "[0-9]+", required: true, placeholder: "Pick a member above, or type a customer number" });
  const day = h("input", { name: "explain_as_of", type: "date", max: ctx.fmt.today() });
  const result = h("div", { "aria-live": "polite" });
  let who = null;
  const form = h("form", { class: "inline-form" }, field("Customer number", input), field("As of (empty: today)", day), h("button", { type: "submit" }, "Explain"), result);
  async function explain() {
    replace(result, loading("Checking the condition…"));
    try {
      const [answer, vocab] = await Promise.all([
        ctx.api.get(`${path}/explain${query({ customer_id: input.value.trim(), as_of: day.value })}`)
          .then((answer) => answerOf(ctx.api, answer, { onProgress: (job) => replace(result, loading(`${job.progress}…`)) })),
        vocabulary(),
      ]);
      const name = who && String(who.id) === input.value.trim() ? (who.name || who.email || "This customer") : `Customer ${answer.customer_id}`;
      replace(result,
        h("p", { class: answer.member ? "ok" : "muted" }, `${name} ${answer.member ? "is" : "is not"} a member on ${ctx.fmt.day(answer.as_of)}.`),
        h("ul", { class: "explain-tree" }, explainNode(answer.tree, vocab, ctx)));
    } catch (error) {
      replace(result, errorMessage(error));
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); explain(); });
  explainCustomer = (customer) => { who = customer; input.value = String(customer.id); form.scrollIntoView?.({ block: "nearest" }); explain(); };
  return form;
}

const GROUP_WORDS = { and: "All of these", or: "Any of these", not: "Not this" };

function explainNode(node, vocab, ctx) {
  const verdict = h("span", { class: "verdict" }, node.passed ? "✓ met" : "✗ not met");
  if (!node.condition) {
    return h("li", { class: node.passed ? "passed" : "failed" }, verdict, " ", GROUP_WORDS[node.kind] || node.kind,
      node.children?.length ? h("ul", {}, node.children.map((child) => explainNode(child, vocab, ctx))) : null);
  }
  return h("li", { class: node.passed ? "passed" : "failed" }, verdict, " ", describeRule(node.condition, vocab),
    h("span", { class: "their-value" }, ` — their value: ${theirValue(node, vocab, ctx)}`));
}

/** The customer's own value for a rule, in words. */
function theirValue(node, vocab, ctx) {
  const value = node.value;
  const rule = node.condition;
  if (node.kind === "member_of") return node.passed ? "a member" : "not a member";
  if (value === null || value === undefined) return "none (unknown)";
  if (node.kind === "bought") return `${ctx.fmt.integer(value)} matching order${value === 1 ? "" : "s"}`;
  if (node.kind === "has_tag") return value.length ? `tags ${value.map((t) => `“${t}”`).join(", ")}` : "no tags";
  if (node.kind === "nth_order") return value.length ? value.map((id) => `“${vocab.catalog.products?.find((p) => p.id === id)?.title ?? `product ${id}`}”`).join(", ") : "no such order";
  if (node.kind === "first_order_from") return Object.entries(value).map(([k, v]) => `${k.replace("utm_", "UTM ").replace("_", " ")} ${v ? `“${v}”` : "none"}`).join(", ");
  const spec = vocab.byName.get(rule.feature);
  if (Array.isArray(value)) {
    if (!value.length) return "none";
    return spec?.kind === "id_list" ? value.map((id) => `“${vocab.catalog.products?.find((p) => p.id === id)?.title ?? `product ${id}`}”`).join(", ") : value.map((v) => `“${v}”`).join(", ");
  }
  if (spec?.kind === "money") return ctx.fmt.money(value);
  if (spec?.kind === "date") return ctx.fmt.day(value);
  if (spec?.kind === "enum") return spec.choices.find((c) => c.value === value)?.label ?? value;
  if (typeof value === "number") return ctx.fmt.decimal ? ctx.fmt.decimal(value) : String(value);
  return `“${value}”`;
}
