// Compiles src/ to plain JavaScript in dist/ (tsconfig.build.json: `.ts` imports rewritten to `.js`).
// Runs from `npm install` / `npm ci` (the "prepare" script) and `npm run build`. bin/mlops.js runs dist/ while it
// is up to date with src/ and the sources through tsx otherwise, so a stale or missing build costs only speed
// and memory, never correctness. Type checking is `npm run typecheck`'s job: emitting skips it (--noCheck).
// With `--omit=dev` TypeScript is absent: skip, and the launcher runs the sources.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
if (!existsSync(tsc)) {
  console.warn("build: typescript is not installed (production install?); skipping the build of dist/");
  process.exit(0);
}
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--noCheck"], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
