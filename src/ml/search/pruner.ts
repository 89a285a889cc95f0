/** Pruners decide from intermediate values whether a running trial should stop. */
import type { FrozenTrial, Trial } from "./trial.ts";

export interface Pruner {
  shouldPrune(trial: Trial, history: readonly FrozenTrial[]): boolean;
}

export interface MedianPrunerOptions {
  /** No pruning until this many trials have completed (Optuna: 5). */
  nStartupTrials?: number;
  /** No pruning before this step (Optuna: 0). */
  nWarmupSteps?: number;
  /** Check every k steps after warm-up (Optuna: 1). */
  intervalSteps?: number;
  /** Minimum completed trials with a value at the step (Optuna: 1). */
  nMinTrials?: number;
}

/** numpy-style median (mean of the two middle values). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median stopping rule: at the trial's last reported step s, prune when its value at s is worse than the
 * median of the values completed trials reported at step s. With cross-validation the reported value is the
 * running mean over folds 0..s, so a trial stops as soon as its partial CV score trails the median.
 * (Optuna compares the trial's best value over steps; for running means "value at s" is the fair comparison.)
 */
export class MedianPruner implements Pruner {
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;
  readonly nMinTrials: number;

  constructor(opts: MedianPrunerOptions = {}) {
    this.nStartupTrials = opts.nStartupTrials ?? 5;
    this.nWarmupSteps = opts.nWarmupSteps ?? 0;
    this.intervalSteps = opts.intervalSteps ?? 1;
    this.nMinTrials = opts.nMinTrials ?? 1;
    if (!Number.isInteger(this.intervalSteps) || this.intervalSteps < 1) {
      throw new Error(`MedianPruner: intervalSteps must be >= 1, got ${this.intervalSteps}`);
    }
  }

  shouldPrune(trial: Trial, history: readonly FrozenTrial[]): boolean {
    const completed = history.filter((t) => t.state === "complete");
    if (completed.length < this.nStartupTrials) return false;
    const step = trial.lastStep;
    if (step < this.nWarmupSteps) return false;
    if ((step - this.nWarmupSteps) % this.intervalSteps !== 0) return false;
    const others: number[] = [];
    for (const t of completed) {
      for (const [s, v] of t.intermediate) {
        if (s === step && !Number.isNaN(v)) {
          others.push(v);
          break;
        }
      }
    }
    if (others.length < this.nMinTrials) return false;
    const v = trial.intermediate.get(step) as number;
    const med = median(others);
    return trial.direction === "minimize" ? v > med : v < med;
  }
}

/** Never prunes. */
export class NopPruner implements Pruner {
  shouldPrune(): boolean {
    return false;
  }
}
