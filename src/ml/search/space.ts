/**
 * Search-space DSL: `{type:'int', low, high, log?, step?}`, `{type:'float', low, high, log?}`,
 * `{type:'categorical', choices}`. Numeric parameters are handled in an "internal" space: identity, or
 * natural log for log parameters; integer parameters widen their bounds by half a step so every integer
 * gets an equal-width bin.
 */
import { MLInputError, type ParamValue } from "../types.ts";

export interface IntDistribution {
  type: "int";
  low: number;
  high: number;
  log?: boolean;
  step?: number;
}
export interface FloatDistribution {
  type: "float";
  low: number;
  high: number;
  log?: boolean;
}
export interface CategoricalDistribution {
  type: "categorical";
  choices: readonly ParamValue[];
}
export type Distribution = IntDistribution | FloatDistribution | CategoricalDistribution;
export type SearchSpace = Record<string, Distribution>;

export function validateDistribution(name: string, d: Distribution): void {
  const bad = (msg: string): never => {
    throw new MLInputError(`search space: parameter "${name}": ${msg}`);
  };
  if (!d || typeof d !== "object") bad("distribution must be an object");
  if (d.type === "categorical") {
    if (!Array.isArray(d.choices) || d.choices.length === 0) bad("choices must be a non-empty array");
    for (const c of d.choices) {
      const ok = c === null || ["number", "string", "boolean"].includes(typeof c);
      if (!ok) bad(`choice ${JSON.stringify(c)} must be number|string|boolean|null`);
    }
    return;
  }
  if (d.type !== "int" && d.type !== "float")
    bad(`unknown type ${JSON.stringify((d as { type: unknown }).type)}`);
  if (!Number.isFinite(d.low) || !Number.isFinite(d.high))
    bad(`low/high must be finite numbers, got ${d.low}, ${d.high}`);
  if (d.low > d.high) bad(`low (${d.low}) must be <= high (${d.high})`);
  if (d.log && d.low <= 0) bad(`log scale needs low > 0, got ${d.low}`);
  if (d.type === "int") {
    if (!Number.isInteger(d.low) || !Number.isInteger(d.high))
      bad(`int bounds must be integers, got ${d.low}, ${d.high}`);
    const step = d.step ?? 1;
    if (!Number.isInteger(step) || step < 1) bad(`step must be an integer >= 1, got ${step}`);
    if (d.log && step !== 1) bad("log scale and step != 1 cannot be combined");
    if ((d.high - d.low) % step !== 0)
      bad(`high - low (${d.high - d.low}) must be a multiple of step ${step}`);
  }
}

export function distributionsEqual(a: Distribution, b: Distribution): boolean {
  if (a.type !== b.type) return false;
  if (a.type === "categorical") {
    const bc = (b as CategoricalDistribution).choices;
    return a.choices.length === bc.length && a.choices.every((c, i) => Object.is(c, bc[i]));
  }
  const bn = b as IntDistribution;
  return (
    a.low === bn.low &&
    a.high === bn.high &&
    !!a.log === !!bn.log &&
    (a.type === "int" ? (a.step ?? 1) : 1) === (bn.type === "int" ? (bn.step ?? 1) : 1)
  );
}

/** Internal-space bounds of a numeric distribution (log for log params, ± half step for ints). */
export function internalBounds(d: IntDistribution | FloatDistribution): [number, number] {
  if (d.type === "int") {
    const h = (d.step ?? 1) / 2;
    return d.log ? [Math.log(d.low - 0.5), Math.log(d.high + 0.5)] : [d.low - h, d.high + h];
  }
  return d.log ? [Math.log(d.low), Math.log(d.high)] : [d.low, d.high];
}

export function toInternal(d: IntDistribution | FloatDistribution, v: number): number {
  return d.log ? Math.log(v) : v;
}

/** Map an internal-space value back to a valid parameter value (rounded and clipped for ints). */
export function fromInternal(d: IntDistribution | FloatDistribution, x: number): number {
  let v = d.log ? Math.exp(x) : x;
  if (d.type === "int") {
    const step = d.step ?? 1;
    v = d.low + Math.round((v - d.low) / step) * step;
  }
  return Math.min(d.high, Math.max(d.low, v));
}

/** True when `v` is a value the distribution can produce. */
export function contains(d: Distribution, v: ParamValue): boolean {
  if (d.type === "categorical") return d.choices.some((c) => Object.is(c, v));
  if (typeof v !== "number" || !(v >= d.low && v <= d.high)) return false;
  if (d.type === "int") return Number.isInteger(v) && (v - d.low) % (d.step ?? 1) === 0;
  return true;
}
