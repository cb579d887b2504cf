/**
 * Lists and exports. Upload a CSV of customers (numeric Shopify ids or email addresses) to
 * make a list segment: the API returns a presigned upload URL, the browser sends the file
 * straight to storage, then the list is made (a job the page follows: a large shop's list
 * can take longer than a request may wait) and the rows that did not match are shown.
 * Export any segment's members as a CSV download. The lists the shop has are listed first,
 * and a list can be made from conditions picked in the visual condition builder (evaluated
 * once, the members fixed), as a snapshot of a segment, or by combining segments and lists
 * (in either, in both, in the first but not the second).
 */

import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { followJob } from "../jobs.js";
import { postToPresignedForm, s3Url } from "../s3.js";
import { allSegments, segmentSelect } from "./common.js";
import { conditionEditorPanel, loadVocabulary } from "./builder.js";

export async function render(container, _params, ctx) {
  let segments = [];
  let segmentsError = null;
  try {
    segments = await allSegments(ctx.api);
  } catch (error) {
    segmentsError = error;
  }
  const listArea = h("div", {}, segmentsError ? errorMessage(segmentsError, "Lists could not be loaded") : listTable(segments, ctx));
  // Whatever makes a list calls this: the table and every picker offer the new list.
  const onLists = [];
  const refreshLists = async () => {
    try {
      const latest = await allSegments(ctx.api);
      replace(listArea, listTable(latest, ctx));
      onLists.forEach((offer) => offer(latest));
      return latest;
    } catch (error) {
      replace(listArea, errorMessage(error, "Lists could not be loaded"));
      return null;
    }
  };
  replace(container, h("h1", {}, "Lists & exports"),
    section("Your lists", listArea),
    section("Make a list from conditions", conditionListForm(ctx, refreshLists)),
    section("Make a list from your segments and lists", segmentsError ? null : segments.length ? makeListForm(segments, ctx, refreshLists, onLists) : empty("No segments yet: create a segment first.")),
    section("Upload a customer list (CSV)", uploadForm(ctx)),
    section("Export a segment (CSV)", segmentsError ? errorMessage(segmentsError) : segments.length ? exportForm(segments, ctx) : empty("No segments to export yet.")));
}

function listTable(segments, ctx) {
  const lists = segments.filter((s) => s.kind === "list");
  if (!lists.length) return empty("No lists yet. Make one from a segment below, or upload a CSV.");
  return table([
    { label: "List", value: (s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name) },
    { label: "Customers", numeric: true, value: (s) => (s.member_count === null ? "…" : ctx.fmt.integer(s.member_count)) },
    { label: "Made", value: (s) => ctx.fmt.dateTime(s.created_at) },
    { label: "About", value: (s) => s.description || "" },
  ], [...lists].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))), { caption: `${lists.length} lists` });
}

const OPERATIONS = {
  snapshot: "A snapshot of one segment or list (its members today, fixed)",
  union: "Customers in either",
  intersection: "Customers in both",
  difference: "Customers in the first but not the second (e.g. without those who opted out)",
};

/** Segments and lists in one picker, each kind in its own group. */
function operandSelect(segments, { name, selected = null }) {
  const group = (label, kind) => {
    const members = segments.filter((s) => (kind === "list" ? s.kind === "list" : s.kind !== "list"));
    return members.length ? h("optgroup", { label }, members.map((s) => h("option", { value: s.id, selected: s.id === selected }, s.name))) : null;
  };
  return h("select", { name, required: true }, group("Segments", "condition"), group("Lists", "list"));
}

/**
 * A list from rules picked in the visual builder (no JSON, no ids): the live count as
 * the rules change, errors on their row, and the customers who match today saved as a
 * list (fixed members).
 */
function conditionListForm(ctx, refresh) {
  const area = h("div");
  const start = h("button", { type: "button", class: "secondary", onclick: () => open() }, "Build a list from conditions");
  replace(area, h("p", { class: "muted" }, "Pick rules on your customers' orders, products, tags, sources and locations; the customers who match today become a fixed list."), start);
  async function open() {
    replace(area, loading("Loading your store's fields and values…"));
    let vocab;
    try {
      vocab = await loadVocabulary(ctx.api);
    } catch (error) {
      replace(area, errorMessage(error, "The condition builder could not be loaded"));
      return;
    }
    const name = h("input", { name: "name", type: "text", required: true, maxlength: 255, placeholder: "e.g. VIPs on 1 December" });
    const panel = conditionEditorPanel(ctx, vocab, { condition: { feature: "order_count", op: ">=", value: 2 } });
    const feedback = h("div", { "aria-live": "polite" });
    const form = h("form", { class: "condition-form", "data-form": "condition-list" }, field("List name", name), panel.element,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Make the list"),
        h("button", { type: "button", class: "secondary", onclick: () => area.replaceWith(conditionListForm(ctx, refresh)) }, "Cancel")), feedback);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(feedback, loading("Making the list…"));
      try {
        const job = await ctx.api.post("/segments/lists", { name: name.value.trim(), condition: panel.condition() });
        const list = await followJob(ctx.api, job, { onProgress: (now) => replace(feedback, loading(`${now.progress}…`)) });
        replace(feedback, h("p", { class: "ok", "data-list-result": "" }, `List “${list.name}” made with ${ctx.fmt.integer(list.member_count)} customers. `,
          h("a", { href: `#/segments/${encodeURIComponent(list.id)}` }, "Open the list")));
        await refresh();
      } catch (error) {
        replace(feedback, panel.showError(error) ? h("p", { class: "error" }, "Not made: fix the rule marked above.") : errorMessage(error, "The list was not made"));
      }
    });
    replace(area, form);
    name.focus();
  }
  return area;
}

function makeListForm(segments, ctx, refresh, onLists) {
  const how = h("select", { name: "how", "aria-label": "What the list holds" },
    Object.entries(OPERATIONS).map(([key, label]) => h("option", { value: key }, label)));
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 255, placeholder: "e.g. Black Friday buyers, frozen" });
  let first = operandSelect(segments, { name: "first" });
  let second = operandSelect(segments, { name: "second", selected: segments[1]?.id });
  const secondField = field("Second segment or list", second);
  const feedback = h("div", { "aria-live": "polite" });
  // The new list can be combined in turn: both pickers offer it.
  onLists.push((latest) => {
    const offer = (select) => {
      const next = operandSelect(latest, { name: select.name, selected: select.value });
      select.replaceWith(next);
      return next;
    };
    [first, second] = [offer(first), offer(second)];
  });
  const showSecond = () => { secondField.style.display = how.value === "snapshot" ? "none" : ""; };
  how.addEventListener("change", showSecond);
  showSecond();
  const form = h("form", { class: "inline-form", "data-form": "make-list" },
    field("The list holds", how), field("First segment or list", first), secondField, field("List name", name),
    h("button", { type: "submit" }, "Make the list"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim() };
    if (how.value === "snapshot") body.snapshot_of = first.value;
    else {
      if (first.value === second.value) {
        replace(feedback, errorMessage(new Error("Pick two different segments or lists.")));
        return;
      }
      body.set_operation = how.value;
      body.segment_ids = [first.value, second.value];
    }
    replace(feedback, loading("Making the list…"));
    try {
      const job = await ctx.api.post("/segments/lists", body);
      const list = await followJob(ctx.api, job, { onProgress: (now) => replace(feedback, loading(`${now.progress}…`)) });
      replace(feedback, h("p", { class: "ok", "data-list-result": "" }, `List “${list.name}” made with ${ctx.fmt.integer(list.member_count)} customers. `,
        h("a", { href: `#/segments/${encodeURIComponent(list.id)}` }, "Open the list")));
      await refresh();
    } catch (error) {
      replace(feedback, errorMessage(error, "The list was not made"));
    }
  });
  return form;
}

function uploadForm(ctx) {
  const { api, fmt } = ctx;
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 255, placeholder: "e.g. Event attendees" });
  const file = h("input", { type: "file", name: "file", accept: ".csv,text/csv", required: true });
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form", "data-form": "upload" },
    h("p", { class: "hint" }, "A CSV with a column named customer_id (numeric Shopify customer ids) or email (email addresses), one customer per row."),
    field("List name", name), field("CSV file", file), h("button", { type: "submit" }, "Upload and create list"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      replace(feedback, errorMessage(new Error("Choose a CSV file first.")));
      return;
    }
    try {
      replace(feedback, loading("Requesting an upload…"));
      const upload = await api.post("/uploads");
      if (chosen.size > upload.max_bytes) throw new Error(`The file is ${fmt.integer(chosen.size)} bytes; at most ${fmt.integer(upload.max_bytes)} are accepted.`);
      replace(feedback, loading("Sending the file…"));
      await postToPresignedForm(upload, chosen);
      replace(feedback, loading("Matching customers…"));
      const job = await api.post("/segments/lists", { name: name.value.trim(), upload_id: upload.upload_id });
      const list = await followJob(api, job, { onProgress: (now) => replace(feedback, loading(now.status === "queued" ? "Matching customers…" : `${now.progress}…`)) });
      const report = list.upload;
      const problems = [...(report?.unmatched_rows || []).map((r) => ({ ...r, kind: "not a customer" })), ...(report?.malformed_rows || []).map((r) => ({ ...r, kind: "malformed" }))];
      replace(feedback,
        h("p", { class: "ok", "data-upload-result": "" }, `List “${list.name}” created with ${fmt.integer(list.member_count)} customers. `,
          h("a", { href: `#/segments/${encodeURIComponent(list.id)}` }, "Open the list")),
        report ? h("p", {}, `${fmt.integer(report.matched)} matched, ${fmt.integer(report.unmatched)} unmatched, ${fmt.integer(report.malformed)} malformed, ${fmt.integer(report.duplicates)} duplicates.`) : null,
        problems.length ? table([
          { label: "Line", numeric: true, value: (r) => r.line },
          { label: "Value", value: (r) => r.value },
          { label: "Problem", value: (r) => `${r.kind}: ${r.reason}` },
        ], problems, { caption: "Rows not added" }) : null);
    } catch (error) {
      replace(feedback, errorMessage(error, "The list was not created"));
    }
  });
  return form;
}

function exportForm(segments, ctx) {
  const feedback = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline-form", "data-form": "export" },
    field("Segment", segmentSelect(segments)),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "bom" }), " For Excel on Windows (UTF-8 BOM)"),
    h("button", { type: "submit" }, "Export CSV"), feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(feedback, loading("Writing the CSV…"));
    try {
      const job = await ctx.api.post(`/segments/${encodeURIComponent(form.elements.segment_id.value)}/exports`,
        { metrics: ["total_spent", "order_count"], bom: form.elements.bom.checked });
      const exported = await followJob(ctx.api, job, { onProgress: (now) => replace(feedback, loading(`${now.progress}…`)) });
      replace(feedback, h("p", { class: "ok" }, `${ctx.fmt.integer(exported.rows)} rows: `,
        h("a", { href: s3Url(exported.url), download: "segment-members.csv", "data-export-link": "" }, "download the CSV"),
        ` (valid until ${ctx.fmt.dateTime(exported.expires_at)}).`));
    } catch (error) {
      replace(feedback, errorMessage(error, "The export failed"));
    }
  });
  return form;
}
