import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StepCache, type StepDef, resolveStepId, runPipeline, topoOrder } from "../../src/pipeline/runner.ts";

type Cfg = { a: number; b: number; failAt?: string };

function makeSteps(calls: string[]): StepDef<Cfg>[] {
  return [
    {
      id: "01_load",
      title: "load",
      deps: [],
      configKeys: ["a"],
      async run({ config }) {
        calls.push("01");
        return { x: new Float64Array([config.a, 2]) };
      },
    },
    {
      id: "02_double",
      title: "double",
      deps: ["01_load"],
      configKeys: ["failAt"],
      async run({ inputs, config }) {
        calls.push("02");
        if (config.failAt === "02") throw new Error("boom");
        const x = (inputs["01_load"] as { x: Float64Array }).x;
        return { y: x.map((v) => v * 2) };
      },
    },
    {
      id: "03_sum",
      title: "sum",
      deps: ["02_double"],
      configKeys: ["b"],
      async run({ inputs, config }) {
        calls.push("03");
        const y = (inputs["02_double"] as { y: Float64Array }).y;
        // transitive inputs are visible too
        assert.ok(inputs["01_load"]);
        return y.reduce((s, v) => s + v, 0) + config.b;
      },
    },
  ];
}

describe("pipeline runner", () => {
  const dir = mkdtempSync(join(tmpdir(), "runner-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("runs in order, then serves everything from cache", async () => {
    const cache = new StepCache(join(dir, "c1"));
    const calls: string[] = [];
    const r1 = await runPipeline(makeSteps(calls), { a: 1, b: 10 }, cache, "code-v1");
    assert.equal(r1.outputs["03_sum"], 2 + 4 + 10);
    assert.deepEqual(calls, ["01", "02", "03"]);
    const calls2: string[] = [];
    const r2 = await runPipeline(makeSteps(calls2), { a: 1, b: 10 }, cache, "code-v1");
    assert.deepEqual(calls2, []);
    assert.equal(r2.outputs["03_sum"], 16);
    assert.ok(
      r2.outputs["01_load"] && (r2.outputs["01_load"] as { x: Float64Array }).x instanceof Float64Array,
    );
    assert.deepEqual(
      r2.events.map((e) => e.status),
      ["cached", "cached", "cached"],
    );
  });

  it("re-runs only what a config change affects, and everything on a code change", async () => {
    const cache = new StepCache(join(dir, "c2"));
    await runPipeline(makeSteps([]), { a: 1, b: 10 }, cache, "v1");
    const calls: string[] = [];
    await runPipeline(makeSteps(calls), { a: 1, b: 11 }, cache, "v1");
    assert.deepEqual(calls, ["03"]);
    const calls2: string[] = [];
    await runPipeline(makeSteps(calls2), { a: 2, b: 11 }, cache, "v1");
    assert.deepEqual(calls2, ["01", "02", "03"]);
    const calls3: string[] = [];
    await runPipeline(makeSteps(calls3), { a: 2, b: 11 }, cache, "v2");
    assert.deepEqual(calls3, ["01", "02", "03"]);
  });

  it("a failed run resumes from the failed step", async () => {
    const cache = new StepCache(join(dir, "c3"));
    const calls: string[] = [];
    await assert.rejects(
      runPipeline(makeSteps(calls), { a: 1, b: 0, failAt: "02" }, cache, "v1"),
      /step 02_double failed: boom/,
    );
    assert.deepEqual(calls, ["01", "02"]);
    const calls2: string[] = [];
    const r = await runPipeline(makeSteps(calls2), { a: 1, b: 0, failAt: "02" }, cache, "v1").catch((e) => e);
    assert.ok(r instanceof Error);
    assert.deepEqual(calls2, ["02"], "step 01 is cached, only the failed step re-runs");
  });

  it("--from forces a step and its successors; --steps runs a subset", async () => {
    const cache = new StepCache(join(dir, "c4"));
    await runPipeline(makeSteps([]), { a: 1, b: 1 }, cache, "v1");
    const calls: string[] = [];
    await runPipeline(makeSteps(calls), { a: 1, b: 1 }, cache, "v1", { from: "02" });
    assert.deepEqual(calls, ["02", "03"]);
    const calls2: string[] = [];
    const r = await runPipeline(makeSteps(calls2), { a: 1, b: 1 }, cache, "v1", {
      steps: ["03"],
      force: true,
    });
    assert.deepEqual(calls2, ["03"]);
    assert.equal(r.outputs["03_sum"], 7);
    const fresh = new StepCache(join(dir, "c5"));
    await assert.rejects(
      runPipeline(makeSteps([]), { a: 1, b: 1 }, fresh, "v1", { steps: ["03"] }),
      /no cached output/,
    );
  });

  it("detects cycles and unknown steps", () => {
    const s: StepDef<Cfg>[] = [
      { id: "01_a", title: "a", deps: ["02_b"], configKeys: [], run: async () => 1 },
      { id: "02_b", title: "b", deps: ["01_a"], configKeys: [], run: async () => 1 },
    ];
    assert.throws(() => topoOrder(s), /cycle/);
    assert.throws(() => resolveStepId(makeSteps([]), "09"), /unknown step '09'/);
    assert.equal(resolveStepId(makeSteps([]), "2"), "02_double");
    assert.equal(resolveStepId(makeSteps([]), "sum"), "03_sum");
  });
});
