// The console's JSON API: the bearer token (asked once, kept in
// sessionStorage), the CSRF header on writes, and server-sent events read
// through fetch (EventSource cannot send the token).
import { el, clear } from "./dom.js";

const BASE = "/api/v1/console";
const TOKEN_KEY = "lineage.console.token";
let session = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const h = { Accept: "application/json", ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function check(response) {
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) message = body.error;
  } catch (_) { /* not JSON */ }
  throw new ApiError(response.status, message);
}

export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
    else query.append(key, value);
  }
  const qs = query.toString();
  return `${BASE}/${path}${qs ? `?${qs}` : ""}`;
}

export async function get(path, params = {}) {
  const response = await check(await fetch(url(path, params), { headers: headers() }));
  return response.json();
}

export async function download(path, params, filename) {
  const response = await check(await fetch(url(path, params), { headers: headers() }));
  const blob = await response.blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export async function post(path, body) {
  const s = await getSession();
  const response = await check(await fetch(url(path), {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", "X-Lineage-CSRF": s.csrf }),
    body: JSON.stringify(body),
  }));
  return response.json();
}

export async function getSession() {
  if (!session) session = await get("session");
  return session;
}

// Resolves once the server accepts our token (asks for it when needed).
export async function signIn(main) {
  for (;;) {
    try {
      return await getSession();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await askToken(main, sessionStorage.getItem(TOKEN_KEY) ? "That token was refused." : "");
    }
  }
}

function askToken(main, problem) {
  return new Promise((resolve) => {
    const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true });
    const form = el("form", { class: "card signin", "aria-labelledby": "signin-title" },
      el("h1", { id: "signin-title", text: "Sign in" }),
      el("p", { text: "This console needs the API token (the worker's --api-token). It is kept for this browser tab only." }),
      problem ? el("p", { class: "notice notice-error", role: "alert", text: problem }) : null,
      el("label", { for: "token", text: "API token" }), input,
      el("button", { type: "submit", text: "Continue" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value);
      session = null;
      resolve();
    });
    clear(main).append(form);
    input.focus();
  });
}

// Follow a server-sent event stream; onEvent(name, data). Reconnects with a
// back-off until stop() is called.
export function stream(path, params, onEvent, onState) {
  let stopped = false;
  let controller = null;
  async function run() {
    let delay = 1000;
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await check(await fetch(url(path, params), {
          headers: headers({ Accept: "text/event-stream" }), signal: controller.signal,
        }));
        onState("live");
        delay = 1000;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) name = line.slice(7);
              else if (line.startsWith("data: ")) data.push(line.slice(6));
            }
            if (data.length) onEvent(name, JSON.parse(data.join("\n")));
          }
        }
      } catch (error) {
        if (stopped) return;
        onState(`reconnecting (${error.message || error})`);
      }
      if (stopped) return;
      onState("reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return { stop() { stopped = true; if (controller) controller.abort(); } };
}
