/** Building forest trees: shared by the main thread and the worker threads (pure function of the job + tree index). */
import { deriveSeed, Rng } from "../../data/prng.ts";
import type { BinnedData } from "./binning.ts";
import type { GrowParams, TreeArrays, TreeGrower } from "./core.ts";

export interface ForestJob {
  data: BinnedData;
  y: Float64Array;
  sampleWeight: Float64Array | null;
  grow: GrowParams;
  seed: number;
  bootstrap: boolean;
  nBootstrap: number;
}

/** Seed of tree `i` of a forest with random_state `seed` (independent of n_estimators and of n_jobs). */
export function treeSeed(seed: number, i: number): number {
  return deriveSeed(seed, i);
}

/** Build tree `i` of the forest. `grower` may be reused across calls with the same dataset. */
export function buildForestTree(
  job: ForestJob,
  i: number,
  grower: TreeGrower,
  scratch: { w?: Float64Array; rows?: Uint32Array },
): TreeArrays {
  const n = job.data.rows;
  const ts = treeSeed(job.seed, i);
  const sw = job.sampleWeight;
  let w: Float64Array | null = null;
  let rows: Uint32Array;
  if (job.bootstrap) {
    if (!scratch.w || scratch.w.length !== n) scratch.w = new Float64Array(n);
    w = scratch.w;
    w.fill(0);
    const rng = new Rng(deriveSeed(ts, 0xb007));
    for (let k = 0; k < job.nBootstrap; k++) w[rng.int(n)] += 1;
    let m = 0;
    for (let r = 0; r < n; r++) {
      if (sw) w[r] *= sw[r];
      if (w[r] > 0) m++;
    }
    // the row buffer is reused across trees (the grower partitions it in place; trees keep no reference to it)
    if (!scratch.rows || scratch.rows.length !== n) scratch.rows = new Uint32Array(n);
    rows = scratch.rows.subarray(0, m);
    m = 0;
    for (let r = 0; r < n; r++) if (w[r] > 0) rows[m++] = r;
  } else {
    w = sw;
    let m = 0;
    for (let r = 0; r < n; r++) if (!sw || sw[r] > 0) m++;
    rows = new Uint32Array(m);
    m = 0;
    for (let r = 0; r < n; r++) if (!sw || sw[r] > 0) rows[m++] = r;
  }
  let wTotal = rows.length;
  if (w) {
    wTotal = 0;
    for (let k = 0; k < rows.length; k++) wTotal += w[rows[k]];
  }
  const gp: GrowParams = { ...job.grow, seed: ts, minWeightLeaf: job.grow.minWeightLeaf * wTotal };
  // forest trees are grown deep: most of their nodes are small, where carried row lists beat histograms
  if (grower.listMax === 0) grower.useRowLists();
  grower.keepRanges = false;
  return grower.grow(job.y, w, rows, gp).tree;
}
