/**
 * Pieces several pages share: the segment names (for pickers and labels) and the catalogue
 * of segment metrics with how each is formatted.
 */

import { h } from "../dom.js";

/** Every segment of the shop (follows next_token). */
export async function allSegments(api) {
  const items = [];
  let token = null;
  do {
    const page = await api.get(`/segments?limit=100${token ? `&next_token=${encodeURIComponent(token)}` : ""}`);
    items.push(...page.items);
    token = page.next_token;
  } while (token);
  return items;
}

/** A <select> of segments; `none` adds an empty first choice with that label. */
export function segmentSelect(segments, { name = "segment_id", none = null, selected = null } = {}) {
  return h("select", { name, required: none === null },
    none !== null ? h("option", { value: "" }, none) : null,
    segments.map((s) => h("option", { value: s.id, selected: s.id === selected }, s.name)));
}

/** The daily metrics of a segment: where each lives in a MetricsPoint and how to show it. */
export const METRICS = [
  { key: "member_count", label: "Members", kind: "integer" },
  { key: "ltv", label: "Lifetime value (LTV)", kind: "money" },
  { key: "aov", label: "Average order value", kind: "money" },
  { key: "avg_purchase_count", label: "Average purchase count", kind: "decimal" },
  { key: "avg_purchase_interval_days", label: "Average days between purchases", kind: "decimal" },
  { key: "repeat_rate", label: "Repeat rate", kind: "percent" },
  { key: "net_sales", label: "Net sales", kind: "money" },
  { key: "revenue_of_day", label: "Revenue of the day", kind: "money" },
];

/** The raw number of one metric in a MetricsPoint, or null. */
export function metricValue(point, key) {
  if (!point) return null;
  const money = point.money?.[key];
  if (money) return Number(money.amount);
  const value = point.values?.[key];
  return value === undefined || value === null ? null : Number(value);
}

export function formatMetric(fmt, metric, point) {
  const raw = metricValue(point, metric.key);
  if (raw === null) return "–";
  if (metric.kind === "money") return fmt.money(point.money[metric.key]);
  return fmt[metric.kind](raw);
}
