import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  createStudy,
  defaultGamma,
  defaultWeights,
  type FrozenTrial,
  InMemoryStorage,
  JsonFileStorage,
  NumericParzen,
  RandomSampler,
  type Sampler,
  type Trial,
  TPESampler,
  TrialPruned,
} from "../../src/ml/search/index.ts";

const branin = (x1: number, x2: number) => {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
};
const braninObjective = (t: Trial) => branin(t.suggestFloat("x1", -5, 10), t.suggestFloat("x2", 0, 15));

async function bestOf(sampler: Sampler, nTrials = 60): Promise<number> {
  const st = await createStudy({ sampler });
  await st.optimize(braninObjective, { nTrials });
  return st.bestValue as number;
}

const paramsOf = (ts: FrozenTrial[]) => ts.map((t) => t.params);

describe("TPE sampler", () => {
  it("beats random search on Branin (60 trials, mean best over 6 seeds)", async () => {
    let tpe = 0;
    let rnd = 0;
    for (let s = 0; s < 6; s++) {
      tpe += await bestOf(new TPESampler({ seed: s }));
      rnd += await bestOf(new RandomSampler(s));
    }
    tpe /= 6;
    rnd /= 6;
    // global minimum 0.397887
    assert.ok(tpe < rnd, `TPE ${tpe} vs random ${rnd}`);
    assert.ok(tpe < 0.9, `TPE mean best ${tpe}`);
  });

  it("is deterministic per seed and differs across seeds", async () => {
    const run = async (seed: number) => {
      const st = await createStudy({ sampler: new TPESampler({ seed }) });
      await st.optimize(braninObjective, { nTrials: 25 });
      return paramsOf(st.trials);
    };
    const a = await run(4);
    assert.deepEqual(a, await run(4));
    assert.notDeepEqual(a, await run(5));
  });

  it("uses random sampling for the first nStartupTrials, identical to RandomSampler with the same seed", async () => {
    const st1 = await createStudy({ sampler: new TPESampler({ seed: 9 }) });
    const st2 = await createStudy({ sampler: new RandomSampler(9) });
    await st1.optimize(braninObjective, { nTrials: 12 });
    await st2.optimize(braninObjective, { nTrials: 12 });
    assert.deepEqual(paramsOf(st1.trials).slice(0, 10), paramsOf(st2.trials).slice(0, 10));
    assert.notDeepEqual(paramsOf(st1.trials).slice(10), paramsOf(st2.trials).slice(10));
  });

  it("keeps log floats, log ints and stepped ints in bounds; ints are integers", async () => {
    const st = await createStudy({ sampler: new TPESampler({ seed: 1, nStartupTrials: 5 }) });
    await st.optimize(
      (t) => {
        const lr = t.suggestFloat("lr", 1e-4, 0.3, { log: true });
        const n = t.suggestInt("n", 1, 1000, { log: true });
        const d = t.suggestInt("d", 2, 20, { step: 3 });
        const a = t.suggestFloat("a", -1, 1);
        return Math.abs(Math.log(lr / 0.01)) + Math.abs(Math.log(n / 50)) + Math.abs(d - 11) + a * a;
      },
      { nTrials: 60 },
    );
    let small = 0;
    for (const t of st.trials) {
      const { lr, n, d, a } = t.params as Record<string, number>;
      assert.ok(lr >= 1e-4 && lr <= 0.3, `lr ${lr}`);
      assert.ok(Number.isInteger(n) && n >= 1 && n <= 1000, `n ${n}`);
      assert.ok(Number.isInteger(d) && d >= 2 && d <= 20 && (d - 2) % 3 === 0, `d ${d}`);
      assert.ok(a >= -1 && a <= 1);
      if (lr < 1e-3) small++;
    }
    assert.ok(small > 0, "log scale must reach the low decade");
    assert.ok((st.bestValue as number) < 1.5, String(st.bestValue));
  });

  it("handles categoricals: concentrates on the best choice", async () => {
    const cost: Record<string, number> = { sqrt: 3, log2: 0, none: 2, half: 4 };
    const st = await createStudy({ sampler: new TPESampler({ seed: 2 }) });
    await st.optimize(
      (t) =>
        cost[t.suggestCategorical("max_features", ["sqrt", "log2", "none", "half"])] +
        t.suggestFloat("x", 0, 1),
      { nTrials: 60 },
    );
    const late = st.trials.slice(20).filter((t) => t.params.max_features === "log2").length;
    assert.ok(late > 40 * 0.6, `log2 chosen ${late}/40 times after warm-up`);
    const rnd = await createStudy({ sampler: new RandomSampler(2) });
    await rnd.optimize((t) => cost[t.suggestCategorical("mf", ["sqrt", "log2", "none", "half"])], {
      nTrials: 60,
    });
    const rl = rnd.trials.slice(20).filter((t) => t.params.mf === "log2").length;
    assert.ok(late > rl, `${late} vs random ${rl}`);
  });

  it("maximize direction works (mirror of minimize)", async () => {
    const st = await createStudy({ direction: "maximize", sampler: new TPESampler({ seed: 3 }) });
    await st.optimize((t) => -branin(t.suggestFloat("x1", -5, 10), t.suggestFloat("x2", 0, 15)), {
      nTrials: 40,
    });
    assert.ok((st.bestValue as number) > -2, String(st.bestValue));
    assert.equal(st.bestValue, Math.max(...st.trials.map((t) => t.value as number)));
  });

  it("Optuna defaults: gamma, weights, magic-clip bandwidths", () => {
    assert.deepEqual([1, 10, 11, 100, 300].map(defaultGamma), [1, 1, 2, 10, 25]);
    assert.deepEqual(defaultWeights(3), [1, 1, 1]);
    const w = defaultWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs(w[0] - 1 / 30) < 1e-12 && w[4] === 1 && w[29] === 1);
    const p = new NumericParzen([0.5, 0.52], 0, 1, {
      priorWeight: 1,
      considerPrior: true,
      considerMagicClip: true,
      considerEndpoints: false,
      weights: defaultWeights,
    });
    assert.deepEqual(p.mus, [0.5, 0.52, 0.5]);
    assert.equal(p.sigmas[2], 1); // prior sigma = range
    for (const s of p.sigmas) assert.ok(s >= 1 / 4 - 1e-12 && s <= 1); // clip: range / min(100, 1 + 3)
    assert.ok(Math.abs(p.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    // a density: integrates to ~1 on [low, high]
    let integral = 0;
    for (let i = 0; i < 2000; i++) integral += Math.exp(p.logPdf((i + 0.5) / 2000)) / 2000;
    assert.ok(Math.abs(integral - 1) < 1e-3, String(integral));
  });
});

describe("Study", () => {
  it("records pruned and failed trials; catchErrors continues, otherwise the error propagates", async () => {
    const st = await createStudy({ sampler: new RandomSampler(1) });
    await st.optimize(
      (t) => {
        const x = t.suggestFloat("x", 0, 1);
        if (t.number === 1) throw new TrialPruned();
        if (t.number === 2) throw new Error("boom");
        if (t.number === 3) return Number.NaN;
        return x;
      },
      { nTrials: 5, catchErrors: true },
    );
    assert.deepEqual(
      st.trials.map((t) => t.state),
      ["complete", "pruned", "fail", "fail", "complete"],
    );
    assert.equal(st.trials[2].error, "boom");
    const st2 = await createStudy({ sampler: new RandomSampler(1) });
    await assert.rejects(
      st2.optimize((t) => (t.number === 2 ? Promise.reject(new Error("bad objective")) : 1), { nTrials: 6 }),
      /bad objective/,
    );
    assert.equal(st2.trials.length, 3);
    assert.equal(st2.trials[2].state, "fail");
  });

  it("rejects inconsistent suggestions and bad spaces with clear errors", async () => {
    const st = await createStudy({ sampler: new RandomSampler(1) });
    await assert.rejects(
      st.optimize(
        (t) => {
          t.suggestInt("a", 1, 5);
          return t.suggestFloat("a", 1, 5);
        },
        { nTrials: 1 },
      ),
      /"a" suggested again with a different distribution/,
    );
    for (const [f, re] of [
      [(t: Trial) => t.suggestFloat("lr", 0, 1, { log: true }), /log scale needs low > 0/],
      [(t: Trial) => t.suggestInt("n", 1.5, 4), /int bounds must be integers/],
      [(t: Trial) => t.suggestInt("n", 5, 4), /low \(5\) must be <= high \(4\)/],
      [(t: Trial) => t.suggestCategorical("c", []), /choices must be a non-empty array/],
    ] as const) {
      const s = await createStudy({ sampler: new RandomSampler(1) });
      await assert.rejects(
        s.optimize((t) => Number(f(t)), { nTrials: 1 }),
        re,
      );
    }
  });

  it("parallel trials are deterministic regardless of completion order", async () => {
    const run = async (jitter: number) => {
      const st = await createStudy({ sampler: new TPESampler({ seed: 6, nStartupTrials: 4 }) });
      await st.optimize(
        async (t) => {
          const x1 = t.suggestFloat("x1", -5, 10);
          const x2 = t.suggestFloat("x2", 0, 15);
          await new Promise((r) => setTimeout(r, ((t.number * jitter) % 7) + 1));
          return branin(x1, x2);
        },
        { nTrials: 16, parallel: 3 },
      );
      return paramsOf(st.trials);
    };
    const a = await run(3);
    assert.deepEqual(a, await run(5));
    assert.equal(a.length, 16);
  });

  it("resumes a killed sweep from JSON storage and reproduces the uninterrupted sequence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "study-"));
    try {
      const full = await createStudy({
        sampler: new TPESampler({ seed: 8 }),
        storage: new InMemoryStorage(),
      });
      await full.optimize(braninObjective, { nTrials: 30 });

      const path = join(dir, "study.json");
      // the process "dies" while storing trial 17
      class Dying extends JsonFileStorage {
        override saveTrial(t: FrozenTrial): void {
          if (t.number === 17) throw new Error("SIGKILL");
          super.saveTrial(t);
        }
      }
      const first = await createStudy({ sampler: new TPESampler({ seed: 8 }), storage: new Dying(path) });
      await assert.rejects(first.optimize(braninObjective, { nTrials: 30 }), /SIGKILL/);
      assert.equal(new JsonFileStorage(path).loadTrials().length, 17);

      const resumed = await createStudy({
        sampler: new TPESampler({ seed: 8 }),
        storage: new JsonFileStorage(path),
      });
      assert.equal(resumed.trials.length, 17);
      await resumed.optimize(braninObjective, { nTrials: 30 });
      assert.deepEqual(paramsOf(resumed.trials), paramsOf(full.trials));
      assert.deepEqual(
        new JsonFileStorage(path).loadTrials().map((t) => t.value),
        full.trials.map((t) => t.value),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("enqueued params are used as given", async () => {
    const st = await createStudy({ sampler: new TPESampler({ seed: 1 }) });
    st.enqueueTrial(0, { x1: 3, x2: 2 });
    await st.optimize(braninObjective, { nTrials: 2 });
    assert.deepEqual(st.trials[0].params, { x1: 3, x2: 2 });
  });
});
