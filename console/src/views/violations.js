// /ui/violations : open and resolved violations with their paths, live.
// The server sends a snapshot, then every new event (server-sent events
// following policy-violations); the latest event of a key is its state.
// Below them, the probes' enforcement decisions (enforcement-events, summed
// per policy, sink and decision), live on the same stream (enforcement=1):
// a snapshot of every row, then each row again when a decision changes it.
import { get, stream } from "../api.js";
import { el, clear, assetLink, badge, fmtTime, zoneUrl } from "../dom.js";

const DECISIONS_KEPT = 2000; // rows the page holds (the most recent); the server keeps more
const DECISIONS_SHOWN = 200; // rows drawn

export async function violationsView(main) {
  const params = new URLSearchParams(location.search);
  const filters = { policy: params.get("policy") || "", status: params.get("status") || "all" };
  const latest = new Map(); // policy_id|sink -> event
  const decisionRows = new Map(); // policy_id|sink|decision -> enforcement row
  const arrived = new Set(); // keys of rows changed live since the snapshot
  let drawTimer = null;
  const live = el("span", { id: "live", class: "live", role: "status", text: "connecting" });
  const body = el("section", { id: "violations", "aria-live": "polite" });
  const decisions = el("section", { id: "enforcement", "aria-label": "Enforcement decisions" });
  const policy = el("select", { id: "policy", name: "policy" }, el("option", { value: "", text: "every policy" }));
  const status = el("select", { id: "status-filter", name: "status" },
    ["all", "open", "resolved"].map((s) => el("option", { value: s, selected: s === filters.status, text: s })));
  const form = el("form", { class: "row", "aria-label": "Filters" },
    el("label", { for: "policy", text: "Policy" }), policy,
    el("label", { for: "status-filter", text: "Status" }), status, live);
  clear(main).append(el("h1", { text: "Violations" }), form, body, decisions);
  try {
    const { policies } = await get("policies");
    for (const p of policies) policy.append(el("option", { value: p.policy_id, selected: p.policy_id === filters.policy, text: p.policy_id }));
  } catch (_) { /* the list still works without names */ }
  if (filters.policy && ![...policy.options].some((o) => o.value === filters.policy)) {
    policy.append(el("option", { value: filters.policy, selected: true, text: filters.policy }));
  }
  let feed = null;
  function follow() {
    if (feed) feed.stop();
    latest.clear();
    render();
    decisionRows.clear();
    arrived.clear();
    renderDecisions();
    feed = stream("violations/stream", { policy: filters.policy, status: "all", enforcement: 1 }, (name, data) => {
      if (name === "snapshot") data.forEach((e) => latest.set(`${e.policy_id}|${e.sink}`, e));
      else if (name === "violation") latest.set(`${data.policy_id}|${data.sink}`, data);
      else if (name === "enforcement_snapshot") {
        decisionRows.clear();
        arrived.clear();
        [...data].reverse().forEach((d) => keepDecision(d)); // oldest first, as they arrived
        return drawDecisions();
      } else if (name === "enforcement") {
        arrived.add(keepDecision(data));
        return drawDecisions();
      } else return;
      render();
    }, (state) => { live.textContent = state === "live" ? "live" : state; live.dataset.state = state === "live" ? "live" : "down"; });
  }
  function keepDecision(d) {
    const key = `${d.policy_id}|${d.sink}|${d.decision}`;
    decisionRows.delete(key); // re-inserted last: the Map's order is the order of arrival
    decisionRows.set(key, d);
    for (const old of decisionRows.keys()) {
      if (decisionRows.size <= DECISIONS_KEPT) break;
      decisionRows.delete(old);
      arrived.delete(old);
    }
    return key;
  }
  // A burst of decisions redraws the table once.
  function drawDecisions() {
    if (drawTimer === null) drawTimer = setTimeout(() => { drawTimer = null; renderDecisions(); }, 100);
  }
  function renderDecisions() {
    clear(decisions).append(el("h2", { text: "Enforcement decisions (probes)" }));
    const shown = [...decisionRows.entries()]
      .sort(([, a], [, b]) => (b.last_ts || 0) - (a.last_ts || 0))
      .slice(0, DECISIONS_SHOWN);
    decisions.append(el("p", { class: "count", id: "enforcement-count",
      text: `${decisionRows.size} ${decisionRows.size === 1 ? "row" : "rows"}${decisionRows.size > shown.length ? `, the ${shown.length} most recent shown` : ""}` }));
    if (!shown.length) {
      decisions.append(el("p", { text: "No write was logged or blocked by a policy." }));
      return;
    }
    decisions.append(el("table", { class: "grid", id: "enforcement-table" },
      el("thead", {}, el("tr", {}, ["Decision", "Policy", "Sink", "Kind", "Count", "Services", "Read from", "Code", "Last"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, shown.map(([key, d]) => el("tr", arrived.has(key)
        ? { class: "fresh", title: "changed since the page opened", dataset: { decision: d.decision, sink: d.sink, live: "1" } }
        : { dataset: { decision: d.decision, sink: d.sink } },
        el("td", {}, badge(d.decision, d.decision)),
        el("td", {}, el("a", { href: zoneUrl(d.policy_id), text: d.policy_id })),
        el("td", {}, assetLink(d.sink)),
        el("td", { text: d.sink_kind || "" }),
        el("td", { text: String(d.count) }),
        el("td", { text: d.services.join(", ") }),
        el("td", {}, ...d.sources.map((a) => assetLink(a))),
        el("td", { text: d.code_locations.join(", ") }),
        el("td", { text: fmtTime(d.last_ts) }))))));
  }
  function onChange() {
    filters.policy = policy.value;
    filters.status = status.value;
    const q = new URLSearchParams();
    if (filters.policy) q.set("policy", filters.policy);
    if (filters.status !== "all") q.set("status", filters.status);
    history.replaceState(null, "", `/ui/violations${q.toString() ? `?${q}` : ""}`);
    follow();
  }
  policy.addEventListener("change", onChange);
  status.addEventListener("change", () => { filters.status = status.value; onChange(); });
  form.addEventListener("submit", (e) => e.preventDefault());

  function render() {
    const rows = [...latest.values()]
      .filter((e) => filters.status === "all" || e.status === filters.status)
      .sort((a, b) => (a.status === b.status ? 0 : a.status === "open" ? -1 : 1) || (b.ts || 0) - (a.ts || 0));
    const open = [...latest.values()].filter((e) => e.status === "open").length;
    clear(body).append(el("p", { class: "count", id: "violation-count", text: `${open} open, ${latest.size - open} resolved` }));
    if (!rows.length) {
      body.append(el("p", { text: "No violations match." }));
      return;
    }
    body.append(el("table", { class: "grid", id: "violation-table" },
      el("thead", {}, el("tr", {}, ["Status", "Policy", "Sink", "Confidence", "Label", "Path", "Detected", "Event time"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((v) => el("tr", { dataset: { status: v.status, sink: v.sink } },
        el("td", {}, badge(v.status, v.status)),
        el("td", {}, el("a", { href: zoneUrl(v.policy_id), text: v.policy_id })),
        el("td", {}, assetLink(v.sink)),
        el("td", { text: `${v.confidence}${v.confirmed ? " (confirmed)" : ""}` }),
        el("td", { text: v.label }),
        el("td", {}, el("ol", { class: "path" }, (v.path || []).map((a) => el("li", {}, assetLink(a))))),
        el("td", { text: fmtTime(v.detected_at) }),
        el("td", { text: fmtTime(v.ts) }))))));
  }
  follow();
}
