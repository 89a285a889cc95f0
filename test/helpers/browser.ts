/** Shared set-up of the browser tests: Debian's chromium through playwright-core, and where screenshots go. */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

const ROOT = join(import.meta.dirname, "..", "..");
export const CHROMIUM = "/usr/bin/chromium";
/** CI keeps this folder as an artefact. */
export const SHOTS = join(ROOT, "test-artifacts", "screenshots");

/** Why the browser tests cannot run here (false when they can): `describe(..., { skip: BROWSER_SKIP })`. */
export const BROWSER_SKIP: string | false = !existsSync(CHROMIUM)
  ? "chromium not installed (apt-get install chromium)"
  : !existsSync(join(ROOT, "web", "dist", "index.html"))
    ? "web/dist not built (npm run build:web)"
    : false;

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
