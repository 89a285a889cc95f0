/**
 * Serving the model the pipeline actually trained: predictions served over HTTP equal the pipeline's offline
 * test predictions bit for bit (no training/serving skew), and moving the `production` alias hot-reloads.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { readTable } from "../../src/data/io.ts";
import { type TrainResult, promoteVersion, train } from "../../src/pipeline/pipeline.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SplitOutput } from "../../src/pipeline/steps/split.ts";
import { startServer } from "../../src/serving/app.ts";
import { registrySource } from "../../src/serving/registry-source.ts";
import { openTracking } from "../../src/tracking/index.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

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
});
