/**
 * Tag jobs: adding or removing a Shopify customer tag on every member of a segment. Jobs
 * run in the background (SQS and the tagging function, paced by Shopify's rate limits);
 * this page polls while any job is queued or running, so progress moves on its own.
 */

import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { allSegments, segmentSelect } from "./common.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running"]);

export async function render(container, _params, ctx) {
  const { api } = ctx;
  const listArea = h("div", {}, loading("Loading tag jobs…"));
  const formArea = h("div");
  replace(container, h("h1", {}, "Tag jobs"), section("Jobs", listArea), section("Start a tag job", formArea));
  let segments = [];
  try {
    segments = await allSegments(api);
  } catch (error) {
    replace(formArea, errorMessage(error, "Segments could not be loaded"));
  }
  const names = new Map(segments.map((s) => [s.id, s.name]));
  if (segments.length) replace(formArea, startForm(segments, ctx, () => refresh()));
  else if (!formArea.childNodes.length) replace(formArea, empty("Create a segment first."));

  const timer = { id: null };
  async function refresh() {
    clearTimeout(timer.id);
    let jobs;
    try {
      jobs = (await api.get("/tag-jobs?limit=50")).items;
    } catch (error) {
      replace(listArea, errorMessage(error, "Tag jobs could not be loaded"));
      timer.id = setTimeout(refresh, POLL_MS * 5);
      return;
    }
    if (!container.isConnected) return;
    renderJobs(listArea, jobs, names, ctx);
    if (jobs.some((job) => ACTIVE.has(job.status))) timer.id = setTimeout(refresh, POLL_MS);
  }
  await refresh();
  return () => clearTimeout(timer.id);
}

function renderJobs(area, jobs, names, ctx) {
  const { fmt } = ctx;
  if (!jobs.length) {
    replace(area, empty("No tag jobs yet. Start one below or from a segment's page."));
    return;
  }
  replace(area, table([
    { label: "Segment", value: (j) => h("a", { href: `#/segments/${encodeURIComponent(j.segment_id)}` }, names.get(j.segment_id) || j.segment_id) },
    { label: "Tag", value: (j) => `${j.action === "add" ? "add" : "remove"} “${j.tag}”` },
    { label: "Status", value: (j) => h("span", { class: `status status-${j.status}`, "data-job-status": j.status }, j.status) },
    {
      label: "Progress",
      value: (j) => {
        const processed = j.done + j.skipped + j.failed;
        return h("span", { class: "progress" },
          h("progress", { max: Math.max(j.total, 1), value: j.total ? processed : 1, "aria-label": `${processed} of ${j.total} customers processed` }),
          ` ${fmt.integer(processed)} / ${fmt.integer(j.total)}`);
      },
    },
    { label: "Done", numeric: true, value: (j) => fmt.integer(j.done) },
    { label: "Skipped", numeric: true, value: (j) => fmt.integer(j.skipped) },
    { label: "Failed", numeric: true, value: (j) => (j.failed ? h("span", { class: "error-text", title: (j.errors || []).map((e) => e.message).join("\n") }, fmt.integer(j.failed)) : "0") },
    { label: "Started", value: (j) => fmt.dateTime(j.started_at || j.created_at) },
    { label: "Finished", value: (j) => fmt.dateTime(j.finished_at) },
  ], jobs));
}

function startForm(segments, ctx, onStarted) {
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form", "data-form": "tag-job" },
    field("Segment", segmentSelect(segments)),
    field("Tag", h("input", { type: "text", name: "tag", required: true, maxlength: 40, placeholder: "e.g. seglift-vip" })),
    field("Action", h("select", { name: "action" }, h("option", { value: "add" }, "Add the tag"), h("option", { value: "remove" }, "Remove the tag"))),
    h("button", { type: "submit" }, "Start tag job"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = form.elements;
    replace(feedback, loading("Starting…"));
    try {
      await ctx.api.post(`/segments/${encodeURIComponent(values.segment_id.value)}/tag-jobs`, { tag: values.tag.value.trim(), action: values.action.value });
      replace(feedback, h("p", { class: "ok" }, "Started: progress appears above."));
      onStarted();
    } catch (error) {
      replace(feedback, errorMessage(error, "The tag job did not start"));
    }
  });
  return form;
}
