/**
 * Building the page from data without innerHTML (API text is never parsed as HTML), plus
 * the three states every page shows the same way: loading, empty, and an error in words.
 */

/** h("a", {href: "#/x", class: "c", onclick: fn}, "text", child, [more]) -> Element */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else if (name === "value" || name === "checked" || name === "selected") {
      element[name] = value;
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(container, ...children) {
  container.replaceChildren();
  append(container, children);
  return container;
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/**
 * An error the reader can act on, in the API's words. The field it concerns is kept as a
 * data attribute (for highlighting), never shown: merchants do not know request fields.
 */
export function errorMessage(error, context = "") {
  const prefix = context ? `${context}: ` : "";
  return h("p", { class: "error", role: "alert", "data-field": error?.field || null }, `${prefix}${error?.message || String(error)}`);
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** A label wrapping its control, so clicking the text focuses it and screen readers pair them. */
export function field(label, control, hint = "") {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control,
    hint ? h("span", { class: "hint" }, hint) : null);
}

/** A table from column specs [{label, value: row => node|string, numeric}] */
export function table(columns, rows, { caption = "" } = {}) {
  // Focusable, so a table wider than the screen scrolls from the keyboard too.
  return h("div", { class: "table-wrap", tabindex: "0" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.numeric ? "num" : "" }, c.value(row))))))));
}

/** Run `fn` at most once per `ms` of quiet (typing in the condition editor). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * A short confirmation after an action ("Saved"), as the Shopify admin shows it: App
 * Bridge's toast when embedded (window.shopify.toast), else the same dark toast here.
 */
export function toast(message, { error = false } = {}) {
  if (window.shopify?.toast?.show) {
    window.shopify.toast.show(message, { isError: error, duration: 4000 });
    return;
  }
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const note = h("div", { class: `toast${error ? " toast-error" : ""}` }, message);
  region.append(note);
  setTimeout(() => note.remove(), 4000);
}
