/**
 * gridSearch: scikit-learn GridSearchCV for registry estimators, parallel on the worker pool, with
 * grid-aware fit sharing (sharing.ts). Results mirror cv_results_ (one row per grid point, grid order).
 */
import { getRegressorKind } from "../registry.ts";
import { resolveJobs, WorkerPool } from "../pool/pool.ts";
import type { Matrix, ParamValue, Params, Regressor } from "../types.ts";
import { MLInputError } from "../types.ts";
import { checkXy, type CvSpec, mean, resolveCv, std } from "./cross_validate.ts";
import { paramsEqual, runFitScore, type FitScoreTask, type VariantResult } from "./fit_score.ts";
import { groupForSharing } from "./sharing.ts";
import { resolveScorers } from "./scoring.ts";

export type ParamGrid =
  | Record<string, readonly ParamValue[]>
  | readonly Record<string, readonly ParamValue[]>[];

/** sklearn ParameterGrid order: keys sorted, the last key varies fastest; a list of grids is concatenated. */
export function expandGrid(grid: ParamGrid): Params[] {
  const grids = Array.isArray(grid) ? grid : [grid];
  const out: Params[] = [];
  for (const g of grids as Record<string, readonly ParamValue[]>[]) {
    const keys = Object.keys(g).sort();
    for (const k of keys) {
      if (!Array.isArray(g[k]) || g[k].length === 0) {
        throw new MLInputError(`paramGrid.${k} must be a non-empty array of values`);
      }
    }
    const idx = new Array(keys.length).fill(0);
    for (;;) {
      const p: Params = {};
      keys.forEach((k, i) => {
        p[k] = g[k][idx[i]];
      });
      out.push(p);
      let d = keys.length - 1;
      while (d >= 0) {
        idx[d]++;
        if (idx[d] < g[keys[d]].length) break;
        idx[d] = 0;
        d--;
      }
      if (d < 0) break;
    }
  }
  return out;
}

export interface GridSearchOptions {
  kind: string;
  paramGrid: ParamGrid;
  /** Params applied to every point (e.g. random_state); grid values win on conflict. */
  fixedParams?: Params;
  X: Matrix;
  y: Float64Array;
  cv?: CvSpec;
  scoring?: string | readonly string[];
  returnTrainScore?: boolean;
  /** true (default): refit the best point of the first scorer on all data; a scorer name; false: no refit. */
  refit?: boolean | string;
  nJobs?: number;
  pool?: WorkerPool;
  workerModules?: string[];
  /** Fit once per sharing group and derive by truncation (default true). */
  shareFits?: boolean;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface GridResultRow {
  params: Params;
  meanTestScore: Record<string, number>;
  stdTestScore: Record<string, number>;
  splitTestScores: Record<string, number[]>;
  rankTestScore: Record<string, number>;
  meanTrainScore?: Record<string, number>;
  stdTrainScore?: Record<string, number>;
  splitTrainScores?: Record<string, number[]>;
  /** seconds; for derived points this is the truncation time, the shared fit is charged to the base point */
  meanFitTime: number;
  stdFitTime: number;
  meanScoreTime: number;
  stdScoreTime: number;
  /** index of the sharing group this point was fitted in */
  fitGroup: number;
  derived: boolean;
}

export interface GridSearchResult {
  results: GridResultRow[];
  scoring: string[];
  refitScorer: string;
  bestIndex: number;
  bestParams: Params;
  bestScore: number;
  bestEstimator: Regressor | null;
  refitTime: number;
  /** number of model fits performed (groups × folds) vs. grid points × folds */
  fits: number;
  candidateFits: number;
  wallTime: number;
}

/** sklearn rankdata(method='min') of scores, best = 1; NaN ranks last. */
export function rankScores(scores: readonly number[], greaterIsBetter: boolean): number[] {
  const key = (v: number) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : greaterIsBetter ? -v : v);
  const order = scores.map((_, i) => i).sort((a, b) => key(scores[a]) - key(scores[b]) || a - b);
  const rank = new Array<number>(scores.length);
  for (let r = 0; r < order.length; r++) {
    const i = order[r];
    rank[i] = r > 0 && key(scores[order[r - 1]]) === key(scores[i]) ? rank[order[r - 1]] : r + 1;
  }
  return rank;
}

export async function gridSearch(opts: GridSearchOptions): Promise<GridSearchResult> {
  const t0 = performance.now();
  const { X, y } = opts;
  checkXy(X, y, "gridSearch");
  const entry = getRegressorKind(opts.kind);
  const points = expandGrid(opts.paramGrid).map((p) => ({ ...(opts.fixedParams ?? {}), ...p }));
  // validate every point up front (clear error before any fit)
  points.forEach((p, i) => {
    try {
      entry.create(p);
    } catch (e) {
      throw new MLInputError(
        `gridSearch: grid point ${i} ${JSON.stringify(p)} is invalid: ${(e as Error).message}`,
      );
    }
  });
  const folds = resolveCv(opts.cv, X.rows);
  const scorers = resolveScorers(opts.scoring);
  const names = scorers.map((s) => s.name);
  const refitName =
    opts.refit === undefined || opts.refit === true || opts.refit === false ? names[0] : opts.refit;
  const refitIdx = names.indexOf(refitName);
  if (refitIdx < 0)
    throw new MLInputError(`gridSearch: refit scorer ${JSON.stringify(refitName)} is not in scoring`);
  const groups = groupForSharing(points, entry.sharing, opts.shareFits !== false);
  const returnTrain = !!opts.returnTrainScore;

  const per: VariantResult[][] = points.map(() => new Array(folds.length));
  const tasks: { g: number; f: number; task: FitScoreTask }[] = [];
  groups.forEach((g, gi) => {
    const shared = g.members.length > 1 || !paramsEqual(g.base, points[g.members[0]]);
    const task: FitScoreTask = {
      kind: opts.kind,
      params: g.base,
      variants: shared ? g.members.map((m) => points[m]) : null,
      scoring: names,
      returnTrainScore: returnTrain,
    };
    for (let f = 0; f < folds.length; f++) tasks.push({ g: gi, f, task });
  });
  let done = 0;
  const total = tasks.length;
  const store = (gi: number, f: number, rs: VariantResult[]) => {
    groups[gi].members.forEach((m, k) => {
      per[m][f] = rs[k];
    });
    done++;
    opts.onProgress?.({ done, total });
  };
  const jobs = opts.pool ? opts.pool.size : resolveJobs(opts.nJobs);
  if (jobs === 1) {
    for (const t of tasks) store(t.g, t.f, runFitScore(t.task, X, y, folds[t.f]));
  } else {
    const pool =
      opts.pool ??
      (await WorkerPool.create({ size: Math.min(jobs, tasks.length), modules: opts.workerModules }));
    try {
      const id = await pool.shareDataset(X, y, folds);
      try {
        await Promise.all(tasks.map((t) => pool.fitScore(id, t.f, t.task).then((rs) => store(t.g, t.f, rs))));
      } finally {
        await pool.dropDataset(id);
      }
    } finally {
      if (!opts.pool) await pool.close();
    }
  }

  const groupOf = new Array<number>(points.length);
  groups.forEach((g, gi) => {
    for (const m of g.members) groupOf[m] = gi;
  });
  const results: GridResultRow[] = points.map((p, i) => {
    const rs = per[i];
    const row: GridResultRow = {
      params: p,
      meanTestScore: {},
      stdTestScore: {},
      splitTestScores: {},
      rankTestScore: {},
      meanFitTime: mean(rs.map((r) => r.fitTime)),
      stdFitTime: std(rs.map((r) => r.fitTime)),
      meanScoreTime: mean(rs.map((r) => r.scoreTime)),
      stdScoreTime: std(rs.map((r) => r.scoreTime)),
      fitGroup: groupOf[i],
      derived: rs.some((r) => r.derived),
    };
    names.forEach((n, k) => {
      const s = rs.map((r) => r.test[k]);
      row.splitTestScores[n] = s;
      row.meanTestScore[n] = mean(s);
      row.stdTestScore[n] = std(s);
    });
    if (returnTrain) {
      row.meanTrainScore = {};
      row.stdTrainScore = {};
      row.splitTrainScores = {};
      names.forEach((n, k) => {
        const s = rs.map((r) => (r.train as number[])[k]);
        row.splitTrainScores![n] = s;
        row.meanTrainScore![n] = mean(s);
        row.stdTrainScore![n] = std(s);
      });
    }
    return row;
  });
  scorers.forEach((s) => {
    const ranks = rankScores(
      results.map((r) => r.meanTestScore[s.name]),
      s.greaterIsBetter,
    );
    results.forEach((r, i) => {
      r.rankTestScore[s.name] = ranks[i];
    });
  });
  let bestIndex = 0;
  for (let i = 1; i < results.length; i++) {
    if (results[i].rankTestScore[refitName] < results[bestIndex].rankTestScore[refitName]) bestIndex = i;
  }
  let bestEstimator: Regressor | null = null;
  let refitTime = 0;
  if (opts.refit !== false) {
    const r0 = performance.now();
    bestEstimator = entry.create(points[bestIndex]).fit(X, y);
    refitTime = (performance.now() - r0) / 1000;
  }
  return {
    results,
    scoring: names,
    refitScorer: refitName,
    bestIndex,
    bestParams: points[bestIndex],
    bestScore: results[bestIndex].meanTestScore[refitName],
    bestEstimator,
    refitTime,
    fits: groups.length * folds.length,
    candidateFits: points.length * folds.length,
    wallTime: (performance.now() - t0) / 1000,
  };
}
