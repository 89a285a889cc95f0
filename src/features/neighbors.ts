/**
 * Spatial-lag feature: the mean (model-scale) target of the k nearest *training* rows in (latitude,
 * longitude). Training rows get a leave-one-out value (their own target is excluded), new rows — test split,
 * served requests — use the training neighbours only, so the test split never contributes a target.
 *
 * Neighbours are exact: the k smallest (squared distance, row index) pairs, i.e. ties go to the lower row, and
 * the mean sums their targets nearest first, so the value equals a brute-force scan bit for bit. They are found
 * with a static 2-d k-d tree (median splits on the wider side, leaves of ≤ LEAF points, each node's bounding box
 * stored). A subtree is skipped only when the box's squared distance is strictly greater than the current k-th
 * best: rounding is monotone, so that box distance never exceeds the computed distance of a point inside it, and
 * no point that could enter the result (including an equal-distance, lower-index one) is skipped. A query costs
 * O(log n + k) instead of the dense-cell scans of a uniform grid (California's cities put hundreds of rows in a
 * 0.1° cell): serving runs one per request row.
 */
const LEAF = 8;

export class GeoNeighborIndex {
  /** Row indices, permuted so every node's rows are contiguous. */
  private readonly perm: Int32Array;
  // nodes (pre-order): [from, to) range in perm, children (-1 for a leaf), bounding box
  private readonly nFrom: Int32Array;
  private readonly nTo: Int32Array;
  private readonly nLeft: Int32Array;
  private readonly nRight: Int32Array;
  private readonly box: Float64Array; // 4 per node: minLat, maxLat, minLon, maxLon
  // query scratch: the k best distances / rows so far, and the traversal stack (query is synchronous)
  private readonly bd: Float64Array;
  private readonly bi: Int32Array;
  private readonly stack: Int32Array;

  constructor(
    readonly lat: Float64Array,
    readonly lon: Float64Array,
    readonly target: Float64Array,
    readonly k: number,
  ) {
    const n = lat.length;
    if (lon.length !== n || target.length !== n) throw new Error("GeoNeighborIndex: length mismatch");
    if (!(k >= 1) || k >= n) throw new Error(`GeoNeighborIndex: k must be in [1, ${n - 1}], got ${k}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(lat[i]) || !Number.isFinite(lon[i]) || !Number.isFinite(target[i])) {
        throw new Error(`GeoNeighborIndex: row ${i} has a non-finite latitude, longitude or target`);
      }
    }
    this.bd = new Float64Array(k);
    this.bi = new Int32Array(k);
    this.perm = Int32Array.from({ length: n }, (_, i) => i);
    const maxNodes = 2 * n + 1; // every leaf holds >= 1 row: at most n leaves, 2n - 1 nodes (trimmed below)
    const nFrom = new Int32Array(maxNodes);
    const nTo = new Int32Array(maxNodes);
    const nLeft = new Int32Array(maxNodes);
    const nRight = new Int32Array(maxNodes);
    const box = new Float64Array(4 * maxNodes);
    let count = 0;
    let depth = 0;
    const build = (from: number, to: number, d: number): number => {
      const id = count++;
      if (d > depth) depth = d;
      let a = Number.POSITIVE_INFINITY,
        b = Number.NEGATIVE_INFINITY,
        c = Number.POSITIVE_INFINITY,
        e = Number.NEGATIVE_INFINITY;
      for (let t = from; t < to; t++) {
        const i = this.perm[t];
        if (lat[i] < a) a = lat[i];
        if (lat[i] > b) b = lat[i];
        if (lon[i] < c) c = lon[i];
        if (lon[i] > e) e = lon[i];
      }
      nFrom[id] = from;
      nTo[id] = to;
      box[4 * id] = a;
      box[4 * id + 1] = b;
      box[4 * id + 2] = c;
      box[4 * id + 3] = e;
      if (to - from <= LEAF) {
        nLeft[id] = -1;
        nRight[id] = -1;
        return id;
      }
      // split at the median of the wider side (sort the range by that coordinate, then by row index)
      const key = b - a >= e - c ? lat : lon;
      const part = this.perm.subarray(from, to);
      part.sort((x, y) => key[x] - key[y] || x - y);
      const mid = (from + to) >> 1;
      nLeft[id] = build(from, mid, d + 1);
      nRight[id] = build(mid, to, d + 1);
      return id;
    };
    build(0, n, 0);
    this.nFrom = nFrom.slice(0, count);
    this.nTo = nTo.slice(0, count);
    this.nLeft = nLeft.slice(0, count);
    this.nRight = nRight.slice(0, count);
    this.box = box.slice(0, 4 * count);
    this.stack = new Int32Array(2 * (depth + 2));
  }

  /** Squared distance from (la, lo) to node id's bounding box (0 inside it). */
  private boxDist(id: number, la: number, lo: number): number {
    const bx = this.box;
    const o = 4 * id;
    const dla = la < bx[o] ? bx[o] - la : la > bx[o + 1] ? la - bx[o + 1] : 0;
    const dlo = lo < bx[o + 2] ? bx[o + 2] - lo : lo > bx[o + 3] ? lo - bx[o + 3] : 0;
    return dla * dla + dlo * dlo;
  }

  /** Mean target of the k nearest training rows to (la, lo); `exclude` = a training row index to skip (LOO). */
  query(la: number, lo: number, exclude = -1): number {
    if (!Number.isFinite(la) || !Number.isFinite(lo)) return Number.NaN;
    const k = this.k;
    const bd = this.bd;
    const bi = this.bi;
    bd.fill(Number.POSITIVE_INFINITY);
    bi.fill(-1);
    const lat = this.lat;
    const lon = this.lon;
    const perm = this.perm;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      if (this.boxDist(id, la, lo) > bd[k - 1]) continue;
      const l = this.nLeft[id];
      if (l < 0) {
        for (let t = this.nFrom[id]; t < this.nTo[id]; t++) {
          const i = perm[t];
          if (i === exclude) continue;
          const dla = lat[i] - la,
            dlo = lon[i] - lo;
          const dist = dla * dla + dlo * dlo;
          if (dist < bd[k - 1] || (dist === bd[k - 1] && i < bi[k - 1])) {
            let j = k - 1;
            while (j > 0 && (bd[j - 1] > dist || (bd[j - 1] === dist && bi[j - 1] > i))) {
              bd[j] = bd[j - 1];
              bi[j] = bi[j - 1];
              j--;
            }
            bd[j] = dist;
            bi[j] = i;
          }
        }
        continue;
      }
      // visit the nearer child first (pushed last)
      const r = this.nRight[id];
      if (this.boxDist(l, la, lo) <= this.boxDist(r, la, lo)) {
        stack[sp++] = r;
        stack[sp++] = l;
      } else {
        stack[sp++] = l;
        stack[sp++] = r;
      }
    }
    let s = 0;
    for (let j = 0; j < k; j++) s += this.target[bi[j]];
    return s / k;
  }
}
