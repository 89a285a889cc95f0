// Builds the dashboard (web/ -> web/dist) when the dev toolchain is present.
// Runs from `npm install` / `npm ci` (the "prepare" script). With `--omit=dev` Vite is absent:
// the API still serves, and /ui explains how to build the dashboard, so we skip instead of failing the install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const viteBin = fileURLToPath(new URL("../node_modules/vite/bin/vite.js", import.meta.url));
if (!existsSync(viteBin)) {
  console.warn("build-web: vite is not installed (production install?); skipping the dashboard build");
  process.exit(0);
}
if (!existsSync(new URL("../web/index.html", import.meta.url))) process.exit(0);
const r = spawnSync(process.execPath, [viteBin, "build", "web", "--logLevel", "warn"], { stdio: "inherit" });
process.exit(r.status ?? 1);
