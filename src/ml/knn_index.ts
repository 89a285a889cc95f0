/**
 * Exact k-nearest-neighbour search: a static k-d tree over a subset of the rows of a row-major matrix, in a subspace
 * of its columns. Used by KNNImputer (the subspace = a receiver's present columns) and by the spatial-lag feature
 * (latitude, longitude).
 *
 * Distances (`metric`), over the subspace columns in ascending order, the very values a brute-force scan computes:
 * - `nan_euclidean`: dist = sqrt(scale · Σ (q_j − x_j)²) with scale = n_columns / |cols| — what `nanEuclidean`
 *   gives for a row that has every one of those columns (same terms, same order);
 * - `squared`: dist = Σ (q_j − x_j)².
 * Candidates are ranked by (dist, row index), so the result is the brute-force ranking bit for bit.
 *
 * Pruning is exact: a node's bound is the same sum over its bounding box's per-column gaps (0 inside the range).
 * Rounding is monotone, so each gap term, every partial sum, the scaling and the sqrt never exceed the
 * corresponding value for a point inside the box; a subtree is skipped only when its bound is strictly greater
 * than the current k-th distance, so an equal-distance point with a lower row index is still reached.
 */
const LEAF = 16;

/** The running k best (dist, row) pairs, kept sorted by (dist, row); dist NaN ranks as +∞ (key). */
export class TopK {
  readonly key: Float64Array;
  readonly dist: Float64Array;
  readonly row: Int32Array;
  count = 0;
  constructor(readonly k: number) {
    this.key = new Float64Array(k);
    this.dist = new Float64Array(k);
    this.row = new Int32Array(k);
  }
  reset(): void {
    this.count = 0;
  }
  /** The current k-th key (+∞ while fewer than k are held). */
  bound(): number {
    return this.count === this.k ? this.key[this.k - 1] : Number.POSITIVE_INFINITY;
  }
  offer(d: number, r: number): void {
    const kr = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    const k = this.k;
    const key = this.key;
    const row = this.row;
    if (this.count === k && (kr > key[k - 1] || (kr === key[k - 1] && r > row[k - 1]))) return;
    let pos = this.count < k ? this.count++ : k - 1;
    while (pos > 0 && (key[pos - 1] > kr || (key[pos - 1] === kr && row[pos - 1] > r))) {
      key[pos] = key[pos - 1];
      this.dist[pos] = this.dist[pos - 1];
      row[pos] = row[pos - 1];
      pos--;
    }
    key[pos] = kr;
    this.dist[pos] = d;
    row[pos] = r;
  }
}

export type KnnMetric = "nan_euclidean" | "squared";

export class SubspaceKnnIndex {
  /** Number of subspace columns. */
  readonly d: number;
  private readonly cols: Int32Array;
  private readonly scale: number;
  private readonly sqrt: boolean;
  /** Rows in tree order, and their subspace coordinates (row-major, d per row). */
  private readonly rows: Int32Array;
  private readonly pts: Float64Array;
  private readonly nFrom: Int32Array;
  private readonly nTo: Int32Array;
  private readonly nLeft: Int32Array;
  private readonly nRight: Int32Array;
  /** Per node and column: [min, max]. */
  private readonly box: Float64Array;
  private readonly stack: Int32Array;
  private readonly q: Float64Array;

  /**
   * @param F fitted rows, row-major with m columns
   * @param rows the candidate rows (each must have every column in `cols`)
   * @param cols the subspace columns, ascending
   * @param m columns of F (the nan-euclidean scale is m / cols.length)
   */
  constructor(
    F: Float64Array,
    m: number,
    rows: Int32Array,
    cols: Int32Array,
    metric: KnnMetric = "nan_euclidean",
    leafSize = LEAF,
  ) {
    const d = cols.length;
    if (d === 0) throw new Error("SubspaceKnnIndex: no columns");
    this.d = d;
    this.cols = cols;
    this.sqrt = metric === "nan_euclidean";
    this.scale = this.sqrt ? m / d : 1;
    const n = rows.length;
    const order = Int32Array.from(rows);
    const maxNodes = 2 * Math.max(1, n) + 1;
    const nFrom = new Int32Array(maxNodes);
    const nTo = new Int32Array(maxNodes);
    const nLeft = new Int32Array(maxNodes);
    const nRight = new Int32Array(maxNodes);
    const box = new Float64Array(maxNodes * 2 * d);
    let count = 0;
    let depth = 0;
    const build = (from: number, to: number, level: number): number => {
      const id = count++;
      if (level > depth) depth = level;
      const b = id * 2 * d;
      let widest = 0;
      let widestSpan = -1;
      for (let u = 0; u < d; u++) {
        const c = cols[u];
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (let t = from; t < to; t++) {
          const v = F[order[t] * m + c];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        box[b + 2 * u] = lo;
        box[b + 2 * u + 1] = hi;
        if (hi - lo > widestSpan) {
          widestSpan = hi - lo;
          widest = c;
        }
      }
      nFrom[id] = from;
      nTo[id] = to;
      if (to - from <= leafSize || widestSpan <= 0) {
        nLeft[id] = -1;
        nRight[id] = -1;
        return id;
      }
      order.subarray(from, to).sort((x, y) => F[x * m + widest] - F[y * m + widest] || x - y);
      const mid = (from + to) >> 1;
      nLeft[id] = build(from, mid, level + 1);
      nRight[id] = build(mid, to, level + 1);
      return id;
    };
    if (n > 0) build(0, n, 0);
    this.rows = order;
    this.pts = new Float64Array(n * d);
    for (let t = 0; t < n; t++) for (let u = 0; u < d; u++) this.pts[t * d + u] = F[order[t] * m + cols[u]];
    this.nFrom = nFrom.slice(0, count);
    this.nTo = nTo.slice(0, count);
    this.nLeft = nLeft.slice(0, count);
    this.nRight = nRight.slice(0, count);
    this.box = box.slice(0, count * 2 * d);
    this.stack = new Int32Array(2 * (depth + 2));
    this.q = new Float64Array(d);
  }

  get size(): number {
    return this.rows.length;
  }

  private boxDist(id: number): number {
    const d = this.d;
    const q = this.q;
    const bx = this.box;
    const b = id * 2 * d;
    let s = 0;
    for (let u = 0; u < d; u++) {
      const v = q[u];
      const lo = bx[b + 2 * u];
      const hi = bx[b + 2 * u + 1];
      const g = v < lo ? v - lo : v > hi ? v - hi : 0;
      s += g * g;
    }
    return this.sqrt ? Math.sqrt(this.scale * s) : s;
  }

  /**
   * Offer every indexed row that can enter `top` for the query row x[xo..xo+m) (its `cols` must be present), except
   * row `exclude` (leave-one-out).
   */
  search(x: Float64Array, xo: number, top: TopK, exclude = -1): void {
    const n = this.rows.length;
    if (n === 0) return;
    const d = this.d;
    const q = this.q;
    for (let u = 0; u < d; u++) q[u] = x[xo + this.cols[u]];
    const pts = this.pts;
    const rows = this.rows;
    const scale = this.scale;
    const sqrt = this.sqrt;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      if (this.boxDist(id) > top.bound()) continue;
      const l = this.nLeft[id];
      if (l < 0) {
        for (let t = this.nFrom[id]; t < this.nTo[id]; t++) {
          if (rows[t] === exclude) continue;
          const o = t * d;
          let s = 0;
          for (let u = 0; u < d; u++) {
            const e = q[u] - pts[o + u];
            s += e * e;
          }
          top.offer(sqrt ? Math.sqrt(scale * s) : s, rows[t]);
        }
        continue;
      }
      const r = this.nRight[id];
      // nearer child first (pushed last)
      if (this.boxDist(l) <= this.boxDist(r)) {
        stack[sp++] = r;
        stack[sp++] = l;
      } else {
        stack[sp++] = l;
        stack[sp++] = r;
      }
    }
  }
}
