import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { loadContract } from "../../src/data/contract.ts";
import { type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import { dashboardPlugin, prefersHtml, samplePoints } from "../../src/serving/dashboard.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

const CONTRACT = loadContract(
  join(import.meta.dirname, "..", "..", "config", "datasets", "california_housing.yaml"),
);

describe("prefersHtml", () => {
  it("negotiates browsers to HTML and API clients to JSON", () => {
    assert.equal(prefersHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), true);
    assert.equal(prefersHtml("application/json"), false);
    assert.equal(prefersHtml("*/*"), false);
    assert.equal(prefersHtml(undefined), false);
    assert.equal(prefersHtml("application/json, text/html;q=0.5"), false);
    assert.equal(prefersHtml("text/html;q=0"), false);
  });
});

describe("samplePoints", () => {
  it("caps the count, skips missing values and is deterministic", () => {
    const n = 10_000;
    const lat = Float64Array.from({ length: n }, (_, i) => 32 + (i % 10));
    const lon = Float64Array.from({ length: n }, (_, i) => -120 + (i % 7));
    const price = Float64Array.from({ length: n }, (_, i) => (i === 0 ? Number.NaN : i));
    const a = samplePoints(lat, lon, price, 3000);
    assert.ok(a.length <= 3000 && a.length > 2900, `${a.length}`);
    assert.ok(a.every((p) => p.every(Number.isFinite)));
    assert.deepEqual(a, samplePoints(lat, lon, price, 3000));
  });
});

describe("dashboard JSON APIs (trained temp home)", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dash-"));
  const csv = join(dir, "sample.csv");
  const home = join(dir, "home");
  const dist = join(dir, "dist");
  let trained: TrainResult;
  let reg: RegisterOutput;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  after(async () => {
    await app?.close();
    await bare?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    writeSample(csv, 1200, 11);
    trained = await train({ loaded: fastConfig(csv, home), nJobs: 1 });
    reg = trained.registered as RegisterOutput;
    mkdirSync(dist);
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>dash</title>");
    app = Fastify({ logger: false });
    await app.register(dashboardPlugin, {
      home,
      contract: CONTRACT,
      modelName: reg.modelName,
      adminApiKey: "s3cret",
      dataPath: csv,
      distDir: dist,
    });
    bare = Fastify({ logger: false });
    await bare.register(dashboardPlugin, {
      home,
      contract: CONTRACT,
      modelName: reg.modelName,
      dataPath: join(dir, "missing.csv"),
      distDir: join(dir, "nothing"),
    });
  });

  it("serves the contract with columns and the three examples, without the target", async () => {
    const r = await app.inject({ url: "/api/v1/ui/contract" });
    assert.equal(r.statusCode, 200);
    const b = r.json();
    assert.equal(b.examples.length, 3);
    assert.ok(b.columns.some((c: { name: string; min?: number }) => c.name === "latitude"));
    assert.ok(!b.columns.some((c: { name: string }) => c.name === CONTRACT.target));
    assert.equal(b.model_name, reg.modelName);
  });

  it("serves ≤ 3000 geo points inside California", async () => {
    const b = (await app.inject({ url: "/api/v1/ui/geo" })).json();
    assert.ok(b.points.length > 1000 && b.points.length <= 3000);
    for (const [lat, lon, price] of b.points) {
      assert.ok(lat > 32 && lat < 42.1 && lon > -124.5 && lon < -114 && price > 0);
    }
    const miss = await bare.inject({ url: "/api/v1/ui/geo" });
    assert.equal(miss.statusCode, 503);
    assert.match(miss.json().detail ?? miss.json().message, /missing\.csv/);
  });

  it("lists the pipeline run and returns its detail with the step artifacts", async () => {
    const runs = (await app.inject({ url: "/api/v1/ui/runs" })).json().runs;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].status, "FINISHED");
    assert.ok(runs[0].duration_s > 0);
    const d = await app.inject({ url: `/api/v1/ui/runs/${runs[0].run_id}` });
    assert.equal(d.statusCode, 200);
    const b = d.json();
    assert.ok(b.steps.length >= 7);
    for (const k of [
      "model_comparison.json",
      "imputation_scores.json",
      "k_selection.json",
      "sweep_trials.json",
    ])
      assert.ok(k in b.artifacts, `missing ${k}: ${Object.keys(b.artifacts)}`);
    assert.equal((await app.inject({ url: "/api/v1/ui/runs/nope" })).statusCode, 404);
    assert.equal((await app.inject({ url: "/api/v1/ui/runs/a%20b" })).statusCode, 400);
    assert.equal((await app.inject({ url: "/api/v1/ui/runs?limit=0" })).statusCode, 400);
  });

  it("lists model versions with aliases and the audit history", async () => {
    const b = (await app.inject({ url: "/api/v1/ui/models" })).json();
    assert.equal(b.versions.length, 1);
    assert.ok(b.versions[0].aliases.includes(reg.alias));
    const d = (await app.inject({ url: `/api/v1/ui/models/${reg.modelName}` })).json();
    assert.ok(d.history.length >= 1);
    assert.equal((await app.inject({ url: "/api/v1/ui/models/unknown_model" })).statusCode, 404);
    assert.equal((await app.inject({ url: "/api/v1/ui/models/bad%20name" })).statusCode, 400);
  });

  it("protects promote/rollback with the admin key and returns gate results", async () => {
    const url = `/api/v1/admin/models/${reg.modelName}/promote`;
    const noKey = await app.inject({ method: "POST", url, payload: { version: 1 } });
    assert.equal(noKey.statusCode, 401);
    const wrong = await app.inject({
      method: "POST",
      url,
      payload: { version: 1 },
      headers: { "x-api-key": "x" },
    });
    assert.equal(wrong.statusCode, 403);
    const disabled = await bare.inject({
      method: "POST",
      url,
      payload: { version: 1 },
      headers: { "x-api-key": "x" },
    });
    assert.equal(disabled.statusCode, 503);
    const bad = await app.inject({
      method: "POST",
      url,
      payload: { version: "one" },
      headers: { "x-api-key": "s3cret" },
    });
    assert.equal(bad.statusCode, 400);
    const missing = await app.inject({
      method: "POST",
      url,
      payload: { version: 99 },
      headers: { "x-api-key": "s3cret" },
    });
    assert.ok(missing.statusCode >= 400 && missing.statusCode < 500, `${missing.statusCode} ${missing.body}`);
    const ok = await app.inject({
      method: "POST",
      url,
      payload: { version: 1 },
      headers: { "x-api-key": "s3cret" },
    });
    assert.ok([200, 409].includes(ok.statusCode), `${ok.statusCode} ${ok.body}`);
    assert.ok(ok.json().gates.length >= 1);
    const rb = await app.inject({
      method: "POST",
      url: `/api/v1/admin/models/${reg.modelName}/rollback`,
      payload: { alias: "nosuchalias" },
      headers: { "x-api-key": "s3cret" },
    });
    assert.equal(rb.statusCode, 404);
  });

  it("serves the built UI under /ui/ and a clear 404 when not built", async () => {
    const r = await app.inject({ url: "/ui/" });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /dash/);
    const nb = await bare.inject({ url: "/ui/" });
    assert.equal(nb.statusCode, 404);
    assert.match(nb.body, /npm run build:web/);
  });
});
