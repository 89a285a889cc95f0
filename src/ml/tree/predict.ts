/**
 * Fast prediction for tree ensembles (forests, boosting, single trees), bit-identical to the plain traversal
 * "float32(x) <= threshold goes left, NaN follows the node's missing direction".
 *
 * Why it is fast:
 * - Comparisons are done on integers: a float32 x and a float64 threshold t are mapped to order-preserving int32
 *   keys (x <= t ⟺ key(x) <= tkey(t), exact, see `f32Key` / `thresholdKey`), so a node visit is pure integer
 *   arithmetic with no data-dependent branch (`child = n + 1 + (delta & mask)`, mask = -1 when going right; the
 *   signed compare is done overflow-free with xor/and), instead of a float compare-and-branch that random trees
 *   mispredict about half the time.
 * - One 8-byte record per node in one Int32Array: [tkey, (rightDelta << fb) | feature]. Leaves are self-loops
 *   (feature = the sentinel column p whose row key is INT32_MAX, rightDelta = -1) that store their leaf ordinal in the
 *   key word, so the walk needs no leaf test in the step and several walks can advance in lockstep, which lets the
 *   CPU overlap their memory latencies: 8 rows per tree (batches, tree-major over row blocks; each tree's records
 *   are first streamed through the cache in address order) or 8 trees per row (single rows).
 * - Row keys are computed once per row (p conversions), not per tree; no allocation per row.
 * Rows containing a NaN (and ensembles too large for the 8-byte layout) take the plain traversal on the TreeArrays,
 * which is also the semantics reference.
 */
import type { TreeArrays } from "./core.ts";

const KEY_MAX = 0x7fffffff;
const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** Order-preserving int32 key of a float32 value (both zeros map to 0). Not defined for NaN. */
export function f32Key(v: number): number {
  F32[0] = v;
  const b = I32[0];
  if ((b & 0x7fffffff) === 0) return 0;
  return b >= 0 ? b : b ^ 0x7fffffff;
}

/** The key k with: for every float32 value x (not NaN), x <= t ⟺ f32Key(x) <= k. `t` must not be NaN. */
export function thresholdKey(t: number): number {
  const r = Math.fround(t);
  // r is the float32 nearest to t; when it lies above t, the largest float32 <= t is the previous key
  return r > t ? f32Key(r) - 1 : f32Key(r);
}

/** Depth / min_samples_split limits applied at prediction (the tree `pruneTree` would give, without building it). */
export interface PruneLimits {
  maxDepth?: number | null;
  minSamplesSplit?: number;
}

/**
 * Leaf value of tree t for the row at x[off..off+p) (float64 values, NaN = missing): the reference traversal.
 * With limits, a node deeper than maxDepth-1 or with fewer than minSamplesSplit rows is a leaf (as in `pruneTree`).
 */
export function leafValue(
  t: TreeArrays,
  x: Float64Array,
  off: number,
  maxDepth = Number.POSITIVE_INFINITY,
  minSamplesSplit = 0,
): number {
  const feature = t.feature;
  const threshold = t.threshold;
  let n = 0;
  let depth = 0;
  let f = feature[0];
  while (f >= 0 && depth < maxDepth && t.nSamples[n] >= minSamplesSplit) {
    const v = Math.fround(x[off + f]);
    const th = threshold[n];
    if (v <= th) n = t.left[n];
    else if (v > th) n = t.right[n];
    else n = t.missingLeft[n] === 1 ? t.left[n] : t.right[n];
    f = feature[n];
    depth++;
  }
  return t.value[n];
}

/** Rows per block of the batch path (their keys stay in L1/L2 while every tree walks them). */
const BLOCK = 1024;
/** Below this many rows, rows are predicted one by one (8 trees in lockstep) instead of tree-major. */
const ROW_MAJOR_BELOW = 8;
/** From this many rows in a block, each tree's records are streamed through the cache before its walks. */
const PREFETCH_MIN = 64;

/** Inputs with at least this many rows are memoised (when `memo` is on). */
const MEMO_MIN_ROWS = 64;
/** Memoised inputs per predictor (a grid scores a test fold and a train fold alternately). */
const MEMO_ENTRIES = 2;

interface MemoEntry {
  data: Float64Array;
  rows: number;
  init: number;
  count: number;
  sums: Float64Array;
}

function sameValues(a: Float64Array, b: Float64Array, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const u = a[i];
    const v = b[i];
    if (u !== v && !(Number.isNaN(u) && Number.isNaN(v))) return false;
  }
  return true;
}

/**
 * Prediction layout of `trees` (TreeArrays, children by index; re-laid out in pre-order) for `nFeatures` columns.
 * `scale` multiplies every leaf value (boosting learning rate), computed exactly as `scale * value`. The layout is
 * immutable; the only mutable state is scratch space and the optional memo (see `memo`).
 */
export class TreeEnsemblePredictor {
  readonly nTrees: number;
  readonly nFeatures: number;
  private readonly trees: readonly TreeArrays[];
  private readonly scale: number;
  /** False when the 8-byte layout cannot hold the ensemble (then every row takes the reference traversal). */
  readonly compact: boolean;
  private readonly nodes: Int32Array;
  private readonly roots: Int32Array;
  private readonly leafValues: Float64Array;
  private readonly fb: number;
  private readonly fmask: number;
  private readonly maxDepth: number;
  private readonly minSamplesSplit: number;
  // scratch (reused across calls; prediction is synchronous)
  private keys: Int32Array;
  private clean: Int32Array;
  /** Keeps the prefetch loads observable. */
  sink = 0;
  /**
   * Memoise prefix sums per input: `predictSums(x, rows, to)` then continues from the largest cached prefix of the
   * same input (same values) instead of starting again at tree 0. Models that share this predictor through
   * truncation turn it on (a grid scores n_estimators = 50, 100, 200, ... of one fit on the same folds).
   */
  memo = false;
  private memoEntries: MemoEntry[] = [];

  /**
   * @param trees TreeArrays (children by index, any node order), all for `nFeatures` columns
   * @param scale leaf values are stored as `scale * value` (exactly; 1 keeps them as they are)
   * @param limits predict as if every tree were pruned with these limits (`pruneTree` semantics)
   */
  constructor(trees: readonly TreeArrays[], nFeatures: number, scale = 1, limits: PruneLimits = {}) {
    this.trees = trees;
    this.nTrees = trees.length;
    this.nFeatures = nFeatures;
    this.scale = scale;
    this.maxDepth = limits.maxDepth ?? Number.POSITIVE_INFINITY;
    this.minSamplesSplit = limits.minSamplesSplit ?? 0;
    const p = nFeatures;
    const fb = 32 - Math.clz32(p); // bits for 0..p (p = the sentinel column)
    this.fb = fb;
    this.fmask = (1 << fb) - 1;
    let maxNodes = 0;
    for (const t of trees) if (t.nodeCount > maxNodes) maxNodes = t.nodeCount;
    const stNode = new Int32Array(maxNodes + 1);
    const stDepth = new Int32Array(maxNodes + 1);
    const stParent = new Int32Array(maxNodes + 1);
    // pass 1: kept nodes and leaves; pass 2: emit pre-order records (left child = next record)
    // (without limits, trees already in pre-order are copied record by record instead: same layout, faster)
    const unlimited = this.maxDepth === Number.POSITIVE_INFINITY && this.minSamplesSplit <= 0;
    const linear = new Uint8Array(trees.length);
    let total = 0;
    let leaves = 0;
    for (let ti = 0; ti < trees.length; ti++) {
      const t = trees[ti];
      let pre = unlimited;
      let nl = 0;
      if (pre) {
        const feature = t.feature;
        const left = t.left;
        for (let i = 0; i < t.nodeCount; i++) {
          if (feature[i] < 0) nl++;
          else if (left[i] !== i + 1) pre = false;
        }
      }
      if (pre) {
        linear[ti] = 1;
        total += t.nodeCount;
        leaves += nl;
      } else {
        const c = this.walk(t, stNode, stDepth, stParent, null, 0, 0);
        total += c.nodes;
        leaves += c.leaves;
      }
    }
    const fits = fb <= 24 && maxNodes < 2 ** (31 - fb) && leaves < KEY_MAX;
    this.compact = fits;
    this.roots = new Int32Array(trees.length);
    this.nodes = new Int32Array(fits ? 2 * total : 0);
    this.leafValues = new Float64Array(fits ? leaves : 0);
    this.keys = new Int32Array(0);
    this.clean = new Int32Array(0);
    if (!fits) return;
    let off = 0;
    let li = 0;
    const nodes = this.nodes;
    const vals = this.leafValues;
    const leafWord = (-1 << fb) | p;
    for (let ti = 0; ti < trees.length; ti++) {
      this.roots[ti] = off;
      const t = trees[ti];
      if (linear[ti] === 1) {
        const feature = t.feature;
        for (let i = 0; i < t.nodeCount; i++) {
          const g = 2 * (off + i);
          const f = feature[i];
          if (f < 0) {
            nodes[g] = li;
            nodes[g + 1] = leafWord;
            vals[li++] = scale === 1 ? t.value[i] : scale * t.value[i];
          } else {
            nodes[g] = thresholdKey(t.threshold[i]);
            nodes[g + 1] = ((t.right[i] - i - 1) << fb) | f;
          }
        }
        off += t.nodeCount;
        continue;
      }
      const c = this.walk(t, stNode, stDepth, stParent, nodes, off, li);
      off += c.nodes;
      li += c.leaves;
    }
  }

  /** Pre-order walk of t under the limits: counts kept nodes / leaves and, when `nodes` is given, writes records. */
  private walk(
    t: TreeArrays,
    stNode: Int32Array,
    stDepth: Int32Array,
    stParent: Int32Array,
    nodes: Int32Array | null,
    off: number,
    li0: number,
  ): { nodes: number; leaves: number } {
    const feature = t.feature;
    const maxDepth = this.maxDepth;
    const mss = this.minSamplesSplit;
    const fb = this.fb;
    const leafWord = (-1 << fb) | this.nFeatures;
    const vals = this.leafValues;
    const scale = this.scale;
    let sp = 0;
    let k = 0;
    let li = li0;
    stNode[sp] = 0;
    stDepth[sp] = 0;
    stParent[sp++] = -1;
    while (sp > 0) {
      sp--;
      const n = stNode[sp];
      const d = stDepth[sp];
      const par = stParent[sp];
      const pos = off + k++;
      // a right child: patch the parent's delta (its left subtree has just been written)
      if (nodes && par >= 0) nodes[2 * par + 1] |= (pos - par - 1) << fb;
      const f = feature[n];
      if (f < 0 || d >= maxDepth || t.nSamples[n] < mss) {
        if (nodes) {
          nodes[2 * pos] = li;
          nodes[2 * pos + 1] = leafWord;
          vals[li] = scale === 1 ? t.value[n] : scale * t.value[n];
        }
        li++;
      } else {
        if (nodes) {
          nodes[2 * pos] = thresholdKey(t.threshold[n]);
          nodes[2 * pos + 1] = f;
        }
        stNode[sp] = t.right[n];
        stDepth[sp] = d + 1;
        stParent[sp++] = pos;
        stNode[sp] = t.left[n];
        stDepth[sp] = d + 1;
        stParent[sp++] = -1;
      }
    }
    return { nodes: k, leaves: li - li0 };
  }

  /** Leaf value of tree ti for the row at x[off..off+p), by the reference traversal (scaled like the fast path). */
  referenceLeaf(ti: number, x: Float64Array, off: number): number {
    const v = leafValue(this.trees[ti], x, off, this.maxDepth, this.minSamplesSplit);
    return this.scale === 1 ? v : this.scale * v;
  }

  /**
   * out[r] += Σ over trees [from, to) of the (scaled) leaf value for row r of the row-major `x` (rows × nFeatures,
   * NaN = missing), adding tree by tree in order (so prefix sums can be continued bit for bit).
   */
  accumulate(x: Float64Array, rows: number, out: Float64Array, from = 0, to = this.nTrees): void {
    const p = this.nFeatures;
    if (x.length < rows * p || out.length < rows) throw new RangeError("accumulate: x or out is too short");
    if (from < 0 || to > this.nTrees || from > to)
      throw new RangeError(`accumulate: bad tree range [${from}, ${to})`);
    if (from === to || rows === 0) return;
    if (!this.compact) {
      for (let r = 0; r < rows; r++) {
        let acc = out[r];
        for (let ti = from; ti < to; ti++) acc += this.referenceLeaf(ti, x, r * p);
        out[r] = acc;
      }
      return;
    }
    const q = p + 1;
    const block = Math.min(rows, BLOCK);
    if (this.keys.length < block * q) {
      this.keys = new Int32Array(block * q);
      this.clean = new Int32Array(block);
    }
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      // keys of the block's NaN-free rows (compacted); NaN rows go through the reference traversal
      let nc = 0;
      for (let r = r0; r < r1; r++) {
        if (this.rowKeys(x, r * p, nc * q)) this.clean[nc++] = r;
        else {
          let acc = out[r];
          for (let ti = from; ti < to; ti++) acc += this.referenceLeaf(ti, x, r * p);
          out[r] = acc;
        }
      }
      if (nc < ROW_MAJOR_BELOW)
        for (let c = 0; c < nc; c++) this.rowMajor(c * q, this.clean[c], out, from, to);
      else this.treeMajor(nc, out, from, to);
    }
  }

  /**
   * init + Σ over trees [0, to) of the leaf values of each row (summed in tree order, so equal bit for bit to
   * `accumulate` on an init-filled array). With `memo` on, reuses / extends the cached prefix of the same input.
   */
  predictSums(x: Float64Array, rows: number, to: number, init = 0): Float64Array {
    const out = new Float64Array(rows);
    const len = rows * this.nFeatures;
    if (!this.memo || rows < MEMO_MIN_ROWS) {
      out.fill(init);
      this.accumulate(x, rows, out, 0, to);
      return out;
    }
    const es = this.memoEntries;
    let hit = -1;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (e.rows === rows && Object.is(e.init, init) && sameValues(e.data, x, len)) {
        hit = i;
        break;
      }
    }
    const e = hit >= 0 ? es[hit] : null;
    if (e && e.count <= to) {
      out.set(e.sums);
      this.accumulate(x, rows, out, e.count, to);
    } else {
      out.fill(init);
      this.accumulate(x, rows, out, 0, to);
    }
    if (e) {
      e.sums = out.slice();
      e.count = to;
      es.splice(hit, 1);
      es.unshift(e);
    } else {
      es.unshift({ data: x.slice(0, len), rows, init, count: to, sums: out.slice() });
      if (es.length > MEMO_ENTRIES) es.pop();
    }
    return out;
  }

  /** Keys of the row at x[xo..xo+p) into keys[ko..ko+p] (sentinel last); false if the row has a NaN. */
  private rowKeys(x: Float64Array, xo: number, ko: number): boolean {
    const p = this.nFeatures;
    const keys = this.keys;
    const f32 = F32;
    const i32 = I32;
    for (let f = 0; f < p; f++) {
      const v = x[xo + f];
      if (Number.isNaN(v)) return false;
      f32[0] = v;
      const b = i32[0];
      keys[ko + f] = (b & 0x7fffffff) === 0 ? 0 : b >= 0 ? b : b ^ 0x7fffffff;
    }
    keys[ko + p] = KEY_MAX;
    return true;
  }

  /** One row (keys at keys[ko..]), trees [from, to) eight at a time in lockstep; adds to out[r] in tree order. */
  private rowMajor(ko: number, r: number, out: Float64Array, from: number, to: number): void {
    const nd = this.nodes;
    const keys = this.keys;
    const roots = this.roots;
    const vals = this.leafValues;
    const fb = this.fb;
    const fm = this.fmask;
    let acc = out[r];
    let ti = from;
    for (; ti + 8 <= to; ti += 8) {
      let n0 = roots[ti];
      let n1 = roots[ti + 1];
      let n2 = roots[ti + 2];
      let n3 = roots[ti + 3];
      let n4 = roots[ti + 4];
      let n5 = roots[ti + 5];
      let n6 = roots[ti + 6];
      let n7 = roots[ti + 7];
      for (;;) {
        let a = 0;
        let b = 0;
        let k = 0;
        let d = 0;
        a = nd[2 * n0];
        b = nd[2 * n0 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m0 = n0 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n1];
        b = nd[2 * n1 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m1 = n1 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n2];
        b = nd[2 * n2 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m2 = n2 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n3];
        b = nd[2 * n3 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m3 = n3 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n4];
        b = nd[2 * n4 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m4 = n4 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n5];
        b = nd[2 * n5 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m5 = n5 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n6];
        b = nd[2 * n6 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m6 = n6 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        a = nd[2 * n7];
        b = nd[2 * n7 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m7 = n7 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        const moved =
          (m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3) | (m4 ^ n4) | (m5 ^ n5) | (m6 ^ n6) | (m7 ^ n7);
        n0 = m0;
        n1 = m1;
        n2 = m2;
        n3 = m3;
        n4 = m4;
        n5 = m5;
        n6 = m6;
        n7 = m7;
        if (moved === 0) break;
      }
      acc += vals[nd[2 * n0]];
      acc += vals[nd[2 * n1]];
      acc += vals[nd[2 * n2]];
      acc += vals[nd[2 * n3]];
      acc += vals[nd[2 * n4]];
      acc += vals[nd[2 * n5]];
      acc += vals[nd[2 * n6]];
      acc += vals[nd[2 * n7]];
    }
    for (; ti < to; ti++) {
      let n = roots[ti];
      for (;;) {
        const a = nd[2 * n];
        const b = nd[2 * n + 1];
        const k = keys[ko + (b & fm)];
        const d = (a - k) | 0;
        const m = n + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
        if (m === n) break;
        n = m;
      }
      acc += vals[nd[2 * n]];
    }
    out[r] = acc;
  }

  /** The block's nc clean rows (keys compacted, row ids in `clean`), tree by tree, eight rows in lockstep. */
  private treeMajor(nc: number, out: Float64Array, from: number, to: number): void {
    const nd = this.nodes;
    const keys = this.keys;
    const clean = this.clean;
    const vals = this.leafValues;
    const fb = this.fb;
    const fm = this.fmask;
    const q = this.nFeatures + 1;
    const roots = this.roots;
    const total = nd.length >> 1;
    let sink = 0;
    for (let ti = from; ti < to; ti++) {
      const root = roots[ti];
      if (nc >= PREFETCH_MIN) {
        // stream the tree's records in order first (hardware prefetch), so the walks below hit the cache
        const end = 2 * (ti + 1 < roots.length ? roots[ti + 1] : total);
        for (let i = 2 * root; i < end; i += 16) sink |= nd[i];
      }
      let c = 0;
      for (; c + 8 <= nc; c += 8) {
        const k0 = c * q;
        const k1 = k0 + q;
        const k2 = k1 + q;
        const k3 = k2 + q;
        const k4 = k3 + q;
        const k5 = k4 + q;
        const k6 = k5 + q;
        const k7 = k6 + q;
        let n0 = root;
        let n1 = root;
        let n2 = root;
        let n3 = root;
        let n4 = root;
        let n5 = root;
        let n6 = root;
        let n7 = root;
        for (;;) {
          let a = 0;
          let b = 0;
          let k = 0;
          let d = 0;
          a = nd[2 * n0];
          b = nd[2 * n0 + 1];
          k = keys[k0 + (b & fm)];
          d = (a - k) | 0;
          const m0 = n0 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n1];
          b = nd[2 * n1 + 1];
          k = keys[k1 + (b & fm)];
          d = (a - k) | 0;
          const m1 = n1 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n2];
          b = nd[2 * n2 + 1];
          k = keys[k2 + (b & fm)];
          d = (a - k) | 0;
          const m2 = n2 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n3];
          b = nd[2 * n3 + 1];
          k = keys[k3 + (b & fm)];
          d = (a - k) | 0;
          const m3 = n3 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n4];
          b = nd[2 * n4 + 1];
          k = keys[k4 + (b & fm)];
          d = (a - k) | 0;
          const m4 = n4 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n5];
          b = nd[2 * n5 + 1];
          k = keys[k5 + (b & fm)];
          d = (a - k) | 0;
          const m5 = n5 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n6];
          b = nd[2 * n6 + 1];
          k = keys[k6 + (b & fm)];
          d = (a - k) | 0;
          const m6 = n6 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          a = nd[2 * n7];
          b = nd[2 * n7 + 1];
          k = keys[k7 + (b & fm)];
          d = (a - k) | 0;
          const m7 = n7 + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          const moved =
            (m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3) | (m4 ^ n4) | (m5 ^ n5) | (m6 ^ n6) | (m7 ^ n7);
          n0 = m0;
          n1 = m1;
          n2 = m2;
          n3 = m3;
          n4 = m4;
          n5 = m5;
          n6 = m6;
          n7 = m7;
          if (moved === 0) break;
        }
        out[clean[c + 0]] += vals[nd[2 * n0]];
        out[clean[c + 1]] += vals[nd[2 * n1]];
        out[clean[c + 2]] += vals[nd[2 * n2]];
        out[clean[c + 3]] += vals[nd[2 * n3]];
        out[clean[c + 4]] += vals[nd[2 * n4]];
        out[clean[c + 5]] += vals[nd[2 * n5]];
        out[clean[c + 6]] += vals[nd[2 * n6]];
        out[clean[c + 7]] += vals[nd[2 * n7]];
      }
      for (; c < nc; c++) {
        const ko = c * q;
        let n = root;
        for (;;) {
          const a = nd[2 * n];
          const b = nd[2 * n + 1];
          const k = keys[ko + (b & fm)];
          const d = (a - k) | 0;
          const m = n + 1 + ((b >> fb) & ((d ^ ((a ^ k) & (d ^ a))) >> 31));
          if (m === n) break;
          n = m;
        }
        out[clean[c]] += vals[nd[2 * n]];
      }
    }
    this.sink = sink;
  }
}
