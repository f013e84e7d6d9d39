// /ui/zones/POLICY : the policy's zone coloured by state; select many assets,
// preview the cascade of including or excluding them (computed on the
// server), then confirm: one review record each, with reviewer and reason.
import { get, post, download, getSession } from "../api.js";
import { el, clear, assetLink, badge, notice, zoneUrl } from "../dom.js";
import { makeGraph, layout, legend, shortName, COLOURS } from "../graph.js";

const REVIEWER_KEY = "lineage.console.reviewer";
const STATE_WORDS = {
  root: "protected root", reached: "reached, awaiting review", denied: "reached a denied asset (violation)",
  included: "included (confirmed)", excluded: "excluded",
};

export async function zoneView(main, policyId) {
  if (!policyId) return choosePolicy(main);
  const session = await getSession();
  const picked = new Set();
  let data = null;
  const params = new URLSearchParams(location.search);
  const filter = el("input", { id: "filter", type: "search", value: params.get("q") || "", placeholder: "part of a name, or a glob", autocomplete: "off" });
  const status = el("p", { id: "zone-status", class: "count", role: "status" });
  const counts = el("div", { id: "counts" });
  const canvas = el("div", { id: "graph", class: "graph", role: "img", "aria-label": `Zone of ${policyId}; the table below lists the same assets` });
  const table = el("section", { id: "members", "aria-label": "Zone members" });
  const reviewer = el("input", { id: "reviewer", type: "text", autocomplete: "name", value: sessionStorage.getItem(REVIEWER_KEY) || "" });
  const reason = el("input", { id: "reason", type: "text", autocomplete: "off" });
  const selection = el("p", { id: "selection", role: "status", text: "Nothing selected." });
  const previewBox = el("div", { id: "preview", "aria-live": "polite" });
  const actions = el("form", { class: "card actions", id: "review-form", "aria-labelledby": "review-title" },
    el("h2", { id: "review-title", text: "Review the selected assets" }),
    selection,
    session.read_only ? notice("This console is read-only: previews work, reviews are recorded from a worker's console.", "info") : null,
    el("div", { class: "row" },
      el("div", {}, el("label", { for: "reviewer", text: "Reviewer" }), reviewer),
      el("div", { class: "grow" }, el("label", { for: "reason", text: "Reason" }), reason)),
    el("div", { class: "row" },
      el("button", { type: "button", id: "preview-exclude", text: "Preview exclude", onclick: () => preview("exclude") }),
      el("button", { type: "button", id: "preview-include", text: "Preview include", onclick: () => preview("include") }),
      el("button", { type: "button", id: "preview-clear", text: "Preview clear", onclick: () => preview("clear") }),
      el("button", { type: "button", id: "select-none", text: "Clear selection", onclick: () => { picked.clear(); refreshPicks(); } })),
    previewBox);
  actions.addEventListener("submit", (e) => e.preventDefault());
  const exports = el("p", { class: "exports" }, "Export: ",
    el("button", { type: "button", class: "linklike", id: "export-decisions-csv", text: "decisions (CSV)", onclick: () => exportAs("decisions", "csv") }), " · ",
    el("button", { type: "button", class: "linklike", id: "export-fix-csv", text: "assets to fix (CSV)", onclick: () => exportAs("to_fix", "csv") }), " · ",
    el("button", { type: "button", class: "linklike", id: "export-json", text: "both (JSON)", onclick: () => exportAs("all", "json") }));
  const filterForm = el("form", { class: "row", role: "search" },
    el("label", { for: "filter", text: "Filter the members" }), filter, el("button", { type: "submit", text: "Filter" }));
  filterForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = filter.value.trim();
    history.replaceState(null, "", q ? `${zoneUrl(policyId)}?${new URLSearchParams({ q })}` : zoneUrl(policyId));
    load();
  });
  const head = el("div", { id: "policy-head" });
  clear(main).append(el("h1", {}, el("span", { class: "muted", text: "Zone of " }), el("span", { id: "policy-id", text: policyId })),
    head, counts,
    legend(Object.entries(STATE_WORDS).map(([k, w]) => [k, w])),
    status, el("div", { class: "workspace" }, canvas, actions), exports, filterForm, table);

  const cy = makeGraph(canvas, { onNode: (id) => toggle(id) });

  function toggle(id) {
    if (picked.has(id)) picked.delete(id); else picked.add(id);
    refreshPicks();
  }

  function refreshPicks() {
    cy.nodes().forEach((n) => n.toggleClass("picked", picked.has(n.id())));
    table.querySelectorAll("input[data-asset]").forEach((box) => { box.checked = picked.has(box.dataset.asset); });
    selection.textContent = picked.size ? `${picked.size} selected: ${[...picked].slice(0, 5).map(shortName).join(", ")}${picked.size > 5 ? ", ..." : ""}` : "Nothing selected.";
    clear(previewBox);
  }

  async function load() {
    status.textContent = "Computing the zone...";
    try {
      data = await get("zone", { policy: policyId, q: filter.value.trim() });
    } catch (error) {
      status.textContent = "";
      clear(table).append(notice(error.message, "error"));
      return;
    }
    const p = data.policy;
    clear(head).append(el("p", { class: "muted", text: `protects ${p.protects.join(", ")} · denies ${p.deny.join(", ")} · follows edges of confidence ${p.min_confidence} and above` }));
    clear(counts).append(el("ul", { class: "counts" }, Object.entries(data.counts).map(([k, v]) =>
      el("li", { dataset: { state: k } }, badge(k, k), " ", el("strong", { text: v })))));
    status.textContent = `${data.size} assets in the zone; ${data.nodes.length} drawn` + (data.hidden ? `, ${data.hidden} not drawn (filter the table to find them)` : "");
    cy.elements().remove();
    cy.add(data.nodes.map((n) => ({ group: "nodes", data: { id: n.id, colour: COLOURS[n.state], label: `${shortName(n.id)}\n[${n.state}]` } })));
    cy.add(data.edges.map((e) => ({ group: "edges", data: { id: `${e.kind}:${e.src} -> ${e.dst}`, source: e.src, target: e.dst, kind: e.kind, label: e.kind === "excluded" ? "cut by review" : "" } })));
    layout(cy, true);
    renderTable();
    refreshPicks();
    document.body.dataset.loaded = String(Date.now());
  }

  function renderTable() {
    const all = el("input", { type: "checkbox", id: "select-all", "aria-label": "Select every listed asset" });
    all.addEventListener("change", () => {
      data.rows.filter((r) => r.state !== "root").forEach((r) => (all.checked ? picked.add(r.id) : picked.delete(r.id)));
      refreshPicks();
    });
    clear(table).append(el("h2", { text: "Members" }),
      el("p", { class: "count", text: `${data.rows.length} of ${data.rows_total} listed` }),
      el("table", { class: "grid", id: "member-table" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, all),
          ...["State", "Asset", "Hops", "Confidence", "Review"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, data.rows.map((r) => {
          const box = el("input", { type: "checkbox", dataset: { asset: r.id }, "aria-label": `Select ${r.id}` });
          box.addEventListener("change", () => { if (box.checked) picked.add(r.id); else picked.delete(r.id); refreshPicks(); });
          const review = r.review ? `${r.review.decision} by ${r.review.reviewer || "?"}${r.review.reason ? `: ${r.review.reason}` : ""}` : "";
          return el("tr", { dataset: { state: r.state } }, el("td", {}, box), el("td", {}, badge(r.state, r.state)),
            el("td", {}, assetLink(r.id)), el("td", { class: "num", text: r.hops ?? "" }),
            el("td", { text: r.confidence || "" }), el("td", { text: review }));
        }))));
  }

  async function preview(decision) {
    clear(previewBox);
    if (!picked.size) {
      previewBox.append(notice("Select assets first (click them in the graph or tick them in the table).", "error"));
      return;
    }
    try {
      const answer = await post("zone/preview", { policy: policyId, decision, assets: [...picked] });
      const confirm = el("button", { type: "button", id: "confirm", class: "primary", text: `Confirm: ${decision} ${answer.assets.length}`,
        disabled: session.read_only, onclick: () => record(decision, answer.assets) });
      previewBox.append(el("div", { class: "card cascade", id: "cascade" },
        el("p", { class: "cascade-message", id: "cascade-message", text: answer.message }),
        el("p", { text: `Zone: ${answer.zone_before} assets now, ${answer.zone_after} after.` }),
        answer.resolved.length ? el("div", {}, el("h3", { text: "Violations this resolves" }), el("ul", {}, answer.resolved.map((a) => el("li", {}, assetLink(a))))) : null,
        answer.opened.length ? el("div", {}, el("h3", { text: "Violations this opens" }), el("ul", {}, answer.opened.map((a) => el("li", {}, assetLink(a))))) : null,
        answer.removed ? el("details", {}, el("summary", { text: `Assets leaving the zone (${answer.removed})` }),
          el("ul", {}, answer.removed_sample.map((a) => el("li", { text: a })))) : null,
        confirm));
      confirm.focus();
    } catch (error) {
      previewBox.append(notice(error.message, "error"));
    }
  }

  async function record(decision, assets) {
    const name = reviewer.value.trim();
    if (!name) {
      previewBox.append(notice("Enter your name as the reviewer first.", "error"));
      reviewer.focus();
      return;
    }
    sessionStorage.setItem(REVIEWER_KEY, name);
    try {
      const done = await post("reviews", { policy: policyId, decision, assets, reviewer: name, reason: reason.value.trim() || null });
      picked.clear();
      await load();
      clear(previewBox).append(notice(`Recorded ${done.written} ${decision} reviews.`, "ok"));
    } catch (error) {
      previewBox.append(notice(error.message, "error"));
    }
  }

  async function exportAs(what, format) {
    try {
      await download("zone/export", { policy: policyId, what, format }, `${policyId}-${what}.${format}`);
    } catch (error) {
      status.textContent = error.message;
    }
  }

  await load();
}

async function choosePolicy(main) {
  clear(main).append(el("h1", { text: "Zones" }));
  try {
    const { policies } = await get("policies");
    if (!policies.length) {
      main.append(el("p", { text: "No policies yet." }));
      return;
    }
    main.append(el("ul", { class: "plain" }, policies.map((p) => el("li", {},
      el("a", { href: zoneUrl(p.policy_id), text: p.policy_id }), " ",
      el("span", { class: "muted", text: `protects ${p.protects.join(", ")}` })))));
  } catch (error) {
    main.append(notice(error.message, "error"));
  }
}
