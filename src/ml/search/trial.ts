/** Trials: the define-by-run handle an objective receives, and the frozen record a study stores. */
import type { Rng } from "../../data/prng.ts";
import { MLInputError, type ParamValue, type Params } from "../types.ts";
import type { Pruner } from "./pruner.ts";
import type { Sampler } from "./samplers.ts";
import { contains, type Distribution, distributionsEqual, validateDistribution } from "./space.ts";

export type Direction = "minimize" | "maximize";
export type TrialState = "complete" | "pruned" | "fail";

/** A finished trial as stored (JSON-safe). */
export interface FrozenTrial {
  number: number;
  state: TrialState;
  params: Params;
  distributions: Record<string, Distribution>;
  /** Objective value (complete trials); null otherwise. */
  value: number | null;
  /** Reported intermediate values as [step, value], in report order. */
  intermediate: [number, number][];
  userAttrs: Record<string, unknown>;
  startedAt: string;
  completedAt: string;
  durationMs: number;
  error?: string;
}

/** Throw from an objective to stop a trial as pruned. */
export class TrialPruned extends Error {
  constructor(message = "trial pruned") {
    super(message);
    this.name = "TrialPruned";
  }
}

export class Trial {
  readonly number: number;
  readonly params: Params = {};
  readonly distributions: Record<string, Distribution> = {};
  readonly intermediate = new Map<number, number>();
  readonly userAttrs: Record<string, unknown> = {};

  constructor(
    number: number,
    private readonly sampler: Sampler,
    private readonly pruner: Pruner | null,
    private readonly rng: Rng,
    /** deterministic snapshot of finished trials this trial may learn from */
    readonly history: readonly FrozenTrial[],
    readonly direction: Direction,
    /** fixed params (enqueued / replayed) */
    private readonly fixed: Params = {},
  ) {
    this.number = number;
  }

  suggest(name: string, dist: Distribution): ParamValue {
    validateDistribution(name, dist);
    const prev = this.distributions[name];
    if (prev) {
      if (!distributionsEqual(prev, dist)) {
        throw new MLInputError(
          `trial ${this.number}: parameter "${name}" suggested again with a different distribution`,
        );
      }
      return this.params[name];
    }
    let v: ParamValue;
    if (Object.hasOwn(this.fixed, name)) {
      v = this.fixed[name];
      if (!contains(dist, v)) {
        throw new MLInputError(
          `trial ${this.number}: fixed value ${JSON.stringify(v)} for "${name}" is outside its distribution`,
        );
      }
    } else {
      v = this.sampler.sample(name, dist, {
        trialNumber: this.number,
        history: this.history,
        direction: this.direction,
        rng: this.rng,
      });
    }
    this.distributions[name] = dist;
    this.params[name] = v;
    return v;
  }

  suggestInt(name: string, low: number, high: number, opts: { log?: boolean; step?: number } = {}): number {
    return this.suggest(name, { type: "int", low, high, ...opts }) as number;
  }

  suggestFloat(name: string, low: number, high: number, opts: { log?: boolean } = {}): number {
    return this.suggest(name, { type: "float", low, high, ...opts }) as number;
  }

  suggestCategorical<T extends ParamValue>(name: string, choices: readonly T[]): T {
    return this.suggest(name, { type: "categorical", choices }) as T;
  }

  /** Report an intermediate objective value at `step` (e.g. running mean after fold `step`). */
  report(value: number, step: number): void {
    if (!Number.isInteger(step) || step < 0)
      throw new MLInputError(`trial.report: step must be an integer >= 0, got ${step}`);
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new MLInputError(`trial.report: value must be a finite number, got ${value} at step ${step}`);
    }
    if (this.intermediate.has(step))
      throw new MLInputError(`trial.report: step ${step} was already reported`);
    this.intermediate.set(step, value);
  }

  /** Ask the pruner whether to stop; throw `new TrialPruned()` when true. */
  shouldPrune(): boolean {
    if (!this.pruner || this.intermediate.size === 0) return false;
    return this.pruner.shouldPrune(this, this.history);
  }

  setUserAttr(key: string, value: unknown): void {
    this.userAttrs[key] = value;
  }

  /** Last reported step, or -1. */
  get lastStep(): number {
    let s = -1;
    for (const k of this.intermediate.keys()) if (k > s) s = k;
    return s;
  }
}
