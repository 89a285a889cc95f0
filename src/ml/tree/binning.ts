/**
 * Quantile binning for the histogram tree core.
 *
 * Every feature is cast to float32 (like scikit-learn's trees), its distinct values are sorted and merged when closer
 * than 1e-7 (sklearn's FEATURE_THRESHOLD), and then:
 *  - if there are at most `maxBins` distinct values, each one gets its own bin (exact mode: histogram splits are the
 *    same candidate set as sklearn's exact splitter);
 *  - otherwise consecutive values are grouped into at most `maxBins` bins of roughly equal counts (quantiles).
 * Each bin remembers the smallest (`lo`) and largest (`hi`) float32 value it holds, so a split between two bins becomes
 * the real threshold `lo(next)/2 + hi(prev)/2` and prediction works on raw features.
 * Missing values (NaN) get their own code: `nBins[f]` (after the value bins; at most 255 for Uint8 codes).
 * Codes are column-major (`codes[f * rows + i]`) in a SharedArrayBuffer, so worker threads can read them without copies.
 */
import type { Matrix } from "../types.ts";
import { MLInputError } from "../types.ts";

export interface BinningOptions {
  /** Max value bins per feature (2..65535; Infinity = 65535). <= 255 gives Uint8 codes, more gives Uint16. Default 255. */
  maxBins?: number;
}

/** Plain-data form of a BinnedDataset (all typed arrays; `codes` may live on a SharedArrayBuffer). */
export interface BinnedData {
  rows: number;
  cols: number;
  maxBins: number;
  codes: Uint8Array | Uint16Array;
  /** Value bins per feature; the missing code of feature f is nBins[f]. */
  nBins: Int32Array;
  /** binOffset[f]..binOffset[f+1] indexes binLo/binHi of feature f. */
  binOffset: Int32Array;
  binLo: Float64Array;
  binHi: Float64Array;
  /** 1 when every distinct value of the feature has its own bin (exact splits). */
  exact: Uint8Array;
  featureNames?: readonly string[];
}

const FEATURE_THRESHOLD = 1e-7;

/**
 * Recently binned matrices (by value, bit for bit): a grid fits many models on the same fold matrix, each fit
 * binning it again. Binning is a pure function of (values, maxBins), so a hit returns the same codes / bins (shared,
 * read-only) in a new BinnedDataset whose source is the caller's matrix.
 */
const BIN_CACHE_ENTRIES = 5;
const binCache: { bits: Uint32Array; rows: number; cols: number; maxBins: number; data: BinnedData }[] = [];

/** Forget the cached binnings (benchmarks timing cold fits; tests). */
export function clearBinningCache(): void {
  binCache.length = 0;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function resolveMaxBins(maxBins: number | undefined): number {
  const mb = maxBins === undefined ? 255 : maxBins === Number.POSITIVE_INFINITY ? 65535 : maxBins;
  if (!Number.isInteger(mb) || mb < 2 || mb > 65535) {
    throw new MLInputError(`max_bins must be an integer in [2, 65535] or Infinity, got ${maxBins}`);
  }
  return mb;
}

/** A binned feature matrix. Build it once per training set (e.g. per CV fold) and pass it to every tree model's fit. */
export class BinnedDataset implements BinnedData {
  readonly rows: number;
  readonly cols: number;
  readonly maxBins: number;
  readonly codes: Uint8Array | Uint16Array;
  readonly nBins: Int32Array;
  readonly binOffset: Int32Array;
  readonly binLo: Float64Array;
  readonly binHi: Float64Array;
  readonly exact: Uint8Array;
  readonly featureNames?: readonly string[];
  /** The source matrix (kept so models can check it is the same X they are fitted on). */
  readonly source: Matrix | null;

  constructor(d: BinnedData, source: Matrix | null = null) {
    this.rows = d.rows;
    this.cols = d.cols;
    this.maxBins = d.maxBins;
    this.codes = d.codes;
    this.nBins = d.nBins;
    this.binOffset = d.binOffset;
    this.binLo = d.binLo;
    this.binHi = d.binHi;
    this.exact = d.exact;
    if (d.featureNames) this.featureNames = d.featureNames;
    this.source = source;
  }

  /** Bin X (row-major, NaN = missing). */
  static fromMatrix(X: Matrix, opts: BinningOptions = {}): BinnedDataset {
    const maxBins = resolveMaxBins(opts.maxBins);
    const n = X.rows;
    const p = X.cols;
    if (n === 0) throw new MLInputError("cannot bin an empty matrix (0 rows)");
    if (p === 0) throw new MLInputError("cannot bin a matrix with 0 columns");
    const bits = new Uint32Array(X.data.buffer, X.data.byteOffset, 2 * n * p);
    for (let i = 0; i < binCache.length; i++) {
      const c = binCache[i];
      if (c.rows === n && c.cols === p && c.maxBins === maxBins && sameBits(c.bits, bits)) {
        binCache.splice(i, 1);
        binCache.unshift(c);
        const d: BinnedData = { ...c.data };
        if (X.featureNames) d.featureNames = X.featureNames;
        else delete d.featureNames;
        return new BinnedDataset(d, X);
      }
    }
    const wide = maxBins > 255;
    const buf = new SharedArrayBuffer(n * p * (wide ? 2 : 1));
    const codes = wide ? new Uint16Array(buf) : new Uint8Array(buf);
    const nBins = new Int32Array(p);
    const binOffset = new Int32Array(p + 1);
    const exact = new Uint8Array(p);
    const los: Float64Array[] = [];
    const his: Float64Array[] = [];
    const data = X.data;
    // per feature: the non-missing values as float32 bit patterns mapped to order-preserving uint32 keys (-0 before
    // +0, like a numeric sort), radix-sorted with their row indices; each sorted run of values then gets its bin
    // directly (the same bin as "first bin whose hi >= value")
    const f32 = new Float32Array(n);
    const keys = new Uint32Array(f32.buffer);
    const idx = new Uint32Array(n);
    const keys2 = new Uint32Array(n);
    const idx2 = new Uint32Array(n);
    const sortedV = new Float32Array(n);
    const grp = new Int32Array(n);
    const count = new Int32Array(RADIX + 1);
    const gLo = new Float64Array(n);
    const gHi = new Float64Array(n);
    const gCnt = new Int32Array(n);
    const gBin = new Int32Array(n);
    for (let f = 0; f < p; f++) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        const v = data[i * p + f];
        if (!Number.isNaN(v)) {
          f32[m] = v;
          idx[m++] = i;
        }
      }
      for (let k = 0; k < m; k++) {
        const b = keys[k];
        keys[k] = b & 0x80000000 ? ~b : b | 0x80000000;
      }
      const sorted = radixSort(keys, idx, keys2, idx2, m, count);
      const sk = sorted.keys;
      const si = sorted.idx;
      const sv = new Uint32Array(sortedV.buffer);
      for (let k = 0; k < m; k++) {
        const key = sk[k];
        sv[k] = key & 0x80000000 ? key ^ 0x80000000 : ~key;
      }
      // distinct groups (values closer than 1e-7 to the previous one are merged)
      let ng = 0;
      for (let k = 0; k < m; k++) {
        const v = sortedV[k];
        const g = ng - 1;
        if (g >= 0 && v <= gHi[g] + FEATURE_THRESHOLD) {
          gHi[g] = v;
          gCnt[g]++;
        } else {
          gLo[ng] = v;
          gHi[ng] = v;
          gCnt[ng] = 1;
          ng++;
        }
        grp[k] = ng - 1;
      }
      let lo: Float64Array;
      let hi: Float64Array;
      if (ng <= maxBins) {
        lo = gLo.slice(0, ng);
        hi = gHi.slice(0, ng);
        for (let g = 0; g < ng; g++) gBin[g] = g;
        exact[f] = 1;
      } else {
        const bl: number[] = [];
        const bh: number[] = [];
        let cum = 0;
        let open = false;
        for (let g = 0; g < ng; g++) {
          if (!open) {
            bl.push(gLo[g]);
            open = true;
          }
          gBin[g] = bl.length - 1;
          cum += gCnt[g];
          if (cum >= (bl.length * m) / maxBins || g === ng - 1) {
            bh.push(gHi[g]);
            open = false;
          }
        }
        lo = Float64Array.from(bl);
        hi = Float64Array.from(bh);
      }
      const nb = lo.length;
      nBins[f] = nb;
      binOffset[f + 1] = binOffset[f] + nb;
      los.push(lo);
      his.push(hi);
      const base = f * n;
      if (m < n) codes.fill(nb, base, base + n);
      for (let k = 0; k < m; k++) codes[base + si[k]] = gBin[grp[k]];
    }
    const total = binOffset[p];
    const binLo = new Float64Array(total);
    const binHi = new Float64Array(total);
    for (let f = 0; f < p; f++) {
      binLo.set(los[f], binOffset[f]);
      binHi.set(his[f], binOffset[f]);
    }
    const built: BinnedData = { rows: n, cols: p, maxBins, codes, nBins, binOffset, binLo, binHi, exact };
    binCache.unshift({ bits: bits.slice(), rows: n, cols: p, maxBins, data: built });
    if (binCache.length > BIN_CACHE_ENTRIES) binCache.pop();
    return new BinnedDataset({ ...built, featureNames: X.featureNames }, X);
  }

  /** Plain data (for postMessage to workers: `codes` is shared, the small arrays are copied). */
  toData(): BinnedData {
    const d: BinnedData = {
      rows: this.rows,
      cols: this.cols,
      maxBins: this.maxBins,
      codes: this.codes,
      nBins: this.nBins,
      binOffset: this.binOffset,
      binLo: this.binLo,
      binHi: this.binHi,
      exact: this.exact,
    };
    if (this.featureNames) d.featureNames = this.featureNames;
    return d;
  }
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/**
 * Stable LSD radix sort of keys[0..m) (uint32) carrying idx along, 3 passes of 11 bits (a pass whose digit is the
 * same for every key is skipped). Returns the pair of arrays holding the result (the inputs or the scratch pair).
 */
function radixSort(
  keys: Uint32Array,
  idx: Uint32Array,
  keys2: Uint32Array,
  idx2: Uint32Array,
  m: number,
  count: Int32Array,
): { keys: Uint32Array; idx: Uint32Array } {
  let ka = keys;
  let ia = idx;
  let kb = keys2;
  let ib = idx2;
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    count.fill(0);
    for (let k = 0; k < m; k++) count[((ka[k] >>> shift) & (RADIX - 1)) + 1]++;
    if (m === 0 || count[((ka[0] >>> shift) & (RADIX - 1)) + 1] === m) continue;
    for (let d = 1; d <= RADIX; d++) count[d] += count[d - 1];
    for (let k = 0; k < m; k++) {
      const key = ka[k];
      const t = count[(key >>> shift) & (RADIX - 1)]++;
      kb[t] = key;
      ib[t] = ia[k];
    }
    const tk = ka;
    ka = kb;
    kb = tk;
    const ti = ia;
    ia = ib;
    ib = ti;
  }
  return { keys: ka, idx: ia };
}

/** sklearn's threshold between two adjacent float32 values a < b: the midpoint, or a when rounding lands on b / ±inf. */
export function midpointThreshold(a: number, b: number): number {
  let t = a / 2 + b / 2;
  if (t === b || t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) t = a;
  return t;
}
