// Build the console into ../streams/console/static/ (committed: the Python
// package serves it without Node). `npm ci && npm run build`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "streams", "console", "static");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: join(out, "console.js"),
  legalComments: "linked",
  logLevel: "info",
});
for (const name of ["index.html", "console.css"]) {
  copyFileSync(join(here, "src", name), join(out, name));
}
console.log("built", readdirSync(out).join(", "));
