/**
 * Lists and exports. Upload a CSV of customers (numeric Shopify ids or email addresses) to
 * make a list segment: the API returns a presigned upload URL, the browser sends the file
 * straight to storage, then the list is created and the rows that did not match are shown.
 * Export any segment's members as a CSV download.
 */

import { empty, errorMessage, field, h, loading, replace, section, table } from "../dom.js";
import { postToPresignedForm, s3Url } from "../s3.js";
import { allSegments, segmentSelect } from "./common.js";

export async function render(container, _params, ctx) {
  let segments = [];
  let segmentsError = null;
  try {
    segments = await allSegments(ctx.api);
  } catch (error) {
    segmentsError = error;
  }
  replace(container, h("h1", {}, "Lists & exports"),
    section("Upload a customer list (CSV)", uploadForm(ctx)),
    section("Export a segment (CSV)", segmentsError ? errorMessage(segmentsError) : segments.length ? exportForm(segments, ctx) : empty("No segments to export yet.")));
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
      const list = await api.post("/segments/lists", { name: name.value.trim(), upload_id: upload.upload_id });
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
      const exported = await ctx.api.post(`/segments/${encodeURIComponent(form.elements.segment_id.value)}/exports`,
        { metrics: ["total_spent", "order_count"], bom: form.elements.bom.checked });
      replace(feedback, h("p", { class: "ok" }, `${ctx.fmt.integer(exported.rows)} rows: `,
        h("a", { href: s3Url(exported.url), download: "segment-members.csv", "data-export-link": "" }, "download the CSV"),
        ` (valid until ${ctx.fmt.dateTime(exported.expires_at)}).`));
    } catch (error) {
      replace(feedback, errorMessage(error, "The export failed"));
    }
  });
  return form;
}
