/**
 * Fast prediction for tree ensembles (forests, boosting, single trees), bit-identical to the plain traversal
 * "float32(x) <= threshold goes left, NaN follows the node's missing direction".
 *
 * Why it is fast:
 * - Comparisons are done on integers: a float32 x and a float64 threshold t are mapped to order-preserving int32
 *   keys (x <= t ⟺ key(x) <= tkey(t), exact, see `f32Key` / `thresholdKey`), then per feature into [0, INT32_MAX]
 *   (row keys clamped just outside the feature's threshold range and offset, or ranks among the feature's
 *   thresholds when that range is too wide, see `keyTransform`), so going right is the sign bit of `tkey - key` with
 *   no overflow, and a node visit is pure integer arithmetic with no data-dependent branch, instead of a float
 *   compare-and-branch that random trees mispredict about half the time.
 * - Shallow ensembles (every tree at most IMPLICIT_MAX_DEPTH deep under the limits, e.g. boosting): each tree is a
 *   complete binary tree of the ensemble's depth D in implicit layout, [tkey, feature] per internal slot, children of
 *   slot i at 2i+1 / 2i+2, shallower leaves carried down by "always left" slots; a walk is exactly D steps
 *   `i = 2i + 1 + goRight` with no child pointer and no end test, ending at leaf slot i - (2^D - 1).
 * - Deeper ensembles: one 8-byte pre-order record per node in one Int32Array: [tkey, (rightDelta << fb) | feature].
 *   Leaves are self-loops (feature = the sentinel column p whose row key is INT32_MAX, rightDelta = -1) that store
 *   the index of their value in the key word, so the walk needs no leaf test in the step and several walks can
 *   advance in lockstep, which lets the CPU overlap their memory latencies. Each distinct leaf value is stored once
 *   (`LeafValueTable`: a forest's leaves repeat few values), so the lookup that ends a walk hits the cache. The
 *   top TOP_DEPTH levels of every tree are also kept in the implicit layout (cheap fixed steps over a small,
 *   cache-resident block), whose exit slots give the record where the walk continues.
 * - Batches go tree-major over blocks of rows (12 rows in lockstep per deep tree; 8 rows per shallow tree); single
 *   rows walk 8 trees in lockstep. A deep tree's records come through the cache in address order before its walks
 *   need them: the lockstep rounds of one tree also load two cache lines each of the next tree's records
 *   (independent loads the CPU overlaps with the walks), and what is left is streamed when that tree starts.
 * - Row keys are computed once per row (p conversions), not per tree; no allocation per row.
 * - Deep ensembles' batches run in WebAssembly (walk_wat.ts: the same walks, 10 rows in lockstep) once the layout
 *   has moved to a shared wasm memory (at the predictor's third batch, or when shared with the pool's workers), which
 *   the JavaScript kernels read through views and the workers receive as it is (walk_wasm.ts). Before that, and
 *   without wasm (`MLOPS_TREE_KERNEL=js`), the JavaScript kernel below runs.
 * Rows containing a NaN (and ensembles too large for the 8-byte layout) take the plain traversal on the TreeArrays,
 * which is also the semantics reference.
 */
import type { TreeArrays } from "./core.ts";
import {
  float64Region,
  forestKernel,
  int32Regions,
  layoutMemory,
  type TreeMajorKernel,
  takeRegion,
  wasmAdoptAfter,
  wasmKernelEnabled,
} from "./walk_wasm.ts";

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
  /**
   * Store each distinct leaf value once (default true; see `LeafValueTable`). False skips the interning (~10 ns
   * per leaf at construction) for predictors that predict once, e.g. a grid's pruned forests.
   */
  shareLeafValues?: boolean;
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

/** Ensembles whose trees (under the limits) are all at most this deep use the implicit complete layout. */
const IMPLICIT_MAX_DEPTH = 10;
/** The implicit layout may always use this many slots (internal + leaf) in all, padding or not. */
const IMPLICIT_MIN_SLOTS = 2 ** 22;
/** Depth of the implicit top of each tree in deeper ensembles. */
const TOP_DEPTH = 8;

/** Trees per call of the wasm kernel in `leafTerms` (its outputs: BLOCK rows × this many terms). */
const WASM_TREE_CHUNK = 64;

/** Inputs with at least this many rows are memoised (when `memo` is on). */
const MEMO_MIN_ROWS = 64;
/** Memoised inputs per predictor (a grid scores a test fold and a train fold alternately). */
const MEMO_ENTRIES = 2;

/**
 * Everything the fast walks read, as plain fields: what a worker thread needs to predict with an ensemble built
 * in another thread (`TreeEnsemblePredictor.layout(true)` puts the arrays on SharedArrayBuffers, so posting it
 * copies nothing). A predictor made from a layout has no TreeArrays: rows with a NaN must be predicted where
 * the trees are (the caller checks).
 */
export interface PredictorLayout {
  nTrees: number;
  nFeatures: number;
  scale: number;
  compact: boolean;
  fb: number;
  fmask: number;
  maxDepth: number;
  minSamplesSplit: number;
  implicitDepth: number;
  topDepth: number;
  nodes: Int32Array;
  roots: Int32Array;
  leafValues: Float64Array;
  inodes: Int32Array;
  ileaves: Float64Array;
  exits: Int32Array;
  kLo: Int32Array;
  kHi: Int32Array;
  rankOff: Int32Array;
  rankKeys: Int32Array;
  /**
   * The shared wasm memory holding nodes, roots, inodes, exits and leafValues (a deep ensemble's, once moved there),
   * or null: then those are plain arrays (SharedArrayBuffer copies in `layout(true)`), walked by the JavaScript kernel.
   */
  memory: WebAssembly.Memory | null;
}

/** Layouts a pool worker keeps (oldest dropped first); the pool mirrors the same policy to know what it holds. */
export const WORKER_LAYOUTS = 4;

function sharedCopy<T extends Int32Array | Float64Array>(a: T): T {
  const C = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new C(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

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
 * The distinct leaf values of an ensemble, each stored once (distinct by bit pattern: -0 and 0 stay apart); leaf
 * records hold an index into it. A forest's leaves repeat few values (fully grown trees end at single training
 * targets: RF200 on the housing data has 2.0 M leaves but 3,676 distinct values, 29 kB instead of 16 MB), so the
 * lookup at the end of every walk hits the cache. An open-addressing table that grows with the distinct values
 * (so it stays as small as they are) interns the values while the records are written.
 */
class LeafValueTable {
  private slot = new Int32Array(1024).fill(-1); // table index or -1
  private table: Float64Array;
  private words: Int32Array;
  private count = 0;
  private static readonly bits = new Float64Array(1);
  private static readonly bitWords = new Int32Array(LeafValueTable.bits.buffer);

  /**
   * @param dedupe false: every leaf gets its own entry, in order (no hashing; for predictors used once, such as the
   *   pruned ones a grid scores a fold with, where interning would cost more than it saves)
   * @param leaves the number of leaves that will be added (the table's size without dedupe)
   */
  constructor(
    private readonly dedupe: boolean,
    leaves: number,
  ) {
    this.table = new Float64Array(dedupe ? 256 : leaves);
    this.words = new Int32Array(this.table.buffer);
  }

  /** The index of v in the table (added when new). */
  intern(v: number): number {
    if (!this.dedupe) {
      this.table[this.count] = v;
      return this.count++;
    }
    LeafValueTable.bits[0] = v;
    const lo = LeafValueTable.bitWords[0];
    const hi = LeafValueTable.bitWords[1];
    const mask = this.slot.length - 1;
    let h = LeafValueTable.hash(lo, hi) & mask;
    for (;;) {
      const j = this.slot[h];
      if (j < 0) break;
      if (this.words[2 * j] === lo && this.words[2 * j + 1] === hi) return j;
      h = (h + 1) & mask;
    }
    const j = this.count++;
    if (j === this.table.length) {
      const t = new Float64Array(2 * j);
      t.set(this.table);
      this.table = t;
      this.words = new Int32Array(t.buffer);
    }
    this.table[j] = v;
    this.slot[h] = j;
    if (4 * this.count > this.slot.length) this.grow();
    return j;
  }

  values(): Float64Array {
    return this.table.slice(0, this.count);
  }

  private static hash(lo: number, hi: number): number {
    const h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    return h ^ (h >>> 15);
  }

  /** Doubles the slots (load kept at most 1/2 after growing) and re-inserts every value. */
  private grow(): void {
    const slot = new Int32Array(2 * this.slot.length).fill(-1);
    const mask = slot.length - 1;
    for (let j = 0; j < this.count; j++) {
      let h = LeafValueTable.hash(this.words[2 * j], this.words[2 * j + 1]) & mask;
      while (slot[h] >= 0) h = (h + 1) & mask;
      slot[h] = j;
    }
    this.slot = slot;
  }
}

/** Number of entries of the sorted a[s..e) that are < key, plus s (binary search). */
function countBelow(a: Int32Array, s: number, e: number, key: number): number {
  let lo = s;
  let hi = e;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calls visit(t, node) for every internal node of t kept under the limits (every internal node without limits).
 * `stack` / `depth` have room for t's nodes.
 */
function forKept(
  t: TreeArrays,
  maxDepth: number,
  mss: number,
  stack: Int32Array,
  depth: Int32Array,
  visit: (n: number) => void,
): void {
  const feature = t.feature;
  if (maxDepth === Number.POSITIVE_INFINITY && mss <= 0) {
    for (let n = 0; n < t.nodeCount; n++) if (feature[n] >= 0) visit(n);
    return;
  }
  let sp = 0;
  stack[sp] = 0;
  depth[sp++] = 0;
  while (sp > 0) {
    sp--;
    const n = stack[sp];
    const d = depth[sp];
    if (feature[n] < 0 || d >= maxDepth || t.nSamples[n] < mss) continue;
    visit(n);
    stack[sp] = t.right[n];
    depth[sp++] = d + 1;
    stack[sp] = t.left[n];
    depth[sp++] = d + 1;
  }
}

/** Per-feature key transform of the ensemble under the limits (see TreeEnsemblePredictor.kLo). */
function keyTransform(
  trees: readonly TreeArrays[],
  p: number,
  maxDepth: number,
  mss: number,
): { lo: Int32Array; hi: Int32Array; rankOff: Int32Array; rankKeys: Int32Array } {
  // thresholdKey is monotone in t: the extreme keys are the keys of the extreme thresholds
  const min = new Float64Array(p).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(p).fill(Number.NEGATIVE_INFINITY);
  const count = new Int32Array(p);
  let maxNodes = 0;
  for (const t of trees) if (t.nodeCount > maxNodes) maxNodes = t.nodeCount;
  const stack = new Int32Array(maxNodes + 1);
  const depth = new Int32Array(maxNodes + 1);
  for (const t of trees) {
    const feature = t.feature;
    const threshold = t.threshold;
    forKept(t, maxDepth, mss, stack, depth, (n) => {
      const f = feature[n];
      const th = threshold[n];
      if (th < min[f]) min[f] = th;
      if (th > max[f]) max[f] = th;
      count[f]++;
    });
  }
  const lo = new Int32Array(p);
  const hi = new Int32Array(p);
  const wide = new Int32Array(p).fill(-1);
  const parts: Int32Array[] = [];
  for (let f = 0; f < p; f++) {
    if (count[f] === 0) continue;
    const kmin = thresholdKey(min[f]);
    const kmax = thresholdKey(max[f]);
    // row keys land in [0, hi - lo]; they must stay <= INT32_MAX - 1 (the sentinel and padding keys are INT32_MAX)
    if (kmax - kmin + 2 < KEY_MAX) {
      lo[f] = kmin - 1;
      hi[f] = kmax + 1;
    } else {
      wide[f] = parts.length;
      parts.push(new Int32Array(count[f]));
    }
  }
  const rankOff = new Int32Array(p + 1);
  if (parts.length === 0) return { lo, hi, rankOff, rankKeys: new Int32Array(0) };
  const fill = new Int32Array(p);
  for (const t of trees) {
    const feature = t.feature;
    const threshold = t.threshold;
    forKept(t, maxDepth, mss, stack, depth, (n) => {
      const f = feature[n];
      if (wide[f] >= 0) parts[wide[f]][fill[f]++] = thresholdKey(threshold[n]);
    });
  }
  let total = 0;
  for (let f = 0; f < p; f++) {
    rankOff[f] = total;
    if (wide[f] < 0) continue;
    const all = parts[wide[f]].sort();
    let u = 0;
    for (let i = 0; i < all.length; i++) if (u === 0 || all[i] !== all[u - 1]) all[u++] = all[i];
    parts[wide[f]] = all.subarray(0, u);
    total += u;
  }
  rankOff[p] = total;
  const rankKeys = new Int32Array(total);
  for (let f = 0; f < p; f++) if (wide[f] >= 0) rankKeys.set(parts[wide[f]], rankOff[f]);
  return { lo, hi, rankOff, rankKeys };
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
  private nodes: Int32Array;
  /**
   * The shared wasm memory holding the deep layout (see `PredictorLayout.memory`), or null: plain arrays until the
   * predictor proves long-lived (`wasmReady`) or is shared with the pool's workers (`layout(true)`).
   */
  private memory: WebAssembly.Memory | null;
  /** This thread's wasm kernel on `memory` (null: none; undefined: not set up yet, see `wasmReady`). */
  private kernel: TreeMajorKernel | null | undefined = undefined;
  /** Batch calls so far while the layout is in plain arrays (see `wasmAdoptAfter`). */
  private batchCalls = 0;
  /** Whether the wasm kernel was on when this predictor was made (`setWasmKernel`, MLOPS_TREE_KERNEL). */
  private readonly wasmAllowed = wasmKernelEnabled();
  /** The wasm kernel's outputs in `memory` (BLOCK × WASM_TREE_CHUNK values; the row keys are `keys`, also there). */
  private wout: Float64Array = new Float64Array(0);
  private roots: Int32Array;
  private leafValues: Float64Array;
  /** The distinct leaf values while the records are written (construction only). */
  private leafTable: LeafValueTable | null = null;
  private readonly fb: number;
  private readonly fmask: number;
  private readonly maxDepth: number;
  private readonly minSamplesSplit: number;
  /**
   * Depth D of the implicit layout (every tree padded to a complete binary tree of depth D), or -1 when the ensemble
   * uses the pre-order pointer layout. Implicit: tree t's internal records [tkey, feature] are inodes[t·(2^D-1) + i]
   * with children 2i+1 / 2i+2; shallower leaves are carried down by "always left" records (tkey = INT32_MAX), so every
   * walk takes exactly D steps and ends at leaf slot i - (2^D - 1) of ileaves[t·2^D ...].
   */
  readonly implicitDepth: number;
  /**
   * Deeper ensembles (pointer layout): depth of an implicit top of every tree (records in `inodes` as above), whose
   * 2^topDepth exit slots (`exits`, per tree) give the pointer-layout record where the walk continues; 0 = no top.
   */
  readonly topDepth: number;
  private inodes: Int32Array;
  private readonly ileaves: Float64Array;
  private exits: Int32Array;
  /**
   * Per-feature key transform that keeps every compared pair (node key a, row key k) in [0, INT32_MAX], so the
   * walks can take the sign of a - k directly. Narrow features (threshold keys spanning < 2^31): row keys clamped to
   * [lo, hi] = [min - 1, max + 1] of the feature's threshold keys, minus lo. Wide features: ranks (number of the
   * feature's distinct threshold keys below the key), thresholds stored as their index; their sorted keys are
   * rankKeys[rankOff[f] .. rankOff[f + 1]) (empty range = narrow). Features without thresholds get key 0.
   */
  private readonly kLo: Int32Array;
  private readonly kHi: Int32Array;
  private readonly rankOff: Int32Array;
  private readonly rankKeys: Int32Array;
  // scratch (reused across calls; prediction is synchronous)
  private keys: Int32Array;
  private clean: Int32Array;
  /** rows of the current block with a NaN (see keyBlock) */
  private nanRows = new Int32Array(0);
  private nanCount = 0;
  /** Nodes kept by the last `limitedDepth` call (construction only). */
  private keptCount = 0;
  /** Keeps the prefetch loads observable. */
  sink = 0;
  /**
   * Memoise prefix sums per input: `predictSums(x, rows, to)` then continues from the largest cached prefix of the
   * same input (same values) instead of starting again at tree 0. Models that share this predictor through
   * truncation turn it on (a grid scores n_estimators = 50, 100, 200, ... of one fit on the same folds).
   */
  memo = false;
  private memoEntries: MemoEntry[] = [];
  /** The shared layout, once made (see `layout(true)`). */
  private sharedLayout: PredictorLayout | null = null;

  /**
   * @param trees TreeArrays (children by index, any node order), all for `nFeatures` columns
   * @param scale leaf values are stored as `scale * value` (exactly; 1 keeps them as they are)
   * @param limits predict as if every tree were pruned with these limits (`pruneTree` semantics)
   */
  constructor(
    trees: readonly TreeArrays[] | PredictorLayout,
    nFeatures = 0,
    scale = 1,
    limits: PruneLimits = {},
  ) {
    this.keys = new Int32Array(0);
    this.clean = new Int32Array(0);
    if (!Array.isArray(trees)) {
      // a layout made by another predictor (another thread): adopt its arrays, no trees
      const l = trees as PredictorLayout;
      this.trees = [];
      this.nTrees = l.nTrees;
      this.nFeatures = l.nFeatures;
      this.scale = l.scale;
      this.compact = l.compact;
      this.fb = l.fb;
      this.fmask = l.fmask;
      this.maxDepth = l.maxDepth;
      this.minSamplesSplit = l.minSamplesSplit;
      this.implicitDepth = l.implicitDepth;
      this.topDepth = l.topDepth;
      this.nodes = l.nodes;
      this.roots = l.roots;
      this.leafValues = l.leafValues;
      this.inodes = l.inodes;
      this.ileaves = l.ileaves;
      this.exits = l.exits;
      this.kLo = l.kLo;
      this.kHi = l.kHi;
      this.rankOff = l.rankOff;
      this.rankKeys = l.rankKeys;
      this.memory = l.memory;
      // a worker's copy of a layout without memory keeps the JavaScript kernel (no second copy of its own)
      if (!l.memory) this.kernel = null;
      return;
    }
    trees = trees as readonly TreeArrays[];
    this.trees = trees;
    this.nTrees = trees.length;
    this.nFeatures = nFeatures;
    this.scale = scale;
    this.maxDepth = limits.maxDepth ?? Number.POSITIVE_INFINITY;
    this.minSamplesSplit = limits.minSamplesSplit ?? 0;
    this.memory = null;
    const p = nFeatures;
    const fb = 32 - Math.clz32(p); // bits for 0..p (p = the sentinel column)
    this.fb = fb;
    this.fmask = (1 << fb) - 1;
    const tf = keyTransform(trees, p, this.maxDepth, this.minSamplesSplit);
    this.kLo = tf.lo;
    this.kHi = tf.hi;
    this.rankOff = tf.rankOff;
    this.rankKeys = tf.rankKeys;
    let maxNodes = 0;
    for (const t of trees) if (t.nodeCount > maxNodes) maxNodes = t.nodeCount;
    const stNode = new Int32Array(maxNodes + 1);
    const stDepth = new Int32Array(maxNodes + 1);
    const stParent = new Int32Array(maxNodes + 1);
    // shallow ensembles: implicit complete layout (no child pointers, fixed step count)
    // (unless padding would blow the ensemble up: at most IMPLICIT_MIN_SLOTS slots or 16 slots per kept node)
    let depth = 0;
    let kept = 0;
    for (const t of trees) {
      depth = Math.max(depth, this.limitedDepth(t, stNode, stDepth, IMPLICIT_MAX_DEPTH));
      if (depth > IMPLICIT_MAX_DEPTH) break;
      kept += this.keptCount;
    }
    const slots = trees.length * 2 ** (depth + 1);
    if (depth <= IMPLICIT_MAX_DEPTH && slots <= Math.max(IMPLICIT_MIN_SLOTS, 16 * kept)) {
      this.implicitDepth = depth;
      this.compact = true;
      this.roots = new Int32Array(0);
      this.nodes = new Int32Array(0);
      this.leafValues = new Float64Array(0);
      const L = (1 << depth) - 1;
      this.inodes = new Int32Array(2 * L * trees.length);
      this.ileaves = new Float64Array((L + 1) * trees.length);
      for (let i = 0; i < this.inodes.length; i += 2) {
        this.inodes[i] = KEY_MAX; // "always left" until overwritten by a real split
        this.inodes[i + 1] = p;
      }
      for (let ti = 0; ti < trees.length; ti++) this.fillImplicit(trees[ti], ti, 0, 0, 0);
      this.topDepth = 0;
      this.exits = new Int32Array(0);
      return;
    }
    this.implicitDepth = -1;
    this.ileaves = new Float64Array(0);
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
        const c = this.walk(t, stNode, stDepth, stParent, null, 0);
        total += c.nodes;
        leaves += c.leaves;
      }
    }
    const fits = fb <= 24 && maxNodes < 2 ** (31 - fb) && leaves < KEY_MAX;
    this.compact = fits;
    const D0 = fits ? TOP_DEPTH : 0;
    this.topDepth = D0;
    const L0 = (1 << D0) - 1;
    this.roots = new Int32Array(trees.length);
    this.nodes = new Int32Array(fits ? 2 * total : 0);
    this.leafValues = new Float64Array(0); // set below: the interned leaf values
    this.inodes = new Int32Array(2 * L0 * trees.length);
    this.exits = new Int32Array(D0 > 0 ? (L0 + 1) * trees.length : 0);
    for (let i = 0; i < this.inodes.length; i += 2) {
      this.inodes[i] = KEY_MAX;
      this.inodes[i + 1] = p;
    }
    const posOf = new Int32Array(maxNodes);
    if (!fits) return;
    let off = 0;
    const nodes = this.nodes;
    const leafTable = new LeafValueTable(limits.shareLeafValues ?? true, leaves);
    this.leafTable = leafTable;
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
            nodes[g] = leafTable.intern(scale === 1 ? t.value[i] : scale * t.value[i]);
            nodes[g + 1] = leafWord;
          } else {
            nodes[g] = this.nodeKey(f, t.threshold[i]);
            nodes[g + 1] = ((t.right[i] - i - 1) << fb) | f;
          }
          posOf[i] = off + i;
        }
        this.fillTop(t, ti, 0, 0, 0, posOf);
        off += t.nodeCount;
        continue;
      }
      const c = this.walk(t, stNode, stDepth, stParent, nodes, off, posOf);
      this.fillTop(t, ti, 0, 0, 0, posOf);
      off += c.nodes;
    }
    this.leafValues = leafTable.values();
    this.leafTable = null;
  }

  /** Depth of t under the limits (deepest kept leaf), or cap + 1 as soon as it exceeds cap; sets keptCount. */
  private limitedDepth(t: TreeArrays, stNode: Int32Array, stDepth: Int32Array, cap: number): number {
    const feature = t.feature;
    const maxDepth = this.maxDepth;
    const mss = this.minSamplesSplit;
    let sp = 0;
    let deepest = 0;
    let kept = 0;
    stNode[sp] = 0;
    stDepth[sp++] = 0;
    while (sp > 0) {
      sp--;
      const n = stNode[sp];
      const d = stDepth[sp];
      kept++;
      if (feature[n] < 0 || d >= maxDepth || t.nSamples[n] < mss) {
        if (d > deepest) deepest = d;
        continue;
      }
      if (d >= cap) {
        this.keptCount = kept;
        return cap + 1;
      }
      stNode[sp] = t.right[n];
      stDepth[sp++] = d + 1;
      stNode[sp] = t.left[n];
      stDepth[sp++] = d + 1;
    }
    this.keptCount = kept;
    return deepest;
  }

  /** Writes node n of tree ti (at slot i, depth d of the complete layout) and its subtree. */
  private fillImplicit(t: TreeArrays, ti: number, n: number, i: number, d: number): void {
    const D = this.implicitDepth;
    const L = (1 << D) - 1;
    if (t.feature[n] < 0 || d >= this.maxDepth || t.nSamples[n] < this.minSamplesSplit) {
      // carried down the always-left records to the leftmost leaf slot below i
      const slot = ((i + 1) << (D - d)) - 1 - L;
      this.ileaves[ti * (L + 1) + slot] = this.scale === 1 ? t.value[n] : this.scale * t.value[n];
      return;
    }
    const g = 2 * (ti * L + i);
    this.inodes[g] = this.nodeKey(t.feature[n], t.threshold[n]);
    this.inodes[g + 1] = t.feature[n];
    this.fillImplicit(t, ti, t.left[n], 2 * i + 1, d + 1);
    this.fillImplicit(t, ti, t.right[n], 2 * i + 2, d + 1);
  }

  /** Writes the implicit top of tree ti from node n (slot i, depth d); exits hold pointer-layout records (posOf). */
  private fillTop(t: TreeArrays, ti: number, n: number, i: number, d: number, posOf: Int32Array): void {
    const D = this.topDepth;
    const L = (1 << D) - 1;
    if (d === D || t.feature[n] < 0 || d >= this.maxDepth || t.nSamples[n] < this.minSamplesSplit) {
      this.exits[ti * (L + 1) + ((i + 1) << (D - d)) - 1 - L] = posOf[n];
      return;
    }
    const g = 2 * (ti * L + i);
    this.inodes[g] = this.nodeKey(t.feature[n], t.threshold[n]);
    this.inodes[g + 1] = t.feature[n];
    this.fillTop(t, ti, t.left[n], 2 * i + 1, d + 1, posOf);
    this.fillTop(t, ti, t.right[n], 2 * i + 2, d + 1, posOf);
  }

  /** Pre-order walk of t under the limits: counts kept nodes / leaves and, when `nodes` is given, writes records. */
  private walk(
    t: TreeArrays,
    stNode: Int32Array,
    stDepth: Int32Array,
    stParent: Int32Array,
    nodes: Int32Array | null,
    off: number,
    posOf?: Int32Array,
  ): { nodes: number; leaves: number } {
    const feature = t.feature;
    const maxDepth = this.maxDepth;
    const mss = this.minSamplesSplit;
    const fb = this.fb;
    const leafWord = (-1 << fb) | this.nFeatures;
    const leafTable = this.leafTable;
    const scale = this.scale;
    let sp = 0;
    let k = 0;
    let leaves = 0;
    stNode[sp] = 0;
    stDepth[sp] = 0;
    stParent[sp++] = -1;
    while (sp > 0) {
      sp--;
      const n = stNode[sp];
      const d = stDepth[sp];
      const par = stParent[sp];
      const pos = off + k++;
      if (posOf) posOf[n] = pos;
      // a right child: patch the parent's delta (its left subtree has just been written)
      if (nodes && par >= 0) nodes[2 * par + 1] |= (pos - par - 1) << fb;
      const f = feature[n];
      if (f < 0 || d >= maxDepth || t.nSamples[n] < mss) {
        if (nodes && leafTable) {
          nodes[2 * pos] = leafTable.intern(scale === 1 ? t.value[n] : scale * t.value[n]);
          nodes[2 * pos + 1] = leafWord;
        }
        leaves++;
      } else {
        if (nodes) {
          nodes[2 * pos] = this.nodeKey(f, t.threshold[n]);
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
    return { nodes: k, leaves };
  }

  /**
   * The walks' arrays and scalars; with `shared`, copies of the arrays on SharedArrayBuffers (made once), to post
   * to worker threads. Only compact predictors (`compact`) have a layout worth sharing.
   */
  layout(shared = false): PredictorLayout {
    if (shared && this.sharedLayout) return this.sharedLayout;
    // workers walk the layout in its wasm memory: moving it there costs what a shared copy would
    if (shared && this.kernel === undefined && !this.memo) this.toWasmMemory();
    const own: PredictorLayout = {
      nTrees: this.nTrees,
      nFeatures: this.nFeatures,
      scale: this.scale,
      compact: this.compact,
      fb: this.fb,
      fmask: this.fmask,
      maxDepth: this.maxDepth,
      minSamplesSplit: this.minSamplesSplit,
      implicitDepth: this.implicitDepth,
      topDepth: this.topDepth,
      nodes: this.nodes,
      roots: this.roots,
      leafValues: this.leafValues,
      inodes: this.inodes,
      ileaves: this.ileaves,
      exits: this.exits,
      kLo: this.kLo,
      kHi: this.kHi,
      rankOff: this.rankOff,
      rankKeys: this.rankKeys,
      memory: this.memory,
    };
    if (!shared) return own;
    const l = { ...own };
    for (const k of ["kLo", "kHi", "rankOff", "rankKeys"] as const) l[k] = sharedCopy(own[k]);
    l.ileaves = sharedCopy(own.ileaves);
    // arrays in the wasm memory are shared already (the memory travels with the layout)
    if (!this.memory) {
      for (const k of ["nodes", "roots", "inodes", "exits"] as const) l[k] = sharedCopy(own[k]);
      l.leafValues = sharedCopy(own.leafValues);
    }
    this.sharedLayout = l;
    return l;
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
    this.ensureScratch(Math.min(rows, BLOCK));
    const wasm = rows >= ROW_MAJOR_BELOW && this.wasmReady();
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const nc = this.keyBlock(x, r0, Math.min(rows, r0 + BLOCK));
      // rows with a NaN go through the reference traversal
      for (let k = 0; k < this.nanCount; k++) {
        if (this.trees.length < this.nTrees)
          throw new Error(
            "TreeEnsemblePredictor: a predictor made from a layout cannot predict rows with NaN",
          );
        const r = this.nanRows[k];
        let acc = out[r];
        for (let ti = from; ti < to; ti++) acc += this.referenceLeaf(ti, x, r * p);
        out[r] = acc;
      }
      if (this.implicitDepth >= 0) {
        if (nc < ROW_MAJOR_BELOW)
          for (let c = 0; c < nc; c++) this.rowMajorImplicit(c * q, this.clean[c], out, from, to);
        else this.treeMajorImplicit(nc, out, from, to);
      } else if (nc < ROW_MAJOR_BELOW)
        for (let c = 0; c < nc; c++) this.rowMajor(c * q, this.clean[c], out, from, to);
      else if (wasm) this.treeMajorWasm(nc, out, from, to);
      else this.treeMajor(nc, out, from, to);
    }
  }

  /**
   * stage[(t - from) · rows + r] = the (scaled) leaf value of tree t for row r, for t in [from, to): the terms
   * `accumulate` would add, so that another thread can add them in tree order (bit-identical sums). Every row
   * must be free of NaN.
   */
  leafTerms(x: Float64Array, rows: number, from: number, to: number, stage: Float64Array): void {
    const p = this.nFeatures;
    if (x.length < rows * p || stage.length < rows * (to - from))
      throw new RangeError("leafTerms: x or stage is too short");
    if (from < 0 || to > this.nTrees || from > to)
      throw new RangeError(`leafTerms: bad tree range [${from}, ${to})`);
    if (!this.compact) throw new Error("leafTerms: the ensemble is too large for the compact layout");
    stage.fill(-0, 0, rows * (to - from)); // -0 + v === v for every v (also -0): each slot receives exactly its term
    this.ensureScratch(Math.min(rows, BLOCK));
    const wasm = this.wasmReady();
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const nc = this.keyBlock(x, r0, Math.min(rows, r0 + BLOCK));
      if (this.nanCount > 0) throw new Error(`leafTerms: row ${this.nanRows[0]} has a NaN (use accumulate)`);
      // each tree into its own slice of the stage (the tree-major walks, whatever the block size)
      if (this.implicitDepth >= 0)
        for (let t = from; t < to; t++)
          this.treeMajorImplicit(nc, stage.subarray((t - from) * rows, (t - from + 1) * rows), t, t + 1);
      else if (wasm) this.termsWasm(nc, stage, from, to, rows, r0);
      else this.treeMajor(nc, stage, from, to, rows);
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

  /**
   * Moves the deep layout into a new shared wasm memory (records, roots, top, exits, leaf values; one copy); false
   * when it is not a deep compact layout, the wasm kernel is off, or no memory can be had.
   */
  private toWasmMemory(): boolean {
    if (this.memory) return true;
    if (this.implicitDepth >= 0 || !this.compact || !this.wasmAllowed) return false;
    const memory = layoutMemory();
    const arrays = [this.nodes, this.roots, this.inodes, this.exits];
    const ints =
      memory &&
      int32Regions(
        memory,
        arrays.map((a) => a.length),
      );
    const vals = ints && float64Region(memory, this.leafValues.length);
    if (!memory || !ints || !vals) return false;
    for (let i = 0; i < arrays.length; i++) ints[i].set(arrays[i]);
    vals.set(this.leafValues);
    [this.nodes, this.roots, this.inodes, this.exits] = ints;
    this.leafValues = vals;
    this.memory = memory;
    this.sharedLayout = null;
    return true;
  }

  /**
   * Whether this batch walks in wasm. Sets up this thread's kernel once: the layout moves to a wasm memory at the
   * predictor's `wasmAdoptAfter()`-th batch (not for memoising predictors: a grid's, short-lived), then the
   * kernel's scratch (row keys for BLOCK rows, which become `keys`, and the outputs) is a region of the memory
   * taken by this thread.
   */
  private wasmReady(): boolean {
    if (this.kernel === undefined) {
      if (this.implicitDepth >= 0 || !this.compact || this.memo) return false;
      if (!this.memory && ++this.batchCalls < wasmAdoptAfter()) return false;
      this.kernel = null;
      if (!this.memory) this.toWasmMemory();
      const memory = this.memory;
      const q = this.nFeatures + 1;
      const keyBytes = (4 * BLOCK * q + 7) & ~7;
      const base = memory ? takeRegion(memory, keyBytes + 8 * BLOCK * WASM_TREE_CHUNK) : -1;
      const kernel = memory && base >= 0 ? forestKernel(memory) : null;
      if (memory && kernel) {
        this.ensureScratch(BLOCK);
        this.keys = new Int32Array(memory.buffer, base, BLOCK * q);
        this.wout = new Float64Array(memory.buffer, base + keyBytes, BLOCK * WASM_TREE_CHUNK);
        this.kernel = kernel;
      }
    }
    return this.kernel !== null;
  }

  /** The wasm kernel on the block's nc rows (keys in `keys`) for trees [from, to): wout[(t - from) · stride + c]. */
  private runKernel(nc: number, from: number, to: number, stride: number): void {
    const nd = this.nodes;
    this.sink = (this.kernel as TreeMajorKernel)(
      nd.byteOffset,
      this.keys.byteOffset,
      this.leafValues.byteOffset,
      this.wout.byteOffset,
      this.roots.byteOffset,
      this.inodes.byteOffset,
      this.exits.byteOffset,
      nc,
      this.nFeatures + 1,
      this.fb,
      this.fmask,
      this.topDepth,
      from,
      to,
      stride,
      nd.length >> 1,
      this.roots.length,
      nc >= PREFETCH_MIN ? 1 : 0,
      nd.length,
    );
  }

  /** `treeMajor` by the wasm kernel: each row's sum continues from out[row], adding tree by tree in order. */
  private treeMajorWasm(nc: number, out: Float64Array, from: number, to: number): void {
    const w = this.wout;
    const clean = this.clean;
    for (let c = 0; c < nc; c++) w[c] = out[clean[c]];
    this.runKernel(nc, from, to, 0);
    for (let c = 0; c < nc; c++) out[clean[c]] = w[c];
  }

  /**
   * `leafTerms`' block by the wasm kernel, WASM_TREE_CHUNK trees per call. A leafTerms block has no NaN row, so its
   * rows are r0, r0 + 1, ... and each tree's terms for the block are one run of the stage.
   */
  private termsWasm(
    nc: number,
    stage: Float64Array,
    from: number,
    to: number,
    rows: number,
    r0: number,
  ): void {
    const w = this.wout;
    for (let cf = from; cf < to; cf += WASM_TREE_CHUNK) {
      const ct = Math.min(to, cf + WASM_TREE_CHUNK);
      w.fill(-0, 0, nc * (ct - cf));
      this.runKernel(nc, cf, ct, nc);
      for (let t = cf; t < ct; t++)
        stage.set(w.subarray((t - cf) * nc, (t - cf + 1) * nc), (t - from) * rows + r0);
    }
  }

  /** Scratch for blocks of up to `block` rows. */
  private ensureScratch(block: number): void {
    const q = this.nFeatures + 1;
    if (this.keys.length < block * q) {
      this.keys = new Int32Array(block * q);
      this.clean = new Int32Array(block);
      this.nanRows = new Int32Array(block);
    }
  }

  /**
   * Keys of the NaN-free rows of [r0, r1), compacted (their row ids in `clean`); returns their count. Rows with a
   * NaN are listed in nanRows[0 .. nanCount).
   */
  private keyBlock(x: Float64Array, r0: number, r1: number): number {
    const p = this.nFeatures;
    const q = p + 1;
    let nc = 0;
    let nn = 0;
    for (let r = r0; r < r1; r++) {
      if (this.rowKeys(x, r * p, nc * q)) this.clean[nc++] = r;
      else this.nanRows[nn++] = r;
    }
    this.nanCount = nn;
    return nc;
  }

  /** Keys of the row at x[xo..xo+p) into keys[ko..ko+p] (sentinel last); false if the row has a NaN. */
  private rowKeys(x: Float64Array, xo: number, ko: number): boolean {
    const p = this.nFeatures;
    const keys = this.keys;
    const f32 = F32;
    const i32 = I32;
    const lo = this.kLo;
    const hi = this.kHi;
    const rankOff = this.rankOff;
    for (let f = 0; f < p; f++) {
      const v = x[xo + f];
      if (Number.isNaN(v)) return false;
      f32[0] = v;
      const b = i32[0];
      const key = (b & 0x7fffffff) === 0 ? 0 : b >= 0 ? b : b ^ 0x7fffffff;
      const s = rankOff[f];
      const e = rankOff[f + 1];
      if (s === e) {
        const l = lo[f];
        const h = hi[f];
        keys[ko + f] = Math.max(l, Math.min(key, h)) - l;
      } else keys[ko + f] = countBelow(this.rankKeys, s, e, key) - s;
    }
    keys[ko + p] = KEY_MAX;
    return true;
  }

  /** Transformed key of threshold t on feature f (see kLo / rankKeys). */
  private nodeKey(f: number, t: number): number {
    const key = thresholdKey(t);
    const s = this.rankOff[f];
    const e = this.rankOff[f + 1];
    return s === e ? key - this.kLo[f] : countBelow(this.rankKeys, s, e, key) - s;
  }

  /** One row (keys at keys[ko..]), trees [from, to) eight at a time in lockstep; adds to out[r] in tree order. */
  private rowMajor(ko: number, r: number, out: Float64Array, from: number, to: number): void {
    const nd = this.nodes;
    const keys = this.keys;
    const roots = this.roots;
    const vals = this.leafValues;
    const fb = this.fb;
    const fm = this.fmask;
    const top = this.inodes;
    const exits = this.exits;
    const D = this.topDepth;
    const L = (1 << D) - 1;
    let acc = out[r];
    let ti = from;
    for (; ti + 8 <= to; ti += 8) {
      let n0 = (ti + 0) * L;
      let n1 = (ti + 1) * L;
      let n2 = (ti + 2) * L;
      let n3 = (ti + 3) * L;
      let n4 = (ti + 4) * L;
      let n5 = (ti + 5) * L;
      let n6 = (ti + 6) * L;
      let n7 = (ti + 7) * L;
      const c0 = 1 - n0;
      const c1 = 1 - n1;
      const c2 = 1 - n2;
      const c3 = 1 - n3;
      const c4 = 1 - n4;
      const c5 = 1 - n5;
      const c6 = 1 - n6;
      const c7 = 1 - n7;
      for (let s = 0; s < D; s++) {
        let a = 0;
        let k = 0;
        let d = 0;
        a = top[2 * n0];
        k = keys[ko + top[2 * n0 + 1]];
        d = (a - k) | 0;
        n0 = 2 * n0 + c0 + (d >>> 31);
        a = top[2 * n1];
        k = keys[ko + top[2 * n1 + 1]];
        d = (a - k) | 0;
        n1 = 2 * n1 + c1 + (d >>> 31);
        a = top[2 * n2];
        k = keys[ko + top[2 * n2 + 1]];
        d = (a - k) | 0;
        n2 = 2 * n2 + c2 + (d >>> 31);
        a = top[2 * n3];
        k = keys[ko + top[2 * n3 + 1]];
        d = (a - k) | 0;
        n3 = 2 * n3 + c3 + (d >>> 31);
        a = top[2 * n4];
        k = keys[ko + top[2 * n4 + 1]];
        d = (a - k) | 0;
        n4 = 2 * n4 + c4 + (d >>> 31);
        a = top[2 * n5];
        k = keys[ko + top[2 * n5 + 1]];
        d = (a - k) | 0;
        n5 = 2 * n5 + c5 + (d >>> 31);
        a = top[2 * n6];
        k = keys[ko + top[2 * n6 + 1]];
        d = (a - k) | 0;
        n6 = 2 * n6 + c6 + (d >>> 31);
        a = top[2 * n7];
        k = keys[ko + top[2 * n7 + 1]];
        d = (a - k) | 0;
        n7 = 2 * n7 + c7 + (d >>> 31);
      }
      n0 = D > 0 ? exits[n0 + ti + 0 - L] : roots[ti + 0];
      n1 = D > 0 ? exits[n1 + ti + 1 - L] : roots[ti + 1];
      n2 = D > 0 ? exits[n2 + ti + 2 - L] : roots[ti + 2];
      n3 = D > 0 ? exits[n3 + ti + 3 - L] : roots[ti + 3];
      n4 = D > 0 ? exits[n4 + ti + 4 - L] : roots[ti + 4];
      n5 = D > 0 ? exits[n5 + ti + 5 - L] : roots[ti + 5];
      n6 = D > 0 ? exits[n6 + ti + 6 - L] : roots[ti + 6];
      n7 = D > 0 ? exits[n7 + ti + 7 - L] : roots[ti + 7];
      for (;;) {
        let a = 0;
        let b = 0;
        let k = 0;
        let d = 0;
        a = nd[2 * n0];
        b = nd[2 * n0 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m0 = n0 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n1];
        b = nd[2 * n1 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m1 = n1 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n2];
        b = nd[2 * n2 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m2 = n2 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n3];
        b = nd[2 * n3 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m3 = n3 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n4];
        b = nd[2 * n4 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m4 = n4 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n5];
        b = nd[2 * n5 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m5 = n5 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n6];
        b = nd[2 * n6 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m6 = n6 + 1 + ((b >> fb) & (d >> 31));
        a = nd[2 * n7];
        b = nd[2 * n7 + 1];
        k = keys[ko + (b & fm)];
        d = (a - k) | 0;
        const m7 = n7 + 1 + ((b >> fb) & (d >> 31));
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
        const m = n + 1 + ((b >> fb) & (d >> 31));
        if (m === n) break;
        n = m;
      }
      acc += vals[nd[2 * n]];
    }
    out[r] = acc;
  }

  /** The block's nc clean rows (keys compacted, row ids in `clean`), tree by tree, 12 rows in lockstep. */
  private treeMajor(nc: number, out: Float64Array, from: number, to: number, stride = 0): void {
    const nd = this.nodes;
    const keys = this.keys;
    const clean = this.clean;
    const vals = this.leafValues;
    const fb = this.fb;
    const fm = this.fmask;
    const q = this.nFeatures + 1;
    const roots = this.roots;
    const total = nd.length >> 1;
    const top = this.inodes;
    const exits = this.exits;
    const D = this.topDepth;
    const L = (1 << D) - 1;
    let sink = 0;
    const prefetch = nc >= PREFETCH_MIN;
    // records [pf, pfe) of the next tree are touched a few cache lines per lockstep round while this tree walks
    // (independent loads the CPU overlaps with the walks); what is left is streamed when that tree starts
    let pf = 0;
    for (let ti = from; ti < to; ti++) {
      const root = roots[ti];
      const tb = ti * L;
      const tc = 1 - tb;
      const el = ti - L;
      const o = (ti - from) * stride;
      const end = 2 * (ti + 1 < roots.length ? roots[ti + 1] : total);
      if (prefetch) {
        // stream the tree's records (those not touched yet) in order (hardware prefetch), so the walks hit the cache
        for (let i = ti === from ? 2 * root : pf; i < end; i += 16) sink |= nd[i];
      }
      pf = end;
      // (two lines a round, the second at most at the array's last line)
      const pfe =
        prefetch && ti + 1 < to
          ? Math.min(2 * (ti + 2 < roots.length ? roots[ti + 2] : total), nd.length - 16)
          : end;
      let c = 0;
      for (; c + 12 <= nc; c += 12) {
        const k0 = c * q;
        const k1 = k0 + q;
        const k2 = k1 + q;
        const k3 = k2 + q;
        const k4 = k3 + q;
        const k5 = k4 + q;
        const k6 = k5 + q;
        const k7 = k6 + q;
        const k8 = k7 + q;
        const k9 = k8 + q;
        const k10 = k9 + q;
        const k11 = k10 + q;
        let n0 = tb;
        let n1 = tb;
        let n2 = tb;
        let n3 = tb;
        let n4 = tb;
        let n5 = tb;
        let n6 = tb;
        let n7 = tb;
        let n8 = tb;
        let n9 = tb;
        let n10 = tb;
        let n11 = tb;
        for (let s = 0; s < D; s++) {
          let a = 0;
          let k = 0;
          let d = 0;
          a = top[2 * n0];
          k = keys[k0 + top[2 * n0 + 1]];
          d = (a - k) | 0;
          n0 = 2 * n0 + tc + (d >>> 31);
          a = top[2 * n1];
          k = keys[k1 + top[2 * n1 + 1]];
          d = (a - k) | 0;
          n1 = 2 * n1 + tc + (d >>> 31);
          a = top[2 * n2];
          k = keys[k2 + top[2 * n2 + 1]];
          d = (a - k) | 0;
          n2 = 2 * n2 + tc + (d >>> 31);
          a = top[2 * n3];
          k = keys[k3 + top[2 * n3 + 1]];
          d = (a - k) | 0;
          n3 = 2 * n3 + tc + (d >>> 31);
          a = top[2 * n4];
          k = keys[k4 + top[2 * n4 + 1]];
          d = (a - k) | 0;
          n4 = 2 * n4 + tc + (d >>> 31);
          a = top[2 * n5];
          k = keys[k5 + top[2 * n5 + 1]];
          d = (a - k) | 0;
          n5 = 2 * n5 + tc + (d >>> 31);
          a = top[2 * n6];
          k = keys[k6 + top[2 * n6 + 1]];
          d = (a - k) | 0;
          n6 = 2 * n6 + tc + (d >>> 31);
          a = top[2 * n7];
          k = keys[k7 + top[2 * n7 + 1]];
          d = (a - k) | 0;
          n7 = 2 * n7 + tc + (d >>> 31);
          a = top[2 * n8];
          k = keys[k8 + top[2 * n8 + 1]];
          d = (a - k) | 0;
          n8 = 2 * n8 + tc + (d >>> 31);
          a = top[2 * n9];
          k = keys[k9 + top[2 * n9 + 1]];
          d = (a - k) | 0;
          n9 = 2 * n9 + tc + (d >>> 31);
          a = top[2 * n10];
          k = keys[k10 + top[2 * n10 + 1]];
          d = (a - k) | 0;
          n10 = 2 * n10 + tc + (d >>> 31);
          a = top[2 * n11];
          k = keys[k11 + top[2 * n11 + 1]];
          d = (a - k) | 0;
          n11 = 2 * n11 + tc + (d >>> 31);
        }
        if (D > 0) {
          n0 = exits[n0 + el];
          n1 = exits[n1 + el];
          n2 = exits[n2 + el];
          n3 = exits[n3 + el];
          n4 = exits[n4 + el];
          n5 = exits[n5 + el];
          n6 = exits[n6 + el];
          n7 = exits[n7 + el];
          n8 = exits[n8 + el];
          n9 = exits[n9 + el];
          n10 = exits[n10 + el];
          n11 = exits[n11 + el];
        } else {
          n0 = root;
          n1 = root;
          n2 = root;
          n3 = root;
          n4 = root;
          n5 = root;
          n6 = root;
          n7 = root;
          n8 = root;
          n9 = root;
          n10 = root;
          n11 = root;
        }
        for (;;) {
          let a = 0;
          let b = 0;
          let k = 0;
          let d = 0;
          a = nd[2 * n0];
          b = nd[2 * n0 + 1];
          k = keys[k0 + (b & fm)];
          d = (a - k) | 0;
          const m0 = n0 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n1];
          b = nd[2 * n1 + 1];
          k = keys[k1 + (b & fm)];
          d = (a - k) | 0;
          const m1 = n1 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n2];
          b = nd[2 * n2 + 1];
          k = keys[k2 + (b & fm)];
          d = (a - k) | 0;
          const m2 = n2 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n3];
          b = nd[2 * n3 + 1];
          k = keys[k3 + (b & fm)];
          d = (a - k) | 0;
          const m3 = n3 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n4];
          b = nd[2 * n4 + 1];
          k = keys[k4 + (b & fm)];
          d = (a - k) | 0;
          const m4 = n4 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n5];
          b = nd[2 * n5 + 1];
          k = keys[k5 + (b & fm)];
          d = (a - k) | 0;
          const m5 = n5 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n6];
          b = nd[2 * n6 + 1];
          k = keys[k6 + (b & fm)];
          d = (a - k) | 0;
          const m6 = n6 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n7];
          b = nd[2 * n7 + 1];
          k = keys[k7 + (b & fm)];
          d = (a - k) | 0;
          const m7 = n7 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n8];
          b = nd[2 * n8 + 1];
          k = keys[k8 + (b & fm)];
          d = (a - k) | 0;
          const m8 = n8 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n9];
          b = nd[2 * n9 + 1];
          k = keys[k9 + (b & fm)];
          d = (a - k) | 0;
          const m9 = n9 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n10];
          b = nd[2 * n10 + 1];
          k = keys[k10 + (b & fm)];
          d = (a - k) | 0;
          const m10 = n10 + 1 + ((b >> fb) & (d >> 31));
          a = nd[2 * n11];
          b = nd[2 * n11 + 1];
          k = keys[k11 + (b & fm)];
          d = (a - k) | 0;
          const m11 = n11 + 1 + ((b >> fb) & (d >> 31));
          const moved =
            (m0 ^ n0) |
            (m1 ^ n1) |
            (m2 ^ n2) |
            (m3 ^ n3) |
            (m4 ^ n4) |
            (m5 ^ n5) |
            (m6 ^ n6) |
            (m7 ^ n7) |
            (m8 ^ n8) |
            (m9 ^ n9) |
            (m10 ^ n10) |
            (m11 ^ n11);
          n0 = m0;
          n1 = m1;
          n2 = m2;
          n3 = m3;
          n4 = m4;
          n5 = m5;
          n6 = m6;
          n7 = m7;
          n8 = m8;
          n9 = m9;
          n10 = m10;
          n11 = m11;
          if (pf < pfe) {
            sink |= nd[pf] | nd[pf + 16];
            pf += 32;
          }
          if (moved === 0) break;
        }
        out[o + clean[c + 0]] += vals[nd[2 * n0]];
        out[o + clean[c + 1]] += vals[nd[2 * n1]];
        out[o + clean[c + 2]] += vals[nd[2 * n2]];
        out[o + clean[c + 3]] += vals[nd[2 * n3]];
        out[o + clean[c + 4]] += vals[nd[2 * n4]];
        out[o + clean[c + 5]] += vals[nd[2 * n5]];
        out[o + clean[c + 6]] += vals[nd[2 * n6]];
        out[o + clean[c + 7]] += vals[nd[2 * n7]];
        out[o + clean[c + 8]] += vals[nd[2 * n8]];
        out[o + clean[c + 9]] += vals[nd[2 * n9]];
        out[o + clean[c + 10]] += vals[nd[2 * n10]];
        out[o + clean[c + 11]] += vals[nd[2 * n11]];
      }
      for (; c < nc; c++) {
        const ko = c * q;
        let n = tb;
        for (let s = 0; s < D; s++) {
          const a = top[2 * n];
          const k = keys[ko + top[2 * n + 1]];
          const d = (a - k) | 0;
          n = 2 * n + tc + (d >>> 31);
        }
        n = D > 0 ? exits[n + el] : root;
        for (;;) {
          const a = nd[2 * n];
          const b = nd[2 * n + 1];
          const k = keys[ko + (b & fm)];
          const d = (a - k) | 0;
          const m = n + 1 + ((b >> fb) & (d >> 31));
          if (m === n) break;
          n = m;
        }
        out[o + clean[c]] += vals[nd[2 * n]];
      }
    }
    this.sink = sink;
  }

  /** Implicit layout: one row, trees [from, to) eight at a time, exactly D steps each; adds in tree order. */
  private rowMajorImplicit(ko: number, r: number, out: Float64Array, from: number, to: number): void {
    const nd = this.inodes;
    const keys = this.keys;
    const vals = this.ileaves;
    const D = this.implicitDepth;
    const L = (1 << D) - 1;
    let acc = out[r];
    let ti = from;
    for (; ti + 8 <= to; ti += 8) {
      let j0 = (ti + 0) * L;
      let j1 = (ti + 1) * L;
      let j2 = (ti + 2) * L;
      let j3 = (ti + 3) * L;
      let j4 = (ti + 4) * L;
      let j5 = (ti + 5) * L;
      let j6 = (ti + 6) * L;
      let j7 = (ti + 7) * L;
      const c0 = 1 - j0;
      const c1 = 1 - j1;
      const c2 = 1 - j2;
      const c3 = 1 - j3;
      const c4 = 1 - j4;
      const c5 = 1 - j5;
      const c6 = 1 - j6;
      const c7 = 1 - j7;
      for (let s = 0; s < D; s++) {
        let a = 0;
        let k = 0;
        let d = 0;
        a = nd[2 * j0];
        k = keys[ko + nd[2 * j0 + 1]];
        d = (a - k) | 0;
        j0 = 2 * j0 + c0 + (d >>> 31);
        a = nd[2 * j1];
        k = keys[ko + nd[2 * j1 + 1]];
        d = (a - k) | 0;
        j1 = 2 * j1 + c1 + (d >>> 31);
        a = nd[2 * j2];
        k = keys[ko + nd[2 * j2 + 1]];
        d = (a - k) | 0;
        j2 = 2 * j2 + c2 + (d >>> 31);
        a = nd[2 * j3];
        k = keys[ko + nd[2 * j3 + 1]];
        d = (a - k) | 0;
        j3 = 2 * j3 + c3 + (d >>> 31);
        a = nd[2 * j4];
        k = keys[ko + nd[2 * j4 + 1]];
        d = (a - k) | 0;
        j4 = 2 * j4 + c4 + (d >>> 31);
        a = nd[2 * j5];
        k = keys[ko + nd[2 * j5 + 1]];
        d = (a - k) | 0;
        j5 = 2 * j5 + c5 + (d >>> 31);
        a = nd[2 * j6];
        k = keys[ko + nd[2 * j6 + 1]];
        d = (a - k) | 0;
        j6 = 2 * j6 + c6 + (d >>> 31);
        a = nd[2 * j7];
        k = keys[ko + nd[2 * j7 + 1]];
        d = (a - k) | 0;
        j7 = 2 * j7 + c7 + (d >>> 31);
      }
      acc += vals[j0 + ti + 0 - L];
      acc += vals[j1 + ti + 1 - L];
      acc += vals[j2 + ti + 2 - L];
      acc += vals[j3 + ti + 3 - L];
      acc += vals[j4 + ti + 4 - L];
      acc += vals[j5 + ti + 5 - L];
      acc += vals[j6 + ti + 6 - L];
      acc += vals[j7 + ti + 7 - L];
    }
    for (; ti < to; ti++) {
      let j = ti * L;
      const c = 1 - j;
      for (let s = 0; s < D; s++) {
        const a = nd[2 * j];
        const k = keys[ko + nd[2 * j + 1]];
        const d = (a - k) | 0;
        j = 2 * j + c + (d >>> 31);
      }
      acc += vals[j + ti - L];
    }
    out[r] = acc;
  }

  /** Implicit layout: the block's nc clean rows, tree by tree, eight rows in lockstep, exactly D steps each. */
  private treeMajorImplicit(nc: number, out: Float64Array, from: number, to: number): void {
    const nd = this.inodes;
    const keys = this.keys;
    const clean = this.clean;
    const vals = this.ileaves;
    const q = this.nFeatures + 1;
    const D = this.implicitDepth;
    const L = (1 << D) - 1;
    for (let ti = from; ti < to; ti++) {
      const root = ti * L;
      const c = 1 - root;
      const lb = ti - L;
      let r = 0;
      for (; r + 8 <= nc; r += 8) {
        const k0 = (r + 0) * q;
        const k1 = (r + 1) * q;
        const k2 = (r + 2) * q;
        const k3 = (r + 3) * q;
        const k4 = (r + 4) * q;
        const k5 = (r + 5) * q;
        const k6 = (r + 6) * q;
        const k7 = (r + 7) * q;
        let j0 = root;
        let j1 = root;
        let j2 = root;
        let j3 = root;
        let j4 = root;
        let j5 = root;
        let j6 = root;
        let j7 = root;
        for (let s = 0; s < D; s++) {
          let a = 0;
          let k = 0;
          let d = 0;
          a = nd[2 * j0];
          k = keys[k0 + nd[2 * j0 + 1]];
          d = (a - k) | 0;
          j0 = 2 * j0 + c + (d >>> 31);
          a = nd[2 * j1];
          k = keys[k1 + nd[2 * j1 + 1]];
          d = (a - k) | 0;
          j1 = 2 * j1 + c + (d >>> 31);
          a = nd[2 * j2];
          k = keys[k2 + nd[2 * j2 + 1]];
          d = (a - k) | 0;
          j2 = 2 * j2 + c + (d >>> 31);
          a = nd[2 * j3];
          k = keys[k3 + nd[2 * j3 + 1]];
          d = (a - k) | 0;
          j3 = 2 * j3 + c + (d >>> 31);
          a = nd[2 * j4];
          k = keys[k4 + nd[2 * j4 + 1]];
          d = (a - k) | 0;
          j4 = 2 * j4 + c + (d >>> 31);
          a = nd[2 * j5];
          k = keys[k5 + nd[2 * j5 + 1]];
          d = (a - k) | 0;
          j5 = 2 * j5 + c + (d >>> 31);
          a = nd[2 * j6];
          k = keys[k6 + nd[2 * j6 + 1]];
          d = (a - k) | 0;
          j6 = 2 * j6 + c + (d >>> 31);
          a = nd[2 * j7];
          k = keys[k7 + nd[2 * j7 + 1]];
          d = (a - k) | 0;
          j7 = 2 * j7 + c + (d >>> 31);
        }
        out[clean[r + 0]] += vals[j0 + lb];
        out[clean[r + 1]] += vals[j1 + lb];
        out[clean[r + 2]] += vals[j2 + lb];
        out[clean[r + 3]] += vals[j3 + lb];
        out[clean[r + 4]] += vals[j4 + lb];
        out[clean[r + 5]] += vals[j5 + lb];
        out[clean[r + 6]] += vals[j6 + lb];
        out[clean[r + 7]] += vals[j7 + lb];
      }
      for (; r < nc; r++) {
        const ko = r * q;
        let j = root;
        for (let s = 0; s < D; s++) {
          const a = nd[2 * j];
          const k = keys[ko + nd[2 * j + 1]];
          const d = (a - k) | 0;
          j = 2 * j + c + (d >>> 31);
        }
        out[clean[r]] += vals[j + lb];
      }
    }
  }
}
