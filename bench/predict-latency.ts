/**
 * Prediction latency of a fitted regressor: mean single-row predict over 2,000 distinct test rows (after 200
 * warm-up calls) and the median of 7 calls on a 1,000-row batch (after 10 warm-up calls: the batch kernels, and
 * with n_jobs ≠ 1 the tree workers, are compiled by then, as in a server that has been up for a while). Shared by bench/ml_trees.ts (in its own process,
 * after all its fits) and bench/predict-child.ts (a fresh process that loads the saved model, as a server does).
 */
import type { Matrix, Regressor } from "../src/ml/types.ts";
import { matrix } from "../src/ml/types.ts";
import { median } from "./stats.ts";

export interface Latency {
  single_row_us: number;
  batch_1000_ms: number;
}

export function latency(model: Regressor, X: Matrix): Latency {
  const p = X.cols;
  const one = matrix(1, p, X.data.slice(0, p), X.featureNames);
  for (let i = 0; i < 200; i++) model.predict(one);
  const reps = 2000;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const o = (i % X.rows) * p;
    model.predict(matrix(1, p, X.data.subarray(o, o + p), X.featureNames));
  }
  const single_us = ((performance.now() - t0) / reps) * 1000;
  const batch = matrix(1000, p, X.data.slice(0, 1000 * p), X.featureNames);
  for (let i = 0; i < 10; i++) model.predict(batch);
  const bt: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    model.predict(batch);
    bt.push(performance.now() - t);
  }
  return { single_row_us: single_us, batch_1000_ms: median(bt) };
}
