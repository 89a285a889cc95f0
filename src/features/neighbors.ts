/**
 * Spatial-lag feature: the mean (model-scale) target of the k nearest *training* rows in (latitude,
 * longitude). Training rows get a leave-one-out value (their own target is excluded), new rows — test split,
 * served requests — use the training neighbours only, so the test split never contributes a target.
 * Neighbours are found on a uniform grid index (cells of `cell` degrees searched ring by ring), so a query
 * costs O(k + points in the nearby cells) instead of a scan of the training set.
 */
export class GeoNeighborIndex {
  private cellOf = new Map<number, number[]>();
  private minLat = 0;
  private minLon = 0;
  private nLon = 0;
  private nLat = 0;

  constructor(
    readonly lat: Float64Array,
    readonly lon: Float64Array,
    readonly target: Float64Array,
    readonly k: number,
    readonly cell = 0.1,
  ) {
    if (lat.length !== lon.length || lat.length !== target.length)
      throw new Error("GeoNeighborIndex: length mismatch");
    if (!(k >= 1) || k >= lat.length)
      throw new Error(`GeoNeighborIndex: k must be in [1, ${lat.length - 1}], got ${k}`);
    let a = Number.POSITIVE_INFINITY,
      b = Number.NEGATIVE_INFINITY,
      c = Number.POSITIVE_INFINITY,
      d = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < lat.length; i++) {
      if (!Number.isFinite(lat[i]) || !Number.isFinite(lon[i]) || !Number.isFinite(target[i])) {
        throw new Error(`GeoNeighborIndex: row ${i} has a non-finite latitude, longitude or target`);
      }
      a = Math.min(a, lat[i]);
      b = Math.max(b, lat[i]);
      c = Math.min(c, lon[i]);
      d = Math.max(d, lon[i]);
    }
    this.minLat = a;
    this.minLon = c;
    this.nLat = Math.floor((b - a) / cell) + 1;
    this.nLon = Math.floor((d - c) / cell) + 1;
    for (let i = 0; i < lat.length; i++) {
      const key = this.key(this.row(lat[i]), this.col(lon[i]));
      let arr = this.cellOf.get(key);
      if (!arr) this.cellOf.set(key, (arr = []));
      arr.push(i);
    }
  }

  private row(la: number): number {
    return Math.min(this.nLat - 1, Math.max(0, Math.floor((la - this.minLat) / this.cell)));
  }
  private col(lo: number): number {
    return Math.min(this.nLon - 1, Math.max(0, Math.floor((lo - this.minLon) / this.cell)));
  }
  private key(r: number, c: number): number {
    return r * this.nLon + c;
  }

  /** Mean target of the k nearest training rows to (la, lo); `exclude` = a training row index to skip (LOO). */
  query(la: number, lo: number, exclude = -1): number {
    if (!Number.isFinite(la) || !Number.isFinite(lo)) return Number.NaN;
    const k = this.k;
    const bd = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    const bi = new Int32Array(k).fill(-1);
    const r0 = this.row(la),
      c0 = this.col(lo);
    // distance from the query to the outside of the ring-r box (queries may lie outside the grid)
    const maxRing = Math.max(this.nLat, this.nLon);
    for (let ring = 0; ring <= maxRing; ring++) {
      for (let r = r0 - ring; r <= r0 + ring; r++) {
        if (r < 0 || r >= this.nLat) continue;
        const edge = r === r0 - ring || r === r0 + ring;
        for (let c = c0 - ring; c <= c0 + ring; c += edge ? 1 : 2 * ring || 1) {
          if (c < 0 || c >= this.nLon) continue;
          const pts = this.cellOf.get(this.key(r, c));
          if (!pts) continue;
          for (const i of pts) {
            if (i === exclude) continue;
            const dla = this.lat[i] - la,
              dlo = this.lon[i] - lo;
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
        }
      }
      // every point not yet visited is at least `ring * cell` away from the query's cell border
      const reach = this.distanceToRingBorder(la, lo, r0, c0, ring);
      if (bi[k - 1] >= 0 && bd[k - 1] <= reach * reach) break;
    }
    let s = 0;
    for (let j = 0; j < k; j++) s += this.target[bi[j]];
    return s / k;
  }

  /** Smallest distance from (la, lo) to any cell outside the (2·ring+1)² block around (r0, c0). */
  private distanceToRingBorder(la: number, lo: number, r0: number, c0: number, ring: number): number {
    const top = this.minLat + (r0 + ring + 1) * this.cell - la;
    const bottom = la - (this.minLat + (r0 - ring) * this.cell);
    const right = this.minLon + (c0 + ring + 1) * this.cell - lo;
    const left = lo - (this.minLon + (c0 - ring) * this.cell);
    return Math.max(0, Math.min(top, bottom, right, left));
  }
}
