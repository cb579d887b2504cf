/**
 * The dashboard's entry point: read config.json, authenticate (auth.js), learn the shop's
 * currency and time zone (GET /shop) for every number and date, then route by the URL hash
 * to one page module at a time. Each page renders into its own container and may return a
 * cleanup function (stop polling); charts are disposed on every route change.
 */

import { createApi } from "./api.js";
import { createTokenSource, loadConfig } from "./auth.js";
import { disposeCharts } from "./charts.js";
import { errorMessage, h, loading, replace } from "./dom.js";
import { createFormatter } from "./format.js";
import { matchRoute } from "./router.js";
import { configureS3 } from "./s3.js";

const routes = [
  { pattern: "/home", nav: "home", title: "Home", load: () => import("./pages/home.js") },
  { pattern: "/segments", nav: "segments", title: "Segments", load: () => import("./pages/segments.js") },
  { pattern: "/segments/:id", nav: "segments", title: "Segment", load: () => import("./pages/segment.js") },
  { pattern: "/journeys", nav: "journeys", title: "Journeys", load: () => import("./pages/journeys.js") },
  { pattern: "/journeys/:id", nav: "journeys", title: "Journey", load: () => import("./pages/journeys.js") },
  { pattern: "/cohorts", nav: "cohorts", title: "Cohorts", load: () => import("./pages/cohorts.js") },
  { pattern: "/predictions", nav: "predictions", title: "Predictions", load: () => import("./pages/predictions.js") },
  { pattern: "/measurements", nav: "measurements", title: "Measurements", load: () => import("./pages/measurements.js") },
  { pattern: "/tag-jobs", nav: "tag-jobs", title: "Tag jobs", load: () => import("./pages/tagjobs.js") },
  { pattern: "/lists", nav: "lists", title: "Lists & exports", load: () => import("./pages/lists.js") },
  { pattern: "/sync", nav: "sync", title: "Sync", load: () => import("./pages/sync.js") },
];

const main = document.getElementById("main");
let cleanup = null;
let firstRender = true;

async function show(ctx) {
  if (cleanup) cleanup();
  cleanup = null;
  disposeCharts();
  const found = matchRoute(routes, location.hash);
  if (!found) {
    location.replace("#/home");
    return;
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === found.route.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${found.route.title} · seglift`;
  // Embedded in the admin, App Bridge draws the title bar from <ui-title-bar>.
  document.querySelector("ui-title-bar")?.setAttribute("title", found.route.title);
  const container = h("div", { class: "page", "data-page": found.route.nav });
  replace(main, container);
  replace(container, loading());
  if (!firstRender) main.focus({ preventScroll: false });
  firstRender = false;
  try {
    const page = await found.route.load();
    const stop = await page.render(container, found.params, ctx);
    if (typeof stop === "function") {
      if (container.isConnected) cleanup = stop;
      else stop();
    }
  } catch (error) {
    replace(container, h("h1", {}, found.route.title), errorMessage(error, "This page could not be shown"));
  }
}

/**
 * In the Shopify admin the app's navigation belongs in the admin's sidebar (App Bridge's
 * <ui-nav-menu>, the first link being the app's home) and the page title in the admin's
 * title bar (<ui-title-bar>); the app's own header then only carries the shop line.
 */
function embedInAdmin() {
  const links = [...document.querySelectorAll("[data-nav]")].map((link, index) =>
    h("a", { href: link.getAttribute("href"), rel: index === 0 ? "home" : null }, link.textContent));
  document.body.append(h("ui-nav-menu", {}, links), h("ui-title-bar", { title: "seglift" }));
  document.body.classList.add("embedded");
}

async function boot() {
  let ctx;
  try {
    const config = await loadConfig();
    configureS3(config);
    const api = createApi(config.apiBase, await createTokenSource(config));
    const shop = await api.get("/shop");
    const fmt = createFormatter({ currency: shop.currency, timezone: shop.timezone });
    document.getElementById("shop-name").textContent = `${shop.shop} · ${shop.currency} · ${shop.timezone}`;
    ctx = { api, fmt, shop, config, navigate: (hash) => { location.hash = hash; } };
    if (config.mode === "shopify") embedInAdmin();
  } catch (error) {
    replace(main, h("h1", {}, "seglift"), errorMessage(error, "The dashboard could not start"));
    return;
  }
  window.addEventListener("hashchange", () => show(ctx));
  await show(ctx);
  document.body.dataset.ready = "true";
}

boot();
