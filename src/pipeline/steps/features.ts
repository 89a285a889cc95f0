/**
 * Step 04 — feature engineering, fitted on the training split only: geo clusters with K chosen over
 * [k_min, k_max] by silhouette (seeded row sample; Calinski–Harabasz, Davies–Bouldin and inertia recorded
 * for the elbow plot), then the FeaturePipeline (imputer chosen by step 03, ratio features, one-hot,
 * cluster label + RBF similarities) in two variants: raw for tree models and standardised for linear ones.
 * The fitted pipelines are stored as artifacts and travel inside every registered model bundle.
 */
import { deriveSeed, Rng } from "../../data/prng.ts";
import { FeaturePipeline, type FeatureOptions } from "../../features/pipeline.ts";
import { GEO_K_MODULE, type KScore } from "../../features/geo_k.ts";
import { encodeModel } from "../../ml/codec.ts";
import type { Matrix, ModelState } from "../../ml/types.ts";
import type { PipelineStep } from "../context.ts";
import { fromPlain } from "../frame-io.ts";
import { modelTarget, targetTransformOf } from "./cv.ts";
import type { ImputeOutput } from "./impute.ts";
import type { IngestOutput } from "./ingest.ts";
import type { SplitOutput } from "./split.ts";

export type { KScore } from "../../features/geo_k.ts";

export interface FeaturesOutput {
  k: number | null;
  kScores: KScore[];
  featureNames: string[];
  /** Fitted pipelines: raw (trees) and scaled (linear models). */
  pipelines: { raw: ModelState; scaled: ModelState };
  Xraw: Matrix;
  Xscaled: Matrix;
  y: Float64Array;
  options: FeatureOptions;
}

export const featuresStep: PipelineStep<FeaturesOutput> = {
  id: "04_features",
  title: "Feature engineering (geo clusters, ratios, one-hot)",
  deps: ["01_ingest", "02_split", "03_impute"],
  configKeys: ["seed", "features", "impute.knn_k", "impute.iterative_max_iter", "selection.target_transform"],
  async run({ env, run, inputs, progress, log }) {
    const fcfg = env.config.features;
    const train = fromPlain((inputs["01_ingest"] as IngestOutput).frame).take(
      (inputs["02_split"] as SplitOutput).train,
    );
    const winner = (inputs["03_impute"] as ImputeOutput).winner;
    const geoCfg = fcfg.geo_clusters;
    const kScores: KScore[] = [];
    let k: number | null = null;
    const seed = deriveSeed(env.config.seed, 4);
    if (geoCfg.enabled && env.contract.geo) {
      const lat = train.numeric(env.contract.geo.latitude),
        lon = train.numeric(env.contract.geo.longitude);
      const ll = new Float64Array(train.nRows * 2);
      for (let i = 0; i < train.nRows; i++) {
        ll[2 * i] = lat[i];
        ll[2 * i + 1] = lon[i];
      }
      if (geoCfg.selection === "fixed") {
        if (geoCfg.k === null)
          throw new Error("features.geo_clusters.selection = fixed needs features.geo_clusters.k");
        k = geoCfg.k;
      } else {
        const kMax = Math.min(geoCfg.k_max, train.nRows - 1);
        const bar = progress("geo K selection", kMax - geoCfg.k_min + 1);
        const sampleN = Math.min(geoCfg.silhouette_sample, train.nRows);
        const sampleIdx = new Rng(deriveSeed(seed, 1)).sampleWithoutReplacement(train.nRows, sampleN);
        // every candidate K is a worker-pool task (k-means with n_init restarts + the sample's scores)
        const pool = await env.pool();
        const ks = Array.from({ length: kMax - geoCfg.k_min + 1 }, (_, t) => geoCfg.k_min + t);
        const scored = await Promise.all(
          ks.map((kk) =>
            pool.call<KScore>(GEO_K_MODULE, "scoreGeoK", ll, kk, geoCfg.n_init, seed, sampleIdx).then((s) => {
              bar.tick(1, `K=${kk}`);
              return s;
            }),
          ),
        );
        kScores.push(...scored);
        bar.stop();
        const by = geoCfg.selection === "calinski_harabasz" ? "calinskiHarabasz" : "silhouette";
        k = kScores.reduce((b, s) => (s[by] > b[by] ? s : b), kScores[0]).k;
        for (const s of kScores) {
          await run.logMetrics(
            {
              silhouette: s.silhouette,
              calinski_harabasz: s.calinskiHarabasz,
              davies_bouldin: s.daviesBouldin,
              inertia: s.inertia,
            },
            s.k,
          );
        }
      }
      log(`geo clusters: K=${k}`);
    }
    const options: FeatureOptions = {
      imputer: {
        strategy: winner,
        knnK: env.config.impute.knn_k,
        iterativeMaxIter: env.config.impute.iterative_max_iter,
        seed: deriveSeed(env.config.seed, 31),
      },
      ratios: fcfg.ratios,
      oneHot: fcfg.one_hot,
      geo: k === null ? null : { k, gamma: geoCfg.rbf_gamma, seed, nInit: geoCfg.n_init },
      scale: false,
      neighbors: fcfg.geo_neighbors.enabled && env.contract.geo ? { k: fcfg.geo_neighbors.k } : null,
    };
    const y = Float64Array.from(train.numeric(env.contract.target));
    const yModel = modelTarget(y, targetTransformOf(env.config));
    const raw = new FeaturePipeline(env.contract, options);
    const Xraw = raw.fitTransform(train, yModel);
    // the linear-model variant: the same fitted parts + standardisation (when features.scale)
    const { pipeline: scaled, X: Xscaled } = fcfg.scale ? raw.withScaling(Xraw) : { pipeline: raw, X: Xraw };
    const pipelines = { raw: raw.toState(), scaled: scaled.toState() };
    await run.logParams({ k: k ?? "none", imputer: winner, n_features: raw.featureNames.length });
    await run.logJson("feature_names.json", raw.featureNames);
    await run.logJson("k_selection.json", kScores);
    await run.logArtifact("feature_pipeline_raw.bin", encodeModel(pipelines.raw), "application/octet-stream");
    await run.logArtifact(
      "feature_pipeline_scaled.bin",
      encodeModel(pipelines.scaled),
      "application/octet-stream",
    );
    return { k, kScores, featureNames: raw.featureNames, pipelines, Xraw, Xscaled, y, options };
  },
};
