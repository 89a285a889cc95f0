/**
 * Seeded splits over row indices (no Frame dependence: they take n or a label array).
 * All randomness comes from `Rng` (src/data/prng.ts); the same seed gives the same split.
 */
import { Rng } from "./prng.ts";

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
}

/** Number of test rows: a fraction in (0, 1) -> ceil(fraction * n) (like scikit-learn); an integer >= 1 -> that count. */
export function testCount(n: number, testSize: number): number {
  if (!Number.isInteger(n) || n < 2) throw new Error(`split: need at least 2 rows, got ${n}`);
  let k: number;
  if (testSize > 0 && testSize < 1) k = Math.ceil(testSize * n);
  else if (Number.isInteger(testSize) && testSize >= 1) k = testSize;
  else
    throw new Error(`split: testSize must be a fraction in (0, 1) or an integer count >= 1, got ${testSize}`);
  if (k >= n) throw new Error(`split: testSize ${testSize} leaves no training rows (n = ${n})`);
  return k;
}

/** Shuffled train/test split of 0..n-1 (indices in shuffled order, like scikit-learn's ShuffleSplit). */
export function trainTestSplit(n: number, testSize: number, seed: number): Split {
  const k = testCount(n, testSize);
  const perm = new Rng(seed).permutation(n);
  return { test: perm.slice(0, k), train: perm.slice(k) };
}

/**
 * Bin a numeric column into stratum labels 1..(bins.length - 1), like `pd.cut(x, bins, labels=[1..k])`:
 * intervals are right-closed (b[i-1], b[i]]. With `outOfRange: 'error'` (default) a value outside
 * (b[0], b[last]] or NaN throws, naming the row and value; 'clip' puts values <= b[0] in the first bin and
 * values > b[last] in the last (NaN still throws).
 */
export function binLabels(
  values: ArrayLike<number>,
  bins: readonly number[],
  opts: { outOfRange?: "error" | "clip"; column?: string } = {},
): Int32Array {
  if (bins.length < 2) throw new Error(`binLabels: need at least 2 bin edges, got ${bins.length}`);
  for (let i = 1; i < bins.length; i++) {
    if (!(bins[i] > bins[i - 1]))
      throw new Error(`binLabels: bin edges must increase strictly: ${bins.join(", ")}`);
  }
  const k = bins.length - 1;
  const clip = opts.outOfRange === "clip";
  const col = opts.column ? ` in column '${opts.column}'` : "";
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v))
      throw new Error(`binLabels: missing value${col} at row ${i + 1}; cannot assign a stratum`);
    if (v <= bins[0] || v > bins[k]) {
      if (!clip) {
        throw new Error(
          `binLabels: value ${v}${col} at row ${i + 1} is outside the bins (${bins[0]}, ${bins[k]}]`,
        );
      }
      out[i] = v <= bins[0] ? 1 : k;
      continue;
    }
    // binary search: first edge >= v
    let lo = 1,
      hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bins[mid] >= v) hi = mid;
      else lo = mid + 1;
    }
    out[i] = lo;
  }
  return out;
}

/** Group row indices by label (labels may be numbers or strings); groups in first-seen label order. */
function groupByLabel(labels: ArrayLike<number | string>): { keys: (number | string)[]; groups: number[][] } {
  const index = new Map<number | string, number>();
  const keys: (number | string)[] = [];
  const groups: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    let g = index.get(l);
    if (g === undefined) {
      g = groups.length;
      index.set(l, g);
      keys.push(l);
      groups.push([]);
    }
    groups[g].push(i);
  }
  // deterministic order regardless of row order: sort groups by key
  const order = keys.map((_, g) => g).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
  return { keys: order.map((g) => keys[g]), groups: order.map((g) => groups[g]) };
}

/**
 * Stratified shuffled split: each stratum contributes round(share * size) test rows (largest-remainder
 * rounding so the total is exactly the requested test count), so every stratum's share in train and
 * test matches the full data to within one row.
 */
export function stratifiedSplit(labels: ArrayLike<number | string>, testSize: number, seed: number): Split {
  const n = labels.length;
  const k = testCount(n, testSize);
  const { groups } = groupByLabel(labels);
  const exact = groups.map((g) => (g.length * k) / n);
  const alloc = exact.map(Math.floor);
  let left = k - alloc.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, g) => ({ g, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.g - b.g);
  for (let i = 0; left > 0; i++, left--) alloc[byRemainder[i % byRemainder.length].g]++;
  const rng = new Rng(seed);
  const test = new Uint32Array(k);
  const train = new Uint32Array(n - k);
  let t = 0,
    r = 0;
  groups.forEach((g, gi) => {
    const idx = rng.shuffle(Uint32Array.from(g));
    for (let i = 0; i < idx.length; i++) {
      if (i < alloc[gi]) test[t++] = idx[i];
      else train[r++] = idx[i];
    }
  });
  rng.shuffle(test);
  rng.shuffle(train);
  return { train, test };
}

function checkK(n: number, k: number): void {
  if (!Number.isInteger(k) || k < 2) throw new Error(`kFold: k must be an integer >= 2, got ${k}`);
  if (k > n) throw new Error(`kFold: k = ${k} is larger than the number of rows (${n})`);
}

function foldsFromAssignment(fold: Int32Array, k: number): Split[] {
  const sizes = new Int32Array(k);
  for (let i = 0; i < fold.length; i++) sizes[fold[i]]++;
  const out: Split[] = [];
  for (let f = 0; f < k; f++) {
    const test = new Uint32Array(sizes[f]);
    const train = new Uint32Array(fold.length - sizes[f]);
    let a = 0,
      b = 0;
    for (let i = 0; i < fold.length; i++) {
      if (fold[i] === f) test[a++] = i;
      else train[b++] = i;
    }
    out.push({ train, test });
  }
  return out;
}

/**
 * K-fold cross-validation splits (scikit-learn KFold layout: the first n % k folds get one extra row).
 * Without shuffle the folds are contiguous blocks; with shuffle the rows are permuted with `seed` first.
 * Indices inside each fold are ascending.
 */
export function kFold(n: number, k: number, opts: { shuffle?: boolean; seed?: number } = {}): Split[] {
  checkK(n, k);
  const order = opts.shuffle ? new Rng(opts.seed ?? 0).permutation(n) : null;
  if (opts.shuffle && opts.seed === undefined) throw new Error("kFold: shuffle needs an explicit seed");
  const fold = new Int32Array(n);
  const base = Math.floor(n / k);
  const extra = n % k;
  let pos = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    for (let i = 0; i < size; i++, pos++) fold[order ? order[pos] : pos] = f;
  }
  return foldsFromAssignment(fold, k);
}

/**
 * Stratified k-fold: each stratum's rows are shuffled and dealt round-robin over the folds (continuing
 * where the previous stratum stopped), so every fold gets each stratum's share within one row and fold
 * sizes differ by at most one.
 */
export function stratifiedKFold(labels: ArrayLike<number | string>, k: number, seed: number): Split[] {
  const n = labels.length;
  checkK(n, k);
  const { groups } = groupByLabel(labels);
  const rng = new Rng(seed);
  const fold = new Int32Array(n);
  let next = 0;
  for (const g of groups) {
    const idx = rng.shuffle(Uint32Array.from(g));
    for (let i = 0; i < idx.length; i++) {
      fold[idx[i]] = next;
      next = (next + 1) % k;
    }
  }
  return foldsFromAssignment(fold, k);
}
