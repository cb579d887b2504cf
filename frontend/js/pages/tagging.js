/**
 * Starting a tag job, shared by the Tag jobs page and a segment's page. Nothing is sent to
 * Shopify before the merchant has seen how many customers it changes: the form first asks
 * the API's preview (it reads the members' current tags from Shopify) and shows that number
 * in a confirmation dialog. "Keep in sync daily" is offered only where the API accepts it
 * (adding a tag to a segment defined by a condition: a list never changes, and a removed
 * tag cannot be kept), and a kept tag can be stopped here too (stopSyncButton).
 */

import { errorMessage, field, h, loading, replace, toast } from "../dom.js";
import { segmentSelect } from "./common.js";

/** Whether "keep in sync" applies: adding a tag to a condition segment. */
export function canKeepInSync(segment, action) {
  return Boolean(segment) && segment.kind === "condition" && action === "add";
}

/**
 * The form. Either `segment` (one fixed segment: its page) or `segments` (a picker).
 * `onStarted(job)` runs after the API queued the job.
 */
export function tagJobForm(ctx, { segment = null, segments = [], onStarted = () => {} } = {}) {
  const picker = segment ? null : segmentSelect(segments);
  const current = () => segment || segments.find((s) => s.id === picker.value) || null;
  const tag = h("input", { name: "tag", type: "text", required: true, maxlength: 40, placeholder: "e.g. seglift-vip" });
  const action = h("select", { name: "action" }, h("option", { value: "add" }, "Add the tag"), h("option", { value: "remove" }, "Remove the tag"));
  const keep = h("input", { name: "keep_in_sync", type: "checkbox" });
  const keepLabel = h("label", { class: "check", "data-keep-in-sync": "" }, keep, " Keep in sync daily (tag customers who join, untag those who leave)");
  const keepWhy = h("p", { class: "hint", "data-keep-in-sync-why": "" });
  const feedback = h("div", { "aria-live": "polite" });
  const dialog = h("dialog", { class: "confirm", "aria-labelledby": "tag-confirm-title", "data-dialog": "tag-confirm" });

  function updateKeep() {
    const chosen = current();
    const applies = canKeepInSync(chosen, action.value);
    keepLabel.hidden = !applies;
    if (!applies) keep.checked = false;
    if (applies || !chosen) keepWhy.textContent = "";
    else if (chosen.kind !== "condition") keepWhy.textContent = "Keeping the tag in sync is not offered for a list: its members never change.";
    else keepWhy.textContent = "Keeping in sync is offered when adding a tag (a removed tag cannot be kept).";
  }
  action.addEventListener("change", updateKeep);
  picker?.addEventListener("change", updateKeep);
  updateKeep();

  const form = h("form", { class: "inline-form", "data-form": "tag-job" },
    picker ? field("Segment", picker) : null,
    field("Tag", tag), field("Action", action), keepLabel, keepWhy,
    h("button", { type: "submit" }, "Review tag job"), feedback, dialog);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = current();
    const body = { tag: tag.value.trim(), action: action.value, keep_in_sync: keep.checked };
    if (!chosen) return;
    replace(feedback, loading("Counting the customers this would change…"));
    let preview;
    try {
      const params = new URLSearchParams({ tag: body.tag, action: body.action });
      preview = await ctx.api.get(`/segments/${encodeURIComponent(chosen.id)}/tag-jobs/preview?${params}`);
    } catch (error) {
      replace(feedback, errorMessage(error, `Tagging “${chosen.name}” cannot start`));
      return;
    }
    replace(feedback);
    confirmDialog(dialog, ctx, chosen, body, preview, async () => {
      replace(feedback, loading("Starting…"));
      try {
        const job = await ctx.api.post(`/segments/${encodeURIComponent(chosen.id)}/tag-jobs`, body);
        if (body.keep_in_sync) chosen.keep_in_sync_tag = body.tag;
        replace(feedback, h("p", { class: "ok", role: "status" }, `Started: ${sentence(ctx, body, preview)}.`));
        toast("Tag job started");
        onStarted(job);
      } catch (error) {
        replace(feedback, errorMessage(error, `Tagging “${chosen.name}” did not start`));
      }
    });
  });
  return form;
}

function sentence(ctx, body, preview) {
  const count = `${preview.exact ? "" : "about "}${ctx.fmt.integer(preview.would_change)} customer${preview.would_change === 1 ? "" : "s"}`;
  return body.action === "add" ? `tag ${count} with “${body.tag}”` : `remove “${body.tag}” from ${count}`;
}

function confirmDialog(dialog, ctx, segment, body, preview, onConfirm) {
  const { fmt } = ctx;
  const already = body.action === "add" ? "already have the tag" : "do not have the tag";
  const details = [
    `${fmt.integer(preview.members)} member${preview.members === 1 ? "" : "s"} in “${segment.name}”`,
    preview.already_done ? `${fmt.integer(preview.already_done)} ${already} and stay as they are` : null,
    preview.would_fail ? `${fmt.integer(preview.would_fail)} no longer exist in Shopify and will be skipped` : null,
    preview.exact ? null : `estimated from ${fmt.integer(preview.sampled)} members read from Shopify`,
    body.keep_in_sync ? "afterwards, every day: customers who join are tagged, those who leave are untagged" : null,
  ].filter(Boolean);
  const close = () => dialog.close();
  const confirm = h("button", { type: "button", "data-confirm": "" },
    preview.would_change ? `${body.action === "add" ? "Tag" : "Untag"} ${fmt.integer(preview.would_change)} customer${preview.would_change === 1 ? "" : "s"}` : "Start anyway");
  confirm.addEventListener("click", () => { close(); onConfirm(); });
  replace(dialog,
    h("h2", { id: "tag-confirm-title" }, preview.would_change ? `${sentence(ctx, body, preview).replace(/^./, (c) => c.toUpperCase())}?` : "Nothing to change"),
    h("ul", {}, details.map((line) => h("li", {}, line))),
    preview.would_change ? null : h("p", {}, "Every member already matches. Starting the job changes no one."),
    h("div", { class: "actions" }, confirm, h("button", { type: "button", class: "secondary", onclick: close }, "Cancel")));
  dialog.showModal();
  confirm.focus();
}

/** "Stop keeping in sync" for a segment that keeps a tag; `onStopped` after the API agreed. */
export function stopSyncButton(ctx, segment, onStopped = () => {}) {
  const feedback = h("span", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary small" }, `Stop keeping “${segment.keep_in_sync_tag}” in sync`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await ctx.api.delete(`/segments/${encodeURIComponent(segment.id)}/tag-sync`);
      const tag = segment.keep_in_sync_tag;
      segment.keep_in_sync_tag = null;
      button.hidden = true;
      replace(feedback, h("span", { class: "ok" }, ` “${tag}” is no longer kept in sync (customers keep the tags they have).`));
      toast(`“${tag}” no longer kept in sync`);
      onStopped();
    } catch (error) {
      button.disabled = false;
      replace(feedback, errorMessage(error, "Keeping in sync was not stopped"));
    }
  });
  return h("span", { class: "row-actions" }, button, feedback);
}
