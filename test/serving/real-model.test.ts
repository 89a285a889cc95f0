/**
 * Serving the model the pipeline actually trained: predictions served over HTTP equal the pipeline's offline
 * test predictions bit for bit (no training/serving skew), and moving the `production` alias hot-reloads.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { readTable } from "../../src/data/io.ts";
import { promoteVersion, type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SplitOutput } from "../../src/pipeline/steps/split.ts";
import { startServer } from "../../src/serving/app.ts";
import { registrySource } from "../../src/serving/registry-source.ts";
import { type LocalArtifactStore, openTracking } from "../../src/tracking/index.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";
import { SAMPLE } from "../helpers/servable.ts";

const CONTRACT = loadContract(
  join(import.meta.dirname, "..", "..", "config", "datasets", "california_housing.yaml"),
);
const INPUTS = CONTRACT.columns.map((c) => c.name).filter((n) => n !== CONTRACT.target);

describe("serving the pipeline-trained model", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "serve-real-"));
  const home = join(dir, "home");
  const csv = join(dir, "sample.csv");
  let trained: TrainResult;
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    writeSample(csv, 1200, 11);
    trained = await train({
      loaded: fastConfig(csv, home, ["promote.min_r2=0.0", "promote.max_mape=100"]),
      nJobs: 1,
    });
    assert.ok(trained.promotion?.promoted, `promotion failed: ${trained.promotionError}`);
    server = await startServer({
      contract: CONTRACT,
      sources: [registrySource({ home, name: "housing_price_model", alias: "production" })],
      host: "127.0.0.1",
      port: 0,
      adminApiKey: "test-admin-key-123",
      logLevel: "silent",
      handleSignals: false,
    });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns the offline test predictions bit for bit, with calibrated intervals", async () => {
    const reg = trained.registered as RegisterOutput;
    const split = trained.outputs["02_split"] as SplitOutput;
    const table = await readTable(csv, { types: contractTypes(CONTRACT) });
    const test = table.frame.take(split.test).select(INPUTS);
    const instances = Array.from({ length: test.nRows }, (_, i) => test.row(i));
    const res = await fetch(`${server.url}/api/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instances }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("server-timing") ?? "", /features/);
    const body = (await res.json()) as {
      model_version: string;
      predictions: {
        predicted_price: number;
        confidence_interval: { lower: number; upper: number; level: number };
      }[];
    };
    assert.equal(body.model_version, String(reg.version));
    assert.equal(body.predictions.length, test.nRows);
    body.predictions.forEach((p, i) => {
      assert.equal(p.predicted_price, reg.testPredictions[i], `row ${i}`);
      assert.ok(
        p.confidence_interval.lower <= p.predicted_price && p.predicted_price <= p.confidence_interval.upper,
      );
      assert.equal(p.confidence_interval.level, 0.9);
    });
  });

  const postJson = async (url: string, body: unknown) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const allFinite = (
    preds: { predicted_price: unknown; confidence_interval: { lower: unknown; upper: unknown } }[],
  ) =>
    preds.every((p) =>
      [p.predicted_price, p.confidence_interval.lower, p.confidence_interval.upper].every(
        (x) => typeof x === "number" && Number.isFinite(x),
      ),
    );
  const BASE = SAMPLE; // the reference's conftest sample

  it("edge inputs go through the real FeaturePipeline: zero denominators, missing bedrooms, range limits", async () => {
    const { total_bedrooms: _omit, ...noBedrooms } = BASE;
    const rows = [
      { ...BASE, total_rooms: 0, households: 0, population: 0, total_bedrooms: 0 }, // every ratio divides by zero
      { ...BASE, total_bedrooms: null }, // imputed with the training statistic
      noBedrooms,
      { ...BASE, longitude: -180, latitude: -90, housing_median_age: 0, median_income: 0 },
      { ...BASE, longitude: 180, latitude: 90, housing_median_age: 200, median_income: 100 },
      { ...BASE, total_rooms: 1e12, population: 1e12, households: 1, total_bedrooms: 1e12 },
      ...["near bay", "Inland", "ISLAND", "<1h ocean", "near ocean"].map((o) => ({
        ...BASE,
        ocean_proximity: o,
      })),
    ];
    const r = await postJson(`${server.url}/api/v1/predict`, { instances: rows });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
    const preds = r.body.predictions as Parameters<typeof allFinite>[0];
    assert.equal(preds.length, rows.length);
    assert.ok(allFinite(preds), JSON.stringify(preds));
    // the pipeline's own treatment: a missing value and an explicit null are the same row
    assert.equal(preds[1].predicted_price, preds[2].predicted_price);
  });

  it("fuzz: random rows in and out of the contract never give a 500, a null or a dead server", async () => {
    const num = (lo: number, hi: number) =>
      fc.oneof(
        { weight: 40, arbitrary: fc.double({ min: lo, max: hi, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(0, -0, -1, 1e308, 5e-324, lo, hi, lo - 1, hi + 1) },
        { weight: 1, arbitrary: fc.constantFrom(null, "1", true, [], {}) },
      );
    const row = fc.record(
      {
        longitude: num(-180, 180),
        latitude: num(-90, 90),
        housing_median_age: num(0, 200),
        total_rooms: num(0, 1e6),
        total_bedrooms: num(0, 1e5),
        population: num(0, 1e6),
        households: num(0, 1e5),
        median_income: num(0, 100),
        ocean_proximity: fc.oneof(
          {
            weight: 40,
            arbitrary: fc.constantFrom("NEAR BAY", "inland", "<1H OCEAN", "Island", "NEAR OCEAN"),
          },
          { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
        ),
      },
      {
        requiredKeys: [
          "longitude",
          "latitude",
          "housing_median_age",
          "median_income",
          "ocean_proximity",
          "total_rooms",
          "population",
          "households",
        ],
      },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 5 }), async (instances) => {
        const r = await postJson(`${server.url}/api/v1/predict`, { instances });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) return allFinite(r.body.predictions as Parameters<typeof allFinite>[0]);
        return r.status === 422 && Array.isArray(r.body.detail) && (r.body.detail as unknown[]).length > 0;
      }),
      { numRuns: 400, seed: 20261128 },
    );
    assert.ok((statuses.get(200) ?? 0) > 20 && (statuses.get(422) ?? 0) > 20, JSON.stringify([...statuses]));
    assert.equal((await fetch(`${server.url}/health/live`)).status, 200);
  });

  it("the reference's API tests (§6.1) and request examples (§2.5) hold against the real model", async () => {
    type Pred = {
      predicted_price: number;
      confidence_interval: { lower: number; upper: number; level: number };
    };
    const version = String((trained.registered as RegisterOutput).version);
    const root = (await (await fetch(`${server.url}/`)).json()) as Record<string, unknown>;
    for (const k of ["name", "version", "docs_url"]) assert.ok(k in root, k);
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(typeof health.status, "string");
    assert.equal(health.model_loaded, true);
    assert.equal(typeof health.version, "string");
    const predict = (instances: unknown[]) => postJson(`${server.url}/api/v1/predict`, { instances });
    const single = await predict([BASE]);
    assert.equal(single.status, 200);
    assert.equal(single.body.model_version, version);
    const one = single.body.predictions as Pred[];
    assert.equal(one.length, 1);
    assert.ok(one[0].predicted_price > 0);
    // conftest's batch, test_api_manual.sh's two rows and API_ARCHITECTURE_POST.md's fourth
    const row = (v: number[], o: string) => ({
      longitude: v[0],
      latitude: v[1],
      housing_median_age: v[2],
      total_rooms: v[3],
      total_bedrooms: v[4],
      population: v[5],
      households: v[6],
      median_income: v[7],
      ocean_proximity: o,
    });
    const batch = await predict([
      BASE,
      { ...BASE, median_income: 5.0 },
      { ...BASE, housing_median_age: 20.0 },
      row([-118.2, 34.05, 25.0, 2500.0, 450.0, 1200.0, 400.0, 5.5], "NEAR OCEAN"),
      row([-121.89, 37.34, 15.0, 3200.0, 600.0, 1500.0, 550.0, 7.2], "INLAND"),
      row([-118.3, 34.26, 15.0, 5612.0, 1283.0, 1015.0, 472.0, 1.4936], "INLAND"),
    ]);
    assert.equal(batch.status, 200);
    const preds = batch.body.predictions as Pred[];
    assert.equal(preds.length, 6);
    for (const p of preds) {
      assert.ok(p.predicted_price > 0 && Number.isFinite(p.predicted_price));
      assert.ok(
        p.confidence_interval.lower <= p.predicted_price && p.predicted_price <= p.confidence_interval.upper,
      );
    }
    assert.equal(
      preds[0].predicted_price,
      one[0].predicted_price,
      "a row's prediction does not depend on its batch",
    );
    const { longitude: _lon, ...noLongitude } = BASE;
    for (const [what, inst] of [
      ["invalid ocean_proximity", { ...BASE, ocean_proximity: "INVALID" }],
      ["missing longitude", noLongitude],
      ["negative total_rooms", { ...BASE, total_rooms: -100 }],
      ["latitude 91", { ...BASE, latitude: 91.0 }],
      ["longitude 181", { ...BASE, longitude: 181.0 }],
    ] as const) {
      assert.equal((await predict([inst])).status, 422, what);
    }
    assert.equal((await predict([])).status, 422, "empty instances");
    const lower = await predict([{ ...BASE, ocean_proximity: "near bay" }]);
    assert.equal(lower.status, 200);
    assert.equal((lower.body.predictions as Pred[])[0].predicted_price, one[0].predicted_price);
    const info = (await (await fetch(`${server.url}/api/v1/model/info`)).json()) as Record<string, unknown>;
    assert.equal(info.model_loaded, true);
    assert.equal(info.model_version, version);
  });

  it("hot-reloads when the production alias moves, and rolls back", async () => {
    const r2 = await train({
      loaded: fastConfig(csv, home, ["register.interval_level=0.8", "promote.auto=false"]),
      nJobs: 1,
    });
    const v2 = (r2.registered as RegisterOutput).version;
    assert.equal(v2, 2);
    const t = openTracking({ home });
    try {
      await promoteVersion(
        t,
        fastConfig(csv, home, [
          "promote.min_r2=0.0",
          "promote.max_mape=100",
          "promote.not_worse_than_production=false",
        ]),
        v2,
        "test",
      );
    } finally {
      await t.close();
    }
    const denied = await fetch(`${server.url}/api/v1/admin/reload`, {
      method: "POST",
      headers: { "x-api-key": "wrong-key-000" },
    });
    assert.equal(denied.status, 403);
    const ok = await fetch(`${server.url}/api/v1/admin/reload`, {
      method: "POST",
      headers: { "x-api-key": "test-admin-key-123" },
    });
    assert.equal(ok.status, 200);
    const info = (await (await fetch(`${server.url}/api/v1/model/info`)).json()) as { model_version: string };
    assert.equal(info.model_version, "2");
    const t2 = openTracking({ home });
    try {
      await t2.registry.rollback("housing_price_model", "production", { reason: "test rollback" });
    } finally {
      await t2.close();
    }
    await fetch(`${server.url}/api/v1/admin/reload`, {
      method: "POST",
      headers: { "x-api-key": "test-admin-key-123" },
    });
    const info2 = (await (await fetch(`${server.url}/api/v1/model/info`)).json()) as {
      model_version: string;
    };
    assert.equal(info2.model_version, "1");
  });

  it("polls the registry: follows the alias, and rejects a version whose stored artifact is corrupt", async () => {
    // production → v1 here (rolled back above); v2 is registered
    const polled = await startServer({
      contract: CONTRACT,
      sources: [registrySource({ home, name: "housing_price_model", alias: "production" })],
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      handleSignals: false,
      pollIntervalMs: 100,
    });
    const version = async () =>
      ((await (await fetch(`${polled.url}/api/v1/model/info`)).json()) as { model_version: string })
        .model_version;
    const waitFor = async (want: string) => {
      const deadline = Date.now() + 10_000;
      while ((await version()) !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return await version();
    };
    const t = openTracking({ home });
    let artifact = "";
    let original: Buffer | null = null;
    try {
      assert.equal(await version(), "1");
      await t.registry.setAlias("housing_price_model", "production", 2, { reason: "test: poll" });
      assert.equal(await waitFor("2"), "2", "the poll follows the alias without an admin call");
      // corrupt v1's stored bundle, then point the alias back at it
      const v1 = await t.registry.getVersion("housing_price_model", 1);
      artifact = (t.artifacts as LocalArtifactStore).pathOf(v1.artifactSha);
      original = readFileSync(artifact);
      chmodSync(artifact, 0o644);
      const bad = Buffer.from(original);
      bad[bad.length >> 1] ^= 0xff;
      writeFileSync(artifact, bad);
      await t.registry.setAlias("housing_price_model", "production", 1, { reason: "test: corrupt" });
      const events = async () =>
        /model_load_events_total\{source="registry:housing_price_model@production",outcome="rejected",trigger="poll"\} (\d+)/.exec(
          await (await fetch(`${polled.url}/metrics`)).text(),
        )?.[1];
      const deadline = Date.now() + 10_000;
      while ((await events()) === undefined && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(await events(), "1", "rejected once");
      await new Promise((r) => setTimeout(r, 500)); // ~5 more polls
      assert.equal(await events(), "1", "the same bad version is not fetched again");
      assert.equal(await version(), "2", "the old version keeps serving");
      const ok = await postJson(`${polled.url}/api/v1/predict`, { instances: [BASE] });
      assert.equal(ok.status, 200);
      type Deep = {
        status: string;
        checks: {
          last_load: { ok: boolean; outcome: string; error: string };
          sources: {
            ok: boolean;
            items: { ok: boolean; error?: string; detail?: { store?: { kind: string } } }[];
          };
        };
      };
      const deep = async () => (await (await fetch(`${polled.url}/health/deep`)).json()) as Deep;
      const d1 = await deep();
      assert.equal(d1.status, "warn", "serving, but the version the alias points at was rejected");
      assert.equal(d1.checks.last_load.outcome, "rejected");
      assert.match(d1.checks.last_load.error, /is corrupt/);
      assert.equal(d1.checks.sources.ok, true, "the store answers and holds the (corrupt) bytes");
      assert.equal(d1.checks.sources.items[0].detail?.store?.kind, "local");
      // the artifact gone from the store: the registry probe says so (it checks the store, not just the alias)
      renameSync(artifact, `${artifact}.away`);
      try {
        const d2 = await deep();
        assert.equal(d2.checks.sources.ok, false);
        assert.match(d2.checks.sources.items[0].error ?? "", /is missing from/);
      } finally {
        renameSync(`${artifact}.away`, artifact);
      }
    } finally {
      if (original) writeFileSync(artifact, original);
      await t.registry
        .setAlias("housing_price_model", "production", 1, { reason: "test: restore" })
        .catch(() => {});
      await t.close();
      await polled.close();
    }
  });
});
