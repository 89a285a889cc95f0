/**
 * Step 02 — split: a seeded train/test split, stratified on the contract's stratification bins (Géron's
 * income categories for California Housing). Runs right after ingestion so that everything fitted later
 * (imputers, scaling, clustering, model selection, tuning) sees the training rows only; the test rows are
 * used once, by step 07. (The article numbers the split as its step 4; see docs/pipeline.md.)
 */
import { hashFrame } from "../../data/hash.ts";
import { binLabels, stratifiedSplit, trainTestSplit } from "../../data/split.ts";
import { deriveSeed } from "../../data/prng.ts";
import type { PipelineStep } from "../context.ts";
import { fromPlain } from "../frame-io.ts";
import type { IngestOutput } from "./ingest.ts";

export interface SplitOutput {
  train: Uint32Array;
  test: Uint32Array;
  stratified: boolean;
  /** stratum label → [share in full data, share in train, share in test] (percent) */
  strata: Record<string, [number, number, number]>;
  testSetHash: string;
  trainHash: string;
}

export const splitStep: PipelineStep<SplitOutput> = {
  id: "02_split",
  title: "Stratified train/test split",
  deps: ["01_ingest"],
  configKeys: ["seed", "data.test_size", "data.stratify"],
  async run({ env, run, inputs }) {
    const ing = inputs["01_ingest"] as IngestOutput;
    const frame = fromPlain(ing.frame);
    const seed = deriveSeed(env.config.seed, 2);
    const strat = env.config.data.stratify && env.contract.stratify;
    let split: { train: Uint32Array; test: Uint32Array };
    const strata: SplitOutput["strata"] = {};
    if (strat) {
      const labels = binLabels(frame.numeric(strat.column), strat.bins, {
        outOfRange: "clip",
        column: strat.column,
      });
      split = stratifiedSplit(labels, env.config.data.test_size, seed);
      const count = (idx: ArrayLike<number>) => {
        const m = new Map<number, number>();
        for (let k = 0; k < idx.length; k++) m.set(labels[idx[k]], (m.get(labels[idx[k]]) ?? 0) + 1);
        return m;
      };
      const all = count(Array.from({ length: frame.nRows }, (_, i) => i));
      const tr = count(split.train),
        te = count(split.test);
      for (const [lab, c] of [...all.entries()].sort((a, b) => a[0] - b[0])) {
        strata[String(lab)] = [
          (100 * c) / frame.nRows,
          (100 * (tr.get(lab) ?? 0)) / split.train.length,
          (100 * (te.get(lab) ?? 0)) / split.test.length,
        ];
      }
    } else {
      split = trainTestSplit(frame.nRows, env.config.data.test_size, seed);
    }
    const testSetHash = hashFrame(frame.take(split.test));
    const trainHash = hashFrame(frame.take(split.train));
    await run.logParams({ stratified: Boolean(strat), test_size: env.config.data.test_size, seed });
    await run.logMetrics({ train_rows: split.train.length, test_rows: split.test.length });
    await run.logJson("strata.json", strata);
    return {
      train: split.train,
      test: split.test,
      stratified: Boolean(strat),
      strata,
      testSetHash,
      trainHash,
    };
  },
};
