/**
 * Scoring one candidate K of the geo clusters (step 04): k-means on (latitude, longitude) and the cluster scores of
 * a fixed row sample. A plain function of plain data, so the candidates can run as worker-pool tasks
 * (`pool.call(GEO_K_MODULE, "scoreGeoK", ...)`), in parallel, with the same results as in the main thread.
 */
import { calinskiHarabaszScore, daviesBouldinScore, KMeans, silhouetteScore } from "../ml/cluster.ts";
import { matrix, takeRows } from "../ml/types.ts";

export interface KScore {
  k: number;
  silhouette: number;
  calinskiHarabasz: number;
  daviesBouldin: number;
  inertia: number;
}

/** This module's URL, for `pool.call`. */
export const GEO_K_MODULE = import.meta.url;

/**
 * @param latLon row-major (latitude, longitude) pairs of the training rows
 * @param sampleIdx rows whose labels are scored (silhouette and friends are quadratic in the rows)
 */
export function scoreGeoK(
  latLon: Float64Array,
  k: number,
  nInit: number,
  seed: number,
  sampleIdx: ArrayLike<number>,
): KScore {
  const n = latLon.length / 2;
  const LL = matrix(n, 2, latLon, ["latitude", "longitude"]);
  const km = new KMeans({ n_clusters: k, n_init: nInit, random_state: seed }).fit(LL);
  const labels = km.labels_!;
  const m = sampleIdx.length;
  const ls = new Int32Array(m);
  for (let t = 0; t < m; t++) ls[t] = labels[sampleIdx[t]];
  const LLs = takeRows(LL, sampleIdx);
  return {
    k,
    silhouette: silhouetteScore(LLs, ls),
    calinskiHarabasz: calinskiHarabaszScore(LLs, ls),
    daviesBouldin: daviesBouldinScore(LLs, ls),
    inertia: km.inertia_,
  };
}
