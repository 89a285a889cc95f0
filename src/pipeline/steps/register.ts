/**
 * Step 07 — register: refit the tuned model on the whole training split, calibrate conformal prediction
 * intervals on out-of-fold predictions (training split only), evaluate once on the held-out test split (all
 * metrics, interval coverage, errors per segment and price band), and register a ModelBundle (feature
 * pipeline + model + intervals + input example) with full lineage under alias `staging`.
 */
import { execFileSync } from "node:child_process";
import { canonicalJson } from "../../config/load.ts";
import type { Frame } from "../../data/frame.ts";
import { deriveSeed, Rng } from "../../data/prng.ts";
import { type BundleMeta, inverseTarget, ModelBundle } from "../../features/bundle.ts";
import { FeaturePipeline } from "../../features/pipeline.ts";
import { encodeModel } from "../../ml/codec.ts";
import { calibrateIntervals, empiricalCoverage, meanWidth } from "../../ml/intervals.ts";
import { evaluateRegression } from "../../ml/metrics.ts";
import { FIT_SCORE_MODULE } from "../../ml/model_selection/fit_score.ts";
import { crossValidate } from "../../ml/model_selection/index.ts";
import { regressorFromState } from "../../ml/registry.ts";
import type { ModelState } from "../../ml/types.ts";
import { buildReferenceProfile, serializeReferenceProfile } from "../../monitoring/reference.ts";
import { sha256Hex } from "../../tracking/artifacts.ts";
import type { PipelineStep } from "../context.ts";
import { family } from "../families.ts";
import { fromPlain } from "../frame-io.ts";
import { cvFolds, modelTarget, targetTransformOf } from "./cv.ts";
import type { FeaturesOutput } from "./features.ts";
import type { IngestOutput } from "./ingest.ts";
import type { SplitOutput } from "./split.ts";
import type { SweepOutput } from "./sweep.ts";

export interface SegmentError {
  segment: string;
  value: string;
  n: number;
  mae: number;
  mape: number;
  wmape: number;
  within_10pct: number;
}

export interface RegisterOutput {
  modelName: string;
  version: number;
  alias: string;
  artifactSha: string;
  family: string;
  kind: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  interval: {
    level: number;
    method: string;
    qhat: number;
    testCoverage: number;
    meanWidth: number;
    candidates: unknown;
  };
  segments: SegmentError[];
  featureImportance: { feature: string; importance: number }[];
  /** Predictions for every test row, in split order (serving-equivalence checks). */
  testPredictions: Float64Array;
  /** ≤ 2,000 sampled test points for plots */
  plot: { actual: number[]; predicted: number[] };
  trainRows: number;
  testRows: number;
  fitSeconds: number;
}

function gitCommit(cwd: string): string | null {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

export function segmentErrors(
  frame: Frame,
  y: Float64Array,
  p: Float64Array,
  column: string,
  label: string,
): SegmentError[] {
  const groups = new Map<string, number[]>();
  const c = frame.col(column);
  for (let i = 0; i < frame.nRows; i++) {
    let key: string;
    if (c.kind === "categorical") key = c.codes[i] < 0 ? "(missing)" : c.levels[c.codes[i]];
    else key = String(c.values[i]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([value, idx]) => {
      const yy = Float64Array.from(idx, (i) => y[i]);
      const pp = Float64Array.from(idx, (i) => p[i]);
      const m = evaluateRegression(yy, pp, { safe: true });
      return {
        segment: label,
        value,
        n: idx.length,
        mae: m.mae,
        mape: m.mape,
        wmape: m.wmape,
        within_10pct: m.within_10pct,
      };
    });
}

/** Price bands at the training target's quintiles (dataset-agnostic). */
export function bandErrors(yTrain: Float64Array, y: Float64Array, p: Float64Array): SegmentError[] {
  const s = Float64Array.from(yTrain).sort();
  const edges = [0.2, 0.4, 0.6, 0.8].map((q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  const bandOf = (v: number) => {
    let b = 0;
    while (b < edges.length && v >= edges[b]) b++;
    return b;
  };
  const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${Math.round(v / 1000)}k` : v.toPrecision(3));
  const names = [
    `< ${fmt(edges[0])}`,
    ...edges.slice(0, -1).map((e, i) => `${fmt(e)}–${fmt(edges[i + 1])}`),
    `≥ ${fmt(edges[3])}`,
  ];
  const groups: number[][] = names.map(() => []);
  for (let i = 0; i < y.length; i++) groups[bandOf(y[i])].push(i);
  return groups.flatMap((idx, b) => {
    if (idx.length === 0) return [];
    const m = evaluateRegression(
      Float64Array.from(idx, (i) => y[i]),
      Float64Array.from(idx, (i) => p[i]),
      { safe: true },
    );
    return [
      {
        segment: "price_band",
        value: names[b],
        n: idx.length,
        mae: m.mae,
        mape: m.mape,
        wmape: m.wmape,
        within_10pct: m.within_10pct,
      },
    ];
  });
}

export const registerStep: PipelineStep<RegisterOutput> = {
  id: "07_register",
  title: "Refit, evaluate on test once, register",
  deps: ["06_sweep"],
  configKeys: [
    "seed",
    "register",
    "model_name",
    "selection.cv_folds",
    "selection.target_transform",
    "monitoring.reference",
  ],
  async run({ env, run, inputs, log }) {
    const sw = inputs["06_sweep"] as SweepOutput;
    const feats = inputs["04_features"] as FeaturesOutput;
    const split = inputs["02_split"] as SplitOutput;
    const ing = inputs["01_ingest"] as IngestOutput;
    const full = fromPlain(ing.frame);
    const train = full.take(split.train);
    const fam = family(sw.family);
    const tt = targetTransformOf(env.config);
    const X = fam.scaled ? feats.Xscaled : feats.Xraw;
    const yModel = modelTarget(feats.y, tt);

    // conformal calibration on out-of-fold predictions of the training split, and the final refit on the whole
    // split: all of them tasks on the worker pool at once (the refit does not wait for the folds)
    const pool = await env.pool();
    const [cv, refit] = await Promise.all([
      crossValidate({ kind: sw.kind, params: sw.bestParams }, X, yModel, {
        cv: cvFolds(train, env.contract, env.config.selection.cv_folds, env.config.seed, 7),
        scoring: ["mae"],
        returnOofPredictions: true,
        pool,
      }),
      pool.call<{ state: ModelState; seconds: number }>(
        FIT_SCORE_MODULE,
        "fitToState",
        sw.kind,
        sw.bestParams,
        X,
        yModel,
      ),
    ]);
    const oof = inverseTarget(cv.oofPredictions as Float64Array, tt);
    const level = env.config.register.interval_level;
    const intervals = calibrateIntervals(feats.y, oof, { level, seed: deriveSeed(env.config.seed, 71) });
    const model = regressorFromState(refit.state);
    const fitSeconds = refit.seconds;
    const pipeline = FeaturePipeline.fromState(fam.scaled ? feats.pipelines.scaled : feats.pipelines.raw);
    const inputCols = env.contract.columns.map((c) => c.name).filter((n) => n !== env.contract.target);
    const exampleIdx = new Rng(deriveSeed(env.config.seed, 72)).sampleWithoutReplacement(
      train.nRows,
      Math.min(5, train.nRows),
    );
    const exampleFrame = train.take(exampleIdx).select(inputCols);
    const meta: BundleMeta = {
      modelKind: sw.kind,
      family: sw.family,
      params: sw.bestParams,
      trainedAt: new Date().toISOString(),
      dataHash: ing.dataHash,
      testSetHash: split.testSetHash,
      configHash: env.configHash,
      runId: env.run.runId,
      featureNames: pipeline.featureNames,
      inputExample: Array.from({ length: exampleFrame.nRows }, (_, i) => exampleFrame.row(i)),
      examplePredictions: [],
    };
    let bundle = new ModelBundle(pipeline, model, tt, intervals.chosen, meta);
    meta.examplePredictions = Array.from(bundle.predictPoint(exampleFrame));

    // the one and only use of the test split
    const test = full.take(split.test);
    const yTest = Float64Array.from(test.numeric(env.contract.target));
    const pred = bundle.predictFrame(test.select(inputCols));
    const m = evaluateRegression(yTest, pred.predictions, { safe: true });
    const coverage = empiricalCoverage(yTest, pred.lower, pred.upper);
    const width = meanWidth(pred.lower, pred.upper);
    const metrics: Record<string, number> = { ...m, interval_coverage: coverage, interval_mean_width: width };
    meta.metrics = metrics;
    bundle = new ModelBundle(pipeline, model, tt, intervals.chosen, meta);

    const segments: SegmentError[] = [];
    for (const c of env.contract.columns) {
      if (c.type === "categorical" && c.name !== env.contract.target)
        segments.push(...segmentErrors(test, yTest, pred.predictions, c.name, c.name));
    }
    segments.push(...bandErrors(feats.y, yTest, pred.predictions));
    const imp = model.featureImportances?.();
    const featureImportance = imp
      ? pipeline.featureNames
          .map((f, j) => ({ feature: f, importance: imp[j] }))
          .sort((a, b) => b.importance - a.importance)
      : [];
    const sampleIdx = new Rng(deriveSeed(env.config.seed, 73)).sampleWithoutReplacement(
      test.nRows,
      Math.min(2000, test.nRows),
    );
    const plot = {
      actual: Array.from(sampleIdx, (i) => yTest[i]),
      predicted: Array.from(sampleIdx, (i) => pred.predictions[i]),
    };

    const bytes = bundle.encode();
    const art = await run.logArtifact("model/bundle.tmlm", bytes, "application/octet-stream");
    const fpArt = await env.tracking.artifacts.put(encodeModel(pipeline.toState()));
    await run.logMetrics(metrics);
    await run.logParams({
      family: sw.family,
      kind: sw.kind,
      target_transform: tt,
      interval_method: intervals.chosen.method,
    });
    // drift reference: the training split's inputs + target, and the out-of-fold predictions (what the model
    // predicts on rows it has not seen, the distribution serving should reproduce) — binned, no raw rows
    const refCfg = env.config.monitoring.reference;
    const profile = buildReferenceProfile(train, env.contract, {
      predictions: oof,
      bins: refCfg.bins,
      fineBins: refCfg.fine_bins,
      reservoirSize: refCfg.reservoir,
      seed: deriveSeed(env.config.seed, 74),
      meta: {
        model: env.config.model_name,
        dataHash: ing.dataHash,
        trainHash: split.trainHash,
        runId: env.run.runId,
      },
    });
    const refArt = await run.logArtifact(
      "monitoring/reference_profile.json",
      Buffer.from(serializeReferenceProfile(profile)),
      "application/json",
    );
    await run.logJson("segments.json", segments);
    await run.logJson("feature_importance.json", featureImportance);
    await run.logJson("predictions_sample.json", plot);
    const alias = env.config.register.alias;
    // one registration per fitted model of one study: every worker of a shared sweep that runs this step refits
    // the same model bit for bit, and they (or an identical re-run with --force) reuse the first one's version
    const identity = canonicalJson({
      model: sha256Hex(encodeModel(refit.state)),
      featurePipeline: fpArt.sha256,
      targetTransform: tt,
      interval: intervals.chosen,
      config: env.configHash,
      data: ing.dataHash,
      train: split.trainHash,
      test: split.testSetHash,
    });
    const registrationKey = `${sw.studyName || "no-sweep"}/${sha256Hex(Buffer.from(identity))}`;
    const mv = await env.tracking.registry.registerModelVersion({
      name: env.config.model_name,
      runId: env.run.runId,
      artifactSha: art.sha256,
      metrics,
      lineage: {
        dataHash: ing.dataHash,
        testSetHash: split.testSetHash,
        trainHash: split.trainHash,
        configHash: env.configHash,
        resolvedConfig: env.resolved,
        gitCommit: gitCommit(env.root),
        featurePipelineSha: fpArt.sha256,
        referenceProfileSha: refArt.sha256,
        params: sw.bestParams,
        family: sw.family,
        kind: sw.kind,
        targetTransform: tt,
        interval: intervals.chosen,
        source: ing.source,
        pipelineRunId: env.run.runId,
        stepRunId: run.runId,
      },
      inputExample: meta.inputExample,
      tags: { family: sw.family },
      registrationKey,
    });
    if (mv.runId !== env.run.runId) {
      // registered before by another run (its alias was set then; moving it again could undo a later move)
      log(
        `${env.config.model_name} v${mv.version} (${sw.family}) is this fitted model, registered by run ${mv.runId ?? "?"}: no new version`,
      );
    } else {
      await env.tracking.registry.setAlias(env.config.model_name, alias, mv.version, {
        reason: `registered by pipeline run ${env.run.runId}`,
      });
      log(
        `registered ${env.config.model_name} v${mv.version} (${sw.family}) as '${alias}': test R² ${m.r2.toFixed(4)}, MAPE ${m.mape.toFixed(2)} %, MAE ${m.mae.toFixed(0)}, interval coverage ${(coverage * 100).toFixed(1)} %`,
      );
    }
    return {
      modelName: env.config.model_name,
      version: mv.version,
      alias,
      // the registered bundle (an earlier run's when this fitted model was registered before)
      artifactSha: mv.artifactSha,
      family: sw.family,
      kind: sw.kind,
      params: sw.bestParams,
      metrics,
      interval: {
        level,
        method: intervals.chosen.method,
        qhat: intervals.chosen.qhat,
        testCoverage: coverage,
        meanWidth: width,
        candidates: intervals.candidates,
      },
      segments,
      featureImportance,
      plot,
      testPredictions: pred.predictions,
      trainRows: train.nRows,
      testRows: test.nRows,
      fitSeconds,
    };
  },
};
