/**
 * Where the API is and how each request proves which shop it acts for. Both modes live
 * here so the difference is obvious:
 *
 * - "development": config.json (written by `seglift serve`) carries a development session
 *   token the local cloud signed; it is sent as is.
 * - "shopify": the app runs embedded in the Shopify admin. Shopify requires App Bridge
 *   from its CDN; `shopify.idToken()` returns a fresh one-minute session token, fetched
 *   for every request rather than cached, as Shopify recommends.
 */

const APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js";

/** Read config.json beside index.html; a clear error when it is missing or incomplete. */
export async function loadConfig() {
  let response;
  try {
    response = await fetch("config.json", { cache: "no-store" });
  } catch (error) {
    throw new Error(`config.json could not be loaded (${error.message}): is the dashboard served over HTTP?`);
  }
  if (!response.ok) {
    throw new Error(`config.json is missing (HTTP ${response.status}): write it beside index.html (see README, Dashboard).`);
  }
  const config = await response.json();
  if (!config.apiBase) throw new Error('config.json has no "apiBase": set it to the API URL.');
  if (config.mode === "development" && !config.token) {
    throw new Error('config.json is in development mode without a "token": start the dashboard with `seglift serve`.');
  }
  if (config.mode === "shopify" && !config.apiKey) {
    throw new Error('config.json is in shopify mode without an "apiKey" (the app\'s client id).');
  }
  if (config.mode !== "development" && config.mode !== "shopify") {
    throw new Error(`config.json "mode" must be "development" or "shopify", not ${JSON.stringify(config.mode)}.`);
  }
  return config;
}

function loadAppBridge(apiKey) {
  if (window.shopify?.idToken) return Promise.resolve(window.shopify);
  const meta = document.createElement("meta");
  meta.name = "shopify-api-key";
  meta.content = apiKey;
  document.head.prepend(meta);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = APP_BRIDGE_URL;
    script.onload = () => resolve(window.shopify);
    script.onerror = () => reject(new Error("Shopify App Bridge could not be loaded: open the app from the Shopify admin."));
    meta.after(script);
  });
}

/** A function returning the session token for the next request. */
export async function createTokenSource(config) {
  if (config.mode === "development") {
    return async () => config.token;
  }
  const shopify = await loadAppBridge(config.apiKey);
  return () => shopify.idToken();
}
