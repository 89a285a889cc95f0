/** Browser end-to-end tests of the dashboard (playwright-core + Debian chromium). */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { loadContract } from "../../src/data/contract.ts";
import { train } from "../../src/pipeline/pipeline.ts";
import { type RunningServer, startServer } from "../../src/serving/app.ts";
import { registrySource } from "../../src/serving/registry-source.ts";
import { BROWSER_SKIP, launchChromium, SHOTS } from "../helpers/browser.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const CONTRACT = loadContract(join(ROOT, "config", "datasets", "california_housing.yaml"));
const skip = BROWSER_SKIP;

describe("dashboard in a real browser", { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dash-e2e-"));
  const home = join(dir, "home");
  const csv = join(dir, "sample.csv");
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let base = "";
  const consoleErrors: string[] = [];

  before(async () => {
    writeSample(csv, 1200, 11);
    await train({ loaded: fastConfig(csv, home, ["promote.min_r2=0.0", "promote.max_mape=100"]), nJobs: 1 });
    server = await startServer({
      contract: CONTRACT,
      sources: [registrySource({ home, name: "housing_price_model", alias: "production" })],
      host: "127.0.0.1",
      port: 0,
      adminApiKey: "right-key",
      logLevel: "silent",
      handleSignals: false,
      dashboard: {
        home,
        contract: CONTRACT,
        modelName: "housing_price_model",
        dataPath: csv,
        adminApiKey: "right-key",
      },
    });
    base = server.url;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => {
      // the refused promotion answers 403 on purpose; Chromium logs every non-2xx fetch
      if (m.type() === "error" && !/status of 403/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET / serves the dashboard to browsers and JSON to API clients", async () => {
    const html = await fetch(`${base}/`, { headers: { accept: "text/html,*/*;q=0.8" } });
    assert.match(await html.text(), /<div id="app">/);
    const json = await fetch(`${base}/`, { headers: { accept: "application/json" } });
    assert.equal(((await json.json()) as { docs_url: string }).docs_url, "/docs");
  });

  it("first load of every page is under 1 s (cold browser cache, median of 3, remeasured once when over; data requests reported)", async () => {
    // One page load in a fresh context: the load event and the end of the page's last request, both relative
    // to navigation start. Each context has an empty cache; the browser process itself is warmed first,
    // because its own start-up (renderer process, first compile) is not the page's load time.
    const loadOnce = async (id: string) => {
      const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      try {
        const p = await ctx.newPage();
        await p.goto(`${base}/ui/#${id}`, { waitUntil: "load" });
        await p.locator("section.card").first().waitFor();
        await p.waitForLoadState("networkidle").catch(() => {});
        return JSON.parse(
          (await p.evaluate(
            "JSON.stringify({ load: performance.getEntriesByType('navigation')[0].loadEventEnd, data: Math.max(0, ...performance.getEntriesByType('resource').map((r) => r.responseEnd)) })",
          )) as string,
        ) as { load: number; data: number };
      } finally {
        await ctx.close();
      }
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const medianOf3 = async (id: string) => {
      const runs = [await loadOnce(id), await loadOnce(id), await loadOnce(id)];
      return {
        load: Math.round(median(runs.map((r) => r.load))),
        data: Math.round(median(runs.map((r) => r.data))),
      };
    };
    await loadOnce("predict"); // warm the browser process
    const times: Record<string, { load: number; data: number }> = {};
    const slowFirst: Record<string, number> = {};
    for (const id of ["predict", "batch", "experiments", "models", "monitoring"]) {
      // The browser and this test's server share the machine with another test file (--test-concurrency=2);
      // a CPU-heavy neighbour once pushed a median to 1.18 s (idle: 130-440 ms). A median over 1 s is measured
      // once more, and the page fails only when the second median is over 1 s too.
      let t = await medianOf3(id);
      if (t.load >= 1000) {
        slowFirst[id] = t.load;
        t = await medianOf3(id);
      }
      times[id] = t;
      assert.ok(t.load < 1000, `${id}: load event at ${t.load} ms (median of 3, twice)`);
    }
    console.log(
      `# first load per page (median of 3), ms after navigation start: ${JSON.stringify(times)}; remeasured: ${JSON.stringify(slowFirst)}`,
    );
  });

  it("submits a prediction and shows price, interval, version and map", async () => {
    await page.goto(`${base}/ui/#predict`);
    await page.getByRole("button", { name: "LA inland" }).click();
    assert.equal(await page.inputValue("input[name=median_income]"), "1.4936");
    await page.getByRole("button", { name: "Predict", exact: true }).click();
    const price = await page.locator("[data-testid=predicted-price]").textContent();
    assert.match(price ?? "", /^\$[\d,]+$/);
    const result = (await page.locator("#result").textContent()) ?? "";
    assert.match(result, /interval: \$[\d,]+ – \$[\d,]+/);
    assert.match(result, /model version 1/);
    assert.match(result, /rooms \/ household/);
    assert.ok((await page.locator("#result svg circle").count()) > 1000);
    await page.screenshot({ path: join(SHOTS, "predict.png"), fullPage: true });
  });

  it("shows a field error for a bad value and does not submit", async () => {
    await page.fill("input[name=housing_median_age]", "abc");
    const err = page.locator("[data-field-error=housing_median_age]");
    assert.match((await err.textContent()) ?? "", /must be a number/);
    await page.fill("input[name=latitude]", "99");
    assert.match((await page.locator("[data-field-error=latitude]").textContent()) ?? "", /≤/);
    await page.screenshot({ path: join(SHOTS, "predict-errors.png"), fullPage: true });
  });

  it("predicts a batch CSV and reports the bad row", async () => {
    await page.goto(`${base}/ui/#batch`);
    const header = CONTRACT.columns.map((c) => c.name).filter((n) => n !== CONTRACT.target);
    const ex = CONTRACT.examples ?? [];
    const line = (v: Record<string, number | string>) => header.map((h) => String(v[h])).join(",");
    const rows = [line(ex[0].values), line({ ...ex[1].values, latitude: 99 }), line(ex[2].values)];
    await page.setInputFiles("input[type=file]", {
      name: "batch.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`${header.join(",")}\n${rows.join("\n")}\n`),
    });
    await page.locator("#batch-table").waitFor();
    assert.match((await page.locator("tr[data-row='1']").textContent()) ?? "", /\$/);
    assert.match(
      (await page.locator("tr[data-row='2']").textContent()) ?? "",
      /latitude: latitude must be ≤/,
    );
    assert.match((await page.locator("tr[data-row='3']").textContent()) ?? "", /\$/);
    assert.match((await page.getByRole("status").textContent()) ?? "", /3 rows: 2 predicted, 1 with errors/);
    await page.screenshot({ path: join(SHOTS, "batch.png"), fullPage: true });
  });

  it("opens a run and shows the model comparison table and charts", async () => {
    await page.goto(`${base}/ui/#experiments`);
    await page.locator("table button").first().click();
    await page.locator("#comparison-table").waitFor();
    assert.ok((await page.locator("#comparison-table tbody tr").count()) >= 3);
    assert.ok((await page.locator("figure svg").count()) >= 3);
    await page.getByRole("img", { name: /Predicted vs actual \(test split, \d+ points\)/ }).waitFor();
    assert.ok((await page.locator('svg[aria-label^="Predicted vs actual"] circle').count()) > 100);
    await page.getByRole("img", { name: /Residuals/ }).waitFor();
    await page.screenshot({ path: join(SHOTS, "experiments.png"), fullPage: true });
  });

  it("refuses a promotion with a wrong admin key", async () => {
    await page.goto(`${base}/ui/#models`);
    page.once("dialog", (d) => d.accept("wrong-key"));
    await page.getByRole("button", { name: "Promote v1" }).click();
    const msg = (await page.locator("#admin-result").textContent()) ?? "";
    assert.match(msg, /refused \(HTTP 403\): invalid API key/);
    await page.screenshot({ path: join(SHOTS, "models.png"), fullPage: true });
  });

  it("draws monitoring charts from /metrics, at phone width too, with no console errors", async () => {
    await page.goto(`${base}/ui/#monitoring`);
    await page.getByText("drift monitoring: see").waitFor();
    await page.waitForTimeout(3500);
    await page.screenshot({ path: join(SHOTS, "monitoring.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${base}/ui/#predict`);
    await page.locator("input[name=latitude]").waitFor();
    await page.screenshot({ path: join(SHOTS, "predict-phone.png"), fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });
});
