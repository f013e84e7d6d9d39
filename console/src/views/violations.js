// /ui/violations : open and resolved violations with their paths, live.
// The server sends a snapshot, then every new event (server-sent events
// following policy-violations); the latest event of a key is its state.
// Below them, the probes' enforcement decisions (enforcement-events, summed
// per policy, sink and decision), read when the page or its filter loads.
import { get, stream } from "../api.js";
import { el, clear, assetLink, badge, fmtTime, zoneUrl } from "../dom.js";

export async function violationsView(main) {
  const params = new URLSearchParams(location.search);
  const filters = { policy: params.get("policy") || "", status: params.get("status") || "all" };
  const latest = new Map(); // policy_id|sink -> event
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
    feed = stream("violations/stream", { policy: filters.policy, status: "all" }, (name, data) => {
      if (name === "snapshot") data.forEach((e) => latest.set(`${e.policy_id}|${e.sink}`, e));
      else if (name === "violation") latest.set(`${data.policy_id}|${data.sink}`, data);
      render();
    }, (state) => { live.textContent = state === "live" ? "live" : state; live.dataset.state = state === "live" ? "live" : "down"; });
  }
  async function loadDecisions() {
    clear(decisions).append(el("h2", { text: "Enforcement decisions (probes)" }));
    let rows = [];
    try {
      rows = (await get("enforcement", filters.policy ? { policy: filters.policy } : {})).decisions;
    } catch (err) {
      decisions.append(el("p", { text: `Cannot read enforcement-events: ${err.message}` }));
      return;
    }
    if (!rows.length) {
      decisions.append(el("p", { text: "No write was logged or blocked by a policy." }));
      return;
    }
    decisions.append(el("table", { class: "grid", id: "enforcement-table" },
      el("thead", {}, el("tr", {}, ["Decision", "Policy", "Sink", "Kind", "Count", "Services", "Read from", "Code", "Last"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.map((d) => el("tr", { dataset: { decision: d.decision, sink: d.sink } },
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
    loadDecisions();
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
  loadDecisions();
}
