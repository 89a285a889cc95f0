/**
 * Step 05 — model selection: grid search with K-fold CV on the training split for each configured family
 * (RandomForest, GradientBoosting, Ridge, Lasso, DecisionTree), MAE scoring (on the original target scale),
 * train scores kept to flag overfitting. The winner is the family with the best mean CV score — never the
 * test set (the reference picked on test MAPE). Grids come from the selection profile (fast | full).
 */
import { deriveSeed } from "../../data/prng.ts";
import { gridSearch } from "../../ml/model_selection/index.ts";
import type { Params, ParamValue } from "../../ml/types.ts";
import type { PipelineStep } from "../context.ts";
import { family, fixedParams, loggableParams } from "../families.ts";
import { fromPlain } from "../frame-io.ts";
import { cvFolds, modelTarget, scorerName, targetTransformOf } from "./cv.ts";
import type { FeaturesOutput } from "./features.ts";
import type { IngestOutput } from "./ingest.ts";
import type { SplitOutput } from "./split.ts";

export interface FamilyResult {
  family: string;
  kind: string;
  combinations: number;
  fits: number;
  bestParams: Params;
  cvMean: number;
  cvStd: number;
  trainMean: number;
  trainStd: number;
  cvR2: number;
  overfitRatio: number;
  seconds: number;
  table: { params: Params; cvMean: number; cvStd: number; trainMean: number; rank: number }[];
}

export interface SelectOutput {
  scoring: string;
  greaterIsBetter: boolean;
  winner: string;
  results: FamilyResult[];
  folds: number;
}

export const selectStep: PipelineStep<SelectOutput> = {
  id: "05_select",
  title: "Model selection (grid search, K-fold CV)",
  deps: ["04_features"],
  configKeys: ["seed", "selection"],
  async run({ env, run, inputs, progress, log }) {
    const cfg = env.config.selection;
    const feats = inputs["04_features"] as FeaturesOutput;
    const train = fromPlain((inputs["01_ingest"] as IngestOutput).frame).take(
      (inputs["02_split"] as SplitOutput).train,
    );
    const tt = targetTransformOf(env.config);
    const y = modelTarget(feats.y, tt);
    const folds = cvFolds(train, env.contract, cfg.cv_folds, env.config.seed, 5);
    const profile = cfg.profiles[cfg.profile];
    if (!profile)
      throw new Error(`selection.profile '${cfg.profile}' is not defined under selection.profiles`);
    const primary = scorerName(cfg.scoring, tt);
    const scoring = [primary, ...(cfg.scoring === "r2" ? [] : [scorerName("r2", tt)])];
    const greaterIsBetter = cfg.scoring === "r2";
    const results: FamilyResult[] = [];
    const pool = await env.pool();
    // every family's grid search is queued on the pool at once: the workers stay busy across family boundaries
    // (a family whose last round has fewer tasks than workers no longer leaves a worker idle); results are
    // stored by (point, fold), so they do not depend on the interleaving, and are reported in cfg.models order
    // one progress bar for all of them (candidate fits done / total)
    const gridded = cfg.models.filter((name) => {
      if (profile[name]) return true;
      log(`no grid for ${name} in profile ${cfg.profile}: skipped`);
      return false;
    });
    const combosOf = (name: string) =>
      Object.values(profile[name]).reduce((p, v) => p * (v as unknown[]).length, 1);
    const doneBy = new Map<string, number>();
    const bar = progress(
      `grid search (${gridded.join(", ")})`,
      gridded.reduce((a, name) => a + combosOf(name) * folds.length, 0),
    );
    const searches = gridded.map((name) => {
      const fam = family(name);
      const grid = profile[name];
      const t0 = performance.now();
      return gridSearch({
        kind: fam.kind,
        paramGrid: grid as Record<string, readonly ParamValue[]>,
        fixedParams: fixedParams(fam, deriveSeed(env.config.seed, 50)),
        X: fam.scaled ? feats.Xscaled : feats.Xraw,
        y,
        cv: folds,
        scoring,
        returnTrainScore: true,
        refit: false,
        pool,
        onProgress: (p) => {
          doneBy.set(name, p.done);
          let sum = 0;
          for (const v of doneBy.values()) sum += v;
          bar.update(sum, name);
        },
      }).then((gs) => ({ name, fam, gs, seconds: (performance.now() - t0) / 1000 }));
    });
    const finished = await Promise.all(searches);
    bar.stop();
    for (const done of finished) {
      const { name, fam, gs } = done;
      const best = gs.results[gs.bestIndex];
      const r2Key = scoring.find((s) => s.startsWith("r2")) ?? primary;
      const fr: FamilyResult = {
        family: name,
        kind: fam.kind,
        combinations: gs.results.length,
        fits: gs.fits,
        bestParams: best.params,
        cvMean: best.meanTestScore[primary],
        cvStd: best.stdTestScore[primary],
        trainMean: best.meanTrainScore?.[primary] ?? Number.NaN,
        trainStd: best.stdTrainScore?.[primary] ?? Number.NaN,
        cvR2: best.meanTestScore[r2Key],
        overfitRatio: (best.meanTrainScore?.[primary] ?? Number.NaN) / best.meanTestScore[primary],
        seconds: done.seconds,
        table: gs.results.map((r) => ({
          params: r.params,
          cvMean: r.meanTestScore[primary],
          cvStd: r.stdTestScore[primary],
          trainMean: r.meanTrainScore?.[primary] ?? Number.NaN,
          rank: r.rankTestScore[primary],
        })),
      };
      results.push(fr);
      log(
        `${name}: CV ${cfg.scoring} ${fr.cvMean.toFixed(4)} ± ${fr.cvStd.toFixed(4)} (train ${fr.trainMean.toFixed(4)}), ${gs.fits} fits in ${fr.seconds.toFixed(1)} s`,
      );
      const child = await run.startChild(`05_select/${name}`, { family: name });
      await child.logParams(loggableParams(best.params));
      await child.logMetrics({
        cv_mean: fr.cvMean,
        cv_std: fr.cvStd,
        train_mean: fr.trainMean,
        cv_r2: fr.cvR2,
        seconds: fr.seconds,
      });
      await child.end("FINISHED");
    }
    if (results.length === 0)
      throw new Error("model selection: no model family had a grid in the selected profile");
    const winner = results.reduce(
      (b, r) => ((greaterIsBetter ? r.cvMean > b.cvMean : r.cvMean < b.cvMean) ? r : b),
      results[0],
    );
    await run.logParams({
      winner: winner.family,
      scoring: cfg.scoring,
      profile: cfg.profile,
      folds: folds.length,
      target_transform: tt,
    });
    await run.logMetrics({ winner_cv_mean: winner.cvMean, winner_cv_std: winner.cvStd });
    await run.logJson("model_comparison.json", results);
    return { scoring: cfg.scoring, greaterIsBetter, winner: winner.family, results, folds: folds.length };
  },
};
