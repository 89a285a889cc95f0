/** Browser end-to-end tests of the dashboard (playwright-core + Debian chromium). */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { type Browser, chromium, type Page } from "playwright-core";
import { loadContract } from "../../src/data/contract.ts";
import { train } from "../../src/pipeline/pipeline.ts";
import { createApp, type ServingApp } from "../../src/serving/app.ts";
import { dashboardPlugin, dashboardRootHook } from "../../src/serving/dashboard.ts";
import { registrySource } from "../../src/serving/registry-source.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const CHROMIUM = "/usr/bin/chromium";
const DIST = join(ROOT, "web", "dist", "index.html");
const SHOTS = join(ROOT, "test-artifacts", "screenshots");
const CONTRACT = loadContract(join(ROOT, "config", "datasets", "california_housing.yaml"));
const skip = !existsSync(CHROMIUM)
  ? "chromium not installed (apt-get install chromium)"
  : !existsSync(DIST)
    ? "web/dist not built (npm run build:web)"
    : false;

describe("dashboard in a real browser", { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dash-e2e-"));
  const home = join(dir, "home");
  const csv = join(dir, "sample.csv");
  let app: ServingApp;
  let front: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base = "";
  const consoleErrors: string[] = [];

  before(async () => {
    writeSample(csv, 1200, 11);
    await train({ loaded: fastConfig(csv, home, ["promote.min_r2=0.0", "promote.max_mape=100"]), nJobs: 1 });
    app = await createApp({
      contract: CONTRACT,
      sources: [registrySource({ home, name: "housing_price_model", alias: "production" })],
      adminApiKey: "right-key",
      logLevel: "silent",
    });
    // createApp() returns a ready instance, so the dashboard is mounted on a front server that forwards
    // every other route to the serving app (the lead wires the plugin inside createApp instead).
    front = Fastify({ logger: false });
    front.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    front.addHook("onRequest", dashboardRootHook());
    await front.register(dashboardPlugin, {
      home,
      contract: CONTRACT,
      modelName: "housing_price_model",
      adminApiKey: "right-key",
      dataPath: csv,
    });
    front.all("/*", async (req, reply) => {
      const r = await app.inject({
        method: req.method as "GET",
        url: req.url,
        headers: req.headers,
        payload: req.body as Buffer | undefined,
      });
      reply.code(r.statusCode);
      for (const [k, v] of Object.entries(r.headers))
        if (v !== undefined && k !== "content-length" && k !== "transfer-encoding" && k !== "connection")
          reply.header(k, v);
      return reply.send(r.rawPayload);
    });
    front.get("/", async (req, reply) => {
      const r = await app.inject({ method: "GET", url: "/", headers: req.headers });
      return reply.code(r.statusCode).type("application/json").send(r.rawPayload);
    });
    await front.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(front.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
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
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => {
      // the refused promotion answers 403 on purpose; Chromium logs every non-2xx fetch
      if (m.type() === "error" && !/status of 403/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await front?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET / serves the dashboard to browsers and JSON to API clients", async () => {
    const html = await fetch(`${base}/`, { headers: { accept: "text/html,*/*;q=0.8" } });
    assert.match(await html.text(), /<div id="app">/);
    const json = await fetch(`${base}/`, { headers: { accept: "application/json" } });
    assert.equal(((await json.json()) as { docs_url: string }).docs_url, "/docs");
  });

  it("first load of every page is under 1 s (cold cache; data requests reported too)", async () => {
    const times: Record<string, { load: number; data: number }> = {};
    for (const id of ["predict", "batch", "experiments", "models", "monitoring"]) {
      const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      const p = await ctx.newPage();
      await p.goto(`${base}/ui/#${id}`, { waitUntil: "load" });
      await p.locator("section.card").first().waitFor();
      await p.waitForLoadState("networkidle").catch(() => {});
      // relative to navigation start: the load event, and the end of the last request the page made
      const t = JSON.parse(
        (await p.evaluate(
          "JSON.stringify({ load: performance.getEntriesByType('navigation')[0].loadEventEnd, data: Math.max(0, ...performance.getEntriesByType('resource').map((r) => r.responseEnd)) })",
        )) as string,
      ) as { load: number; data: number };
      times[id] = { load: Math.round(t.load), data: Math.round(t.data) };
      assert.ok(t.load < 1000, `${id}: load event at ${t.load} ms`);
      await ctx.close();
    }
    console.log(`# first load per page, ms after navigation start: ${JSON.stringify(times)}`);
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
