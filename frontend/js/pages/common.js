/**
 * Pieces several pages share: the segment names (for pickers and labels) and the catalogue
 * of segment metrics with how each is formatted.
 */

import { query } from "../api.js";
import { chartBox, draw, truthfulAxis } from "../charts.js";
import { empty, errorMessage, h, loading, replace } from "../dom.js";

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

// The API's limit per revenue request: five years of months.
const REVENUE_MONTHS = 60;
const REVENUE_MAX_REQUESTS = 6; // 30 years

/**
 * Every stored revenue month of `path` (a segment's `/segments/<id>/revenue` or the
 * store's `/revenue`), the whole history whatever its length: five years a request,
 * going back until a request finds nothing, from the first month with a sale.
 */
export async function allRevenueMonths(api, path, today) {
  let end = today;
  let points = [];
  for (let i = 0; i < REVENUE_MAX_REQUESTS; i += 1) {
    const year = Number(end.slice(0, 4)) - Math.floor((REVENUE_MONTHS - 1) / 12);
    const month = Number(end.slice(5, 7));
    const start = `${year}-${String(month).padStart(2, "0")}-01`;
    const page = await api.get(`${path}${query({ period: "month", start, end })}`);
    points = page.points.concat(points);
    if (!page.points.length || page.points[0].period > start.slice(0, 7)) break;
    const before = new Date(`${start}T00:00:00Z`);
    before.setUTCDate(0); // the last day of the month before
    end = before.toISOString().slice(0, 10);
  }
  const firstSale = points.findIndex((p) => Number(p.new.net_sales.amount) || Number(p.returning.net_sales.amount));
  return firstSale < 0 ? [] : points.slice(firstSale);
}

/**
 * Revenue per month, new and returning orders stacked, over the whole history of `path`
 * (see allRevenueMonths); `chart` names the chart (data-chart) and `what` what it sums.
 */
export function revenueByMonth(path, ctx, { chart, what, none }) {
  const { fmt } = ctx;
  const area = h("div", {}, loading("Loading revenue…"));
  (async () => {
    let points;
    try {
      points = await allRevenueMonths(ctx.api, path, fmt.today());
    } catch (error) {
      replace(area, error.code === "not_computed" ? empty(error.message) : errorMessage(error, "Revenue could not be loaded"));
      return;
    }
    if (!points.length) {
      replace(area, empty(none));
      return;
    }
    const month = new Intl.DateTimeFormat(navigator.language || "en-US", { month: "short", year: "numeric", timeZone: "UTC" });
    const label = (period) => month.format(new Date(`${period}-01T00:00:00Z`));
    const box = chartBox(chart, `${what} per month, new and returning orders`);
    replace(area, h("p", { class: "muted" }, `${label(points[0].period)} – ${label(points[points.length - 1].period)} (${fmt.integer(points.length)} months)`), box);
    draw(box, {
      grid: { left: 90, right: 24, top: 30, bottom: 40 },
      legend: { top: 0 },
      tooltip: { trigger: "axis", formatter: (items) => [label(items[0].axisValue), ...items.map((i) => `${i.marker}${i.seriesName}: ${fmt.money(i.value)}`)].join("<br>") },
      xAxis: { type: "category", data: points.map((p) => p.period), axisLabel: { formatter: label, hideOverlap: true } },
      yAxis: truthfulAxis("money", (v) => fmt.money(v)),
      series: [
        { name: "New", type: "bar", stack: "revenue", data: points.map((p) => Number(p.new.net_sales.amount)) },
        { name: "Returning", type: "bar", stack: "revenue", data: points.map((p) => Number(p.returning.net_sales.amount)) },
      ],
    });
  })();
  return area;
}
