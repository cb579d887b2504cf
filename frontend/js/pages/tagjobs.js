/**
 * Tag jobs: adding or removing a Shopify customer tag on every member of a segment. Jobs
 * run in the background (SQS and the tagging function, paced by Shopify's rate limits);
 * this page polls while any job is queued or running, so progress moves on its own.
 */

import { empty, errorMessage, field, h, loading, replace, section, table, toast } from "../dom.js";
import { allSegments } from "./common.js";
import { stopSyncButton, tagJobForm } from "./tagging.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running"]);

export async function render(container, _params, ctx) {
  const { api } = ctx;
  const listArea = h("div", {}, loading("Loading tag jobs…"));
  const formArea = h("div");
  const syncArea = h("div");
  const mailArea = h("div");
  replace(container, h("h1", {}, "Tag jobs"), section("Jobs", listArea), section("Start a tag job", formArea),
    section("Tags kept in sync", syncArea), section("Notification e-mail", notificationForm(ctx)),
    ctx.config?.localMail ? section("E-mails sent by the local stack", mailArea) : null);
  let segments = [];
  try {
    segments = await allSegments(api);
  } catch (error) {
    replace(formArea, errorMessage(error, "Segments could not be loaded"));
  }
  const names = new Map(segments.map((s) => [s.id, s.name]));
  const showKept = () => renderKept(syncArea, segments, ctx);
  if (segments.length) replace(formArea, tagJobForm(ctx, { segments, onStarted: () => { refresh(); showKept(); } }));
  else if (!formArea.childNodes.length) replace(formArea, empty("Create a segment first."));
  showKept();

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
    if (ctx.config?.localMail) renderMail(mailArea, ctx);
    if (jobs.some((job) => ACTIVE.has(job.status))) timer.id = setTimeout(refresh, POLL_MS);
  }
  await refresh();
  return () => clearTimeout(timer.id);
}

/** Segments whose tag is kept in sync every day, each with a way to stop it. */
function renderKept(area, segments, ctx) {
  const kept = segments.filter((s) => s.keep_in_sync_tag);
  if (!kept.length) {
    replace(area, empty("No tag is kept in sync. Tick “Keep in sync daily” when adding a tag to a segment defined by a condition."));
    return;
  }
  replace(area, table([
    { label: "Segment", value: (s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name) },
    { label: "Tag", value: (s) => `“${s.keep_in_sync_tag}”` },
    { label: "Action", value: (s) => stopSyncButton(ctx, { ...s }, () => { s.keep_in_sync_tag = null; }) },
  ], kept));
}

/** Where the "tag job done" e-mail goes, set per shop (PATCH /shop). */
function notificationForm(ctx) {
  const input = h("input", { type: "email", name: "notification_email", value: ctx.shop.notification_email || "", placeholder: "name@example.com", autocomplete: "email" });
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form", "data-form": "notification-email" },
    field("Send an e-mail when a tag job is done to", input, "Leave empty to send no e-mail."),
    h("button", { type: "submit" }, "Save e-mail"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(feedback, loading("Saving…"));
    try {
      const shop = await ctx.api.patch("/shop", { notification_email: input.value.trim() || null });
      ctx.shop.notification_email = shop.notification_email;
      input.value = shop.notification_email || "";
      replace(feedback, h("p", { class: "ok", role: "status" }, shop.notification_email
        ? `Saved: tag job e-mails go to ${shop.notification_email}.` : "Saved: no e-mail is sent when a tag job is done."));
      toast("E-mail saved");
    } catch (error) {
      replace(feedback, errorMessage(error, "The e-mail was not saved"));
    }
  });
  form.noValidate = true; // the API's message says what to fix, in the dashboard's words
  return form;
}

/** Locally only: the messages the local cloud's SES kept (the dashboard server's /_local-mail). */
async function renderMail(area, ctx) {
  let messages;
  try {
    const response = await fetch(ctx.config.localMail, { cache: "no-store" });
    messages = (await response.json()).messages;
  } catch (error) {
    replace(area, errorMessage(error, "The local e-mails could not be read"));
    return;
  }
  if (area.dataset.count === String(messages.length)) return; // unchanged: keep what is open
  area.dataset.count = String(messages.length);
  if (!messages.length) {
    replace(area, empty("No e-mail sent yet. A tag job's completion e-mail appears here when it ends (local stack only: in production it goes to the address above)."));
    return;
  }
  replace(area, h("ul", { class: "mail-list" }, messages.map((m) => h("li", { "data-mail": "" },
    h("details", {},
      h("summary", {}, h("strong", {}, m.subject), ` · to ${m.to.join(", ")}`),
      h("pre", { class: "mail-body" }, m.body))))));
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
