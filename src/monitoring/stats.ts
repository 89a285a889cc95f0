/**
 * In-house drift statistics (no dependency). Every function ignores nothing silently: callers drop missing
 * values (NaN) before calling; functions that need non-empty input throw a RangeError naming the argument.
 *
 * - `ksTwoSample`: two-sample Kolmogorov–Smirnov, two-sided. p-value mode 'auto' like scipy.stats.ks_2samp:
 *   exact when max(n1, n2) ≤ 10,000, else asymptotic. Exact = lattice-path probability P(D ≥ d) (the same
 *   quantity scipy's exact mode computes, in a normalised DP that cannot overflow). Asymptotic = the limiting
 *   Kolmogorov distribution Q_KS(λ) with Stephens' small-sample correction
 *   λ = (√en + 0.12 + 0.11/√en)·D, en = n1·n2/(n1+n2) (Numerical Recipes `kstwo`; scipy < 1.5 used the same,
 *   scipy ≥ 1.5 uses kstwo.sf(D, round(en)) — they agree to ~1e-3 absolute in the range that matters).
 * - `chiSquareHomogeneity`: Pearson χ² test of homogeneity on a 2×k table (no Yates correction, i.e. scipy
 *   chi2_contingency(..., correction=False)); p from the regularized upper incomplete gamma Q(k/2, χ²/2).
 * - `zTestProportions`: two-proportion z-test (pooled), two-sided.
 * - `wasserstein1` (exact, empirical samples, = scipy.stats.wasserstein_distance) and `wassersteinBinned`
 *   (two histograms on shared edges, mass uniform within each bin, exact integral of |F_a − F_b|).
 * - `jensenShannon`: scipy.spatial.distance.jensenshannon = √JS-divergence, natural log by default.
 * - `psi`: Σ (c − r)·ln(c / r) over bin proportions, zero proportions replaced by ε (default 1e-4, as Evidently).
 */

// ---------------------------------------------------------------- special functions

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lnGamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const GAMMA_EPS = 1e-15;
const GAMMA_ITMAX = 10_000;
const FPMIN = 1e-300;

/** P(a, x) by its series (converges fast for x < a + 1). */
function gammaPSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < GAMMA_ITMAX; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * GAMMA_EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
}

/** Q(a, x) by its continued fraction (modified Lentz; converges fast for x ≥ a + 1). */
function gammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_ITMAX; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < GAMMA_EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/** Regularized lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`gammaP: need a > 0 and x ≥ 0, got a=${a}, x=${x}`);
  if (x === 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return x < a + 1 ? gammaPSeries(a, x) : 1 - gammaQContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`gammaQ: need a > 0 and x ≥ 0, got a=${a}, x=${x}`);
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQContinuedFraction(a, x);
}

/** Survival function of the χ² distribution with `dof` degrees of freedom. */
export function chiSquareSf(x: number, dof: number): number {
  if (!(dof > 0)) throw new RangeError(`chiSquareSf: dof must be > 0, got ${dof}`);
  if (!(x > 0)) return 1;
  return gammaQ(dof / 2, x / 2);
}

/** Complementary error function, erfc(x) = Q(1/2, x²) for x ≥ 0. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  return x >= 0 ? gammaQ(0.5, x * x) : 2 - gammaQ(0.5, x * x);
}

// ---------------------------------------------------------------- small helpers

function assertNonEmpty(name: string, v: ArrayLike<number>): void {
  if (v.length === 0) throw new RangeError(`${name}: empty sample`);
}

/** The finite values of `v`, in order, as a Float64Array (NaN and ±Infinity left out). */
export function finiteValues(v: ArrayLike<number>): Float64Array {
  // counted first, then copied: no number[] in between (for a window's 138 k latencies that cost ~2x the sort)
  let n = 0;
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i])) n++;
  const out = new Float64Array(n);
  for (let i = 0, k = 0; i < v.length; i++) if (Number.isFinite(v[i])) out[k++] = v[i];
  return out;
}

/** Sorted copy as Float64Array; throws on NaN (callers must drop missing values). */
export function sortedCopy(v: ArrayLike<number>, name = "sample"): Float64Array {
  const out = Float64Array.from(v);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) throw new RangeError(`${name}: NaN at index ${i} (drop missing values first)`);
  }
  return out.sort();
}

/** Linear-interpolation quantile (numpy's default, "type 7") of an ascending-sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean and population std (ddof = 0, as numpy.std / Evidently's normalisation). */
export function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  const n = v.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
  return { mean, std: Math.sqrt(ss / n) };
}

// ---------------------------------------------------------------- Kolmogorov–Smirnov

export type KsMode = "auto" | "exact" | "asymp";

export interface KsResult {
  statistic: number;
  pValue: number;
  /** How the p-value was computed. */
  method: "exact" | "asymp";
  n1: number;
  n2: number;
}

/** scipy's MAX_AUTO_N: 'auto' uses the exact distribution when max(n1, n2) ≤ this. */
export const KS_EXACT_MAX_N = 10_000;

/** Two-sided KS statistic D = sup |F1 − F2| of two ascending-sorted samples. */
export function ksStatisticSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length,
    n2 = b.length;
  let i = 0,
    j = 0,
    d = 0;
  while (i < n1 && j < n2) {
    const x = Math.min(a[i], b[j]);
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  return d;
}

/**
 * Kolmogorov survival function Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²) (the limiting distribution of
 * √n·D); the theta-function form is used for small λ where the alternating series converges slowly.
 */
export function kolmogorovSf(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const y = Math.exp((-Math.PI * Math.PI) / (8 * lambda * lambda));
    // P(K ≤ λ) = √(2π)/λ Σ_{k≥1} exp(−(2k−1)²π²/(8λ²))
    let s = 0;
    for (let k = 1; k <= 20; k++) s += y ** ((2 * k - 1) * (2 * k - 1));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let k = 1; k <= 100; k++) {
    const t = Math.exp(-2 * k * k * lambda * lambda);
    s += (k % 2 === 1 ? 1 : -1) * t;
    if (t < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Exact P(D ≥ d) for two samples of sizes m, n under H0 (no ties): 1 − (lattice paths from (0,0) to (m,n) with
 * every point strictly inside |i/m − j/n| < d) / C(m+n, m). The DP stores paths/C(i+j, i), so nothing
 * overflows: p[i][j] = (i·p[i−1][j] + j·p[i][j−1]) / (i + j). O(m·n) time, O(n) memory.
 */
export function ksExactSf(d: number, m: number, n: number): number {
  if (d <= 0) return 1;
  if (d > 1) return 0;
  if (m > n) [m, n] = [n, m];
  const g = gcd(m, n);
  const lcm = (m / g) * n;
  const mi = lcm / m,
    nj = lcm / n;
  const h = Math.round(d * lcm);
  if (h === 0) return 1;
  const inside = (i: number, j: number) => Math.abs(i * mi - j * nj) < h;
  const row = new Float64Array(n + 1);
  // i = 0 row
  row[0] = 1;
  for (let j = 1; j <= n; j++) row[j] = inside(0, j) ? row[j - 1] : 0;
  for (let i = 1; i <= m; i++) {
    row[0] = inside(i, 0) ? row[0] : 0;
    for (let j = 1; j <= n; j++) {
      row[j] = inside(i, j) ? (i * row[j] + j * row[j - 1]) / (i + j) : 0;
    }
  }
  return Math.min(1, Math.max(0, 1 - row[n]));
}

/** Two-sample two-sided KS test (NaN not allowed: drop missing values first). */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>, mode: KsMode = "auto"): KsResult {
  assertNonEmpty("ksTwoSample(a)", a);
  assertNonEmpty("ksTwoSample(b)", b);
  const sa = sortedCopy(a, "ksTwoSample(a)");
  const sb = sortedCopy(b, "ksTwoSample(b)");
  return ksTwoSampleSorted(sa, sb, mode);
}

/** Same as ksTwoSample for already-sorted, NaN-free inputs (no copy). */
export function ksTwoSampleSorted(
  sa: ArrayLike<number>,
  sb: ArrayLike<number>,
  mode: KsMode = "auto",
): KsResult {
  const n1 = sa.length,
    n2 = sb.length;
  const d = ksStatisticSorted(sa, sb);
  const method = mode === "auto" ? (Math.max(n1, n2) <= KS_EXACT_MAX_N ? "exact" : "asymp") : mode;
  let p: number;
  if (method === "exact") p = ksExactSf(d, n1, n2);
  else {
    const en = (n1 * n2) / (n1 + n2);
    const sq = Math.sqrt(en);
    p = kolmogorovSf((sq + 0.12 + 0.11 / sq) * d);
  }
  return { statistic: d, pValue: p, method, n1, n2 };
}

// ---------------------------------------------------------------- χ² and z tests

export interface ChiSquareResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/**
 * Pearson χ² test of homogeneity for two count vectors over the same categories (a 2×k contingency table).
 * Categories empty in both samples are dropped; dof = (k' − 1). No continuity correction.
 */
export function chiSquareHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>): ChiSquareResult {
  if (a.length !== b.length)
    throw new RangeError(`chiSquareHomogeneity: ${a.length} vs ${b.length} categories`);
  let na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] >= 0) || !(b[i] >= 0))
      throw new RangeError(`chiSquareHomogeneity: bad count at category ${i}`);
    na += a[i];
    nb += b[i];
  }
  if (na === 0 || nb === 0) throw new RangeError("chiSquareHomogeneity: a sample has no observations");
  const n = na + nb;
  let stat = 0,
    k = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i] + b[i];
    if (col === 0) continue;
    k++;
    const ea = (na * col) / n,
      eb = (nb * col) / n;
    stat += ((a[i] - ea) * (a[i] - ea)) / ea + ((b[i] - eb) * (b[i] - eb)) / eb;
  }
  const dof = k - 1;
  return { statistic: stat, dof, pValue: dof > 0 ? chiSquareSf(stat, dof) : 1 };
}

/** Two-proportion z-test (pooled variance), two-sided. `x` = successes, `n` = trials. */
export function zTestProportions(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): { statistic: number; pValue: number } {
  if (!(n1 > 0) || !(n2 > 0)) throw new RangeError(`zTestProportions: empty sample (n1=${n1}, n2=${n2})`);
  const p1 = x1 / n1,
    p2 = x2 / n2,
    p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pValue: p1 === p2 ? 1 : 0 };
  const z = (p1 - p2) / se;
  return { statistic: z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

// ---------------------------------------------------------------- Wasserstein

/** W1 between two ascending-sorted samples = ∫ |F_a − F_b| dx (scipy.stats.wasserstein_distance). */
export function wasserstein1Sorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length,
    n2 = b.length;
  let i = 0,
    j = 0,
    w = 0;
  let prev = Math.min(a[0], b[0]);
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    w += Math.abs(i / n1 - j / n2) * (x - prev);
    prev = x;
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
  }
  return w;
}

/** W1 between two empirical samples (NaN not allowed). */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertNonEmpty("wasserstein1(a)", a);
  assertNonEmpty("wasserstein1(b)", b);
  return wasserstein1Sorted(sortedCopy(a, "wasserstein1(a)"), sortedCopy(b, "wasserstein1(b)"));
}

/**
 * W1 between two histograms on the same ascending `edges` (k+1 edges, k counts each), mass spread uniformly
 * within each bin: the CDFs are piecewise linear, so ∫|F_a − F_b| is computed exactly per bin.
 */
export function wassersteinBinned(
  edges: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  const k = edges.length - 1;
  if (k < 1 || a.length !== k || b.length !== k) {
    throw new RangeError(
      `wassersteinBinned: ${edges.length} edges need ${k} counts, got ${a.length} and ${b.length}`,
    );
  }
  let na = 0,
    nb = 0;
  for (let i = 0; i < k; i++) {
    na += a[i];
    nb += b[i];
  }
  if (na === 0 || nb === 0) throw new RangeError("wassersteinBinned: a histogram is empty");
  let fa = 0,
    fb = 0,
    w = 0;
  for (let i = 0; i < k; i++) {
    const width = edges[i + 1] - edges[i];
    if (width < 0) throw new RangeError(`wassersteinBinned: edges not ascending at ${i}`);
    const d0 = fa - fb;
    fa += a[i] / na;
    fb += b[i] / nb;
    const d1 = fa - fb;
    if (width === 0) continue;
    if (d0 * d1 >= 0) w += (width * (Math.abs(d0) + Math.abs(d1))) / 2;
    else w += (width * (d0 * d0 + d1 * d1)) / (2 * (Math.abs(d0) + Math.abs(d1)));
  }
  return w;
}

/** Evidently's normalisation: W1 / max(std_ref, 0.001). */
export function normaliseWasserstein(w: number, referenceStd: number): number {
  return w / Math.max(referenceStd, 0.001);
}

// ---------------------------------------------------------------- Jensen–Shannon, PSI

/**
 * Jensen–Shannon distance (scipy.spatial.distance.jensenshannon): p and q are normalised to sum 1,
 * m = (p+q)/2, JS = √((KL(p‖m) + KL(q‖m)) / 2). Natural log unless `base` is given (base 2 bounds it by 1).
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannon: ${p.length} vs ${q.length} bins`);
  let sp = 0,
    sq = 0;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0) || !(q[i] >= 0)) throw new RangeError(`jensenShannon: negative or NaN mass at bin ${i}`);
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0 || sq === 0) throw new RangeError("jensenShannon: empty distribution");
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] / sp,
      qi = q[i] / sq,
      m = (pi + qi) / 2;
    if (pi > 0) kl += pi * Math.log(pi / m);
    if (qi > 0) kl += qi * Math.log(qi / m);
  }
  let js = Math.max(0, kl / 2);
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(js);
}

/** Default ε that replaces empty-bin proportions in PSI (and JS on binned data), as Evidently (0.0001). */
export const PSI_EPSILON = 1e-4;

/** Proportions of a count vector with zeros replaced by ε. */
export function smoothedProportions(counts: ArrayLike<number>, eps = PSI_EPSILON): Float64Array {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i];
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const p = s > 0 ? counts[i] / s : 0;
    out[i] = p === 0 ? eps : p;
  }
  return out;
}

/** Population Stability Index Σ (c − r)·ln(c / r) over bin proportions (zeros → ε). */
export function psi(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
  eps = PSI_EPSILON,
): number {
  if (referenceCounts.length !== currentCounts.length) {
    throw new RangeError(`psi: ${referenceCounts.length} vs ${currentCounts.length} bins`);
  }
  const r = smoothedProportions(referenceCounts, eps);
  const c = smoothedProportions(currentCounts, eps);
  let v = 0;
  for (let i = 0; i < r.length; i++) v += (c[i] - r[i]) * Math.log(c[i] / r[i]);
  return v;
}

export type PsiLevel = "none" | "moderate" | "major";

/** < 0.1 none, [0.1, 0.2) moderate, ≥ 0.2 major (thresholds configurable). */
export function psiLevel(v: number, thresholds: readonly [number, number] = [0.1, 0.2]): PsiLevel {
  return v >= thresholds[1] ? "major" : v >= thresholds[0] ? "moderate" : "none";
}

// ---------------------------------------------------------------- histograms

/**
 * Index of the bin of x for ascending edges e[0..k]: −1 below e[0], k above e[k]; bins are [e_i, e_{i+1})
 * except the last, which is closed [e_{k−1}, e_k].
 */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  const k = edges.length - 1;
  if (x < edges[0]) return -1;
  if (x > edges[k]) return k;
  if (x === edges[k]) return k - 1;
  let lo = 0,
    hi = k; // edges[lo] <= x < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface BinnedCounts {
  /** values < edges[0] */
  under: number;
  counts: number[];
  /** values > edges[last] */
  over: number;
  /** NaN values (missing) */
  missing: number;
}

/** Histogram of `values` on `edges` with under/overflow and missing counts. */
export function histogram(values: ArrayLike<number>, edges: ArrayLike<number>): BinnedCounts {
  const k = edges.length - 1;
  const counts = new Array<number>(k).fill(0);
  let under = 0,
    over = 0,
    missing = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    const b = binIndex(edges, x);
    if (b < 0) under++;
    else if (b >= k) over++;
    else counts[b]++;
  }
  return { under, counts, over, missing };
}

/** Ascending, de-duplicated quantile edges at probabilities 0, 1/bins, …, 1 of a sorted sample. */
export function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const q = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  if (edges.length === 1) edges.push(edges[0]); // constant feature: one closed bin [v, v]
  return edges;
}
