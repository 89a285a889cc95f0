/**
 * Reference profile: the binned summary of the training split that every drift check compares against.
 * Built once per model version (training split + its contract + the model's training-split predictions),
 * saved as JSON next to the model (< 100 kB for California Housing), never the raw rows.
 *
 * Per numeric feature: count, missing, mean, population std, min, max, distinct count (capped), quantile bin
 * edges (default 20 bins, de-duplicated; current data adds under/overflow bins), a finer 100-bin quantile
 * histogram for the binned Wasserstein distance, exact value counts when there are ≤ 20 distinct values, and a
 * seeded reservoir sample (≤ 1,000 values, Algorithm R) that is the complete reference when it fits — so KS
 * (reference ≤ 1,000 rows) is exact. Per categorical feature: category counts. Predictions and target likewise.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../data/atomic.ts";
import type { DatasetContract } from "../data/contract-types.ts";
import type { Frame } from "../data/frame.ts";
import { deriveSeed, Rng } from "../data/prng.ts";
import { histogram, meanStd, quantileEdges } from "./stats.ts";

export const PROFILE_FORMAT = "mlops-reference-profile";
export const PROFILE_VERSION = 1;
/** Distinct values are counted up to this cap (distinct = cap + 1 means "more"). */
export const DISTINCT_CAP = 1000;
/** Numeric features with at most this many distinct values keep exact value counts. */
export const VALUE_COUNTS_MAX = 20;

export interface NumericFeatureProfile {
  kind: "numeric";
  name: string;
  /** non-missing values */
  n: number;
  missing: number;
  mean: number;
  /** population std (ddof = 0) */
  std: number;
  min: number;
  max: number;
  /** distinct non-missing values, capped at DISTINCT_CAP + 1 */
  distinct: number;
  /** ascending de-duplicated quantile edges (k+1) and counts (k) */
  edges: number[];
  counts: number[];
  /** finer quantile histogram (default 100 bins) for the binned Wasserstein distance */
  fineEdges: number[];
  fineCounts: number[];
  /** exact value counts when distinct ≤ VALUE_COUNTS_MAX, ascending by value */
  values: { value: number; count: number }[] | null;
  /** seeded reservoir sample (values rounded to 9 significant digits) */
  sample: number[];
  /** true when `sample` holds every non-missing reference value */
  sampleComplete: boolean;
}

export interface CategoricalFeatureProfile {
  kind: "categorical";
  name: string;
  n: number;
  missing: number;
  /** category → count (non-missing) */
  counts: Record<string, number>;
}

export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

export interface ReferenceProfile {
  format: typeof PROFILE_FORMAT;
  version: typeof PROFILE_VERSION;
  createdAt: string;
  /** rows of the reference split */
  nRows: number;
  seed: number;
  bins: number;
  features: FeatureProfile[];
  /** the model's predictions on the reference split, if given */
  prediction: NumericFeatureProfile | null;
  /** the training target (for "prediction outside the training target range" checks), if present */
  target: NumericFeatureProfile | null;
  /** free-form provenance (model name/version, data hash, …) */
  meta: Record<string, string | number | boolean>;
}

export interface BuildProfileOptions {
  /** model predictions on the same rows (length = frame.nRows) */
  predictions?: ArrayLike<number>;
  /** features to profile (default: the contract's columns except the target that the frame has; else all) */
  features?: readonly string[];
  /** quantile bins for PSI / histograms (default 20) */
  bins?: number;
  /** quantile bins for the binned Wasserstein distance (default 100) */
  fineBins?: number;
  /** reservoir size (default 1000) */
  reservoirSize?: number;
  seed?: number;
  createdAt?: string;
  meta?: Record<string, string | number | boolean>;
}

function round9(v: number): number {
  return Number(v.toPrecision(9));
}

/** Profile one numeric array (NaN = missing). */
export function profileNumeric(
  name: string,
  values: ArrayLike<number>,
  opts: { bins?: number; fineBins?: number; reservoirSize?: number; seed?: number } = {},
): NumericFeatureProfile {
  const bins = opts.bins ?? 20,
    fineBins = opts.fineBins ?? 100,
    k = opts.reservoirSize ?? 1000;
  if (!(bins >= 1) || !(fineBins >= 1) || !(k >= 0)) {
    throw new RangeError(`profileNumeric(${name}): bins, fineBins must be ≥ 1 and reservoirSize ≥ 0`);
  }
  const present: number[] = [];
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) missing++;
    else if (!Number.isFinite(v))
      throw new RangeError(`reference feature '${name}': non-finite value ${v} at row ${i}`);
    else present.push(v);
  }
  const sorted = Float64Array.from(present).sort();
  const n = sorted.length;
  const rng = new Rng(opts.seed ?? 0);
  const reservoir: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = present[i];
    if (reservoir.length < k) reservoir.push(v);
    else {
      const j = rng.int(i + 1);
      if (j < k) reservoir[j] = v;
    }
  }
  const distinctSet = new Set<number>();
  for (let i = 0; i < n && distinctSet.size <= DISTINCT_CAP; i++) distinctSet.add(sorted[i]);
  let valueCounts: { value: number; count: number }[] | null = null;
  if (distinctSet.size <= VALUE_COUNTS_MAX) {
    valueCounts = [];
    for (let i = 0; i < n; i++) {
      const last = valueCounts[valueCounts.length - 1];
      if (last && last.value === sorted[i]) last.count++;
      else valueCounts.push({ value: sorted[i], count: 1 });
    }
  }
  const { mean, std } = meanStd(sorted);
  const edges = n > 0 ? quantileEdges(sorted, bins) : [];
  const fineEdges = n > 0 ? quantileEdges(sorted, fineBins) : [];
  return {
    kind: "numeric",
    name,
    n,
    missing,
    mean,
    std,
    min: n > 0 ? sorted[0] : Number.NaN,
    max: n > 0 ? sorted[n - 1] : Number.NaN,
    distinct: distinctSet.size,
    edges,
    counts: n > 0 ? histogram(sorted, edges).counts : [],
    fineEdges,
    fineCounts: n > 0 ? histogram(sorted, fineEdges).counts : [],
    values: valueCounts,
    sample: reservoir.map(round9),
    sampleComplete: reservoir.length === n,
  };
}

/** Profile categorical values given as codes into levels (-1 = missing) or as strings (null = missing). */
export function profileCategorical(
  name: string,
  data: { codes: ArrayLike<number>; levels: readonly string[] } | ArrayLike<string | null | undefined>,
): CategoricalFeatureProfile {
  const counts: Record<string, number> = {};
  let missing = 0,
    n = 0;
  if ("codes" in data) {
    const tally = new Float64Array(data.levels.length);
    for (let i = 0; i < data.codes.length; i++) {
      const c = data.codes[i];
      if (c < 0) missing++;
      else tally[c]++;
    }
    data.levels.forEach((l, i) => {
      if (tally[i] > 0) counts[l] = (counts[l] ?? 0) + tally[i];
      n += tally[i];
    });
  } else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === null || v === undefined) missing++;
      else {
        counts[v] = (counts[v] ?? 0) + 1;
        n++;
      }
    }
  }
  return { kind: "categorical", name, n, missing, counts };
}

function defaultFeatures(frame: Frame, contract: DatasetContract | null): string[] {
  if (!contract) return frame.names;
  return contract.columns.map((c) => c.name).filter((n) => n !== contract.target && frame.has(n));
}

/** Build the reference profile of a training split. */
export function buildReferenceProfile(
  frame: Frame,
  contract: DatasetContract | null,
  opts: BuildProfileOptions = {},
): ReferenceProfile {
  const seed = opts.seed ?? 0;
  const names = opts.features ? [...opts.features] : defaultFeatures(frame, contract);
  if (names.length === 0) throw new Error("buildReferenceProfile: no features to profile");
  const common = { bins: opts.bins, fineBins: opts.fineBins, reservoirSize: opts.reservoirSize };
  const features = names.map((name, i): FeatureProfile => {
    if (!frame.has(name)) {
      throw new Error(
        `buildReferenceProfile: the reference data has no column '${name}' (has: ${frame.names.join(", ")})`,
      );
    }
    const c = frame.col(name);
    return c.kind === "numeric"
      ? profileNumeric(name, c.values, { ...common, seed: deriveSeed(seed, i) })
      : profileCategorical(name, c);
  });
  let prediction: NumericFeatureProfile | null = null;
  if (opts.predictions) {
    if (opts.predictions.length !== frame.nRows) {
      throw new Error(
        `buildReferenceProfile: ${opts.predictions.length} predictions for ${frame.nRows} reference rows`,
      );
    }
    prediction = profileNumeric("prediction", opts.predictions, {
      ...common,
      seed: deriveSeed(seed, 1_000_001),
    });
  }
  let target: NumericFeatureProfile | null = null;
  if (contract && frame.has(contract.target) && frame.col(contract.target).kind === "numeric") {
    target = profileNumeric(contract.target, frame.numeric(contract.target), {
      ...common,
      seed: deriveSeed(seed, 1_000_002),
    });
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    createdAt: opts.createdAt ?? new Date().toISOString(),
    nRows: frame.nRows,
    seed,
    bins: opts.bins ?? 20,
    features,
    prediction,
    target,
    meta: { ...(opts.meta ?? {}) },
  };
}

/** Kinds of the profiled features (e.g. for readTable's `types`). */
export function profileTypes(p: ReferenceProfile): Record<string, "numeric" | "categorical"> {
  const out: Record<string, "numeric" | "categorical"> = {};
  for (const f of p.features) out[f.name] = f.kind;
  return out;
}

function checkNumericProfile(f: unknown, where: string): void {
  const o = f as Partial<NumericFeatureProfile>;
  for (const k of ["n", "missing", "mean", "std", "min", "max", "distinct"] as const) {
    if (typeof o[k] !== "number" && o[k] !== null) throw new Error(`${where}: field '${k}' must be a number`);
  }
  for (const k of ["edges", "counts", "fineEdges", "fineCounts", "sample"] as const) {
    if (!Array.isArray(o[k])) throw new Error(`${where}: field '${k}' must be an array`);
  }
  if (
    (o.n ?? 0) > 0 &&
    (o.edges!.length !== o.counts!.length + 1 || o.fineEdges!.length !== o.fineCounts!.length + 1)
  ) {
    throw new Error(`${where}: edges/counts length mismatch`);
  }
}

/** Validate a parsed JSON document as a reference profile (errors name the source and field). */
export function parseReferenceProfile(doc: unknown, source = "<profile>"): ReferenceProfile {
  const o = doc as Partial<ReferenceProfile> | null;
  if (!o || typeof o !== "object") throw new Error(`${source}: not a JSON object`);
  if (o.format !== PROFILE_FORMAT) {
    throw new Error(`${source}: format is ${JSON.stringify(o.format)}, expected "${PROFILE_FORMAT}"`);
  }
  if (o.version !== PROFILE_VERSION) throw new Error(`${source}: unsupported profile version ${o.version}`);
  if (typeof o.nRows !== "number" || !Array.isArray(o.features)) {
    throw new Error(`${source}: missing 'nRows' or 'features'`);
  }
  o.features.forEach((f, i) => {
    const where = `${source}: features[${i}]${f && typeof f.name === "string" ? ` ('${f.name}')` : ""}`;
    if (!f || typeof f.name !== "string") throw new Error(`${where}: missing 'name'`);
    if (f.kind === "numeric") checkNumericProfile(f, where);
    else if (f.kind === "categorical") {
      if (!f.counts || typeof f.counts !== "object") throw new Error(`${where}: 'counts' must be an object`);
    } else
      throw new Error(
        `${where}: kind must be 'numeric' or 'categorical', got ${JSON.stringify((f as { kind?: unknown }).kind)}`,
      );
  });
  if (o.prediction) checkNumericProfile(o.prediction, `${source}: prediction`);
  if (o.target) checkNumericProfile(o.target, `${source}: target`);
  return {
    ...(o as ReferenceProfile),
    prediction: o.prediction ?? null,
    target: o.target ?? null,
    meta: o.meta ?? {},
  };
}

/** JSON text of a profile (NaN → null, restored on load). */
export function serializeReferenceProfile(p: ReferenceProfile): string {
  return JSON.stringify(p);
}

function reviveNaN(p: ReferenceProfile): ReferenceProfile {
  const fix = (f: NumericFeatureProfile | null) => {
    if (!f) return;
    for (const k of ["mean", "std", "min", "max"] as const) if (f[k] === null) f[k] = Number.NaN;
  };
  for (const f of p.features) if (f.kind === "numeric") fix(f);
  fix(p.prediction);
  fix(p.target);
  return p;
}

/** Parse profile JSON text. */
export function deserializeReferenceProfile(text: string, source = "<profile>"): ReferenceProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: invalid JSON (${(e as Error).message})`);
  }
  return reviveNaN(parseReferenceProfile(doc, source));
}

/** Write a profile atomically. */
export function saveReferenceProfile(path: string, p: ReferenceProfile): void {
  writeFileAtomicSync(path, serializeReferenceProfile(p));
}

/** Read and validate a profile file. */
export function loadReferenceProfile(path: string): ReferenceProfile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT" ? `${path}: reference profile not found` : `${path}: ${(e as Error).message}`,
    );
  }
  return deserializeReferenceProfile(text, path);
}
