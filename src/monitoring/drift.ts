/**
 * Data drift: compares current data (a Frame, or per-feature arrays) with a reference profile.
 *
 * Per-feature test, chosen like Evidently's defaults (legacy stattests/registry.py `_get_default_stattest`):
 *   n_unique is counted on reference ∪ current, the size switch uses the reference row count only.
 *   - reference ≤ smallSampleLimit (1,000) rows: numeric with > 5 uniques → two-sample KS (drift when p ≤ 0.05);
 *     numeric with 3–5 uniques or categorical with > 2 → χ² homogeneity (p ≤ 0.05); ≤ 2 uniques → two-proportion
 *     z-test (p ≤ 0.05).
 *   - larger reference: numeric with > 5 uniques → Wasserstein-1 / max(std_ref, 0.001) (drift when ≥ 0.1);
 *     otherwise → Jensen–Shannon distance (natural log, ≥ 0.1).
 * PSI (reference quantile bins + under/overflow, ε = 1e-4) is computed for every feature and the predictions.
 * Dataset drift when (drifted features / tested features) ≥ driftShare (0.5). Every threshold is configurable.
 */
import type { Frame } from "../data/frame.ts";
import type {
  CategoricalFeatureProfile,
  FeatureProfile,
  NumericFeatureProfile,
  ReferenceProfile,
} from "./reference.ts";
import {
  chiSquareHomogeneity,
  histogram,
  jensenShannon,
  type KsMode,
  ksTwoSampleSorted,
  normaliseWasserstein,
  PSI_EPSILON,
  type PsiLevel,
  psi,
  psiLevel,
  smoothedProportions,
  wasserstein1Sorted,
  wassersteinBinned,
  zTestProportions,
} from "./stats.ts";

export type DriftTestName = "ks" | "chisquare" | "z" | "wasserstein" | "jensenshannon" | "psi";

/** Tests whose score is a p-value (drift when p ≤ threshold); the others are distances (drift when ≥). */
const P_VALUE_TESTS = new Set<DriftTestName>(["ks", "chisquare", "z"]);

export interface DriftThresholds {
  ks: number;
  chisquare: number;
  z: number;
  wasserstein: number;
  jensenshannon: number;
  psi: number;
}

export const DEFAULT_THRESHOLDS: DriftThresholds = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

export interface DriftOptions {
  /** features to check (default: all reference features) */
  features?: readonly string[];
  /** dataset drift when share of drifted features ≥ this (default 0.5) */
  driftShare?: number;
  /** reference rows at or below which KS / χ² / z are used (default 1000) */
  smallSampleLimit?: number;
  thresholds?: Partial<DriftThresholds>;
  /** PSI levels [moderate, major] (default [0.1, 0.2]) */
  psiThresholds?: readonly [number, number];
  /** replaces empty-bin proportions in PSI / binned JS (default 1e-4) */
  psiEpsilon?: number;
  /** per-feature override of the test and/or its threshold */
  perFeature?: Record<string, { test?: DriftTestName; threshold?: number }>;
  /** predictions on the current data (compared with reference.prediction) */
  predictions?: ArrayLike<number>;
  /** KS p-value mode (default 'auto' as scipy) */
  ksMode?: KsMode;
}

export type Histogram =
  | { kind: "numeric"; edges: number[]; counts: number[]; under: number; over: number }
  | { kind: "categorical"; labels: string[]; counts: number[] };

export interface FeatureDrift {
  name: string;
  type: "numeric" | "categorical";
  test: DriftTestName;
  /** the score compared with the threshold: a p-value for ks / chisquare / z, else the distance / PSI */
  statistic: number;
  threshold: number;
  /** how statistic is compared: p-values drift when ≤, distances when ≥ */
  direction: "p_le" | "score_ge";
  drifted: boolean;
  /** the test's own statistic (KS D, χ², z, W1 normalised, JS) — same as `statistic` for distances */
  rawStatistic: number;
  /** extra details (p-value method, dof, W1 before normalisation, …) */
  details: Record<string, number | string | boolean>;
  psi: number;
  psiLevel: PsiLevel;
  nReference: number;
  nCurrent: number;
  missingReference: number;
  missingCurrent: number;
  /** numeric: current values below the reference min / above the reference max */
  outOfRange: { below: number; above: number } | null;
  refHist: Histogram;
  curHist: Histogram;
}

export interface DriftReport {
  features: FeatureDrift[];
  prediction: FeatureDrift | null;
  /** drifted / tested features */
  share: number;
  nDrifted: number;
  nTested: number;
  datasetDrift: boolean;
  driftShare: number;
  nReference: number;
  nCurrent: number;
  /** effective thresholds */
  thresholds: DriftThresholds;
  psiThresholds: [number, number];
  computedAt: string;
  meta: Record<string, string | number | boolean>;
}

/** Current data: a Frame or columns by feature name (numbers with NaN = missing; strings with null = missing). */
export type CurrentData =
  | Frame
  | Record<
      string,
      | ArrayLike<number>
      | readonly (string | null | undefined)[]
      | { codes: ArrayLike<number>; levels: readonly string[] }
    >;

type CurrentColumn =
  | { kind: "numeric"; values: ArrayLike<number> }
  | { kind: "categorical"; codes: ArrayLike<number>; levels: readonly string[] }
  | { kind: "strings"; values: readonly (string | null | undefined)[] };

function isFrame(x: CurrentData): x is Frame {
  return typeof (x as Frame).col === "function" && typeof (x as Frame).nRows === "number";
}

function currentColumn(cur: CurrentData, name: string): CurrentColumn | null {
  if (isFrame(cur)) {
    if (!cur.has(name)) return null;
    const c = cur.col(name);
    return c.kind === "numeric"
      ? { kind: "numeric", values: c.values }
      : { kind: "categorical", codes: c.codes, levels: c.levels };
  }
  const v = cur[name];
  if (v === undefined) return null;
  if (typeof v === "object" && "codes" in v) return { kind: "categorical", codes: v.codes, levels: v.levels };
  if (v.length > 0 && typeof (v as ArrayLike<unknown>)[0] !== "number") {
    return { kind: "strings", values: v as readonly (string | null | undefined)[] };
  }
  if (ArrayBuffer.isView(v) || (v as ArrayLike<unknown>).length === 0)
    return { kind: "numeric", values: v as ArrayLike<number> };
  // plain arrays: numbers (null = missing)
  const arr = v as ArrayLike<unknown>;
  for (let i = 0; i < arr.length; i++) {
    if (typeof arr[i] === "string")
      return { kind: "strings", values: v as readonly (string | null | undefined)[] };
  }
  const out = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++)
    out[i] = arr[i] === null || arr[i] === undefined ? Number.NaN : Number(arr[i]);
  return { kind: "numeric", values: out };
}

function nRowsOf(cur: CurrentData): number {
  if (isFrame(cur)) return cur.nRows;
  for (const v of Object.values(cur)) return "codes" in v ? v.codes.length : v.length;
  return 0;
}

/** Category → count of a current categorical column (missing counted separately). */
function countCategories(col: CurrentColumn, name: string): { counts: Map<string, number>; missing: number } {
  const counts = new Map<string, number>();
  let missing = 0;
  if (col.kind === "categorical") {
    const tally = new Float64Array(col.levels.length);
    for (let i = 0; i < col.codes.length; i++) {
      const c = col.codes[i];
      if (c < 0) missing++;
      else tally[c]++;
    }
    col.levels.forEach((l, i) => {
      if (tally[i] > 0) counts.set(l, (counts.get(l) ?? 0) + tally[i]);
    });
  } else if (col.kind === "strings") {
    for (const v of col.values) {
      if (v === null || v === undefined) missing++;
      else counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  } else {
    // a numeric column where the reference is categorical: compare as strings
    for (let i = 0; i < col.values.length; i++) {
      const v = col.values[i];
      if (Number.isNaN(v)) missing++;
      else counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
    }
  }
  void name;
  return { counts, missing };
}

function numericValues(col: CurrentColumn, name: string): { values: Float64Array; missing: number } {
  if (col.kind !== "numeric") {
    throw new Error(
      `drift: feature '${name}' is numeric in the reference but categorical in the current data`,
    );
  }
  const src = col.values;
  let missing = 0;
  for (let i = 0; i < src.length; i++) if (Number.isNaN(src[i])) missing++;
  const out = new Float64Array(src.length - missing);
  let k = 0;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v))
      throw new Error(`drift: feature '${name}' has a non-finite value ${v} at row ${i}`);
    out[k++] = v;
  }
  return { values: out, missing };
}

interface Ctx {
  nRef: number;
  small: number;
  thr: DriftThresholds;
  psiThr: [number, number];
  eps: number;
  per: Record<string, { test?: DriftTestName; threshold?: number }>;
  ksMode: KsMode;
}

function decide(test: DriftTestName, score: number, threshold: number): boolean {
  return P_VALUE_TESTS.has(test) ? score <= threshold : score >= threshold;
}

function unionCounts(
  ref: Record<string, number>,
  cur: Map<string, number>,
): { labels: string[]; r: number[]; c: number[] } {
  const labels = Object.keys(ref);
  for (const k of cur.keys()) if (!(k in ref)) labels.push(k);
  return { labels, r: labels.map((l) => ref[l] ?? 0), c: labels.map((l) => cur.get(l) ?? 0) };
}

/** χ² / z / JS / PSI on category counts. */
function countsDrift(
  name: string,
  type: "numeric" | "categorical",
  labels: string[],
  r: number[],
  c: number[],
  ctx: Ctx,
  test: DriftTestName,
): Pick<FeatureDrift, "statistic" | "rawStatistic" | "details" | "psi"> {
  const p = psi(r, c, ctx.eps);
  const nr = r.reduce((a, b) => a + b, 0),
    nc = c.reduce((a, b) => a + b, 0);
  if (test === "chisquare") {
    const x = chiSquareHomogeneity(r, c);
    return { statistic: x.pValue, rawStatistic: x.statistic, details: { dof: x.dof }, psi: p };
  }
  if (test === "z") {
    // proportion of the first category
    const z = zTestProportions(r[0], nr, c[0], nc);
    return { statistic: z.pValue, rawStatistic: z.statistic, details: { category: labels[0] }, psi: p };
  }
  if (test === "jensenshannon") {
    const js = jensenShannon(smoothedProportions(r, ctx.eps), smoothedProportions(c, ctx.eps));
    return { statistic: js, rawStatistic: js, details: {}, psi: p };
  }
  if (test === "psi") return { statistic: p, rawStatistic: p, details: {}, psi: p };
  throw new Error(
    `drift: test '${test}' cannot run on the categorical/low-cardinality feature '${name}' (${type})`,
  );
}

function defaultTest(nRef: number, small: number, numeric: boolean, nUnique: number): DriftTestName {
  if (nRef <= small) {
    if (numeric && nUnique > 5) return "ks";
    if (nUnique <= 2) return "z";
    return "chisquare";
  }
  return numeric && nUnique > 5 ? "wasserstein" : "jensenshannon";
}

function categoricalFeature(f: CategoricalFeatureProfile, col: CurrentColumn, ctx: Ctx): FeatureDrift {
  const { counts, missing } = countCategories(col, f.name);
  const { labels, r, c } = unionCounts(f.counts, counts);
  const nCur = c.reduce((a, b) => a + b, 0);
  const override = ctx.per[f.name] ?? {};
  const test = override.test ?? defaultTest(ctx.nRef, ctx.small, false, labels.length);
  const threshold = override.threshold ?? ctx.thr[test];
  const base = {
    name: f.name,
    type: "categorical" as const,
    test,
    threshold,
    direction: P_VALUE_TESTS.has(test) ? ("p_le" as const) : ("score_ge" as const),
    nReference: f.n,
    nCurrent: nCur,
    missingReference: f.missing,
    missingCurrent: missing,
    outOfRange: null,
    refHist: { kind: "categorical" as const, labels, counts: r },
    curHist: { kind: "categorical" as const, labels, counts: c },
  };
  if (nCur === 0 || f.n === 0) {
    return {
      ...base,
      statistic: Number.NaN,
      rawStatistic: Number.NaN,
      details: { skipped: "no values" },
      drifted: false,
      psi: Number.NaN,
      psiLevel: "none",
    };
  }
  const res = countsDrift(f.name, "categorical", labels, r, c, ctx, test);
  return {
    ...base,
    ...res,
    drifted: decide(test, res.statistic, threshold),
    psiLevel: psiLevel(res.psi, ctx.psiThr),
  };
}

/** Union of distinct values of reference (known when ≤ 20) and current, up to 6. */
function smallUnique(f: NumericFeatureProfile, cur: Float64Array): number {
  if (!f.values || f.distinct > 5) return f.distinct;
  const s = new Set<number>(f.values.map((v) => v.value));
  for (let i = 0; i < cur.length && s.size <= 5; i++) s.add(cur[i]);
  return s.size;
}

function numericFeature(f: NumericFeatureProfile, col: CurrentColumn, ctx: Ctx): FeatureDrift {
  const { values, missing } = numericValues(col, f.name);
  const nCur = values.length;
  const override = ctx.per[f.name] ?? {};
  const nUnique = f.n === 0 ? 0 : smallUnique(f, values);
  const test = override.test ?? defaultTest(ctx.nRef, ctx.small, true, nUnique);
  const threshold = override.threshold ?? ctx.thr[test];
  const edges = f.edges;
  const h = edges.length > 1 ? histogram(values, edges) : { under: 0, over: 0, counts: [], missing: 0 };
  let below = 0,
    above = 0;
  for (let i = 0; i < nCur; i++) {
    if (values[i] < f.min) below++;
    else if (values[i] > f.max) above++;
  }
  const base = {
    name: f.name,
    type: "numeric" as const,
    test,
    threshold,
    direction: P_VALUE_TESTS.has(test) ? ("p_le" as const) : ("score_ge" as const),
    nReference: f.n,
    nCurrent: nCur,
    missingReference: f.missing,
    missingCurrent: missing,
    outOfRange: { below, above },
    refHist: { kind: "numeric" as const, edges, counts: f.counts, under: 0, over: 0 },
    curHist: { kind: "numeric" as const, edges, counts: h.counts, under: h.under, over: h.over },
  };
  if (nCur === 0 || f.n === 0) {
    return {
      ...base,
      statistic: Number.NaN,
      rawStatistic: Number.NaN,
      details: { skipped: "no values" },
      drifted: false,
      psi: Number.NaN,
      psiLevel: "none",
    };
  }
  const p = psi([0, ...f.counts, 0], [h.under, ...h.counts, h.over], ctx.eps);
  let statistic: number, raw: number;
  let details: Record<string, number | string | boolean> = {};
  if (test === "ks") {
    const refSorted = Float64Array.from(f.sample).sort();
    const r = ksTwoSampleSorted(refSorted, values.sort(), ctx.ksMode);
    statistic = r.pValue;
    raw = r.statistic;
    details = { method: r.method, referenceSample: refSorted.length, sampleComplete: f.sampleComplete };
  } else if (test === "wasserstein") {
    let w: number;
    let method: string;
    if (f.sampleComplete) {
      w = wasserstein1Sorted(Float64Array.from(f.sample).sort(), values.sort());
      method = "exact";
    } else {
      const fe = f.fineEdges;
      const hc = histogram(values, fe);
      const e = [...fe],
        rc = [...f.fineCounts],
        cc = [...hc.counts];
      if (hc.under > 0) {
        let mn = Number.POSITIVE_INFINITY;
        for (let i = 0; i < nCur; i++) if (values[i] < mn) mn = values[i];
        e.unshift(mn);
        rc.unshift(0);
        cc.unshift(hc.under);
      }
      if (hc.over > 0) {
        let mx = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < nCur; i++) if (values[i] > mx) mx = values[i];
        e.push(mx);
        rc.push(0);
        cc.push(hc.over);
      }
      w = e.length > 1 ? wassersteinBinned(e, rc, cc) : 0;
      method = `binned(${fe.length - 1})`;
    }
    statistic = raw = normaliseWasserstein(w, f.std);
    details = { w1: w, referenceStd: f.std, method };
  } else if (test === "psi") {
    statistic = raw = p;
  } else {
    // count-based tests on exact values (≤ 20 reference uniques) or on the quantile bins
    let labels: string[], r: number[], c: number[];
    if (f.values) {
      const cur = new Map<string, number>();
      for (let i = 0; i < nCur; i++) cur.set(String(values[i]), (cur.get(String(values[i])) ?? 0) + 1);
      const ref: Record<string, number> = {};
      for (const v of f.values) ref[String(v.value)] = v.count;
      ({ labels, r, c } = unionCounts(ref, cur));
    } else {
      labels = ["under", ...f.counts.map((_, i) => `bin${i}`), "over"];
      r = [0, ...f.counts, 0];
      c = [h.under, ...h.counts, h.over];
    }
    const res = countsDrift(f.name, "numeric", labels, r, c, ctx, test);
    statistic = res.statistic;
    raw = res.rawStatistic;
    details = res.details;
  }
  return {
    ...base,
    statistic,
    rawStatistic: raw,
    details,
    drifted: decide(test, statistic, threshold),
    psi: p,
    psiLevel: psiLevel(p, ctx.psiThr),
  };
}

function featureDrift(f: FeatureProfile, col: CurrentColumn, ctx: Ctx): FeatureDrift {
  return f.kind === "numeric" ? numericFeature(f, col, ctx) : categoricalFeature(f, col, ctx);
}

/** Compare current data with a reference profile. Throws if a checked feature is missing from the current data. */
export function computeDrift(
  reference: ReferenceProfile,
  current: CurrentData,
  options: DriftOptions = {},
): DriftReport {
  const thr = { ...DEFAULT_THRESHOLDS, ...(options.thresholds ?? {}) };
  const psiThr: [number, number] = [...(options.psiThresholds ?? [0.1, 0.2])] as [number, number];
  const driftShare = options.driftShare ?? 0.5;
  const ctx: Ctx = {
    nRef: reference.nRows,
    small: options.smallSampleLimit ?? 1000,
    thr,
    psiThr,
    eps: options.psiEpsilon ?? PSI_EPSILON,
    per: options.perFeature ?? {},
    ksMode: options.ksMode ?? "auto",
  };
  const wanted = options.features ? new Set(options.features) : null;
  if (wanted) {
    for (const n of wanted) {
      if (!reference.features.some((f) => f.name === n))
        throw new Error(`drift: feature '${n}' is not in the reference profile`);
    }
  }
  const profiles = reference.features.filter((f) => !wanted || wanted.has(f.name));
  const features = profiles.map((f) => {
    const col = currentColumn(current, f.name);
    if (!col) {
      throw new Error(
        `drift: the current data has no column '${f.name}' (reference features: ${reference.features.map((x) => x.name).join(", ")})`,
      );
    }
    return featureDrift(f, col, ctx);
  });
  let prediction: FeatureDrift | null = null;
  if (options.predictions && reference.prediction) {
    const pctx = { ...ctx, per: { prediction: ctx.per.prediction ?? {} } };
    prediction = featureDrift(reference.prediction, { kind: "numeric", values: options.predictions }, pctx);
  }
  const tested = features.filter((f) => !Number.isNaN(f.statistic));
  const nDrifted = tested.filter((f) => f.drifted).length;
  const share = tested.length > 0 ? nDrifted / tested.length : 0;
  return {
    features,
    prediction,
    share,
    nDrifted,
    nTested: tested.length,
    datasetDrift: tested.length > 0 && share >= driftShare,
    driftShare,
    nReference: reference.nRows,
    nCurrent: nRowsOf(current),
    thresholds: thr,
    psiThresholds: psiThr,
    computedAt: new Date().toISOString(),
    meta: { ...reference.meta },
  };
}
