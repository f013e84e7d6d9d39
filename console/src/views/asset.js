// /ui/asset?uri=URI : the asset's neighbourhood, upstream and downstream.
// The URL holds every setting (hops, filters, collapse, path), so a link
// reproduces the view. At most MAX_DRAWN nodes are drawn; the rest stay
// behind "expand" with their counts (the server bounds each request too).
import { get } from "../api.js";
import { el, clear, assetUrl, notice, fmtTime, badge } from "../dom.js";
import { makeGraph, layout, legend, edgeLegend, shortName, COLOURS } from "../graph.js";

const MAX_DRAWN = 300;
const KINDS = ["EXACT_MATCH", "CONTAINS", "NO_MATCH", "IDENTITY", "TRANSFORMATION", "AGGREGATION",
  "MASKED", "JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL", "CONFIG", "STATIC"];

function readSettings() {
  const p = new URLSearchParams(location.search);
  return {
    uri: p.get("uri") || "",
    hops: p.get("hops") || "2",
    min_confidence: p.get("min_confidence") || "low",
    kind: p.get("kind") || "",
    namespace: p.getAll("namespace"),
    collapse: p.get("collapse") === "1",
    direction: p.get("direction") || "both",
    path: p.get("path") || "",
  };
}

function writeSettings(s) {
  const p = new URLSearchParams({ uri: s.uri });
  if (s.hops !== "2") p.set("hops", s.hops);
  if (s.min_confidence !== "low") p.set("min_confidence", s.min_confidence);
  if (s.kind) p.set("kind", s.kind);
  s.namespace.forEach((n) => p.append("namespace", n));
  if (s.collapse) p.set("collapse", "1");
  if (s.direction !== "both") p.set("direction", s.direction);
  if (s.path) p.set("path", s.path);
  history.replaceState(null, "", `/ui/asset?${p}`);
}

function select(id, label, options, value) {
  return [el("label", { for: id, text: label }),
    el("select", { id, name: id }, options.map(([v, text]) => el("option", { value: v, selected: v === value, text })))];
}

export async function assetView(main) {
  const s = readSettings();
  if (!s.uri) {
    clear(main).append(notice("No asset given: search for one first.", "error"),
      el("a", { href: "/ui/", text: "Search" }));
    return;
  }
  const nodes = new Map(); // id -> node json
  let pathEdges = []; // [src, dst] of the highlighted path
  const edges = new Map(); // id -> edge json
  const namespacesSeen = new Set(s.namespace);
  const status = el("p", { id: "status", role: "status", class: "count" });
  const details = el("aside", { id: "details", class: "card details", "aria-live": "polite", "aria-label": "Details" },
    el("p", { class: "muted", text: "Select a node or an edge to see its details. Click a node with more neighbours to expand it." }));
  const canvas = el("div", { id: "graph", class: "graph", role: "img", "aria-label": `Lineage graph around ${s.uri}; the table below lists the same nodes` });
  const list = el("section", { "aria-labelledby": "nodes-title" });

  // -- controls --------------------------------------------------------------
  const nsSelect = el("select", { id: "namespace", name: "namespace", multiple: true, size: 4 });
  const pathInput = el("input", { id: "path", name: "path", type: "text", value: s.path, placeholder: "asset URI", autocomplete: "off" });
  const controls = el("form", { class: "controls", id: "controls", "aria-label": "View settings" },
    el("div", {}, ...select("direction", "Direction", [["both", "up- and downstream"], ["downstream", "downstream"], ["upstream", "upstream"]], s.direction)),
    el("div", {}, el("label", { for: "hops", text: "Hops" }),
      el("input", { id: "hops", name: "hops", type: "number", min: 1, max: 10, value: s.hops })),
    el("div", {}, ...select("min_confidence", "Min confidence", [["low", "low"], ["medium", "medium"], ["high", "high"]], s.min_confidence)),
    el("div", {}, ...select("kind", "Kind", [["", "any"], ...KINDS.map((k) => [k, k])], s.kind)),
    el("div", {}, el("label", { for: "namespace", text: "Namespaces (none = all)" }), nsSelect),
    el("div", { class: "check" }, el("input", { id: "collapse", name: "collapse", type: "checkbox", checked: s.collapse }),
      el("label", { for: "collapse", text: "Collapse fields into tables" })),
    el("div", {}, el("label", { for: "path", text: "Highlight path to/from" }), pathInput),
    el("div", {}, el("button", { type: "submit", id: "apply", text: "Apply" })));
  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(controls);
    s.direction = form.get("direction");
    s.hops = String(form.get("hops") || "2");
    s.min_confidence = form.get("min_confidence");
    s.kind = form.get("kind");
    s.namespace = [...nsSelect.selectedOptions].map((o) => o.value);
    s.collapse = controls.querySelector("#collapse").checked;
    s.path = pathInput.value.trim();
    writeSettings(s);
    load();
  });
  controls.querySelector("#min_confidence").addEventListener("change", () => controls.requestSubmit());
  controls.querySelector("#collapse").addEventListener("change", () => controls.requestSubmit());

  clear(main).append(
    el("h1", { class: "uri" }, el("span", { class: "muted", text: "Asset " }), el("span", { id: "asset-uri", text: s.uri })),
    controls,
    el("div", { class: "legends" },
      legend([["root", "this asset"], ["upstream", "upstream (feeds it)"], ["downstream", "downstream (fed by it)"]]),
      edgeLegend()),
    status,
    el("div", { class: "workspace" }, canvas, details),
    list);

  const cy = makeGraph(canvas, {
    onNode: (id) => { showNode(id); if ((nodes.get(id) || {}).hidden > 0) expand(id); },
    onEdge: (data) => showEdge(data.id),
    onBackground: () => {},
  });

  function params(uri, hops, limit) {
    const p = { uri, hops, min_confidence: s.min_confidence, direction: s.direction, limit };
    if (s.kind) p.kind = s.kind;
    if (s.namespace.length) p.namespace = s.namespace;
    if (s.collapse) p.collapse = "1";
    return p;
  }

  function label(n) {
    const side = n.side === "root" ? "this asset" : `${n.side} · ${n.hops} hop${n.hops === 1 ? "" : "s"}`;
    const more = n.hidden > 0 ? ` · +${n.hidden} more` : "";
    const fields = n.fields ? ` · ${n.fields} fields` : "";
    return `${shortName(n.id)}\n${side}${fields}${more}`;
  }

  function edgeLabel(e) {
    const merged = e.edges && e.edges.length > 1 ? ` ×${e.edges.length}` : "";
    return `${e.confidence} · ${e.kinds.join(", ")}${merged}`;
  }

  function draw(fit) {
    cy.elements().remove();
    cy.add([...nodes.values()].map((n) => ({ group: "nodes", data: {
      id: n.id, label: label(n), colour: COLOURS[n.side] || COLOURS.reached, table: !n.field && n.id.includes("://") ? 1 : 0 } })));
    cy.add([...edges.values()].filter((e) => nodes.has(e.src) && nodes.has(e.dst)).map((e) => ({
      group: "edges", data: { id: e.id, source: e.src, target: e.dst, label: edgeLabel(e), confidence: e.confidence } })));
    layout(cy, fit);
    for (const [src, dst] of pathEdges) {
      cy.$id(`${src} -> ${dst}`).addClass("path");
      cy.$id(src).addClass("path");
      cy.$id(dst).addClass("path");
    }
    renderList();
    const hidden = [...nodes.values()].reduce((sum, n) => sum + (n.hidden || 0), 0);
    status.textContent = `${nodes.size} assets and ${edges.size} edges drawn` +
      (hidden ? `; ${hidden} more behind "expand"` : "") + (nodes.size >= MAX_DRAWN ? ` (at most ${MAX_DRAWN} drawn)` : "");
    for (const n of nodes.values()) namespacesSeen.add(n.namespace);
    clear(nsSelect).append(...[...namespacesSeen].sort().map((ns) => el("option", { value: ns, selected: s.namespace.includes(ns), text: ns })));
  }

  function renderList() {
    const rows = [...nodes.values()].sort((a, b) => (a.side === "root" ? -1 : 0) - (b.side === "root" ? -1 : 0) || a.hops - b.hops || a.id.localeCompare(b.id));
    clear(list).append(el("h2", { id: "nodes-title", text: "Assets in view" }),
      el("table", { class: "grid", id: "node-table" },
        el("thead", {}, el("tr", {}, ["Asset", "Side", "Hops", "More", ""].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows.map((n) => el("tr", { dataset: { id: n.id } },
          el("td", {}, el("button", { type: "button", class: "linklike", text: n.id, onclick: () => { showNode(n.id); cy.$id(n.id).select(); } })),
          el("td", {}, badge(n.side, n.side)),
          el("td", { class: "num", text: n.hops }),
          el("td", { class: "num", text: n.hidden || "" }),
          el("td", {}, n.hidden > 0 ? el("button", { type: "button", class: "expand", text: `Expand (${n.hidden})`, onclick: () => expand(n.id) }) : null,
            " ", el("a", { href: assetUrl(n.id), text: "Open" })))))));
  }

  async function load() {
    status.textContent = "Loading...";
    try {
      const found = await get("neighbourhood", params(s.uri, s.hops, 200));
      nodes.clear();
      edges.clear();
      pathEdges = [];
      found.nodes.forEach((n) => nodes.set(n.id, n));
      found.edges.forEach((e) => edges.set(e.id, e));
      if (s.path) await addPath(s.path);
      draw(true);
      // For tests and the benchmark: drawn, and how long since navigation.
      if (!document.body.dataset.renderMs) document.body.dataset.renderMs = String(Math.round(performance.now()));
      document.body.dataset.loaded = String(Date.now());
    } catch (error) {
      status.textContent = "";
      clear(details).append(notice(error.message, "error"));
    }
  }

  async function expand(id) {
    const room = MAX_DRAWN - nodes.size;
    const node = nodes.get(id);
    if (room <= 0) {
      status.textContent = `At most ${MAX_DRAWN} assets are drawn: open ${shortName(id)} on its own to go further.`;
      return;
    }
    try {
      const found = await get("neighbourhood", params(id, 1, Math.min(500, room + 1)));
      let skipped = 0;
      for (const n of found.nodes) {
        if (nodes.has(n.id)) continue;
        if (nodes.size >= MAX_DRAWN) { skipped += 1; continue; }
        nodes.set(n.id, { ...n, hops: (node ? node.hops : 0) + 1, side: n.side === "root" ? node.side : n.side });
      }
      found.edges.forEach((e) => edges.set(e.id, e));
      const here = found.nodes.find((n) => n.id === id);
      if (node) node.hidden = (here ? here.hidden : 0) + skipped;
      draw(true);
      showNode(id);
    } catch (error) {
      clear(details).append(notice(error.message, "error"));
    }
  }

  async function addPath(other) {
    let found = await get("path", { src: s.uri, dst: other, min_confidence: s.min_confidence });
    let side = "downstream";
    if (!found.found) {
      found = await get("path", { src: other, dst: s.uri, min_confidence: s.min_confidence });
      side = "upstream";
    }
    if (!found.found) {
      status.textContent = `No path between ${s.uri} and ${other}.`;
      return;
    }
    // An edge of a held asset (the table of a field, a field of a table) is
    // drawn from the asset the path holds, so the path stays connected.
    let held = found.src;
    pathEdges = [];
    found.edges.forEach((e, i) => {
      const hops = side === "downstream" ? i + 1 : found.edges.length - i - 1;
      if (!nodes.has(held)) nodes.set(held, { id: held, namespace: "", side, hops: side === "downstream" ? i : hops + 1, hidden: 0 });
      if (!nodes.has(e.dst)) nodes.set(e.dst, { id: e.dst, namespace: "", side, hops, hidden: 0 });
      const id = `${held} -> ${e.dst}`;
      if (!edges.has(id)) edges.set(id, { id, src: held, dst: e.dst, confidence: e.confidence, kinds: e.kinds, edges: [`${e.src} -> ${e.dst}`] });
      pathEdges.push([held, e.dst]);
      held = e.dst;
    });
  }

  function showNode(id) {
    const n = nodes.get(id);
    if (!n) return;
    clear(details).append(
      el("h2", { text: "Asset" }), el("p", { class: "uri", text: n.id }),
      el("dl", {},
        el("dt", { text: "Namespace" }), el("dd", { text: n.namespace || "-" }),
        el("dt", { text: "Side" }), el("dd", {}, badge(n.side, n.side)),
        el("dt", { text: "Hops from here" }), el("dd", { text: n.hops }),
        n.fields ? [el("dt", { text: "Fields merged" }), el("dd", { text: n.fields })] : null,
        el("dt", { text: "Not drawn" }), el("dd", { text: n.hidden ? `${n.hidden} neighbours` : "none" })),
      el("p", {},
        n.hidden > 0 ? el("button", { type: "button", text: `Expand (${n.hidden})`, onclick: () => expand(id) }) : null, " ",
        el("a", { href: assetUrl(n.id), text: "Open this asset" }), " ",
        id !== s.uri ? el("a", { href: assetUrl(s.uri, { path: id }), text: "Highlight path" }) : null));
  }

  async function showEdge(id) {
    const e = edges.get(id);
    if (!e) return;
    clear(details).append(el("h2", { text: "Edge" }), el("p", { class: "uri", text: `${e.src} → ${e.dst}` }),
      el("p", {}, badge(e.confidence, e.confidence), " ", e.kinds.join(", ")));
    const ids = (e.edges && e.edges.length ? e.edges : [id]).slice(0, 10);
    for (const edgeId of ids) {
      try {
        const d = await get("edge", { id: edgeId });
        const evidence = Object.entries(d.evidence || {});
        details.append(el("section", { class: "edge-detail" },
          ids.length > 1 ? el("h3", { text: edgeId }) : null,
          el("dl", {},
            el("dt", { text: "Kinds" }), el("dd", { text: (d.kinds || []).join(", ") }),
            el("dt", { text: "Confidence" }), el("dd", { text: `${d.confidence} (score ${d.score})` }),
            el("dt", { text: "First seen" }), el("dd", { text: fmtTime(d.first_seen) }),
            el("dt", { text: "Last seen" }), el("dd", { text: fmtTime(d.last_seen) }),
            el("dt", { text: "Version" }), el("dd", { text: d.version })),
          el("table", { class: "grid small" }, el("caption", { text: "Evidence" }),
            el("tbody", {}, evidence.map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { class: "num", text: v })))))));
      } catch (error) {
        details.append(notice(`${edgeId}: ${error.message}`, "error"));
      }
    }
    if (e.edges && e.edges.length > ids.length) details.append(el("p", { text: `and ${e.edges.length - ids.length} more field edges` }));
  }

  await load();
}
