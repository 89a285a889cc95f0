/**
 * crossValidate: scikit-learn `cross_validate` for regressors. The estimator is either a registry spec
 * `{kind, params}` (can run on the worker pool) or a factory `() => Regressor` (runs in this thread).
 */
import { resolveJobs, WorkerPool } from "../pool/pool.ts";
import type { Matrix, Params, Regressor } from "../types.ts";
import { MLInputError, takeRows, takeValues } from "../types.ts";
import { runFitScore, type FitScoreTask, type VariantResult } from "./fit_score.ts";
import { checkFolds, type Fold, kFold } from "./kfold.ts";
import { resolveScorers } from "./scoring.ts";

export interface EstimatorSpec {
  kind: string;
  params?: Params;
}
export type EstimatorSource = EstimatorSpec | (() => Regressor);

/** A fold count (un-shuffled KFold, sklearn's default for regressors), k-fold options, or explicit folds. */
export type CvSpec = number | { k: number; shuffle?: boolean; seed?: number } | readonly Fold[];

export function resolveCv(cv: CvSpec | undefined, n: number): Fold[] {
  if (cv === undefined) return kFold(n, 5);
  if (typeof cv === "number") return kFold(n, cv);
  if (Array.isArray(cv)) {
    checkFolds(cv, n);
    return [...cv];
  }
  const o = cv as { k: number; shuffle?: boolean; seed?: number };
  return kFold(n, o.k, { shuffle: o.shuffle, seed: o.seed });
}

export function checkXy(X: Matrix, y: Float64Array, where: string): void {
  if (!X || !(X.data instanceof Float64Array)) throw new MLInputError(`${where}: X must be a Matrix`);
  if (!(y instanceof Float64Array)) throw new MLInputError(`${where}: y must be a Float64Array`);
  if (X.rows !== y.length)
    throw new MLInputError(`${where}: X has ${X.rows} rows but y has ${y.length} values`);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]))
      throw new MLInputError(`${where}: y[${i}] is ${y[i]} (targets must be finite)`);
  }
}

export interface CrossValidateOptions {
  cv?: CvSpec;
  /** Scorer name(s); see scoring.ts. Default "r2" (sklearn's default for regressors). */
  scoring?: string | readonly string[];
  returnTrainScore?: boolean;
  /** Also return out-of-fold predictions (rows in no test fold stay NaN). */
  returnOofPredictions?: boolean;
  /** Workers; default os.availableParallelism(); 1 = this thread. Ignored for factories. */
  nJobs?: number;
  /** Use this pool instead of creating one. */
  pool?: WorkerPool;
  /** Extra modules workers import (to register kinds). */
  workerModules?: string[];
  /**
   * Called after each fold with its test scores (by scorer name). In this thread, folds run in order and a
   * throw stops the remaining folds (pruning); on the pool it is called in completion order.
   */
  onFold?: (fold: number, testScores: Record<string, number>) => void;
}

export interface CrossValidateResult {
  scoring: string[];
  /** seconds per fold */
  fitTime: number[];
  scoreTime: number[];
  testScores: Record<string, number[]>;
  trainScores?: Record<string, number[]>;
  meanTestScore: Record<string, number>;
  stdTestScore: Record<string, number>;
  oofPredictions?: Float64Array;
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Population standard deviation (numpy's default ddof=0, as in sklearn's cv_results_). */
export function std(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) * (a[i] - m);
  return Math.sqrt(s / a.length);
}

function runFactoryFold(
  factory: () => Regressor,
  X: Matrix,
  y: Float64Array,
  fold: Fold,
  task: FitScoreTask,
): VariantResult {
  const scorers = resolveScorers(task.scoring);
  const Xtr = takeRows(X, fold.train);
  const ytr = takeValues(y, fold.train);
  const Xte = takeRows(X, fold.test);
  const yte = takeValues(y, fold.test);
  let t0 = performance.now();
  const model = factory();
  model.fit(Xtr, ytr);
  const fitTime = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const pte = model.predict(Xte);
  const test = scorers.map((s) => s.fn(yte, pte));
  const train = task.returnTrainScore ? scorers.map((s) => s.fn(ytr, model.predict(Xtr))) : null;
  const r: VariantResult = {
    fitTime,
    scoreTime: (performance.now() - t0) / 1000,
    test,
    train,
    derived: false,
  };
  if (task.returnPredictions) r.predictions = pte;
  return r;
}

export async function crossValidate(
  estimator: EstimatorSource,
  X: Matrix,
  y: Float64Array,
  opts: CrossValidateOptions = {},
): Promise<CrossValidateResult> {
  checkXy(X, y, "crossValidate");
  const folds = resolveCv(opts.cv, X.rows);
  const scorers = resolveScorers(opts.scoring);
  const names = scorers.map((s) => s.name);
  const task: FitScoreTask = {
    kind: typeof estimator === "function" ? "" : estimator.kind,
    params: typeof estimator === "function" ? {} : (estimator.params ?? {}),
    scoring: names,
    returnTrainScore: !!opts.returnTrainScore,
    returnPredictions: !!opts.returnOofPredictions,
  };
  const results: VariantResult[] = new Array(folds.length);
  const report = (f: number, r: VariantResult) => {
    results[f] = r;
    if (opts.onFold) opts.onFold(f, Object.fromEntries(names.map((n, i) => [n, r.test[i]])));
  };
  const jobs = typeof estimator === "function" ? 1 : opts.pool ? opts.pool.size : resolveJobs(opts.nJobs);
  if (jobs === 1 || folds.length === 1) {
    for (let f = 0; f < folds.length; f++) {
      const r =
        typeof estimator === "function"
          ? runFactoryFold(estimator, X, y, folds[f], task)
          : runFitScore(task, X, y, folds[f])[0];
      report(f, r);
    }
  } else {
    const pool =
      opts.pool ??
      (await WorkerPool.create({ size: Math.min(jobs, folds.length), modules: opts.workerModules }));
    try {
      const id = await pool.shareDataset(X, y, folds);
      try {
        await Promise.all(folds.map((_, f) => pool.fitScore(id, f, task).then((r) => report(f, r[0]))));
      } finally {
        await pool.dropDataset(id);
      }
    } finally {
      if (!opts.pool) await pool.close();
    }
  }
  const out: CrossValidateResult = {
    scoring: names,
    fitTime: results.map((r) => r.fitTime),
    scoreTime: results.map((r) => r.scoreTime),
    testScores: Object.fromEntries(names.map((n, i) => [n, results.map((r) => r.test[i])])),
    meanTestScore: {},
    stdTestScore: {},
  };
  for (const n of names) {
    out.meanTestScore[n] = mean(out.testScores[n]);
    out.stdTestScore[n] = std(out.testScores[n]);
  }
  if (opts.returnTrainScore) {
    out.trainScores = Object.fromEntries(
      names.map((n, i) => [n, results.map((r) => (r.train as number[])[i])]),
    );
  }
  if (opts.returnOofPredictions) {
    const oof = new Float64Array(X.rows).fill(Number.NaN);
    folds.forEach((f, k) => {
      const p = results[k].predictions as Float64Array;
      for (let j = 0; j < f.test.length; j++) oof[f.test[j]] = p[j];
    });
    out.oofPredictions = oof;
  }
  return out;
}
