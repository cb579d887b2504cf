/**
 * Apache ECharts (vendor/echarts.min.js, the global `echarts`) for every chart. Charts
 * created here are resized with the window and disposed when the page changes, so a
 * page never leaks instances. Each chart element carries data-chart="<name>" so tests
 * (and people debugging) can find its instance with echarts.getInstanceByDom.
 */

const live = new Set();
export const PALETTE = ["#2f6fdf", "#e07b39", "#2a9d8f", "#9b5de5", "#d62828", "#6c757d", "#f4a261"];

window.addEventListener("resize", () => live.forEach((chart) => chart.resize()));

/** A chart in a new element: h-sized box with an accessible label; returns {element, chart}. */
export function chartBox(name, label, { height = 280 } = {}) {
  const element = document.createElement("div");
  element.className = "chart";
  element.dataset.chart = name;
  element.setAttribute("role", "img");
  element.setAttribute("aria-label", label);
  element.style.height = `${height}px`;
  return element;
}

/** Draw `option` in `element` (already in the document, so it has a size). */
export function draw(element, option) {
  if (!window.echarts) throw new Error("the chart library did not load (vendor/echarts.min.js)");
  let chart = window.echarts.getInstanceByDom(element);
  if (!chart) {
    chart = window.echarts.init(element, null, { renderer: "canvas" });
    live.add(chart);
  }
  chart.setOption({ color: PALETTE, animation: false, ...option }, true);
  return chart;
}

export function disposeCharts() {
  live.forEach((chart) => chart.dispose());
  live.clear();
}

/** Text for ECharts' HTML tooltips: names come from merchants (segment names), never markup. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/**
 * The tooltip of a chart over days ("YYYY-MM-DD" categories): the day written as the axis
 * writes it (the shop's locale, fmt.day), then each series with its value formatted.
 */
export function dayTooltip(fmt, format) {
  return {
    trigger: "axis",
    formatter: (items) => {
      const list = Array.isArray(items) ? items : [items];
      if (!list.length) return "";
      const lines = list.map((item) => `${item.marker}${escapeHtml(item.seriesName)}: ${item.value === null || item.value === undefined ? "–" : escapeHtml(format(item.value))}`);
      return [escapeHtml(fmt.day(list[0].axisValue)), ...lines].join("<br>");
    },
  };
}

/**
 * A value axis that tells the truth: counts and money start at zero (a small change never
 * looks like a surge), shares run from 0 to 100%. Negative values (refunds) still show.
 */
export function truthfulAxis(kind, format) {
  const axis = { type: "value", min: (extent) => Math.min(0, extent.min), axisLabel: { formatter: format } };
  if (kind === "percent") axis.max = (extent) => Math.max(1, extent.max);
  return axis;
}

/** A compact line without axes, for tables (from zero, like every count here). */
export function sparklineOption(values) {
  return {
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: "category", show: false, data: values.map((_, i) => i) },
    yAxis: { type: "value", show: false, min: (extent) => Math.min(0, extent.min) },
    series: [{ type: "line", data: values, symbol: "none", lineStyle: { width: 1.5 }, areaStyle: { opacity: 0.15 } }],
    tooltip: { show: false },
  };
}
