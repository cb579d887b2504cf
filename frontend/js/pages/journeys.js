/**
 * Journeys: segments as ordered stages. For the chosen journey, how many customers reached
 * each stage (funnel of the latest day, and day by day over the period) and how customers
 * moved between stages from one day to another, drawn as a flow (sankey) diagram.
 */

import { query } from "../api.js";
import { chartBox, dayTooltip, draw, escapeHtml, PALETTE, truthfulAxis } from "../charts.js";
import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { allSegments, segmentSelect } from "./common.js";

const MAX_STAGES = 6;

export async function render(container, { id }, ctx) {
  const { api } = ctx;
  let journeys;
  let segments;
  try {
    [journeys, segments] = await Promise.all([api.get("/journeys?limit=100").then((p) => p.items), allSegments(api)]);
  } catch (error) {
    replace(container, h("h1", {}, "Journeys"), errorMessage(error, "Journeys could not be loaded"));
    return;
  }
  const names = new Map(segments.map((s) => [s.id, s.name]));
  const chosen = journeys.find((j) => j.id === id) || journeys[0];
  const detail = h("div");
  replace(container,
    h("h1", {}, "Journeys"),
    journeys.length
      ? h("nav", { "aria-label": "Journeys", class: "pill-nav" }, journeys.map((j) => h("a", { href: `#/journeys/${j.id}`, "aria-current": j === chosen ? "page" : null }, j.name)))
      : empty("No journeys yet: define one below from your segments, e.g. first-time buyers → second-time buyers → loyal customers."),
    detail,
    section("Define a journey", journeyForm(segments, ctx)));
  if (chosen) await renderJourney(detail, chosen, names, ctx);
}

async function renderJourney(area, journey, names, ctx) {
  const { api, fmt } = ctx;
  const stageName = (segmentId) => names.get(segmentId) || segmentId;
  const funnelArea = h("div", {}, loading("Loading the funnel…"));
  const flowArea = h("div");
  replace(area,
    h("h2", {}, journey.name),
    h("p", { class: "muted" }, journey.stages.map(stageName).join(" → ")),
    section("Stage funnel over time", funnelArea),
    section("Moves between stages", flowArea));

  const end = fmt.today();
  try {
    const funnel = await api.get(`/journeys/${journey.id}/funnel${query({ start: fmt.daysBefore(end, 89), end })}`);
    if (!funnel.points.length) {
      replace(funnelArea, empty("No funnel computed yet: it is computed by the daily run."));
    } else {
      const latest = funnel.points[funnel.points.length - 1];
      const funnelBox = chartBox("funnel", `Customers reaching each stage on ${fmt.day(latest.day)}`, { height: 300 });
      // One day is a dot, not a trend: the day-by-day chart waits for a second day.
      const overTime = funnel.points.length > 1
        ? chartBox("funnel-over-time", "Customers reaching each stage, day by day", { height: 300 })
        : h("p", { class: "empty" }, `Day by day appears from the second day of history (only ${fmt.day(latest.day)} is computed so far).`);
      replace(funnelArea,
        h("div", { class: "two-col" }, funnelBox, overTime),
        table([
          { label: "Stage", value: (s) => stageName(s.segment_id) },
          { label: "Reached", numeric: true, value: (s) => fmt.integer(s.reached) },
          { label: "From previous stage", numeric: true, value: (s) => fmt.percent(s.conversion) },
        ], latest.stages, { caption: `On ${fmt.day(latest.day)}` }));
      // Labels beside the funnel (never cut inside a narrow stage), wrapped when long.
      draw(funnelBox, {
        tooltip: { trigger: "item", formatter: (p) => `${escapeHtml(p.name)}: ${fmt.integer(p.value)}` },
        series: [{
          type: "funnel", sort: "none", left: 8, width: "48%", top: 10, bottom: 10, gap: 2, minSize: "8%",
          label: { position: "right", color: "#1d2433", width: 170, overflow: "break", formatter: (p) => `${p.name}: ${fmt.integer(p.value)}` },
          labelLine: { show: true },
          data: latest.stages.map((s) => ({ name: stageName(s.segment_id), value: s.reached })),
        }],
      });
      if (funnel.points.length > 1) draw(overTime, {
        grid: { left: 60, right: 20, top: 40, bottom: 40 },
        legend: { top: 0, type: "scroll" },
        tooltip: dayTooltip(fmt, (v) => fmt.integer(v)),
        xAxis: { type: "category", data: funnel.points.map((p) => p.day), axisLabel: { formatter: (d) => fmt.day(d), hideOverlap: true } },
        yAxis: truthfulAxis("integer", (v) => fmt.integer(v)),
        series: journey.stages.map((stage) => ({
          name: stageName(stage), type: "line", showSymbol: funnel.points.length < 40,
          data: funnel.points.map((p) => p.stages.find((s) => s.segment_id === stage)?.reached ?? null),
        })),
      });
    }
  } catch (error) {
    replace(funnelArea, errorMessage(error, "The funnel could not be loaded"));
  }
  renderFlow(flowArea, journey, stageName, ctx);
}

function renderFlow(area, journey, stageName, ctx) {
  const { api, fmt } = ctx;
  const to = h("input", { type: "date", name: "to", value: fmt.today() });
  const from = h("input", { type: "date", name: "from", value: fmt.daysBefore(fmt.today(), 1) });
  const stayed = h("input", { type: "checkbox", name: "stayed" });
  const result = h("div");
  const form = h("form", { class: "inline-form" }, field("From day", from), field("To day", to),
    h("label", { class: "check" }, stayed, " Also draw customers who stayed in their stage"),
    h("button", { type: "submit" }, "Show moves"));
  stayed.addEventListener("change", () => load());
  async function load() {
    replace(result, loading("Loading moves…"));
    try {
      const moves = await api.get(`/journeys/${journey.id}/transitions${query({ from: from.value, to: to.value })}`);
      const cells = moves.cells.filter((c) => c.customers > 0);
      if (!cells.length) {
        replace(result, empty("No customer was in any stage on both days."));
        return;
      }
      // Customers who stay in their stage are most of them: drawn, they squeeze the moves
      // into hairlines. The chart shows the moves (stayed on request); the table shows all.
      const moved = cells.filter((c) => c.from_stage !== c.to_stage);
      const drawn = stayed.checked ? cells : moved;
      const stayedCount = cells.filter((c) => c.from_stage === c.to_stage).reduce((sum, c) => sum + c.customers, 0);
      const movedCount = moved.reduce((sum, c) => sum + c.customers, 0);
      const summary = h("p", { class: "muted", "data-moves-summary": "" }, `${fmt.integer(movedCount)} customers moved between stages and ${fmt.integer(stayedCount)} stayed in their stage from ${fmt.day(moves.start)} to ${fmt.day(moves.end)}.`);
      const box = chartBox("transitions", `Customers moving between stages from ${fmt.day(moves.start)} to ${fmt.day(moves.end)}`, { height: 360 });
      // Stages on the left are "on the first day", on the right "on the second": distinct
      // nodes, since a sankey cannot draw a stage flowing into itself.
      const left = (stage) => `${stageName(stage)} · ${fmt.day(moves.start)}`;
      const right = (stage) => `${stageName(stage)} · ${fmt.day(moves.end)}`;
      // One colour per stage on both sides, so a stage's customers can be followed across.
      const colour = (stage) => PALETTE[journey.stages.indexOf(stage) % PALETTE.length];
      const nodes = new Map();
      for (const c of drawn) {
        nodes.set(left(c.from_stage), colour(c.from_stage));
        nodes.set(right(c.to_stage), colour(c.to_stage));
      }
      replace(result, summary, drawn.length ? box : empty("Nobody moved between stages in that time: tick “Also draw customers who stayed” to see them."), table([
        { label: "From", value: (c) => stageName(c.from_stage) },
        { label: "To", value: (c) => stageName(c.to_stage) },
        { label: "Customers", numeric: true, value: (c) => fmt.integer(c.customers) },
        { label: "Net sales between the days", numeric: true, value: (c) => fmt.money(c.net_sales) },
      ], cells));
      if (drawn.length) draw(box, {
        tooltip: { trigger: "item", formatter: (p) => (p.dataType === "edge" ? `${escapeHtml(p.data.source)} → ${escapeHtml(p.data.target)}: ${fmt.integer(p.value)}` : `${escapeHtml(p.name)}: ${fmt.integer(p.value)}`) },
        series: [{
          type: "sankey", left: 10, right: 200, label: { width: 190, overflow: "break" }, nodeAlign: "justify", emphasis: { focus: "adjacency" },
          data: [...nodes].map(([name, color]) => ({ name, itemStyle: { color } })),
          lineStyle: { color: "source", opacity: 0.35 },
          links: drawn.map((c) => ({ source: left(c.from_stage), target: right(c.to_stage), value: c.customers })),
        }],
      });
    } catch (error) {
      replace(result, errorMessage(error, "Moves could not be loaded"));
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  replace(area, form, result);
  load();
}

function journeyForm(segments, ctx) {
  if (segments.length < 2) return empty("A journey needs at least two segments: create them first.");
  const name = h("input", { name: "name", type: "text", required: true, maxlength: 255, placeholder: "e.g. First order to loyal" });
  const stages = Array.from({ length: MAX_STAGES }, (_, i) => field(`Stage ${i + 1}`, segmentSelect(segments, { name: `stage${i}`, none: i < 2 ? "Choose a segment" : "(none)" })));
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form" }, h("div", { class: "row" }, field("Journey name", name)), h("div", { class: "stage-grid" }, stages),
    h("button", { type: "submit" }, "Create journey"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll("select")].map((s) => s.value).filter(Boolean);
    try {
      const created = await ctx.api.post("/journeys", { name: name.value.trim(), stages: chosen });
      ctx.navigate(`#/journeys/${created.id}`);
    } catch (error) {
      replace(feedback, errorMessage(error, "The journey was not created"));
    }
  });
  return form;
}
