/**
 * Sanity checks of live traffic against the reference profile, with counts:
 * - predictions: std collapse (current std / reference-prediction std < ratio, default 0.5), share of
 *   predictions outside the training target range [min, max] of the reference target;
 * - inputs: per numeric feature, values outside the training range [min, max]; per categorical feature,
 *   values never seen in training;
 * - latency: p50 / p90 / p99 / max.
 */
import type { Frame } from "../data/frame.ts";
import type { ReferenceProfile } from "./reference.ts";
import { finiteValues, meanStd, quantileSorted } from "./stats.ts";

export interface PredictionChecks {
  n: number;
  mean: number;
  std: number;
  referenceStd: number | null;
  /** current std / reference std (null without a reference prediction profile) */
  stdRatio: number | null;
  stdCollapsed: boolean;
  /** training target range used for the range check (null when the profile has no target) */
  targetRange: [number, number] | null;
  belowRange: number;
  aboveRange: number;
  /** (below + above) / n */
  outOfRangeShare: number;
  nonFinite: number;
}

export function predictionChecks(
  reference: ReferenceProfile,
  predictions: ArrayLike<number>,
  opts: { stdCollapseRatio?: number } = {},
): PredictionChecks {
  const ratio = opts.stdCollapseRatio ?? 0.5;
  const finite = finiteValues(predictions);
  const nonFinite = predictions.length - finite.length;
  const { mean, std } = meanStd(finite);
  const refStd = reference.prediction ? reference.prediction.std : null;
  const stdRatio = refStd !== null && refStd > 0 && finite.length > 1 ? std / refStd : null;
  const range: [number, number] | null = reference.target
    ? [reference.target.min, reference.target.max]
    : null;
  let below = 0,
    above = 0;
  if (range) {
    for (const v of finite) {
      if (v < range[0]) below++;
      else if (v > range[1]) above++;
    }
  }
  return {
    n: finite.length,
    mean,
    std,
    referenceStd: refStd,
    stdRatio,
    stdCollapsed: stdRatio !== null && stdRatio < ratio,
    targetRange: range,
    belowRange: below,
    aboveRange: above,
    outOfRangeShare: finite.length > 0 ? (below + above) / finite.length : 0,
    nonFinite,
  };
}

export interface InputCheck {
  name: string;
  kind: "numeric" | "categorical";
  n: number;
  missing: number;
  /** numeric: training [min, max] */
  range: [number, number] | null;
  below: number;
  above: number;
  /** categorical: values not seen in training, with counts (top 20) */
  unseen: Record<string, number>;
  /** (below + above + unseen) / n */
  share: number;
}

export function inputChecks(reference: ReferenceProfile, current: Frame): InputCheck[] {
  return reference.features
    .filter((f) => current.has(f.name))
    .map((f): InputCheck => {
      const col = current.col(f.name);
      if (f.kind === "numeric" && col.kind === "numeric") {
        let below = 0,
          above = 0,
          missing = 0;
        for (let i = 0; i < col.values.length; i++) {
          const v = col.values[i];
          if (Number.isNaN(v)) missing++;
          else if (v < f.min) below++;
          else if (v > f.max) above++;
        }
        const n = col.values.length - missing;
        return {
          name: f.name,
          kind: "numeric",
          n,
          missing,
          range: [f.min, f.max],
          below,
          above,
          unseen: {},
          share: n ? (below + above) / n : 0,
        };
      }
      const known = f.kind === "categorical" ? new Set(Object.keys(f.counts)) : new Set<string>();
      const counts = new Map<string, number>();
      let missing = 0,
        n = 0,
        unseenTotal = 0;
      if (col.kind === "categorical") {
        const tally = new Float64Array(col.levels.length);
        for (let i = 0; i < col.codes.length; i++) {
          if (col.codes[i] < 0) missing++;
          else tally[col.codes[i]]++;
        }
        col.levels.forEach((l, i) => {
          n += tally[i];
          if (tally[i] > 0 && !known.has(l)) {
            counts.set(l, (counts.get(l) ?? 0) + tally[i]);
            unseenTotal += tally[i];
          }
        });
      }
      const unseen = Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20));
      return {
        name: f.name,
        kind: "categorical",
        n,
        missing,
        range: null,
        below: 0,
        above: 0,
        unseen,
        share: n ? unseenTotal / n : 0,
      };
    });
}

export interface LatencyStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Latency quantiles (ms), NaN entries ignored. */
export function latencyStats(latencyMs: ArrayLike<number>): LatencyStats {
  const s = finiteValues(latencyMs).sort();
  return {
    n: s.length,
    p50: quantileSorted(s, 0.5),
    p90: quantileSorted(s, 0.9),
    p99: quantileSorted(s, 0.99),
    max: s.length ? s[s.length - 1] : Number.NaN,
  };
}
