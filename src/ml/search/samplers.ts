/**
 * Samplers. Each trial gets its own generator `Rng(deriveSeed(seed, trialNumber))`, so the parameters of
 * trial t depend only on the seed, t and the history the study hands the sampler — which makes sweeps
 * reproducible and resumable.
 */
import type { Rng } from "../../data/prng.ts";
import type { ParamValue } from "../types.ts";
import { CategoricalParzen, defaultWeights, NumericParzen, type ParzenOptions } from "./parzen.ts";
import { type Distribution, fromInternal, internalBounds, toInternal } from "./space.ts";
import type { Direction, FrozenTrial } from "./trial.ts";

export interface SamplingContext {
  trialNumber: number;
  /** Finished trials this trial may learn from (deterministic snapshot, ordered by number). */
  history: readonly FrozenTrial[];
  direction: Direction;
  rng: Rng;
}

export interface Sampler {
  readonly seed: number;
  sample(name: string, dist: Distribution, ctx: SamplingContext): ParamValue;
}

export function sampleUniform(dist: Distribution, rng: Rng): ParamValue {
  if (dist.type === "categorical") return dist.choices[rng.int(dist.choices.length)];
  if (dist.type === "int" && !dist.log) {
    const step = dist.step ?? 1;
    return dist.low + step * rng.int((dist.high - dist.low) / step + 1);
  }
  const [lo, hi] = internalBounds(dist);
  return fromInternal(dist, lo + (hi - lo) * rng.next());
}

export class RandomSampler implements Sampler {
  constructor(readonly seed = 0) {}
  sample(_name: string, dist: Distribution, ctx: SamplingContext): ParamValue {
    return sampleUniform(dist, ctx.rng);
  }
}

export interface TPEOptions {
  seed?: number;
  /** Random trials before TPE starts (Optuna: 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per parameter (Optuna: 24). */
  nEiCandidates?: number;
  /** Size of the "below" (good) group for n finished trials (Optuna: min(ceil(0.1 n), 25)). */
  gamma?: (n: number) => number;
  /** Observation weights by age (Optuna default: flat for the newest 25, ramp for older ones). */
  weights?: (n: number) => number[];
  priorWeight?: number;
  considerPrior?: boolean;
  considerMagicClip?: boolean;
  considerEndpoints?: boolean;
}

export const defaultGamma = (n: number): number => Math.min(Math.ceil(0.1 * n), 25);

/**
 * Tree-structured Parzen Estimator, independent per parameter (Optuna's default `multivariate=False`).
 * Finished trials are ordered best-first (complete trials by value, then pruned trials by deepest step and
 * their value there); the first gamma(n) form l(x), the rest g(x). Each parameter takes the candidate
 * (of nEiCandidates drawn from l) that maximises log l(x) − log g(x).
 */
export class TPESampler implements Sampler {
  readonly seed: number;
  readonly nStartupTrials: number;
  readonly nEiCandidates: number;
  readonly gamma: (n: number) => number;
  private readonly parzen: ParzenOptions;

  constructor(opts: TPEOptions = {}) {
    this.seed = opts.seed ?? 0;
    this.nStartupTrials = opts.nStartupTrials ?? 10;
    this.nEiCandidates = opts.nEiCandidates ?? 24;
    this.gamma = opts.gamma ?? defaultGamma;
    this.parzen = {
      priorWeight: opts.priorWeight ?? 1,
      considerPrior: opts.considerPrior ?? true,
      considerMagicClip: opts.considerMagicClip ?? true,
      considerEndpoints: opts.considerEndpoints ?? false,
      weights: opts.weights ?? defaultWeights,
    };
    if (!Number.isInteger(this.nEiCandidates) || this.nEiCandidates < 1) {
      throw new Error(`TPESampler: nEiCandidates must be >= 1, got ${this.nEiCandidates}`);
    }
  }

  sample(name: string, dist: Distribution, ctx: SamplingContext): ParamValue {
    const usable = ctx.history.filter((t) => t.state === "complete" || t.state === "pruned");
    if (usable.length < this.nStartupTrials) return sampleUniform(dist, ctx.rng);
    const ranked = rankTrials(usable, ctx.direction);
    const nBelow = Math.max(0, Math.min(ranked.length, this.gamma(ranked.length)));
    const byNumber = (a: FrozenTrial, b: FrozenTrial) => a.number - b.number;
    const below = ranked.slice(0, nBelow).sort(byNumber);
    const above = ranked.slice(nBelow).sort(byNumber);
    const obs = (ts: FrozenTrial[]) =>
      ts.filter((t) => Object.hasOwn(t.params, name)).map((t) => t.params[name]);
    const bObs = obs(below);
    const aObs = obs(above);
    const rng = ctx.rng;
    if (dist.type === "categorical") {
      const idx = (vs: ParamValue[]) =>
        vs.map((v) => dist.choices.findIndex((c) => Object.is(c, v))).filter((i) => i >= 0);
      const l = new CategoricalParzen(idx(bObs), dist.choices.length, this.parzen);
      const g = new CategoricalParzen(idx(aObs), dist.choices.length, this.parzen);
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.nEiCandidates; i++) {
        const c = l.sample(rng);
        const s = l.logPdf(c) - g.logPdf(c);
        if (s > bestScore || best < 0) {
          best = c;
          bestScore = s;
        }
      }
      return dist.choices[best];
    }
    const [lo, hi] = internalBounds(dist);
    const toX = (vs: ParamValue[]) =>
      vs
        .filter((v): v is number => typeof v === "number" && v >= dist.low && v <= dist.high)
        .map((v) => toInternal(dist, v));
    const halfBin = dist.type === "int" && !dist.log ? (dist.step ?? 1) / 2 : 0;
    const l = new NumericParzen(toX(bObs), lo, hi, this.parzen, halfBin);
    const g = new NumericParzen(toX(aObs), lo, hi, this.parzen, halfBin);
    let best = Number.NaN;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.nEiCandidates; i++) {
      const x = l.sample(rng);
      // integers are scored at the value they round to (log ints: in log space, at the rounded value)
      const v = fromInternal(dist, x);
      const xe = dist.type === "int" ? toInternal(dist, v) : x;
      const s = l.logPdf(xe) - g.logPdf(xe);
      if (s > bestScore || Number.isNaN(best)) {
        best = v;
        bestScore = s;
      }
    }
    return best;
  }
}

/** Best-first order: complete by value; then pruned by deepest step (desc) and value at it; ties by number. */
export function rankTrials(trials: readonly FrozenTrial[], direction: Direction): FrozenTrial[] {
  const sign = direction === "minimize" ? 1 : -1;
  const key = (t: FrozenTrial): [number, number, number] => {
    if (t.state === "complete") return [0, 0, sign * (t.value as number)];
    if (t.intermediate.length === 0) return [2, 0, 0];
    const [step, v] = t.intermediate.reduce((a, b) => (b[0] > a[0] ? b : a));
    return [1, -step, Number.isNaN(v) ? Number.POSITIVE_INFINITY : sign * v];
  };
  return [...trials].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || a.number - b.number;
  });
}
