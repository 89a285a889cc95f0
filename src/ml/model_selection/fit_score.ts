/**
 * The unit of work of cross-validation and grid search: fit one estimator on one fold's train rows and score
 * it on the test (and optionally train) rows. With `variants`, the estimator is fitted once with `params`
 * (the "largest" point of a sharing group) and every variant is derived by truncation through the registry's
 * `sharing.derive`. Runs the same in the main thread and in pool workers.
 */
import { getRegressorKind } from "../registry.ts";
import type { Matrix, ModelState, Params, Regressor } from "../types.ts";
import { MLInputError, takeRows, takeValues } from "../types.ts";
import type { Fold } from "./kfold.ts";
import { resolveScorers } from "./scoring.ts";

export interface FitScoreTask {
  kind: string;
  params: Params;
  /** Grid points to derive from the model fitted with `params` (null: report `params` itself). */
  variants?: Params[] | null;
  scoring: string[];
  returnTrainScore: boolean;
  /** Return the test-fold predictions (out-of-fold predictions for conformal calibration). */
  returnPredictions?: boolean;
}

export interface VariantResult {
  /** Seconds to obtain this model: the fit (base point) or the truncation (derived point). */
  fitTime: number;
  scoreTime: number;
  test: number[];
  train: number[] | null;
  /** True when the model was derived from a shared fit rather than fitted directly. */
  derived: boolean;
  predictions?: Float64Array;
}

export function paramsEqual(a: Params, b: Params): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !Object.is(a[k], b[k])) return false;
  return true;
}

const now = () => performance.now() / 1000;

export function runFitScore(task: FitScoreTask, X: Matrix, y: Float64Array, fold: Fold): VariantResult[] {
  const entry = getRegressorKind(task.kind);
  const scorers = resolveScorers(task.scoring);
  const Xtr = takeRows(X, fold.train);
  const ytr = takeValues(y, fold.train);
  const Xte = takeRows(X, fold.test);
  const yte = takeValues(y, fold.test);
  let t0 = now();
  const base = entry.create(task.params);
  base.fit(Xtr, ytr);
  const baseFit = now() - t0;
  const variants = task.variants ?? [task.params];
  if (task.variants && !entry.sharing) {
    throw new MLInputError(`kind ${task.kind} declares no sharing; cannot derive grid variants`);
  }
  const out: VariantResult[] = [];
  let baseCharged = false;
  for (const v of variants) {
    let model: Regressor;
    let fitTime: number;
    let derived = false;
    if (paramsEqual(v, task.params)) {
      model = base;
      fitTime = baseCharged ? 0 : baseFit;
      baseCharged = true;
    } else {
      t0 = now();
      model = entry.sharing!.derive(base, v);
      fitTime = now() - t0;
      derived = true;
    }
    t0 = now();
    const pte = model.predict(Xte);
    const test = scorers.map((s) => s.fn(yte, pte));
    let train: number[] | null = null;
    if (task.returnTrainScore) {
      const ptr = model.predict(Xtr);
      train = scorers.map((s) => s.fn(ytr, ptr));
    }
    const scoreTime = now() - t0;
    const r: VariantResult = { fitTime, scoreTime, test, train, derived };
    if (task.returnPredictions) r.predictions = pte;
    out.push(r);
  }
  return out;
}

/** This module's URL, for `pool.call(FIT_SCORE_MODULE, "fitToState", ...)`. */
export const FIT_SCORE_MODULE = import.meta.url;

/**
 * Fit `kind(params)` on all of X and return its serialised state and the fit time: a final refit run as a pool task
 * (`pool.call`), concurrently with other work; `regressorFromState` turns the state back into the same model.
 */
export function fitToState(
  kind: string,
  params: Params,
  X: Matrix,
  y: Float64Array,
): { state: ModelState; seconds: number } {
  const t0 = performance.now();
  const model = getRegressorKind(kind).create(params).fit(X, y);
  return { state: model.toState(), seconds: (performance.now() - t0) / 1000 };
}
