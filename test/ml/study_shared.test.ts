/**
 * Shared-mode studies: several workers on one storage produce exactly the trials one worker makes, take over a
 * dead worker's trial when its lease expires, and never run a trial before its history is complete.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createStudy,
  type FrozenTrial,
  InMemoryStorage,
  type Trial,
  type TrialStorage,
  TPESampler,
} from "../../src/ml/search/index.ts";

/** An in-memory storage with claims (what a shared database provides), counting each worker's claims. */
class SharedMemoryStorage implements TrialStorage {
  readonly inner = new InMemoryStorage();
  readonly claims = new Map<number, { owner: string; until: number }>();
  readonly ranBy = new Map<number, string[]>();
  loadTrials(): FrozenTrial[] {
    return this.inner.loadTrials();
  }
  saveTrial(trial: FrozenTrial): void {
    this.inner.saveTrial(trial);
    this.claims.delete(trial.number);
  }
  async claim(number: number, owner: string, leaseMs: number): Promise<boolean> {
    await new Promise((r) => setImmediate(r)); // a round trip to the database
    if (this.inner.loadTrials().some((t) => t.number === number)) return false;
    const c = this.claims.get(number);
    if (c && c.owner !== owner && c.until >= Date.now()) return false;
    if (!c || c.owner !== owner) this.ranBy.set(number, [...(this.ranBy.get(number) ?? []), owner]);
    this.claims.set(number, { owner, until: Date.now() + leaseMs });
    return true;
  }
}

const branin = (x1: number, x2: number) =>
  (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 +
  10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) +
  10;

/** Async objective with a seeded, trial-dependent delay, so workers interleave differently from run to run. */
function objective(jitter: number) {
  return async (t: Trial) => {
    const v = branin(t.suggestFloat("x1", -5, 10), t.suggestFloat("x2", 0, 15));
    await new Promise((r) => setTimeout(r, ((t.number * 7919 + jitter * 104729) % 13) + 1));
    return v;
  };
}

const strip = (ts: FrozenTrial[]) => ts.map((t) => [t.number, t.state, t.params, t.value]);
const sampler = () => new TPESampler({ seed: 11, nStartupTrials: 4 });

describe("Study in shared mode", () => {
  it("3 concurrent workers on one storage make exactly the trials of one worker alone", async () => {
    const N = 24;
    const P = 6; // the study-wide window: 3 workers × 2 concurrent trials
    const alone = await createStudy({ sampler: sampler() });
    await alone.optimize(objective(0), { nTrials: N, parallel: P });

    for (const jitter of [1, 2]) {
      const storage = new SharedMemoryStorage();
      const workers = await Promise.all([0, 1, 2].map(() => createStudy({ sampler: sampler(), storage })));
      await Promise.all(
        workers.map((w, i) =>
          w.optimize(objective(jitter + i), {
            nTrials: N,
            parallel: P,
            concurrency: 2,
            workerId: `w${i}`,
            pollMs: 2,
          }),
        ),
      );
      const stored = storage.loadTrials();
      assert.deepEqual(strip(stored), strip(alone.trials));
      // the work really was shared, and no trial ran twice
      const owners = new Set([...storage.ranBy.values()].map((o) => o[0]));
      assert.ok(owners.size >= 2, `only ${[...owners]} ran trials`);
      for (const [n, o] of storage.ranBy) assert.equal(o.length, 1, `trial ${n} claimed by ${o}`);
      // every worker sees the complete study at the end
      for (const w of workers) assert.deepEqual(strip(w.trials), strip(alone.trials));
    }
  });

  it("takes over a trial whose worker died (its lease expired) and finishes the study", async () => {
    const storage = new SharedMemoryStorage();
    // a worker claimed trial 1 and died: its lease runs out after 50 ms
    assert.equal(await storage.claim(1, "dead", 50), true);
    const w = await createStudy({ sampler: sampler(), storage });
    const t0 = Date.now();
    await w.optimize(objective(0), { nTrials: 6, parallel: 2, workerId: "live", pollMs: 5 });
    assert.ok(Date.now() - t0 >= 40, "trial 1 must wait for the dead worker's lease");
    assert.deepEqual(
      w.trials.map((t) => t.number),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(storage.ranBy.get(1), ["dead", "live"]);
    const alone = await createStudy({ sampler: sampler() });
    await alone.optimize(objective(0), { nTrials: 6, parallel: 2 });
    assert.deepEqual(strip(w.trials), strip(alone.trials));
  });

  it("does not start trial t before every trial <= t - parallel is finished, whoever runs it", async () => {
    const storage = new SharedMemoryStorage();
    const starts: { t: number; finished: number[] }[] = [];
    const obj = async (t: Trial) => {
      starts.push({ t: t.number, finished: storage.loadTrials().map((x) => x.number) });
      await new Promise((r) => setTimeout(r, t.number % 3 === 0 ? 15 : 2));
      return t.suggestFloat("x", 0, 1);
    };
    const ws = await Promise.all([0, 1].map(() => createStudy({ sampler: sampler(), storage })));
    await Promise.all(
      ws.map((w, i) => w.optimize(obj, { nTrials: 12, parallel: 3, workerId: `w${i}`, pollMs: 1 })),
    );
    assert.equal(starts.length, 12);
    for (const s of starts)
      for (let b = 0; b <= s.t - 3; b++)
        assert.ok(s.finished.includes(b), `trial ${s.t} started before ${b} finished`);
  });
});
