import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { readTable } from "../../src/data/io.ts";
import { contractTypes, loadContract } from "../../src/data/contract.ts";
import { ModelBundle } from "../../src/features/bundle.ts";
import { type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SplitOutput } from "../../src/pipeline/steps/split.ts";
import { openTracking } from "../../src/tracking/index.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

const CONTRACT = loadContract(
  join(import.meta.dirname, "..", "..", "config", "datasets", "california_housing.yaml"),
);

describe("training pipeline (end to end on a 1,500-row sample)", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-"));
  const csv = join(dir, "sample.csv");
  let first: TrainResult;
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    writeSample(csv, 1500, 7);
    first = await train({ loaded: fastConfig(csv, join(dir, "home")), nJobs: 1 });
  });

  it("runs every step, registers a version with lineage and sets the staging alias", async () => {
    assert.deepEqual(
      first.events.filter((e) => e.status === "done").map((e) => e.step),
      ["01_ingest", "02_split", "03_impute", "04_features", "05_select", "06_sweep", "07_register"],
    );
    const reg = first.registered as RegisterOutput;
    assert.equal(reg.version, 1);
    assert.ok(reg.metrics.r2 > 0.5, `test R² ${reg.metrics.r2}`);
    assert.ok(reg.interval.testCoverage > 0.8, `coverage ${reg.interval.testCoverage}`);
    const t = openTracking({ home: join(dir, "home") });
    try {
      const v = await t.registry.getVersionByAlias("housing_price_model", "staging");
      assert.equal(v?.version, 1);
      const lin = v?.lineage as Record<string, unknown>;
      for (const k of [
        "dataHash",
        "testSetHash",
        "configHash",
        "resolvedConfig",
        "featurePipelineSha",
        "params",
      ]) {
        assert.ok(lin[k] !== undefined && lin[k] !== null, `lineage.${k} missing`);
      }
      const example = v?.inputExample;
      assert.ok(Array.isArray(example) && example.length > 0);
    } finally {
      await t.close();
    }
  });

  it("serves exactly what it evaluated: the registered bundle reproduces the step-07 test predictions bit for bit", async () => {
    const reg = first.registered as RegisterOutput;
    const split = first.outputs["02_split"] as SplitOutput;
    const t = openTracking({ home: join(dir, "home") });
    try {
      const bundle = ModelBundle.decode(await t.artifacts.get(reg.artifactSha));
      const table = await readTable(csv, { types: contractTypes(CONTRACT) });
      const inputs = CONTRACT.columns.map((c) => c.name).filter((n) => n !== CONTRACT.target);
      const pred = bundle.predictFrame(table.frame.take(split.test).select(inputs));
      assert.deepEqual(Array.from(pred.predictions), Array.from(reg.testPredictions));
      // the recorded example predictions also reproduce
      const ex = bundle.meta.inputExample;
      assert.ok(ex.length > 0);
    } finally {
      await t.close();
    }
  });

  it("serves every step from the cache on an identical re-run (no new version)", async () => {
    const again = await train({ loaded: fastConfig(csv, join(dir, "home")), nJobs: 1 });
    assert.deepEqual(
      again.events.map((e) => e.status),
      ["cached", "cached", "cached", "cached", "cached", "cached", "cached"],
    );
    assert.equal((again.registered as RegisterOutput).version, 1);
  });

  it("re-running step 07 on the same study refits the same model and registers no second version", async () => {
    // what every worker of a shared sweep does when it runs the whole pipeline
    const r = await train({ loaded: fastConfig(csv, join(dir, "home")), nJobs: 1, from: "07_register" });
    assert.equal(r.events.filter((e) => e.status === "done").at(-1)?.step, "07_register");
    const reg = r.registered as RegisterOutput;
    assert.equal(reg.version, 1);
    assert.equal(reg.artifactSha, (first.registered as RegisterOutput).artifactSha); // the registered bundle
    const t = openTracking({ home: join(dir, "home") });
    try {
      const versions = await t.registry.listVersions("housing_price_model");
      assert.deepEqual(
        versions.map((v) => v.version),
        [1],
      );
      assert.equal(versions[0].runId, first.runId);
    } finally {
      await t.close();
    }
  });

  it("re-runs from a step with --from and only what depends on a changed config key", async () => {
    const r = await train({
      loaded: fastConfig(csv, join(dir, "home"), ["register.interval_level=0.8"]),
      nJobs: 1,
      promote: false,
    });
    assert.deepEqual(
      r.events.filter((e) => e.status !== "running").map((e) => e.status),
      ["cached", "cached", "cached", "cached", "cached", "cached", "done"],
    );
    assert.equal((r.registered as RegisterOutput).version, 2);
    assert.equal((r.registered as RegisterOutput).interval.level, 0.8);
  });

  it("never lets the test split influence imputation, features, selection or tuning", async () => {
    // same rows, but every test row's target and room counts are wildly different (median_income kept, so the
    // stratified split is the same)
    const split = first.outputs["02_split"] as SplitOutput;
    const testRows = new Set(Array.from(split.test));
    const csv2 = join(dir, "perturbed.csv");
    writeSample(csv2, 1500, 7, (cells, i) => {
      if (!testRows.has(i)) return cells;
      const c = [...cells];
      c[3] = String(Number(c[3]) * 10); // total_rooms
      c[4] = c[4] === "" ? "" : String(Number(c[4]) * 7); // total_bedrooms
      c[8] = String(Math.min(500001, Number(c[8]) * 3)); // target
      return c;
    });
    const second = await train({ loaded: fastConfig(csv2, join(dir, "home2")), nJobs: 1, promote: false });
    // wall-clock fields are the only thing allowed to differ
    const strip = (o: unknown) =>
      JSON.parse(
        JSON.stringify(o, (k, v) =>
          k === "seconds" ? 0 : ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v,
        ),
      );
    assert.deepEqual(Array.from((second.outputs["02_split"] as SplitOutput).train), Array.from(split.train));
    for (const step of ["03_impute", "04_features", "05_select"]) {
      const a = strip(first.outputs[step]);
      const b = strip(second.outputs[step]);
      assert.deepEqual(b, a, `${step} changed when only test rows changed`);
    }
    const sa = first.outputs["06_sweep"] as {
      bestParams: unknown;
      trials: { params: unknown; value: number | null }[];
    };
    const sb = second.outputs["06_sweep"] as typeof sa;
    assert.deepEqual(sb.bestParams, sa.bestParams);
    assert.deepEqual(
      sb.trials.map((t) => [t.params, t.value]),
      sa.trials.map((t) => [t.params, t.value]),
    );
    // …while the test metrics do change
    assert.notEqual(
      (second.registered as RegisterOutput).metrics.mae,
      (first.registered as RegisterOutput).metrics.mae,
    );
  });

  it("refuses promotion when a gate fails and leaves production unchanged", async () => {
    const home = join(dir, "home");
    const t = openTracking({ home });
    const before = await t.registry.getVersionByAlias("housing_price_model", "production");
    await t.close();
    const r = await train({
      loaded: fastConfig(csv, home, ["promote.min_r2=0.999", "register.interval_level=0.85"]),
      nJobs: 1,
    });
    assert.match(r.promotionError ?? "", /refused/);
    const t2 = openTracking({ home });
    try {
      const now = await t2.registry.getVersionByAlias("housing_price_model", "production");
      assert.equal(now?.version, before?.version);
    } finally {
      await t2.close();
    }
  });

  it("bad data and bad dataset contracts fail with clear errors", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "longitude,latitude,foo\n1,2,3\n");
    await assert.rejects(
      train({ loaded: fastConfig(bad, join(dir, "home3")), nJobs: 1 }),
      /missing|median_income|header/i,
    );
    const badYaml = join(dir, "ds.yaml");
    writeFileSync(badYaml, "name: x\ntarget: y\ncolumns:\n  - { name: y, type: float, min: abc }\n");
    const { parseContract } = await import("../../src/data/contract.ts");
    const YAML = await import("yaml");
    assert.throws(
      () =>
        parseContract(
          YAML.parse("name: x\ntarget: y\ncolumns:\n  - { name: y, type: float, min: abc }\n"),
          badYaml,
        ),
      /columns\[0\]\.min/,
    );
    assert.throws(() => loadConfig({ overrides: ["data.dataset=does_not_exist"] }), /does_not_exist/);
  });
});
