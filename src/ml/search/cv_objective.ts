/**
 * Cross-validated trial evaluation with pruning: folds run in order (in this thread or one task at a time on
 * the worker pool, so `parallel` trials keep the pool busy); after fold s the running mean of the fold
 * scores is reported at step s and the trial stops (TrialPruned) when the pruner says so.
 */
import { type CvSpec, checkXy, resolveCv } from "../model_selection/cross_validate.ts";
import { runFitScore } from "../model_selection/fit_score.ts";
import type { Fold } from "../model_selection/kfold.ts";
import { resolveScorer } from "../model_selection/scoring.ts";
import type { WorkerPool } from "../pool/pool.ts";
import { MLInputError, type Matrix, type Params } from "../types.ts";
import { type Trial, TrialPruned } from "./trial.ts";

export class CvRunner {
  private constructor(
    readonly X: Matrix,
    readonly y: Float64Array,
    readonly folds: Fold[],
    private readonly pool: WorkerPool | null,
    private readonly datasetId: number,
  ) {}

  /** Share the data with the pool once (if given); call `close()` to release it. */
  static async create(
    X: Matrix,
    y: Float64Array,
    opts: { cv?: CvSpec; pool?: WorkerPool } = {},
  ): Promise<CvRunner> {
    checkXy(X, y, "CvRunner");
    const folds = resolveCv(opts.cv, X.rows);
    const pool = opts.pool ?? null;
    const id = pool ? await pool.shareDataset(X, y, folds) : 0;
    return new CvRunner(X, y, folds, pool, id);
  }

  async foldScore(kind: string, params: Params, fold: number, scoring: string): Promise<number> {
    const task = { kind, params, scoring: [scoring], returnTrainScore: false };
    const r = this.pool
      ? await this.pool.fitScore(this.datasetId, fold, task)
      : runFitScore(task, this.X, this.y, this.folds[fold]);
    return r[0].test[0];
  }

  /**
   * Mean CV score of `{kind, params}` under `scoring`, reporting running means to `trial` and pruning.
   * The scorer's direction must match the study's.
   */
  async evaluate(trial: Trial, kind: string, params: Params, scoring: string): Promise<number> {
    const s = resolveScorer(scoring);
    if (s.greaterIsBetter !== (trial.direction === "maximize")) {
      throw new MLInputError(
        `scoring "${scoring}" is ${s.greaterIsBetter ? "greater" : "lower"}-is-better but the study direction is ${trial.direction}`,
      );
    }
    let sum = 0;
    for (let f = 0; f < this.folds.length; f++) {
      sum += await this.foldScore(kind, params, f, scoring);
      trial.report(sum / (f + 1), f);
      if (trial.shouldPrune()) throw new TrialPruned(`pruned at fold ${f} (running mean ${sum / (f + 1)})`);
    }
    return sum / this.folds.length;
  }

  async close(): Promise<void> {
    if (this.pool) await this.pool.dropDataset(this.datasetId);
  }
}
