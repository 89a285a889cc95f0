/**
 * Spatial-lag feature: the mean (model-scale) target of the k nearest *training* rows in (latitude,
 * longitude). Training rows get a leave-one-out value (their own target is excluded), new rows — test split,
 * served requests — use the training neighbours only, so the test split never contributes a target.
 *
 * Neighbours are exact: the k smallest (squared distance, row index) pairs, i.e. ties go to the lower row, and
 * the mean sums their targets nearest first, so the value equals a brute-force scan bit for bit. They are found
 * with the exact k-d tree of ml/knn_index.ts (squared distance over (latitude, longitude)). A query costs
 * O(log n + k) instead of the dense-cell scans of a uniform grid (California's cities put hundreds of rows in a
 * 0.1° cell): serving runs one per request row.
 */
import { SubspaceKnnIndex, TopK } from "../ml/knn_index.ts";

const ALL = new Int32Array([0, 1]);

export class GeoNeighborIndex {
  private readonly index: SubspaceKnnIndex;
  // query scratch (query is synchronous)
  private readonly top: TopK;
  private readonly q = new Float64Array(2);

  constructor(
    readonly lat: Float64Array,
    readonly lon: Float64Array,
    readonly target: Float64Array,
    readonly k: number,
  ) {
    const n = lat.length;
    if (lon.length !== n || target.length !== n) throw new Error("GeoNeighborIndex: length mismatch");
    if (!(k >= 1) || k >= n) throw new Error(`GeoNeighborIndex: k must be in [1, ${n - 1}], got ${k}`);
    const ll = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(lat[i]) || !Number.isFinite(lon[i]) || !Number.isFinite(target[i])) {
        throw new Error(`GeoNeighborIndex: row ${i} has a non-finite latitude, longitude or target`);
      }
      ll[2 * i] = lat[i];
      ll[2 * i + 1] = lon[i];
    }
    this.index = new SubspaceKnnIndex(
      ll,
      2,
      Int32Array.from({ length: n }, (_, i) => i),
      ALL,
      "squared",
      8,
    );
    this.top = new TopK(k);
  }

  /** Mean target of the k nearest training rows to (la, lo); `exclude` = a training row index to skip (LOO). */
  query(la: number, lo: number, exclude = -1): number {
    if (!Number.isFinite(la) || !Number.isFinite(lo)) return Number.NaN;
    const top = this.top;
    top.reset();
    this.q[0] = la;
    this.q[1] = lo;
    this.index.search(this.q, 0, top, exclude);
    let s = 0;
    for (let j = 0; j < this.k; j++) s += this.target[top.row[j]];
    return s / this.k;
  }
}
