// The graph canvas: Cytoscape.js with the dagre layout (left to right).
// Colours always come with words: node labels say their side or state,
// edge labels their confidence, and a legend lists both.
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { el } from "./dom.js";

cytoscape.use(dagre);

export const COLOURS = {
  root: "#2e7d32",
  downstream: "#1565c0",
  upstream: "#6a1b9a",
  reached: "#f9a825",
  included: "#00838f",
  denied: "#c62828",
  excluded: "#9e9e9e",
};

const STYLE = [
  { selector: "node", style: {
    "background-color": "data(colour)", label: "data(label)", "font-size": 10,
    "text-wrap": "wrap", "text-max-width": 190, "text-valign": "bottom", "text-margin-y": 4,
    color: "#212121", "text-background-color": "#ffffff", "text-background-opacity": 0.85,
    "text-background-padding": 2, width: 22, height: 22, "border-width": 2, "border-color": "#ffffff",
  } },
  { selector: "node[?table]", style: { shape: "round-rectangle", width: 30 } },
  { selector: "node:selected", style: { "border-color": "#000000", "border-width": 4 } },
  { selector: "node.picked", style: { "border-color": "#000000", "border-width": 4, "border-style": "double" } },
  { selector: "node.path", style: { "border-color": "#ff6f00", "border-width": 5 } },
  { selector: "edge", style: {
    width: 2, "line-color": "#78909c", "target-arrow-color": "#78909c", "target-arrow-shape": "triangle",
    "curve-style": "bezier", label: "data(label)", "font-size": 8, color: "#455a64",
    "text-rotation": "autorotate", "text-background-color": "#ffffff", "text-background-opacity": 0.8,
  } },
  { selector: "edge[confidence = 'medium']", style: { "line-style": "dashed" } },
  { selector: "edge[confidence = 'low']", style: { "line-style": "dotted", width: 1.5 } },
  { selector: "edge[kind = 'excluded']", style: { "line-color": "#bdbdbd", "target-arrow-color": "#bdbdbd", "line-style": "dashed" } },
  { selector: "edge:selected", style: { "line-color": "#000000", "target-arrow-color": "#000000", width: 3 } },
  { selector: "edge.path", style: { "line-color": "#ff6f00", "target-arrow-color": "#ff6f00", width: 4 } },
];

export function shortName(uri) {
  const [table, field] = uri.split("#", 2);
  const name = table.includes("://") ? table.slice(table.indexOf("://") + 3) : table;
  return field ? `${name}#${field}` : name;
}

export function makeGraph(container, { onNode, onEdge, onBackground } = {}) {
  const cy = cytoscape({
    container, style: STYLE, wheelSensitivity: 0.3, boxSelectionEnabled: false,
    minZoom: 0.1, maxZoom: 3,
  });
  cy.on("tap", "node", (event) => onNode && onNode(event.target.id(), event.target));
  cy.on("tap", "edge", (event) => onEdge && onEdge(event.target.data(), event.target));
  cy.on("tap", (event) => { if (event.target === cy && onBackground) onBackground(); });
  return cy;
}

export function layout(cy, fit = true) {
  // Ranks left to right, far enough apart for a label; never zoomed past
  // 1:1 so a small graph does not blow its labels up.
  cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 46, rankSep: 210, edgeSep: 12, fit,
    padding: 30, animate: false }).run();
  if (fit && cy.zoom() > 1) {
    cy.zoom(1);
    cy.center();
  }
}

export function legend(entries) {
  return el("ul", { class: "legend", "aria-label": "Legend" },
    entries.map(([key, word]) => el("li", {},
      el("span", { class: "swatch", style: `background:${COLOURS[key] || key}`, "aria-hidden": "true" }),
      word)));
}

export const edgeLegend = () => el("ul", { class: "legend", "aria-label": "Edge legend" },
  el("li", {}, el("span", { class: "line line-high", "aria-hidden": "true" }), "high (solid)"),
  el("li", {}, el("span", { class: "line line-medium", "aria-hidden": "true" }), "medium (dashed)"),
  el("li", {}, el("span", { class: "line line-low", "aria-hidden": "true" }), "low (dotted)"));
