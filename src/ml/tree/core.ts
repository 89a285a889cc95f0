/**
 * The shared histogram tree core: one grower for DecisionTree, RandomForest and GradientBoosting.
 *
 * - Rows live in a Uint32Array index buffer; a node owns a contiguous range that is partitioned in place on split.
 * - Per-node histograms of (Σw, Σw·y, count) per feature bin, in pooled Float64Array buffers (no per-node allocation).
 *   After a split the smaller child's histogram is built and the larger one is derived as parent − smaller
 *   (histogram subtraction). Small nodes (< `denseMin` rows) skip dense histograms and scan only the bins they touch.
 * - Row-list mode (`useRowLists`, used by forests): a histogram-free node below `listMax` rows keeps, per feature,
 *   its rows sorted by code; splits carry these lists to the children by stable partitions (of the rows buffer too),
 *   so a small node is scanned in O(rows) per feature without sorting or touched-bin bookkeeping.
 * - Split score: Σ_L²/(W_L+λ) + Σ_R²/(W_R+λ) (variance / Friedman-MSE gain), strict improvement, features in order
 *   (or a per-node random subset when maxFeatures < p). Missing values try both sides; the better side is stored.
 * - Growth is depth-first (sklearn's pre-order numbering, left child = i + 1) or best-first when maxLeafNodes is set.
 * - Node statistics (value, impurity, n) are summed directly over the node's rows, and which histograms are built
 *   (and which nodes use row lists / stable partitions) depends only on node sizes, never on max_depth /
 *   min_samples_split. So a node is computed bit for bit the same whatever those two limits are, which is what
 *   makes `pruneTree` exact.
 * - Feature subsets (maxFeatures < p) come from a per-node RNG seeded by (treeSeed, path from the root), not from a
 *   sequential stream, so growing deeper never changes the draws of shallower nodes.
 */
import { deriveSeed, Rng } from "../../data/prng.ts";
import type { BinnedData } from "./binning.ts";
import { midpointThreshold } from "./binning.ts";

export interface GrowParams {
  /** Infinity = unlimited. */
  maxDepth: number;
  /** Absolute counts. */
  minSamplesSplit: number;
  minSamplesLeaf: number;
  minWeightLeaf: number;
  /** Number of features examined per node (1..p). */
  maxFeatures: number;
  /** Infinity = depth-first growth; otherwise best-first with this many leaves at most. */
  maxLeafNodes: number;
  /** sklearn semantics: weighted impurity decrease / total weight must reach it. */
  minImpurityDecrease: number;
  /** L2 penalty on leaf values (0 = plain variance reduction). */
  l2: number;
  /** Tree seed (feature subsets). */
  seed: number;
}

/** A fitted tree in pre-order (left child of an internal node i is i + 1). Leaves have feature = -1, left = right = -1. */
export interface TreeArrays {
  nodeCount: number;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
  value: Float64Array;
  nSamples: Int32Array;
  weightedNSamples: Float64Array;
  impurity: Float64Array;
}

export interface GrowResult {
  tree: TreeArrays;
  /** Pre-order node -> range [start, end) of the rows buffer (after partitioning); empty when !keepRanges. */
  start: Int32Array;
  end: Int32Array;
}

const EPSILON = 2.220446049250313e-16;
/** Nodes with at most this many rows use the sort-based tiny-node scan (at most 16: scanSmall packs a row position
 * into 4 bits of its sort keys). */
const SMALL = 16;

function grow32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
function grow64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

/**
 * Reusable tree grower bound to one binned dataset. Scratch buffers (histogram pool, gathers) are reused across
 * trees, so a forest or a boosting run allocates them once per thread.
 */
export class TreeGrower {
  readonly data: BinnedData;
  private readonly N: number;
  private readonly p: number;
  private readonly histOff: Int32Array;
  private readonly histLen: number;
  private readonly maxNb1: number;
  /** Nodes with fewer rows use the touched-bins path instead of dense histograms. */
  denseMin: number;
  /**
   * Histogram-free nodes with fewer rows (and at least 3) are grown from per-feature row lists sorted by code (see
   * `buildLists`), carried to the children by stable partitions instead of being sorted again. 0 = never (the
   * default; `useRowLists` turns it on).
   */
  listMax = 0;
  /**
   * listRows[f * N + k], k in a list node's row range: its rows ordered by (code of feature f, position), each
   * entry packed as row << listShift | code (so scans and partitions move one word and never look codes up).
   */
  private listRows = new Uint32Array(0);
  private readonly listShift: number;
  /** listMax for the current tree (0 when rows do not fit beside their codes in 32 bits). */
  private listLimit = 0;
  private listTmp = new Uint32Array(0);
  /** 1 when row r goes left in the split being applied. */
  private side = new Uint8Array(0);
  /** Row-indexed w·y of the current tree (same products as the position-indexed gathers). */
  private wyRow = new Float64Array(0);
  private countSort: Int32Array;
  /** Scratch of `finish` (pre-order renumbering), reused across trees. */
  private renum = new Int32Array(0);
  /** false: `grow` returns empty start/end arrays (callers that only keep the tree, e.g. forests). */
  keepRanges = true;
  private pool: Float64Array[] = [];
  private free: number[] = [];
  private gw: Float64Array;
  private gy: Float64Array;
  private sh: Float64Array;
  private bits: Int32Array;
  private smallCode = new Int32Array(SMALL);
  private words: Int32Array;
  private featOrder: Int32Array;
  // current tree inputs
  private y: Float64Array = new Float64Array(0);
  private wRow: Float64Array = new Float64Array(0);
  private ones: Float64Array = new Float64Array(0);
  private rows: Uint32Array = new Uint32Array(0);
  private P!: GrowParams;
  private wTotal = 0;
  // node store (creation order)
  private cap = 0;
  private count = 0;
  private nStart = new Int32Array(0);
  private nEnd = new Int32Array(0);
  private nDepth = new Int32Array(0);
  private nSeed = new Int32Array(0);
  private nHist = new Int32Array(0);
  private nLeft = new Int32Array(0);
  private nRight = new Int32Array(0);
  private nFeat = new Int32Array(0);
  private nBin = new Int32Array(0);
  private nMissL = new Int32Array(0);
  private nThr = new Float64Array(0);
  private nGain = new Float64Array(0);
  private nValue = new Float64Array(0);
  private nImp = new Float64Array(0);
  private nW = new Float64Array(0);
  private nConst = new Int32Array(0);
  /** 1 when the node's row lists are built (it is a list node). */
  private nList = new Int32Array(0);
  // best split of the node being evaluated
  private bGain = 0;
  private bFeat = -1;
  private bBin = -1;
  private bNext = -1;
  private bMissL = 0;

  constructor(data: BinnedData) {
    this.data = data;
    this.N = data.rows;
    this.p = data.cols;
    this.histOff = new Int32Array(this.p + 1);
    let maxNb = 0;
    for (let f = 0; f < this.p; f++) {
      this.histOff[f + 1] = this.histOff[f] + 3 * (data.nBins[f] + 1);
      if (data.nBins[f] > maxNb) maxNb = data.nBins[f];
    }
    this.histLen = this.histOff[this.p];
    this.maxNb1 = maxNb + 1;
    this.denseMin = Math.max(32, Math.floor(this.histLen / 3 / this.p / 4));
    this.countSort = new Int32Array(this.maxNb1 + 1);
    this.listShift = data.codes instanceof Uint16Array ? 16 : 8;
    this.gw = new Float64Array(this.N);
    this.gy = new Float64Array(this.N);
    this.sh = new Float64Array(this.maxNb1 * 3);
    this.bits = new Int32Array((this.maxNb1 >> 5) + 1);
    this.words = new Int32Array((this.maxNb1 >> 5) + 1);
    this.featOrder = new Int32Array(this.p);
    this.ensureCap(256);
  }

  /**
   * Row-list mode for deep trees (forests): nodes below ~3/4 of the mean bins per feature skip histograms and are
   * grown from carried row lists. Splits are the same as in histogram mode; only the order in which a small node's
   * rows sit in the buffer (and so the order of its sums) differs, which is exact for integer targets and weights.
   */
  useRowLists(): void {
    // the lists take 4 bytes per row and feature (N·p words): above 64 Mi entries stay with histograms alone
    if (this.N * this.p > 2 ** 26) return;
    const d = Math.max(32, Math.floor((this.histLen / 3 / this.p) * 0.75));
    this.denseMin = d;
    this.listMax = d;
  }

  private ensureCap(n: number): void {
    if (n <= this.cap) return;
    const c = Math.max(n, this.cap * 2);
    this.nStart = grow32(this.nStart, c);
    this.nEnd = grow32(this.nEnd, c);
    this.nDepth = grow32(this.nDepth, c);
    this.nSeed = grow32(this.nSeed, c);
    this.nHist = grow32(this.nHist, c);
    this.nLeft = grow32(this.nLeft, c);
    this.nRight = grow32(this.nRight, c);
    this.nFeat = grow32(this.nFeat, c);
    this.nBin = grow32(this.nBin, c);
    this.nMissL = grow32(this.nMissL, c);
    this.nThr = grow64(this.nThr, c);
    this.nGain = grow64(this.nGain, c);
    this.nValue = grow64(this.nValue, c);
    this.nImp = grow64(this.nImp, c);
    this.nW = grow64(this.nW, c);
    this.nConst = grow32(this.nConst, c);
    this.nList = grow32(this.nList, c);
    this.cap = c;
  }

  private acquire(): number {
    const id = this.free.pop();
    if (id !== undefined) return id;
    this.pool.push(new Float64Array(this.histLen));
    return this.pool.length - 1;
  }

  private release(id: number): void {
    if (id >= 0) this.free.push(id);
  }

  private newNode(start: number, end: number, depth: number, seed: number): number {
    this.ensureCap(this.count + 1);
    const id = this.count++;
    this.nStart[id] = start;
    this.nEnd[id] = end;
    this.nDepth[id] = depth;
    this.nSeed[id] = seed;
    this.nHist[id] = -1;
    this.nLeft[id] = -1;
    this.nRight[id] = -1;
    this.nFeat[id] = -1;
    this.nConst[id] = 0;
    this.nList[id] = 0;
    return id;
  }

  /**
   * Grow one tree on `rows` (indices into the dataset; rows with zero weight must be left out) with targets `y`
   * and optional per-row weights `w` (indexed by row id). `rows` is partitioned in place.
   */
  grow(y: Float64Array, w: Float64Array | null, rows: Uint32Array, params: GrowParams): GrowResult {
    this.y = y;
    if (w) this.wRow = w;
    else {
      if (this.ones.length !== this.N) this.ones = new Float64Array(this.N).fill(1);
      this.wRow = this.ones;
    }
    this.rows = rows;
    this.P = params;
    this.count = 0;
    this.free = this.pool.map((_, i) => i);
    let wt = 0;
    for (let k = 0; k < rows.length; k++) wt += this.wRow[rows[k]];
    this.wTotal = wt;
    // list entries pack row << listShift | code, so rows must fit beside their codes in 32 bits
    this.listLimit = this.N <= 2 ** (32 - this.listShift) ? this.listMax : 0;
    if (this.listLimit > 3) {
      if (this.wyRow.length !== this.N) {
        this.wyRow = new Float64Array(this.N);
        this.side = new Uint8Array(this.N);
        this.listTmp = new Uint32Array(this.N);
        this.listRows = new Uint32Array(this.N * this.p);
      }
      const wyRow = this.wyRow;
      const wRow = this.wRow;
      for (let k = 0; k < rows.length; k++) {
        const r = rows[k];
        wyRow[r] = wRow[r] * y[r];
      }
    }
    const rootSeed = params.maxFeatures < this.p ? deriveSeed(params.seed, 0x7ee) : 0;
    const root = this.newNode(0, rows.length, 0, rootSeed);
    if (params.maxLeafNodes === Number.POSITIVE_INFINITY) this.growDepthFirst(root);
    else this.growBestFirst(root);
    return this.finish();
  }

  private growDepthFirst(root: number): void {
    let stack = new Int32Array(64);
    let sp = 0;
    stack[sp++] = root;
    while (sp > 0) {
      const id = stack[--sp];
      this.evaluate(id);
      if (this.nFeat[id] < 0) continue;
      this.split(id);
      if (sp + 2 > stack.length) stack = grow32(stack, stack.length * 2);
      stack[sp++] = this.nRight[id];
      stack[sp++] = this.nLeft[id];
    }
  }

  private growBestFirst(root: number): void {
    const frontier: number[] = [];
    this.evaluate(root);
    frontier.push(root);
    let splitsLeft = this.P.maxLeafNodes - 1;
    while (frontier.length > 0) {
      let bi = 0;
      for (let i = 1; i < frontier.length; i++)
        if (this.nGain[frontier[i]] > this.nGain[frontier[bi]]) bi = i;
      const id = frontier[bi];
      frontier.splice(bi, 1);
      if (this.nFeat[id] < 0 || splitsLeft <= 0) {
        this.nFeat[id] = -1;
        this.release(this.nHist[id]);
        this.nHist[id] = -1;
        continue;
      }
      this.split(id);
      splitsLeft--;
      const l = this.nLeft[id];
      const r = this.nRight[id];
      this.evaluate(l);
      this.evaluate(r);
      frontier.push(l, r);
    }
  }

  /** Node statistics, leaf tests and best split search. Leaves get nFeat = -1 and their histogram released. */
  private evaluate(id: number): void {
    const P = this.P;
    const start = this.nStart[id];
    const end = this.nEnd[id];
    const rows = this.rows;
    const y = this.y;
    const wRow = this.wRow;
    const gw = this.gw;
    const gy = this.gy;
    let sw = 0;
    let swy = 0;
    let swy2 = 0;
    const cnt = end - start;
    if (cnt >= 3 && cnt < this.listLimit && cnt < this.denseMin && this.nHist[id] < 0) {
      // a list node: its scans read row-indexed weights, so the position-indexed gathers are not needed
      for (let k = start; k < end; k++) {
        const r = rows[k];
        const wi = wRow[r];
        const yi = y[r];
        const wy = wi * yi;
        sw += wi;
        swy += wy;
        swy2 += wy * yi;
      }
    } else {
      for (let k = start; k < end; k++) {
        const r = rows[k];
        const wi = wRow[r];
        const yi = y[r];
        const wy = wi * yi;
        gw[k] = wi;
        gy[k] = wy;
        sw += wi;
        swy += wy;
        swy2 += wy * yi;
      }
    }
    const mean = swy / sw;
    this.nW[id] = sw;
    this.nValue[id] = P.l2 > 0 ? swy / (sw + P.l2) : mean;
    const imp = swy2 / sw - mean * mean;
    this.nImp[id] = imp;
    this.nFeat[id] = -1;
    const mss = Math.max(P.minSamplesSplit, 2 * P.minSamplesLeaf);
    if (this.nDepth[id] >= P.maxDepth || cnt < mss || sw < 2 * P.minWeightLeaf || imp <= EPSILON) {
      this.release(this.nHist[id]);
      this.nHist[id] = -1;
      return;
    }
    if (this.nHist[id] < 0 && cnt >= this.denseMin) {
      const h = this.acquire();
      this.buildHist(this.pool[h], start, end, true);
      this.nHist[id] = h;
    }
    this.bGain = Number.NEGATIVE_INFINITY;
    this.bFeat = -1;
    const p = this.p;
    const hid = this.nHist[id];
    const hist = hid >= 0 ? this.pool[hid] : null;
    const inList = !hist && cnt >= 3 && cnt < this.listLimit;
    // features known to be constant in this node (inherited from the parent) are skipped; newly found ones are
    // added, so children skip them too (p <= 31 only; depends on the node's rows alone, so truncation stays exact)
    let cmask = this.nConst[id];
    const trackConst = p <= 31;
    if (P.maxFeatures >= p && cnt === 2 && !hist) {
      // two rows: a feature either separates them (the lower code goes left) or is constant; same arithmetic as
      // the general scans, so the same split comes out
      const codes = this.data.codes;
      const nBins = this.data.nBins;
      const N = this.N;
      const r0 = rows[start];
      const r1 = rows[start + 1];
      const msl = P.minSamplesLeaf;
      const mwl = P.minWeightLeaf;
      const lam = P.l2;
      let best = this.bGain;
      for (let f = 0; f < p; f++) {
        if ((cmask >> f) & 1) continue;
        const c0 = codes[f * N + r0];
        const c1 = codes[f * N + r1];
        if (c0 === c1) {
          if (trackConst) cmask |= 1 << f;
          continue;
        }
        const nb = nBins[f];
        let low = start;
        let prev = c0;
        let next = c1;
        if (c0 === nb) {
          low = start + 1;
          prev = c1;
          next = -1;
        } else if (c1 === nb) next = -1;
        else if (c1 < c0) {
          low = start + 1;
          prev = c1;
          next = c0;
        }
        const lw = gw[low];
        const ly = gy[low];
        const rw = sw - lw;
        if (1 >= msl && lw >= mwl && rw >= mwl) {
          const ry = swy - ly;
          const g = (ly * ly) / (lw + lam) + (ry * ry) / (rw + lam);
          if (g > best) {
            best = g;
            this.bFeat = f;
            this.bBin = prev;
            this.bNext = next;
            this.bMissL = 0;
          }
        }
      }
      this.bGain = best;
    } else if (P.maxFeatures >= p) {
      if (inList && this.nList[id] === 0) this.buildLists(id, start, end, cmask);
      for (let f = 0; f < p; f++) {
        if ((cmask >> f) & 1) continue;
        const nonEmpty = hist
          ? this.scanDense(hist, f, start, end, sw, swy, cnt)
          : inList
            ? this.scanList(f, start, end, sw, swy, cnt)
            : cnt <= SMALL
              ? this.scanSmall(f, start, end, sw, swy, cnt)
              : this.scanSparse(f, start, end, sw, swy, cnt);
        if (nonEmpty < 2 && trackConst) cmask |= 1 << f;
      }
    } else {
      if (inList && this.nList[id] === 0) this.buildLists(id, start, end, cmask);
      const order = this.featOrder;
      for (let f = 0; f < p; f++) order[f] = f;
      const rng = new Rng(this.nSeed[id]);
      let visited = 0;
      for (let i = 0; i < p && visited < P.maxFeatures; i++) {
        const j = i + rng.int(p - i);
        const f = order[j];
        order[j] = order[i];
        order[i] = f;
        if ((cmask >> f) & 1) continue;
        const nonEmpty = hist
          ? this.scanDense(hist, f, start, end, sw, swy, cnt)
          : inList
            ? this.scanList(f, start, end, sw, swy, cnt)
            : cnt <= SMALL
              ? this.scanSmall(f, start, end, sw, swy, cnt)
              : this.scanSparse(f, start, end, sw, swy, cnt);
        if (nonEmpty >= 2) visited++;
        else if (trackConst) cmask |= 1 << f;
      }
    }
    this.nConst[id] = cmask;
    if (this.bFeat < 0) {
      this.release(hid);
      this.nHist[id] = -1;
      return;
    }
    const lam = P.l2;
    const improvement = this.bGain - (swy * swy) / (sw + lam);
    if (improvement / this.wTotal + EPSILON < P.minImpurityDecrease) {
      this.release(hid);
      this.nHist[id] = -1;
      return;
    }
    const f = this.bFeat;
    const off = this.data.binOffset[f];
    this.nFeat[id] = f;
    this.nBin[id] = this.bBin;
    this.nMissL[id] = this.bMissL;
    this.nGain[id] = improvement;
    this.nThr[id] =
      this.bNext < 0
        ? Number.POSITIVE_INFINITY
        : midpointThreshold(this.data.binHi[off + this.bBin], this.data.binLo[off + this.bNext]);
  }

  /** Accumulate the histogram of rows[start..end) into h (zeroing it first when `zero`). */
  private buildHist(h: Float64Array, start: number, end: number, gathered: boolean): void {
    h.fill(0);
    const gw = this.gw;
    const gy = this.gy;
    const rows = this.rows;
    if (!gathered) {
      const y = this.y;
      const wRow = this.wRow;
      for (let k = start; k < end; k++) {
        const r = rows[k];
        const wi = wRow[r];
        gw[k] = wi;
        gy[k] = wi * y[r];
      }
    }
    const codes = this.data.codes;
    const N = this.N;
    const p = this.p;
    const off = this.histOff;
    // unit weights: accumulate only (Σy, count) and copy count into Σw afterwards (same values, fewer adds)
    const unit = this.wRow === this.ones;
    let f = 0;
    // two features per pass share the loads of rows[k], gw[k], gy[k]
    for (; f + 1 < p; f += 2) {
      const b1 = f * N;
      const b2 = b1 + N;
      const h1 = off[f];
      const h2 = off[f + 1];
      if (unit) {
        for (let k = start; k < end; k++) {
          const r = rows[k];
          const g = gy[k];
          const j1 = h1 + codes[b1 + r] * 3;
          const j2 = h2 + codes[b2 + r] * 3;
          h[j1 + 1] += g;
          h[j1 + 2] += 1;
          h[j2 + 1] += g;
          h[j2 + 2] += 1;
        }
      } else {
        for (let k = start; k < end; k++) {
          const r = rows[k];
          const w = gw[k];
          const g = gy[k];
          const j1 = h1 + codes[b1 + r] * 3;
          const j2 = h2 + codes[b2 + r] * 3;
          h[j1] += w;
          h[j1 + 1] += g;
          h[j1 + 2] += 1;
          h[j2] += w;
          h[j2 + 1] += g;
          h[j2 + 2] += 1;
        }
      }
    }
    if (f < p) {
      const base = f * N;
      const hb = off[f];
      for (let k = start; k < end; k++) {
        const j = hb + codes[base + rows[k]] * 3;
        h[j] += gw[k];
        h[j + 1] += gy[k];
        h[j + 2] += 1;
      }
    }
    if (unit) for (let j = 0; j < this.histLen; j += 3) h[j] = h[j + 2];
  }

  /** Scan feature f of a dense histogram; returns the number of non-empty categories (bins + missing). */
  private scanDense(
    h: Float64Array,
    f: number,
    start: number,
    end: number,
    sw: number,
    swy: number,
    cnt: number,
  ): number {
    if (2 * cnt < this.data.nBins[f]) return this.scanDenseTouched(h, f, start, end, sw, swy, cnt);
    const nb = this.data.nBins[f];
    const base = this.histOff[f];
    const mj = base + nb * 3;
    const mw = h[mj];
    const my = h[mj + 1];
    const mc = h[mj + 2];
    let lw = 0;
    let ly = 0;
    let lc = 0;
    let prev = -1;
    let nonEmpty = mc > 0 ? 1 : 0;
    for (let b = 0; b < nb; b++) {
      const j = base + b * 3;
      const c = h[j + 2];
      if (c === 0) continue;
      nonEmpty++;
      if (prev >= 0) {
        // candidate: bins <= prev left (missing right), then missing left
        this.candidate(f, prev, b, lw, ly, lc, mw, my, mc, sw, swy, cnt);
      }
      lw += h[j];
      ly += h[j + 1];
      lc += c;
      prev = b;
    }
    if (mc > 0 && prev >= 0) this.candidate(f, prev, -1, lw, ly, lc, 0, 0, 0, sw, swy, cnt);
    return nonEmpty;
  }

  /**
   * scanDense for a node with far fewer rows than bins: the bins its rows touch (exactly the non-empty ones) are
   * found from the rows' codes with a bitset and visited in ascending order, reading the sums from the histogram.
   * Same candidates, same order, same arithmetic as the full bin walk.
   */
  private scanDenseTouched(
    h: Float64Array,
    f: number,
    start: number,
    end: number,
    sw: number,
    swy: number,
    cnt: number,
  ): number {
    const nb = this.data.nBins[f];
    const bits = this.bits;
    const words = this.words;
    const codes = this.data.codes;
    const rows = this.rows;
    const cbase = f * this.N;
    let nw = 0;
    let k = 0;
    for (let i = start; i < end; i++) {
      const code = codes[cbase + rows[i]];
      const wi = code >> 5;
      const bit = 1 << (code & 31);
      const x = bits[wi];
      if ((x & bit) === 0) {
        k++;
        if (x === 0) words[nw++] = wi;
        bits[wi] = x | bit;
      }
    }
    for (let a = 1; a < nw; a++) {
      const v = words[a];
      let b = a - 1;
      while (b >= 0 && words[b] > v) {
        words[b + 1] = words[b];
        b--;
      }
      words[b + 1] = v;
    }
    const base = this.histOff[f];
    const mj = base + nb * 3;
    const mw = h[mj];
    const my = h[mj + 1];
    const mc = h[mj + 2];
    let lw = 0;
    let ly = 0;
    let lc = 0;
    let prev = -1;
    for (let a = 0; a < nw; a++) {
      const wi = words[a];
      let x = bits[wi];
      bits[wi] = 0;
      while (x !== 0) {
        const low = x & -x;
        x ^= low;
        const b = (wi << 5) + 31 - Math.clz32(low);
        if (b === nb) continue;
        const j = base + b * 3;
        if (prev >= 0) {
          // candidate: bins <= prev left (missing right), then missing left
          this.candidate(f, prev, b, lw, ly, lc, mw, my, mc, sw, swy, cnt);
        }
        lw += h[j];
        ly += h[j + 1];
        lc += h[j + 2];
        prev = b;
      }
    }
    if (mc > 0 && prev >= 0) this.candidate(f, prev, -1, lw, ly, lc, 0, 0, 0, sw, swy, cnt);
    return k;
  }

  /**
   * Start the row lists of a node entering the list regime: per feature (except those known constant), its rows
   * in order of code, ties in row-buffer order (a stable counting sort). The lists are then carried down by
   * `split` (stable partitions of the rows and of every list), so they stay sorted the same way in each descendant.
   */
  private buildLists(id: number, start: number, end: number, cmask: number): void {
    const codes = this.data.codes;
    const nBins = this.data.nBins;
    const rows = this.rows;
    const lr = this.listRows;
    const cs = this.countSort;
    const N = this.N;
    const sh = this.listShift;
    for (let f = 0; f < this.p; f++) {
      if ((cmask >> f) & 1) continue;
      const base = f * N;
      const nb1 = nBins[f] + 1;
      cs.fill(0, 0, nb1 + 1);
      for (let k = start; k < end; k++) cs[codes[base + rows[k]] + 1]++;
      cs[0] = base + start;
      for (let b = 1; b <= nb1; b++) cs[b] += cs[b - 1];
      for (let k = start; k < end; k++) {
        const r = rows[k];
        const c = codes[base + r];
        lr[cs[c]++] = (r << sh) | c;
      }
    }
    this.nList[id] = 1;
  }

  /**
   * scanSmall/scanSparse for a list node: walk feature f's row list (groups of equal codes, ascending, missing
   * last), summing each group in row-buffer order. Same candidates, order and arithmetic as the other scans.
   */
  private scanList(f: number, start: number, end: number, sw: number, swy: number, cnt: number): number {
    const nb = this.data.nBins[f];
    const wRow = this.wRow;
    const wyRow = this.wyRow;
    const base = f * this.N;
    const lr = this.listRows;
    const sh = this.listShift;
    const mask = (1 << sh) - 1;
    const lo = base + start;
    let m = base + end;
    while (m > lo && (lr[m - 1] & mask) === nb) m--;
    let mw = 0;
    let my = 0;
    const mc = base + end - m;
    for (let i = m; i < base + end; i++) {
      const r = lr[i] >>> sh;
      mw += wRow[r];
      my += wyRow[r];
    }
    let lw = 0;
    let ly = 0;
    let lc = 0;
    let prev = -1;
    let nonEmpty = mc > 0 ? 1 : 0;
    let i = lo;
    let e = lr[i];
    let b = e & mask;
    while (i < m) {
      nonEmpty++;
      if (prev >= 0) {
        // candidate: bins <= prev left (missing right), then missing left
        this.candidate(f, prev, b, lw, ly, lc, mw, my, mc, sw, swy, cnt);
      }
      let gsw = 0;
      let gsy = 0;
      let gc = 0;
      let c = b;
      while (c === b) {
        const r = e >>> sh;
        gsw += wRow[r];
        gsy += wyRow[r];
        gc++;
        i++;
        if (i >= m) break;
        e = lr[i];
        c = e & mask;
      }
      lw += gsw;
      ly += gsy;
      lc += gc;
      prev = b;
      b = c;
    }
    if (mc > 0 && prev >= 0) this.candidate(f, prev, -1, lw, ly, lc, 0, 0, 0, sw, swy, cnt);
    return nonEmpty;
  }

  /** Tiny nodes (<= SMALL rows): sort the rows' codes per feature (insertion sort, stable) and scan the groups. */
  private scanSmall(f: number, start: number, end: number, sw: number, swy: number, cnt: number): number {
    const nb = this.data.nBins[f];
    const codes = this.data.codes;
    const rows = this.rows;
    const gw = this.gw;
    const gy = this.gy;
    // keys code·16 + position: one array to sort, ties kept in row order (a stable sort by code)
    const sc = this.smallCode;
    const base = f * this.N;
    const n = end - start;
    for (let i = 0; i < n; i++) {
      const c = (codes[base + rows[start + i]] << 4) | i;
      let j = i - 1;
      while (j >= 0 && sc[j] > c) {
        sc[j + 1] = sc[j];
        j--;
      }
      sc[j + 1] = c;
    }
    let m = n;
    const nbKey = nb << 4;
    while (m > 0 && sc[m - 1] >= nbKey) m--;
    let mw = 0;
    let my = 0;
    const mc = n - m;
    for (let i = m; i < n; i++) {
      const k = start + (sc[i] & 15);
      mw += gw[k];
      my += gy[k];
    }
    let lw = 0;
    let ly = 0;
    let lc = 0;
    let prev = -1;
    let nonEmpty = mc > 0 ? 1 : 0;
    let i = 0;
    while (i < m) {
      const b = sc[i] >> 4;
      nonEmpty++;
      if (prev >= 0) {
        // candidate: bins <= prev left (missing right), then missing left
        this.candidate(f, prev, b, lw, ly, lc, mw, my, mc, sw, swy, cnt);
      }
      let gsw = 0;
      let gsy = 0;
      let gc = 0;
      while (i < m && sc[i] >> 4 === b) {
        const k = start + (sc[i] & 15);
        gsw += gw[k];
        gsy += gy[k];
        gc++;
        i++;
      }
      lw += gsw;
      ly += gsy;
      lc += gc;
      prev = b;
    }
    if (mc > 0 && prev >= 0) this.candidate(f, prev, -1, lw, ly, lc, 0, 0, 0, sw, swy, cnt);
    return nonEmpty;
  }

  /**
   * Touched-bins scan for small nodes: scatter into a scratch histogram while setting a bit per touched bin, then
   * walk the set bits in ascending order (touched words sorted; no full-range scan), evaluating and clearing.
   */
  private scanSparse(f: number, start: number, end: number, sw: number, swy: number, cnt: number): number {
    const nb = this.data.nBins[f];
    const sh = this.sh;
    const bits = this.bits;
    const words = this.words;
    const codes = this.data.codes;
    const rows = this.rows;
    const gw = this.gw;
    const gy = this.gy;
    const base = f * this.N;
    let nw = 0;
    let k = 0;
    for (let i = start; i < end; i++) {
      const code = codes[base + rows[i]];
      const j = code * 3;
      if (sh[j + 2] === 0) {
        k++;
        const wi = code >> 5;
        if (bits[wi] === 0) words[nw++] = wi;
        bits[wi] |= 1 << (code & 31);
      }
      sh[j] += gw[i];
      sh[j + 1] += gy[i];
      sh[j + 2] += 1;
    }
    for (let a = 1; a < nw; a++) {
      const v = words[a];
      let b = a - 1;
      while (b >= 0 && words[b] > v) {
        words[b + 1] = words[b];
        b--;
      }
      words[b + 1] = v;
    }
    const mj = nb * 3;
    const mw = sh[mj];
    const my = sh[mj + 1];
    const mc = sh[mj + 2];
    let lw = 0;
    let ly = 0;
    let lc = 0;
    let prev = -1;
    for (let a = 0; a < nw; a++) {
      const wi = words[a];
      let x = bits[wi];
      bits[wi] = 0;
      while (x !== 0) {
        const low = x & -x;
        x ^= low;
        const b = (wi << 5) + 31 - Math.clz32(low);
        if (b === nb) continue;
        const j = b * 3;
        if (prev >= 0) {
          // candidate: bins <= prev left (missing right), then missing left
          this.candidate(f, prev, b, lw, ly, lc, mw, my, mc, sw, swy, cnt);
        }
        lw += sh[j];
        ly += sh[j + 1];
        lc += sh[j + 2];
        sh[j] = 0;
        sh[j + 1] = 0;
        sh[j + 2] = 0;
        prev = b;
      }
    }
    if (mc > 0) {
      if (prev >= 0) this.candidate(f, prev, -1, lw, ly, lc, 0, 0, 0, sw, swy, cnt);
      sh[mj] = 0;
      sh[mj + 1] = 0;
      sh[mj + 2] = 0;
    }
    return k;
  }

  /** Evaluate "bins <= prev go left" (missing right, then missing left when the node has missing values). */
  private candidate(
    f: number,
    prev: number,
    next: number,
    lw: number,
    ly: number,
    lc: number,
    mw: number,
    my: number,
    mc: number,
    sw: number,
    swy: number,
    cnt: number,
  ): void {
    const P = this.P;
    const msl = P.minSamplesLeaf;
    const mwl = P.minWeightLeaf;
    const lam = P.l2;
    let rc = cnt - lc;
    let rw = sw - lw;
    if (lc >= msl && rc >= msl && lw >= mwl && rw >= mwl) {
      const ry = swy - ly;
      const g = (ly * ly) / (lw + lam) + (ry * ry) / (rw + lam);
      if (g > this.bGain) {
        this.bGain = g;
        this.bFeat = f;
        this.bBin = prev;
        this.bNext = next;
        this.bMissL = 0;
      }
    }
    if (mc > 0) {
      const lc2 = lc + mc;
      const lw2 = lw + mw;
      const ly2 = ly + my;
      rc = cnt - lc2;
      rw = sw - lw2;
      if (lc2 >= msl && rc >= msl && lw2 >= mwl && rw >= mwl) {
        const ry = swy - ly2;
        const g = (ly2 * ly2) / (lw2 + lam) + (ry * ry) / (rw + lam);
        if (g > this.bGain) {
          this.bGain = g;
          this.bFeat = f;
          this.bBin = prev;
          this.bNext = next;
          this.bMissL = 1;
        }
      }
    }
  }

  /** Partition the node's rows, create both children and give them histograms (smaller built, larger = parent − smaller). */
  private split(id: number): void {
    const f = this.nFeat[id];
    const bin = this.nBin[id];
    const nb = this.data.nBins[f];
    let missL = this.nMissL[id] === 1;
    const codes = this.data.codes;
    const base = f * this.N;
    const rows = this.rows;
    const start = this.nStart[id];
    const end = this.nEnd[id];
    let i = start;
    let sawMissing = false;
    const listed = this.nList[id] === 1;
    if (listed) {
      // stable partition (keeps each feature list's ties in row-buffer order), marking each row's side
      const side = this.side;
      const tmp = this.listTmp;
      let t = 0;
      for (let k = start; k < end; k++) {
        const r = rows[k];
        const c = codes[base + r];
        if (c === nb) sawMissing = true;
        const s = c <= bin || (c === nb && missL) ? 1 : 0;
        side[r] = s;
        rows[i] = r;
        tmp[t] = r;
        i += s;
        t += 1 - s;
      }
      for (let k = 0; k < t; k++) rows[i + k] = tmp[k];
    } else {
      let j = end - 1;
      while (i <= j) {
        const r = rows[i];
        const c = codes[base + r];
        if (c === nb) sawMissing = true;
        if (c <= bin || (c === nb && missL)) i++;
        else {
          rows[i] = rows[j];
          rows[j] = r;
          j--;
        }
      }
    }
    const mid = i;
    if (!sawMissing) {
      // no missing values reached this node in training: send them to the larger child
      missL = mid - start >= end - mid;
      this.nMissL[id] = missL ? 1 : 0;
    }
    const depth = this.nDepth[id] + 1;
    const seed = this.nSeed[id];
    const useSeed = this.P.maxFeatures < this.p;
    const l = this.newNode(start, mid, depth, useSeed ? deriveSeed(seed, 1) : 0);
    const r = this.newNode(mid, end, depth, useSeed ? deriveSeed(seed, 2) : 0);
    this.nConst[l] = this.nConst[id];
    this.nConst[r] = this.nConst[id];
    this.nLeft[id] = l;
    this.nRight[id] = r;
    const parentHist = this.nHist[id];
    this.nHist[id] = -1;
    const nL = mid - start;
    const nR = end - mid;
    const P = this.P;
    const mss = Math.max(P.minSamplesSplit, 2 * P.minSamplesLeaf);
    const bothLeaves = depth >= P.maxDepth || (nL < mss && nR < mss);
    // children of fewer than 3 rows never use their lists (the two-row shortcut, or leaves)
    if (listed && !bothLeaves && (nL >= 3 || nR >= 3))
      this.splitLists(start, mid, end, this.nConst[id], l, r);
    const larger = nL >= nR ? l : r;
    const smaller = larger === l ? r : l;
    const nLarge = Math.max(nL, nR);
    if (!bothLeaves && parentHist >= 0 && nLarge >= this.denseMin && nL + nR - nLarge < this.denseMin) {
      // the smaller child stays histogram-free (its scans sum the same rows in the same order), so only the bins
      // it touches are subtracted from the parent's histogram: same values as a dense subtraction
      this.subtractRows(this.pool[parentHist], this.nStart[smaller], this.nEnd[smaller], this.nConst[id]);
      this.nHist[larger] = parentHist;
    } else if (!bothLeaves && parentHist >= 0 && nLarge >= this.denseMin) {
      const hs = this.acquire();
      const hsArr = this.pool[hs];
      this.buildHist(hsArr, this.nStart[smaller], this.nEnd[smaller], false);
      const hp = this.pool[parentHist];
      for (let t = 0; t < hp.length; t++) hp[t] -= hsArr[t];
      this.nHist[smaller] = hs;
      this.nHist[larger] = parentHist;
    } else this.release(parentHist);
  }

  /**
   * Carry a list node's row lists to its children: per feature, a stable partition by the side marks of `split`.
   * A child of fewer than 3 rows never reads its lists, so only the other child's part is then compacted in place.
   */
  private splitLists(start: number, mid: number, end: number, cmask: number, l: number, r: number): void {
    const lr = this.listRows;
    const side = this.side;
    const tmp = this.listTmp;
    const N = this.N;
    const sh = this.listShift;
    const needL = mid - start >= 3;
    const needR = end - mid >= 3;
    for (let f = 0; f < this.p; f++) {
      if ((cmask >> f) & 1) continue;
      const base = f * N;
      if (!needR) {
        // left rows to the front, in order
        let i = base + start;
        for (let k = base + start; k < base + end; k++) {
          const e = lr[k];
          lr[i] = e;
          i += side[e >>> sh];
        }
      } else if (!needL) {
        // right rows to the back, in order
        let i = base + end - 1;
        for (let k = base + end - 1; k >= base + start; k--) {
          const e = lr[k];
          lr[i] = e;
          i -= 1 - side[e >>> sh];
        }
      } else {
        let i = base + start;
        let t = 0;
        for (let k = base + start; k < base + end; k++) {
          const e = lr[k];
          const s = side[e >>> sh];
          lr[i] = e;
          tmp[t] = e;
          i += s;
          t += 1 - s;
        }
        for (let k = 0; k < t; k++) lr[i + k] = tmp[k];
      }
    }
    if (needL) this.nList[l] = 1;
    if (needR) this.nList[r] = 1;
  }

  /**
   * hp -= histogram of rows[start..end), touching only the bins those rows fall in (features in `skip` are left
   * as they are: they are constant in the node and its descendants, whose scans never read them). Per bin the
   * subtrahend is summed in row order from zero, exactly as buildHist would, so the result is bit for bit the
   * dense subtraction's.
   */
  private subtractRows(hp: Float64Array, start: number, end: number, skip: number): void {
    const gw = this.gw;
    const gy = this.gy;
    const rows = this.rows;
    const y = this.y;
    const wRow = this.wRow;
    for (let k = start; k < end; k++) {
      const r = rows[k];
      const wi = wRow[r];
      gw[k] = wi;
      gy[k] = wi * y[r];
    }
    const codes = this.data.codes;
    const N = this.N;
    const p = this.p;
    const off = this.histOff;
    const sh = this.sh;
    for (let f = 0; f < p; f++) {
      if ((skip >> f) & 1) continue;
      const base = f * N;
      const hb = off[f];
      for (let k = start; k < end; k++) {
        const j = codes[base + rows[k]] * 3;
        sh[j] += gw[k];
        sh[j + 1] += gy[k];
        sh[j + 2] += 1;
      }
      for (let k = start; k < end; k++) {
        const j = codes[base + rows[k]] * 3;
        const c = sh[j + 2];
        if (c === 0) continue;
        const t = hb + j;
        hp[t] -= sh[j];
        hp[t + 1] -= sh[j + 1];
        hp[t + 2] -= c;
        sh[j] = 0;
        sh[j + 1] = 0;
        sh[j + 2] = 0;
      }
    }
  }

  /** Renumber to pre-order and copy out exact-size arrays. */
  private finish(): GrowResult {
    const n = this.count;
    if (this.renum.length < 3 * n + 1) this.renum = new Int32Array(3 * this.cap + 1);
    const order = this.renum.subarray(0, n);
    const newId = this.renum.subarray(n, 2 * n);
    const stack = this.renum.subarray(2 * n, 3 * n + 1);
    let sp = 0;
    let k = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      newId[id] = k;
      order[k++] = id;
      if (this.nFeat[id] >= 0) {
        stack[sp++] = this.nRight[id];
        stack[sp++] = this.nLeft[id];
      }
    }
    const tree = allocTreePacked(k);
    const kr = this.keepRanges ? k : 0;
    const se = new ArrayBuffer(8 * kr);
    const start = new Int32Array(se, 0, kr);
    const end = new Int32Array(se, 4 * kr, kr);
    for (let t = 0; t < k; t++) {
      const id = order[t];
      const f = this.nFeat[id];
      tree.feature[t] = f;
      tree.value[t] = this.nValue[id];
      tree.impurity[t] = this.nImp[id];
      tree.weightedNSamples[t] = this.nW[id];
      tree.nSamples[t] = this.nEnd[id] - this.nStart[id];
      if (kr > 0) {
        start[t] = this.nStart[id];
        end[t] = this.nEnd[id];
      }
      if (f >= 0) {
        tree.threshold[t] = this.nThr[id];
        tree.left[t] = newId[this.nLeft[id]];
        tree.right[t] = newId[this.nRight[id]];
        tree.missingLeft[t] = this.nMissL[id];
      } else {
        tree.threshold[t] = -2;
        tree.left[t] = -1;
        tree.right[t] = -1;
      }
    }
    return { tree, start, end };
  }
}

export function allocTree(n: number): TreeArrays {
  return {
    nodeCount: n,
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    missingLeft: new Uint8Array(n),
    value: new Float64Array(n),
    nSamples: new Int32Array(n),
    weightedNSamples: new Float64Array(n),
    impurity: new Float64Array(n),
  };
}

/**
 * allocTree with all arrays as views of one ArrayBuffer (one allocation instead of nine: a fully grown forest tree
 * has tens of thousands of nodes, and separate large typed arrays cost more to allocate than the tree's renumbering).
 */
function allocTreePacked(n: number): TreeArrays {
  const b = new ArrayBuffer(n * 49);
  return {
    nodeCount: n,
    threshold: new Float64Array(b, 0, n),
    value: new Float64Array(b, 8 * n, n),
    weightedNSamples: new Float64Array(b, 16 * n, n),
    impurity: new Float64Array(b, 24 * n, n),
    feature: new Int32Array(b, 32 * n, n),
    left: new Int32Array(b, 36 * n, n),
    right: new Int32Array(b, 40 * n, n),
    nSamples: new Int32Array(b, 44 * n, n),
    missingLeft: new Uint8Array(b, 48 * n, n),
  };
}

/**
 * The tree that growing with a smaller max_depth and/or a larger min_samples_split would have produced (exact,
 * see the module comment): nodes deeper than maxDepth or with fewer rows than minSamplesSplit become leaves.
 */
export function pruneTree(
  t: TreeArrays,
  opts: { maxDepth?: number | null; minSamplesSplit?: number },
): TreeArrays {
  const maxDepth = opts.maxDepth ?? Number.POSITIVE_INFINITY;
  const mss = opts.minSamplesSplit ?? 0;
  const n = t.nodeCount;
  const keep = new Int32Array(n);
  const newId = new Int32Array(n).fill(-1);
  const leaf = new Uint8Array(n);
  const depth = new Int32Array(n);
  const stack = new Int32Array(n + 1);
  let sp = 0;
  let k = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const id = stack[--sp];
    newId[id] = k;
    keep[k++] = id;
    const isLeaf = t.feature[id] < 0 || depth[id] >= maxDepth || t.nSamples[id] < mss;
    leaf[id] = isLeaf ? 1 : 0;
    if (!isLeaf) {
      depth[t.left[id]] = depth[id] + 1;
      depth[t.right[id]] = depth[id] + 1;
      stack[sp++] = t.right[id];
      stack[sp++] = t.left[id];
    }
  }
  const out = allocTree(k);
  for (let i = 0; i < k; i++) {
    const id = keep[i];
    out.value[i] = t.value[id];
    out.impurity[i] = t.impurity[id];
    out.nSamples[i] = t.nSamples[id];
    out.weightedNSamples[i] = t.weightedNSamples[id];
    if (leaf[id]) {
      out.feature[i] = -1;
      out.threshold[i] = -2;
      out.left[i] = -1;
      out.right[i] = -1;
    } else {
      out.feature[i] = t.feature[id];
      out.threshold[i] = t.threshold[id];
      out.left[i] = newId[t.left[id]];
      out.right[i] = newId[t.right[id]];
      out.missingLeft[i] = t.missingLeft[id];
    }
  }
  return out;
}

/** Depth of a tree (root = 0) and its number of leaves. */
export function treeShape(t: TreeArrays): { depth: number; leaves: number } {
  const depth = new Int32Array(t.nodeCount);
  let maxD = 0;
  let leaves = 0;
  for (let i = 0; i < t.nodeCount; i++) {
    if (t.feature[i] < 0) {
      leaves++;
      if (depth[i] > maxD) maxD = depth[i];
    } else {
      depth[t.left[i]] = depth[i] + 1;
      depth[t.right[i]] = depth[i] + 1;
    }
  }
  return { depth: maxD, leaves };
}

/** Unnormalised impurity-decrease importances of one tree (sklearn's formula), added into `out`. */
export function addImportances(t: TreeArrays, out: Float64Array): void {
  for (let i = 0; i < t.nodeCount; i++) {
    const f = t.feature[i];
    if (f < 0) continue;
    const l = t.left[i];
    const r = t.right[i];
    out[f] +=
      t.weightedNSamples[i] * t.impurity[i] -
      t.weightedNSamples[l] * t.impurity[l] -
      t.weightedNSamples[r] * t.impurity[r];
  }
}

export function normalise(v: Float64Array): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  if (s > 0) for (let i = 0; i < v.length; i++) v[i] /= s;
  return v;
}

/**
 * Flat, contiguous prediction layout for one or many trees (pre-order, left child = i + 1), one 16-byte record per
 * node in a single buffer so a visit touches one cache line: int32 [4i] = 2·feature + missingLeft (-1 for a leaf),
 * int32 [4i+1] = global index of the right child, float64 [2i+1] = threshold, or the leaf value (times `scale`).
 * Traversal is iterative and allocation-free.
 */
export class PackedTrees {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly roots: Int32Array;

  constructor(trees: readonly TreeArrays[], scale = 1) {
    let total = 0;
    for (const t of trees) total += t.nodeCount;
    const buf = new ArrayBuffer(total * 16);
    this.i32 = new Int32Array(buf);
    this.f64 = new Float64Array(buf);
    this.roots = new Int32Array(trees.length);
    const i32 = this.i32;
    const f64 = this.f64;
    let off = 0;
    for (let ti = 0; ti < trees.length; ti++) {
      const t = trees[ti];
      this.roots[ti] = off;
      for (let i = 0; i < t.nodeCount; i++) {
        const g = off + i;
        const f = t.feature[i];
        if (f < 0) {
          i32[4 * g] = -1;
          i32[4 * g + 1] = -1;
          f64[2 * g + 1] = scale === 1 ? t.value[i] : scale * t.value[i];
        } else {
          i32[4 * g] = 2 * f + t.missingLeft[i];
          i32[4 * g + 1] = off + t.right[i];
          f64[2 * g + 1] = t.threshold[i];
        }
      }
      off += t.nodeCount;
    }
  }

  /** Leaf value of tree `ti` for row `r` of a float32 row-major matrix with `p` columns. */
  leaf(ti: number, x: Float32Array, r: number, p: number): number {
    const i32 = this.i32;
    const f64 = this.f64;
    const off = r * p;
    let n = this.roots[ti];
    let fe = i32[4 * n];
    while (fe >= 0) {
      const v = x[off + (fe >> 1)];
      const t = f64[2 * n + 1];
      if (v <= t) n = n + 1;
      else if (v > t) n = i32[4 * n + 1];
      else n = (fe & 1) === 1 ? n + 1 : i32[4 * n + 1];
      fe = i32[4 * n];
    }
    return f64[2 * n + 1];
  }

  /** out[r] += Σ over trees [from, to) of leaf values, tree by tree (same summation order as stage-wise). */
  accumulate(
    x: Float32Array,
    rows: number,
    p: number,
    out: Float64Array,
    from = 0,
    to = this.roots.length,
  ): void {
    const i32 = this.i32;
    const f64 = this.f64;
    for (let ti = from; ti < to; ti++) {
      const root = this.roots[ti];
      for (let r = 0; r < rows; r++) {
        const off = r * p;
        let n = root;
        let fe = i32[4 * n];
        while (fe >= 0) {
          const v = x[off + (fe >> 1)];
          const t = f64[2 * n + 1];
          if (v <= t) n = n + 1;
          else if (v > t) n = i32[4 * n + 1];
          else n = (fe & 1) === 1 ? n + 1 : i32[4 * n + 1];
          fe = i32[4 * n];
        }
        out[r] += f64[2 * n + 1];
      }
    }
  }
}

/** X as float32 (sklearn's trees compare float32(x) with float64 thresholds). */
export function toFloat32(data: Float64Array): Float32Array {
  return new Float32Array(data);
}
