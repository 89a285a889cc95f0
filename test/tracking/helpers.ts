import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";

/** A fresh temp directory, removed by the returned cleanup. */
export function tempHome(prefix = "mlops-tracking-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A writable that collects everything written to it. */
export function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

export const SHA_A = "a".repeat(64);
export const SHA_B = "b".repeat(64);

/**
 * Two workers, each with its own store connection, optimise one shared study (search trial storage with claims)
 * concurrently; asserts that both ran trials and that the stored trials equal those of one worker alone on an
 * in-memory storage (see Study's shared mode). Closes both stores.
 */
export async function checkSharedSweep(
  a: import("../../src/tracking/store.ts").TrackingStore,
  b: import("../../src/tracking/store.ts").TrackingStore,
  study: string,
): Promise<void> {
  try {
    const r = await sharedSweepVersusAlone(a, b, study);
    assert.deepEqual(r.shared, r.alone);
    assert.equal(r.owners.size, 2, "both workers ran trials");
  } finally {
    await a.close();
    await b.close();
  }
}

async function sharedSweepVersusAlone(
  a: import("../../src/tracking/store.ts").TrackingStore,
  b: import("../../src/tracking/store.ts").TrackingStore,
  study: string,
): Promise<{ shared: unknown[]; alone: unknown[]; owners: Set<string> }> {
  const { Study, TPESampler } = await import("../../src/ml/search/index.ts");
  const { searchTrialStorage } = await import("../../src/tracking/trials.ts");
  const objective = async (t: import("../../src/ml/search/index.ts").Trial) => {
    const x = t.suggestFloat("x", -3, 3);
    const k = t.suggestInt("k", 1, 5);
    await new Promise((r) => setTimeout(r, (t.number * 37) % 11));
    return (x - 1) ** 2 + k;
  };
  const sampler = () => new TPESampler({ seed: 5, nStartupTrials: 3 });
  const opts = { nTrials: 12, parallel: 4, concurrency: 2, pollMs: 5 };
  const alone = await Study.create({ sampler: sampler() });
  await alone.optimize(objective, opts);
  const owners = new Set<string>();
  const workers = await Promise.all(
    [a, b].map((s) => Study.create({ sampler: sampler(), storage: searchTrialStorage(s, study) })),
  );
  await Promise.all(
    workers.map((w, i) =>
      w.optimize(objective, {
        ...opts,
        workerId: `w${i}`,
        onTrial: () => {
          owners.add(`w${i}`);
        },
      }),
    ),
  );
  const strip = (ts: { number: number; state: string; params: unknown; value: number | null }[]) =>
    ts.map((t) => [t.number, t.state, t.params, t.value]);
  const stored = await searchTrialStorage(a, study).loadTrials();
  return { shared: strip(stored), alone: strip(alone.trials), owners };
}

/**
 * A sweep stopped after 4 trials and resumed to 10 on `store`, next to an uninterrupted 10-trial sweep: returns the
 * trials each stored (as [number, state, params, value]), the count the resumed study loaded, and the straight
 * study's trials as the search code holds them (for round-trip checks).
 */
export async function resumedSweepVersusStraight(
  store: import("../../src/tracking/store.ts").TrackingStore,
): Promise<{
  loadedOnResume: number;
  resumed: unknown[];
  straight: unknown[];
  straightTrials: import("../../src/ml/search/index.ts").FrozenTrial[];
}> {
  const { Study, RandomSampler } = await import("../../src/ml/search/index.ts");
  const { searchTrialStorage } = await import("../../src/tracking/trials.ts");
  const objective = (t: import("../../src/ml/search/index.ts").Trial) =>
    (t.suggestFloat("x", -3, 3) - 1) ** 2 + t.suggestInt("k", 1, 5);
  const study = (name: string) =>
    Study.create({ sampler: new RandomSampler(7), storage: searchTrialStorage(store, name) });
  await (await study("resumed")).optimize(objective, { nTrials: 4 });
  const resumed = await study("resumed");
  const loadedOnResume = resumed.trials.length;
  await resumed.optimize(objective, { nTrials: 10 });
  const straight = await study("straight");
  await straight.optimize(objective, { nTrials: 10 });
  const strip = (ts: typeof straight.trials) => ts.map((t) => [t.number, t.state, t.params, t.value]);
  return {
    loadedOnResume,
    resumed: strip(resumed.trials),
    straight: strip(straight.trials),
    straightTrials: straight.trials,
  };
}
