// /ui/ : find an asset (substring or glob), recent violations, the policies.
import { get } from "../api.js";
import { el, clear, assetLink, badge, notice, zoneUrl, fmtTime } from "../dom.js";

export async function home(main) {
  const params = new URLSearchParams(location.search);
  const input = el("input", { id: "q", name: "q", type: "search", value: params.get("q") || "",
    placeholder: "location   or   hive://warehouse/**", autocomplete: "off" });
  const results = el("section", { "aria-live": "polite", "aria-label": "Search results" });
  const form = el("form", { class: "search", role: "search" },
    el("label", { for: "q", text: "Find an asset (a part of its name, or a glob: * within a segment, ** across)" }),
    el("div", { class: "row" }, input, el("button", { type: "submit", text: "Search" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    history.replaceState(null, "", q ? `/ui/?${new URLSearchParams({ q })}` : "/ui/");
    search(q, results);
  });
  const recent = el("section", { "aria-labelledby": "recent-title" },
    el("h2", { id: "recent-title", text: "Recent violations" }));
  const policies = el("section", { "aria-labelledby": "policies-title" },
    el("h2", { id: "policies-title", text: "Policies" }));
  clear(main).append(el("h1", { text: "Lineage" }), form, results,
    el("div", { class: "columns" }, recent, policies));
  input.focus();
  if (input.value) search(input.value.trim(), results);
  loadRecent(recent);
  loadPolicies(policies);
}

async function search(q, results) {
  clear(results);
  if (!q) return;
  results.append(notice("Searching..."));
  try {
    const found = await get("search", { q, limit: 100 });
    clear(results);
    const count = `${found.total}${found.partial ? "+" : ""} assets match`;
    results.append(el("p", { class: "count", id: "search-count", text: `${count}${found.partial ? " (search stopped at its time budget; narrow it)" : ""}` }));
    if (!found.assets.length) return;
    results.append(el("table", { class: "grid", id: "search-results" },
      el("caption", { text: `Assets matching ${q}` }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Asset" }),
        el("th", { scope: "col", text: "Edges out" }), el("th", { scope: "col", text: "Edges in" }))),
      el("tbody", {}, found.assets.map((a) => el("tr", {},
        el("td", {}, assetLink(a.uri)), el("td", { class: "num", text: a.downstream }),
        el("td", { class: "num", text: a.upstream }))))));
    if (found.total > found.assets.length) {
      results.append(el("p", { text: `Showing the first ${found.assets.length}.` }));
    }
  } catch (error) {
    clear(results).append(notice(error.message, "error"));
  }
}

async function loadRecent(section) {
  try {
    const { violations } = await get("violations", {});
    const rows = violations.slice(0, 8);
    if (!rows.length) {
      section.append(el("p", { text: "No violations." }));
      return;
    }
    section.append(el("ul", { class: "plain" }, rows.map((v) => el("li", {},
      badge(v.status, v.status), " ", assetLink(v.sink), " ",
      el("span", { class: "muted", text: `${v.policy_id} · ${v.confidence} · ${fmtTime(v.detected_at)}` })))),
    el("p", {}, el("a", { href: "/ui/violations", text: "All violations" })));
  } catch (error) {
    section.append(notice(error.message, "error"));
  }
}

async function loadPolicies(section) {
  try {
    const { policies } = await get("policies");
    if (!policies.length) {
      section.append(el("p", { text: "No policies yet." }));
      return;
    }
    section.append(el("ul", { class: "plain" }, policies.map((p) => el("li", {},
      el("a", { href: zoneUrl(p.policy_id), text: p.policy_id }), " ",
      el("span", { class: "muted", text: `protects ${p.protects.join(", ")}; denies ${p.deny.join(", ")}; ${p.reviews} reviews` })))));
  } catch (error) {
    section.append(notice(error.message, "error"));
  }
}
