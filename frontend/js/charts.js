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

/** A compact line without axes, for tables. */
export function sparklineOption(values) {
  return {
    grid: { left: 2, right: 2, top: 4, bottom: 4 },
    xAxis: { type: "category", show: false, data: values.map((_, i) => i) },
    yAxis: { type: "value", show: false, scale: true },
    series: [{ type: "line", data: values, symbol: "none", lineStyle: { width: 1.5 }, areaStyle: { opacity: 0.15 } }],
    tooltip: { show: false },
  };
}
