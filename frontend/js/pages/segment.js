/**
 * One segment: its metric trends over a chosen period, monthly revenue (new vs returning),
 * the features that set it apart (share and lift against all customers), a preview of its
 * members, the condition editor with a live count, the explanation of one customer, and
 * the actions (tag its members in Shopify, export them as CSV).
 */

import { query } from "../api.js";
import { chartBox, dayTooltip, draw, truthfulAxis } from "../charts.js";
import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { followJob } from "../jobs.js";
import { s3Url } from "../s3.js";
import { allSegments, formatMetric, METRICS, metricValue, revenueByMonth } from "./common.js";
import { conditionEditorPanel, loadVocabulary } from "./builder.js";
import { explainForm, membersPreview } from "./members.js";
import { stopSyncButton, tagJobForm } from "./tagging.js";

const PERIODS = [
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
  { days: 180, label: "Last 180 days" },
  { days: 365, label: "Last 365 days" },
];
const TRAIT_LABELS = {
  products: "Products bought",
  first_products: "First products",
  second_products: "Second products",
  sources: "Traffic sources",
  locations: "Locations",
};
// Columns an export can add, in the merchant's words (the API's names as values).
const EXPORT_METRICS = {
  total_spent: "Amount spent",
  order_count: "Number of orders",
  first_order_date: "First order date",
  last_order_date: "Last order date",
  chance_active: "Chance still active (%)",
  predicted_value_365d: "Predicted spend, next 365 days",
  expected_next_order_date: "Expected next order date",
};
const NO_TREND_RETRIES = 40;

export async function render(container, { id }, ctx) {
  const { api } = ctx;
  const path = `/segments/${encodeURIComponent(id)}`;
  let segment;
  try {
    segment = await api.get(path);
  } catch (error) {
    replace(container, h("h1", {}, "Segment"), errorMessage(error, "This segment could not be loaded"),
      h("p", {}, h("a", { href: "#/segments" }, "Back to all segments")));
    return;
  }
  const timers = [];
  const headerArea = h("div");
  const progressArea = h("div", { "aria-live": "polite" });
  const trendArea = h("div");
  const revenueSlot = h("div", {}, revenueArea(path, ctx));
  const profileSlot = h("div", {}, profileArea(path, ctx));
  // The builder's vocabulary (fields, the store's values, segments), loaded once on demand.
  let vocabularyLoad = null;
  const vocabulary = () => (vocabularyLoad ??= loadVocabulary(api).catch((error) => { vocabularyLoad = null; throw error; }));
  replace(container,
    h("p", { class: "breadcrumb" }, h("a", { href: "#/segments" }, "Segments"), " / ", segment.name),
    headerArea,
    progressArea,
    section("Metric trends", trendArea),
    section("Revenue per month", revenueSlot),
    section("Features (share and lift against all customers)", profileSlot),
    segment.kind === "condition"
      ? [section("Condition", conditionEditor(segment, path, ctx, vocabulary, (updated) => renderHeader(headerArea, updated, ctx))),
        section("Members preview", membersPreview(segment, ctx)),
        section("Compute past days", backfillForm(segment, path, ctx))]
      : section("Members", h("p", {}, `A ${segment.kind} segment: its members are fixed; ${ctx.fmt.integer(segment.member_count)} customers.`)),
    section("Explain one customer", explainForm(path, ctx, vocabulary)),
    section("Tag members in Shopify", tagJobForm(ctx, { segment, onStarted: () => ctx.navigate("#/tag-jobs") })),
    section("Export members as CSV", exportForm(path, ctx)));
  renderHeader(headerArea, segment, ctx);
  renderTrend(trendArea, path, ctx, timers, segment);
  followHistory(progressArea, segment, path, ctx, timers, {
    // The newest day is computed first, complete: members, figures, features, revenue.
    newest: async () => {
      replace(revenueSlot, revenueArea(path, ctx));
      replace(profileSlot, profileArea(path, ctx));
      try { renderHeader(headerArea, await api.get(path), ctx); } catch { /* keeps the first header */ }
    },
    trend: () => renderTrend(trendArea, path, ctx, timers, segment),
  });
  return () => timers.forEach((t) => clearTimeout(t.id));
}

function renderHeader(area, segment, ctx) {
  const { fmt } = ctx;
  const latest = segment.latest_metrics;
  replace(area,
    h("h1", {}, segment.name),
    segment.description ? h("p", {}, segment.description) : null,
    h("p", { class: "muted" },
      segment.kind === "list" ? "List (fixed members)" : "Segment by condition", segment.template_id ? " · made from a template" : "",
      segment.last_evaluated_on ? ` · evaluated ${fmt.day(segment.last_evaluated_on)}` : " · not evaluated yet",
      segment.keep_in_sync_tag ? ` · kept in sync with tag “${segment.keep_in_sync_tag}” ` : ""),
    segment.keep_in_sync_tag ? stopSyncButton(ctx, segment) : null,
    segment.last_error ? h("p", { class: "error", role: "alert" }, `The last evaluation failed: ${segment.last_error}`) : null,
    h("dl", { class: "kpis" },
      h("div", {}, h("dt", {}, "Members"), h("dd", {}, segment.member_count === null ? "computing…" : fmt.integer(segment.member_count))),
      METRICS.slice(1, 6).map((metric) => h("div", {}, h("dt", {}, metric.label), h("dd", {}, formatMetric(fmt, metric, latest))))));
}

// A new segment's past month is computed on creation (api.segment_editor
// BACKFILL_DAYS_ON_CREATE), newest day first and complete (segments.backfill); its page
// follows that work until it is done.
const HISTORY_ON_CREATE_DAYS = 30;
const NEW_SEGMENT_MINUTES = 15;
const STALLED_MS = 90_000;

/**
 * The state of a new segment's computation, polled every 2 s from the days stored: first
 * its newest day (members, figures, features and revenue of the whole history; the page's
 * revenue, features and header are drawn again as soon as it is there), then the days of
 * its trend, one progress bar step a day; the trend is drawn again when every day is
 * there. It stops and says so when nothing has moved for 90 s.
 */
function followHistory(area, segment, path, ctx, timers, redraw) {
  const created = Date.parse(segment.created_at);
  if (!(Date.now() - created < NEW_SEGMENT_MINUTES * 60_000)) return;
  // A list has no past (fixed members): only its day of creation is computed.
  const target = segment.kind === "condition" ? HISTORY_ON_CREATE_DAYS : 1;
  const timer = { id: null };
  timers.push(timer);
  let seen = -1;
  let newestShown = false;
  let movedAt = Date.now();
  const step = (done, text) => h("li", { class: done ? "ok" : "muted" }, done ? "✓ " : "… ", text);
  const poll = async () => {
    let days = 0;
    try {
      const end = ctx.fmt.today();
      days = (await ctx.api.get(`${path}/metrics${query({ start: ctx.fmt.daysBefore(end, HISTORY_ON_CREATE_DAYS + 1), end })}`)).points.length;
    } catch {
      // Try again at the next tick.
    }
    if (!area.isConnected) return;
    if (days >= 1 && !newestShown) {
      newestShown = true;
      if (seen >= 0) redraw.newest();
    }
    if (days >= target) {
      if (seen >= 0) {
        replace(area, h("p", { class: "ok", role: "status" }, "History computed: members, features, revenue and the daily trend are complete."));
        redraw.trend();
      }
      return;
    }
    if (days !== seen) { seen = days; movedAt = Date.now(); }
    if (Date.now() - movedAt > STALLED_MS) {
      replace(area, h("p", { class: "error", role: "alert" }, `Computing this segment's history stopped at ${ctx.fmt.integer(days)} of ${target} days: the next daily run adds today; reload the page to check again.`));
      return;
    }
    replace(area, h("section", { class: "card", "data-history-progress": String(days) },
      h("h2", {}, "Computing this segment"),
      h("ul", { class: "steps" },
        step(days >= 1, days >= 1 ? "Members, figures, features and revenue by month (the whole history)" : "Members, figures, features and revenue by month (the whole history): computing…"),
        target > 1 ? step(false, `Daily trend: ${ctx.fmt.integer(days)} of ${target} days`) : null),
      h("progress", { max: target, value: days, "aria-label": `${days} of ${target} days computed` })));
    timer.id = setTimeout(poll, 2000);
  };
  poll();
}

// The longest history one request reads (the API's limit is 731 days).
const HISTORY_DAYS = 730;

function renderTrend(area, path, ctx, timers, segment) {
  const { api, fmt } = ctx;
  const metricSelect = h("select", { name: "metric" }, METRICS.map((m) => h("option", { value: m.key }, m.label)));
  const periodSelect = h("select", { name: "period" });
  const compareSelect = h("select", { name: "compare" }, h("option", { value: "" }, "Nothing"), h("option", { value: "previous" }, "The previous period"));
  const status = h("div", { "aria-live": "polite" });
  const box = chartBox("trend", "Daily trend of the selected metric");
  const before = h("div", { "data-history-before": "" });
  replace(area, h("div", { class: "controls" }, field("Metric", metricSelect), field("Period", periodSelect), field("Compare with", compareSelect)), status, box, before);
  let retries = 0;
  const timer = { id: null };
  timers.push(timer);
  const histories = new Map(); // segment path -> its daily points (read once)
  const end = fmt.today();
  const start = fmt.daysBefore(end, HISTORY_DAYS - 1);
  const history = (segmentPath) => {
    if (!histories.has(segmentPath)) {
      histories.set(segmentPath, api.get(`${segmentPath}/metrics${query({ start, end })}`).then((r) => r.points)
        .catch((error) => { histories.delete(segmentPath); throw error; }));
    }
    return histories.get(segmentPath);
  };
  allSegments(api).then((segments) => {
    const others = segments.filter((s) => `/segments/${encodeURIComponent(s.id)}` !== path);
    if (others.length) compareSelect.append(h("optgroup", { label: "Another segment" }, others.map((s) => h("option", { value: s.id }, s.name))));
  }).catch(() => {});

  /** Only periods the history fills: no "last 90 days" when 30 exist. */
  function offerPeriods(points) {
    const span = points.length ? Math.round((Date.parse(points[points.length - 1].day) - Date.parse(points[0].day)) / 86400000) + 1 : 0;
    const previous = periodSelect.value;
    const fitting = PERIODS.filter((p) => p.days < span);
    const options = [...fitting.map((p) => ({ value: String(p.days), label: p.label })), { value: "all", label: `All history (${fmt.integer(span)} days)` }];
    replace(periodSelect, options.map((o) => h("option", { value: o.value }, o.label)));
    periodSelect.value = options.some((o) => o.value === previous) ? previous : (fitting.find((p) => p.days === 90) ? "90" : "all");
  }

  async function load() {
    clearTimeout(timer.id);
    const metric = METRICS.find((m) => m.key === metricSelect.value);
    replace(status, loading("Loading the trend…"));
    let all;
    try {
      all = await history(path);
    } catch (error) {
      replace(status, errorMessage(error, "The trend could not be loaded"));
      return;
    }
    if (!box.isConnected) return;
    if (!all.length) {
      box.hidden = true;
      histories.delete(path);
      replace(status, empty("No daily metrics yet: the segment's past days are being computed. This updates by itself."));
      if (retries++ < NO_TREND_RETRIES) timer.id = setTimeout(load, 3000);
      return;
    }
    if (!periodSelect.options.length) {
      offerPeriods(all);
      replace(before, historyBefore(all[0].day, segment, path, ctx, timers, () => { histories.delete(path); replace(periodSelect); load(); }));
    }
    const days = periodSelect.value === "all" ? null : Number(periodSelect.value);
    const first = days ? fmt.daysBefore(all[all.length - 1].day, days - 1) : all[0].day;
    const points = all.filter((p) => p.day >= first);
    const format = (value) => (metric.kind === "money" ? fmt.money(value) : fmt[metric.kind](value));
    const series = [{ name: metric.label, type: "line", data: points.map((p) => metricValue(p, metric.key)), showSymbol: points.length < 40 }];
    let note = "";
    if (compareSelect.value === "previous") {
      const length = points.length;
      const before = all.filter((p) => p.day < first).slice(-length);
      if (before.length) {
        const shifted = Array(length - before.length).fill(null).concat(before.map((p) => metricValue(p, metric.key)));
        series.push({ name: `Previous ${fmt.integer(length)} days (${fmt.day(before[0].day)} – ${fmt.day(before[before.length - 1].day)})`, type: "line", data: shifted, showSymbol: false, lineStyle: { type: "dashed" } });
      } else {
        note = " · no history before this period to compare with";
      }
    } else if (compareSelect.value) {
      const other = compareSelect.selectedOptions[0].textContent;
      try {
        const otherPoints = await history(`/segments/${encodeURIComponent(compareSelect.value)}`);
        const byDay = new Map(otherPoints.map((p) => [p.day, metricValue(p, metric.key)]));
        series.push({ name: other, type: "line", data: points.map((p) => byDay.get(p.day) ?? null), showSymbol: false, lineStyle: { type: "dashed" } });
        if (!otherPoints.length) note = ` · “${other}” has no daily history yet`;
      } catch (error) {
        replace(status, errorMessage(error, `The trend of “${other}” could not be loaded`));
        return;
      }
    }
    box.hidden = false;
    replace(status, h("p", { class: "muted" }, `${metric.label}, ${fmt.day(points[0].day)} – ${fmt.day(points[points.length - 1].day)} (${fmt.integer(points.length)} days)${note}`));
    draw(box, {
      grid: { left: 80, right: 24, top: series.length > 1 ? 40 : 20, bottom: 40 },
      legend: series.length > 1 ? { top: 0, type: "scroll" } : undefined,
      tooltip: dayTooltip(fmt, format),
      xAxis: { type: "category", data: points.map((p) => p.day), axisLabel: { formatter: (day) => fmt.day(day), hideOverlap: true } },
      yAxis: truthfulAxis(metric.kind, format),
      series,
    });
  }
  metricSelect.addEventListener("change", load);
  periodSelect.addEventListener("change", load);
  compareSelect.addEventListener("change", load);
  load();
}

/**
 * What exists before the first day of the trend, said plainly: the days before it were
 * not computed (a segment's history starts with the month computed at its creation, a
 * list's with the day it was made). A condition segment offers to compute 90 more days
 * (POST /segments/{id}/backfill), followed with the API's day count until done.
 */
function historyBefore(first, segment, path, ctx, timers, reload) {
  const { fmt } = ctx;
  if (segment.kind !== "condition") {
    return h("p", { class: "muted" }, `The trend starts on ${fmt.day(first)}, the day this list's members were fixed: a list has no days before it.`);
  }
  const start = fmt.daysBefore(first, 90);
  const end = fmt.daysBefore(first, 1);
  if (Date.parse(fmt.today()) - Date.parse(start) > HISTORY_DAYS * 86400000) {
    return h("p", { class: "muted" }, `The trend starts on ${fmt.day(first)}; the chart shows at most ${fmt.integer(HISTORY_DAYS)} days.`);
  }
  const area = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary" }, `Compute the 90 days before ${fmt.day(first)}`);
  const timer = { id: null };
  timers.push(timer);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await ctx.api.post(`${path}/backfill`, { start, end });
    } catch (error) {
      button.disabled = false;
      replace(area, errorMessage(error, "The earlier days could not be started"));
      return;
    }
    const poll = async () => {
      let progress = null;
      try {
        progress = await ctx.api.get(`${path}/backfill${query({ start, end })}`);
      } catch { /* the next tick */ }
      if (!area.isConnected) return;
      if (progress && progress.status === "done") { reload(); return; }
      const done = progress ? progress.days_done : 0;
      replace(area, h("p", { class: "muted" }, h("progress", { max: 90, value: done, "aria-label": `${done} of 90 earlier days computed` }), ` ${fmt.integer(done)} of 90 earlier days computed…`));
      timer.id = setTimeout(poll, 2000);
    };
    poll();
  });
  return h("div", {},
    h("p", { class: "muted" }, `The trend starts on ${fmt.day(first)}: the segment's days before it were not computed (its first month of history was computed when it was created).`),
    h("div", { class: "controls" }, button), area);
}

/** The segment's revenue per month over the whole history (any year). */
function revenueArea(path, ctx) {
  return revenueByMonth(`${path}/revenue`, ctx, { chart: "revenue", what: "Revenue", none: "No revenue recorded for this segment yet." });
}

function profileArea(path, ctx) {
  const { fmt } = ctx;
  const area = h("div", {}, loading("Loading features…"));
  (async () => {
    let profile;
    try {
      profile = await ctx.api.get(`${path}/profile`);
    } catch (error) {
      // Not computed yet is a normal state of a new segment, not a failure.
      replace(area, error.code === "not_computed" ? empty(error.message) : errorMessage(error));
      return;
    }
    const groups = Object.entries(profile.traits).filter(([, traits]) => traits.length);
    if (!groups.length) {
      replace(area, empty("No features computed for this segment yet."));
      return;
    }
    replace(area,
      h("p", { class: "muted" }, `${fmt.integer(profile.member_count)} members on ${fmt.day(profile.day)}. Lift above 1 means more common in this segment than among all customers.`),
      h("div", { class: "trait-grid" }, groups.map(([name, traits]) => h("div", {},
        h("h3", {}, TRAIT_LABELS[name] || name.replaceAll("_", " ")),
        table([
          { label: "Value", value: (t) => (t.first_title ? `${t.first_title} → ${t.title || t.value}` : t.title || t.value) },
          { label: "Segment", numeric: true, value: (t) => fmt.percent(t.segment_share) },
          { label: "All", numeric: true, value: (t) => fmt.percent(t.all_share) },
          { label: "Lift", numeric: true, value: (t) => liftBar(t.lift, fmt) },
        ], traits)))));
  })();
  return area;
}

function liftBar(lift, fmt) {
  if (lift === null || lift === undefined) return "–";
  const width = Math.min(100, (lift / 4) * 100);
  return h("span", { class: "lift" }, h("span", { class: `lift-bar ${lift >= 1 ? "up" : "down"}`, style: `width:${width}%` }), `×${fmt.decimal(lift)}`);
}

/** The condition in the visual builder (with the Shopify query and JSON views), saved as is. */
function conditionEditor(segment, path, ctx, vocabulary, onSaved) {
  const area = h("div", {}, loading("Loading the condition builder…"));
  (async () => {
    let vocab;
    try {
      vocab = await vocabulary();
    } catch (error) {
      replace(area, errorMessage(error, "The condition builder could not be loaded"));
      return;
    }
    const panel = conditionEditorPanel(ctx, vocab, { condition: segment.condition });
    const saved = h("div", { "aria-live": "polite" });
    const form = h("form", { class: "condition-form" }, panel.element,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Save condition")), saved);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(saved, loading("Saving…"));
      try {
        const updated = await ctx.api.patch(path, { condition: panel.condition() });
        replace(saved, h("p", { class: "ok" }, "Saved. Its members and metrics are being recomputed."));
        onSaved(updated);
      } catch (failure) {
        replace(saved, panel.showError(failure) ? h("p", { class: "error" }, "Not saved: fix the rule marked above.") : errorMessage(failure, "The condition was not saved"));
      }
    });
    replace(area, form);
  })();
  return area;
}

// The last backfill started from this browser, per segment: followed again on return.
const backfillKey = (segment) => `seglift.backfill.${segment.id}`;

/**
 * Compute past days: a backfill of any range of the shop's history, followed as a job
 * (GET /jobs/{id}): days done of the total, and each failed day with why.
 */
export function backfillForm(segment, path, ctx) {
  const { fmt } = ctx;
  const start = h("input", { type: "date", name: "backfill_start", required: true, max: fmt.today() });
  const end = h("input", { type: "date", name: "backfill_end", max: fmt.today() });
  const status = h("div", { "aria-live": "polite", "data-backfill": "" });
  const form = h("form", { class: "inline-form" },
    field("From", start), field("To (default today)", end),
    h("button", { type: "submit", class: "secondary" }, "Compute these days"), status);
  const show = (job) => replace(status, backfillStatus(job, fmt));
  const follow = async (job) => {
    try {
      await followJob(ctx.api, job, { onProgress: show, intervalMs: 2000, maxWaitMs: 60 * 60 * 1000 });
    } catch (error) {
      if (error.code === "still_running") replace(status, errorMessage(error));
    }
    const final = await ctx.api.get(`/jobs/${encodeURIComponent(job.id)}`).catch(() => null);
    if (final) show(final);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(status, loading("Starting…"));
    try {
      const started = await ctx.api.post(`${path}/backfill`, { start: start.value, ...(end.value ? { end: end.value } : {}) });
      if (!started.job) {
        replace(status, h("p", {}, `${fmt.integer(started.days)} days are being computed.`));
        return;
      }
      localStorage.setItem(backfillKey(segment), started.job.id);
      await follow(started.job);
    } catch (error) {
      replace(status, errorMessage(error, "The days could not be computed"));
    }
  });
  const last = localStorage.getItem(backfillKey(segment));
  if (last) {
    ctx.api.get(`/jobs/${encodeURIComponent(last)}`).then(
      (job) => (job.status === "succeeded" || job.status === "failed" ? show(job) : follow(job)),
      () => localStorage.removeItem(backfillKey(segment)));
  }
  return form;
}

export function backfillStatus(job, fmt) {
  const parts = [];
  const total = job.total || 0;
  if (total) {
    parts.push(h("p", {}, h("progress", { max: String(total), value: String(job.done || 0) }),
      ` ${fmt.integer(job.done || 0)} of ${fmt.integer(total)} days`));
  }
  if (job.status === "succeeded") parts.push(h("p", { class: "ok" }, job.progress));
  else if (job.status === "failed") parts.push(h("p", { class: "error", role: "alert" }, job.error?.message || job.progress));
  else parts.push(h("p", {}, `${job.progress}…`));
  const failures = job.failures || [];
  if (failures.length) {
    parts.push(table([
      { label: "Day", value: (f) => fmt.day(f.item) },
      { label: "Why it failed", value: (f) => f.message },
    ], failures, { caption: "Days that could not be computed" }));
  }
  return h("div", {}, parts);
}

function exportForm(path, ctx) {
  const boxes = Object.entries(EXPORT_METRICS).map(([name, words]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "metrics", value: name, checked: name === "total_spent" || name === "order_count" }), ` ${words}`));
  const bom = h("input", { type: "checkbox", name: "bom" });
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form" },
    h("fieldset", {}, h("legend", {}, "Columns"), boxes),
    h("label", { class: "check" }, bom, " For Excel on Windows (UTF-8 BOM)"),
    h("button", { type: "submit" }, "Export CSV"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(feedback, loading("Writing the CSV…"));
    const metrics = [...form.querySelectorAll("input[name=metrics]:checked")].map((box) => box.value);
    try {
      const job = await ctx.api.post(`${path}/exports`, { metrics, bom: bom.checked });
      const exported = await followJob(ctx.api, job, { onProgress: (now) => replace(feedback, loading(`${now.progress}…`)) });
      replace(feedback, h("p", { class: "ok" }, `${ctx.fmt.integer(exported.rows)} rows ready: `,
        h("a", { href: s3Url(exported.url), download: "segment-members.csv", "data-export-link": "" }, "download the CSV"),
        ` (link valid until ${ctx.fmt.dateTime(exported.expires_at)}).`));
    } catch (error) {
      replace(feedback, errorMessage(error, "The export failed"));
    }
  });
  return form;
}
