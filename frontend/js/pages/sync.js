/**
 * Sync status: the shop, its plan, currency and time zone, and how its last sync of
 * customers and orders from Shopify went; "Sync now" starts one and the page follows it
 * until it finishes.
 */

import { errorMessage, h, loading, replace, section } from "../dom.js";

const POLL_MS = 2000;
// Stop following after ten minutes; the status shown stays correct on the next visit.
const MAX_POLLS = 300;
const RUNNING = new Set(["requested", "running", "queued", "started"]);

export async function render(container, _params, ctx) {
  const { api, fmt } = ctx;
  const statusArea = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button" }, "Sync now");
  const feedback = h("div", { "aria-live": "polite" });
  const timer = { id: null };
  replace(container, h("h1", {}, "Sync"), section("Shop", statusArea, h("div", { class: "actions" }, button), feedback));

  function show(shop) {
    const sync = shop.sync;
    replace(statusArea, h("dl", { class: "facts" },
      h("dt", {}, "Shop"), h("dd", {}, shop.shop),
      h("dt", {}, "Plan"), h("dd", {}, shop.plan),
      h("dt", {}, "Currency"), h("dd", {}, shop.currency),
      h("dt", {}, "Time zone"), h("dd", {}, shop.timezone),
      h("dt", {}, "Installed"), h("dd", {}, fmt.dateTime(shop.installed_at)),
      h("dt", {}, "Last sync"), h("dd", { "data-sync-status": sync.status }, sync.status),
      h("dt", {}, "Started"), h("dd", {}, fmt.dateTime(sync.started_at)),
      h("dt", {}, "Finished"), h("dd", {}, fmt.dateTime(sync.finished_at)),
      h("dt", {}, "Duration"), h("dd", {}, sync.duration_ms === null || sync.duration_ms === undefined ? "–" : `${fmt.decimal(sync.duration_ms / 1000)} s`),
      h("dt", {}, "Records"), h("dd", {}, fmt.integer(sync.records))),
    sync.error ? h("p", { class: "error", role: "alert" }, `The last sync failed: ${sync.error}`) : null);
  }

  async function follow(previousStart, polls = 0) {
    try {
      const shop = await api.get("/shop");
      if (!container.isConnected) return;
      show(shop);
      const moved = shop.sync.started_at !== previousStart;
      if ((!moved || RUNNING.has(shop.sync.status)) && polls < MAX_POLLS) {
        timer.id = setTimeout(() => follow(previousStart, polls + 1), POLL_MS);
      } else {
        button.disabled = false;
        replace(feedback, h("p", { class: "ok" }, `Sync ${shop.sync.status}.`));
      }
    } catch (error) {
      button.disabled = false;
      replace(feedback, errorMessage(error));
    }
  }

  let shop;
  try {
    shop = await api.get("/shop");
  } catch (error) {
    replace(statusArea, errorMessage(error, "The shop could not be loaded"));
    return;
  }
  show(shop);
  button.addEventListener("click", async () => {
    button.disabled = true;
    replace(feedback, loading("Requesting a sync…"));
    const before = (await api.get("/shop").catch(() => shop)).sync.started_at;
    try {
      await api.post("/shop/sync");
      replace(feedback, loading("Syncing customers and orders from Shopify…"));
      follow(before);
    } catch (error) {
      button.disabled = false;
      replace(feedback, errorMessage(error, "The sync did not start"));
    }
  });
  return () => clearTimeout(timer.id);
}
