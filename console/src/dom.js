// Tiny DOM helpers. Text is always set with textContent: an asset name,
// a reason or anything else from the server is data, never markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function fmtTime(ms) {
  if (ms === undefined || ms === null || ms === "") return "";
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace(".000Z", "Z");
}

// A link to an asset's view (the URI goes into the query string, encoded).
export function assetLink(uri, text) {
  return el("a", { href: assetUrl(uri), class: "asset", text: text ?? uri });
}

export function assetUrl(uri, extra = {}) {
  const params = new URLSearchParams({ uri, ...extra });
  return `/ui/asset?${params}`;
}

export function zoneUrl(policy) {
  return `/ui/zones/${encodeURIComponent(policy)}`;
}

// A state or confidence as a coloured swatch with its word next to it.
export function badge(kind, word) {
  return el("span", { class: `badge badge-${kind}` }, el("span", { class: "swatch", "aria-hidden": "true" }), word);
}

export function notice(text, kind = "info") {
  return el("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status", text });
}
