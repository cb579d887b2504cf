/**
 * The REST API as the pages use it: JSON in and out, a session token per request, and
 * every failure turned into an ApiError whose message is already words a merchant can act
 * on (the API's {"error": {code, message, field}}, or what went wrong on the way).
 */

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error", field = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function createApi(apiBase, tokenSource) {
  const base = apiBase.replace(/\/+$/, "");

  async function request(method, path, body) {
    const headers = { Authorization: `Bearer ${await tokenSource()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(`The seglift API could not be reached (${error.message}). Check your connection and try again.`);
    }
    const text = await response.text();
    let payload = null;
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch {
        payload = null;
      }
    }
    if (!response.ok) {
      const error = payload?.error;
      const message = error?.message
        ? error.message.charAt(0).toUpperCase() + error.message.slice(1)
        : payload?.message || `The API answered HTTP ${response.status}.`;
      throw new ApiError(message, {
        status: response.status,
        code: error?.code || "http_error",
        field: error?.field || null,
      });
    }
    return payload;
  }

  return {
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    patch: (path, body) => request("PATCH", path, body),
    delete: (path) => request("DELETE", path),
  };
}

/** A query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
