// The console's entry: sign in if the server wants a token, then show the
// view the URL names. Every view is its own URL, so links can be shared.
import { signIn } from "./api.js";
import { clear, notice } from "./dom.js";
import { home } from "./views/home.js";
import { assetView } from "./views/asset.js";
import { zoneView } from "./views/zone.js";
import { violationsView } from "./views/violations.js";

async function start() {
  const main = document.getElementById("main");
  const path = location.pathname;
  const view = path.startsWith("/ui/asset") ? "home"
    : path.startsWith("/ui/zones") ? "zones" : path.startsWith("/ui/violations") ? "violations" : "home";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === view && !path.startsWith("/ui/asset")) link.setAttribute("aria-current", "page");
  }
  try {
    const session = await signIn(main);
    document.getElementById("mode").textContent = session.read_only ? "read-only" : "";
    if (path.startsWith("/ui/asset")) await assetView(main);
    else if (path.startsWith("/ui/zones")) {
      const policy = decodeURIComponent(path.slice("/ui/zones/".length));
      await zoneView(main, policy);
    } else if (path.startsWith("/ui/violations")) await violationsView(main);
    else await home(main);
  } catch (error) {
    clear(main).append(notice(`The console could not load: ${error.message}`, "error"));
  }
}

start();
