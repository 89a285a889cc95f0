/**
 * Step 06 — hyper-parameter sweep: TPE (or random) search over the winning family's space (the reference's
 * step-06 spaces), objective = CV wMAPE on the training split (original target scale), median pruning after
 * each fold, trials in parallel on the worker pool. Trials are stored in the tracking store under a study
 * name derived from everything that defines the search, so a killed sweep resumes from the stored trials.
 * The grid winner's parameters are enqueued as trial 0, so the sweep never returns something worse than
 * step 05 found (on the sweep's own objective).
 */
import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { canonicalJson } from "../../config/load.ts";
import { deriveSeed } from "../../data/prng.ts";
import { CvRunner } from "../../ml/search/cv_objective.ts";
import { MedianPruner } from "../../ml/search/pruner.ts";
import { RandomSampler, TPESampler } from "../../ml/search/samplers.ts";
import { contains, type Distribution } from "../../ml/search/space.ts";
import { Study } from "../../ml/search/study.ts";
import type { FrozenTrial } from "../../ml/search/trial.ts";
import type { Params } from "../../ml/types.ts";
import { searchTrialStorage } from "../../tracking/trials.ts";
import type { PipelineStep } from "../context.ts";
import { family, fixedParams, loggableParams } from "../families.ts";
import { fromPlain } from "../frame-io.ts";
import { cvFolds, modelTarget, scorerName, targetTransformOf } from "./cv.ts";
import type { FeaturesOutput } from "./features.ts";
import type { IngestOutput } from "./ingest.ts";
import type { SelectOutput } from "./select.ts";
import type { SplitOutput } from "./split.ts";

export interface SweepTrialRow {
  number: number;
  state: string;
  value: number | null;
  params: Params;
  seconds: number;
}

export interface SweepOutput {
  family: string;
  kind: string;
  objective: string;
  studyName: string;
  enabled: boolean;
  bestParams: Params;
  bestValue: number | null;
  trials: SweepTrialRow[];
  resumedTrials: number;
}

export const sweepStep: PipelineStep<SweepOutput> = {
  id: "06_sweep",
  title: "Hyper-parameter sweep (TPE, CV wMAPE)",
  deps: ["05_select"],
  configKeys: ["seed", "sweep", "selection.profile", "selection.target_transform"],
  async run({ env, run, inputs, progress, log }) {
    const cfg = env.config.sweep;
    const sel = inputs["05_select"] as SelectOutput;
    const famName = cfg.model ?? sel.winner;
    const fam = family(famName);
    const gridBest = sel.results.find((r) => r.family === famName)?.bestParams ?? {};
    const fixed = fixedParams(fam, deriveSeed(env.config.seed, 50));
    if (!cfg.enabled) {
      return {
        family: famName,
        kind: fam.kind,
        objective: cfg.objective,
        studyName: "",
        enabled: false,
        bestParams: { ...fixed, ...gridBest },
        bestValue: null,
        trials: [],
        resumedTrials: 0,
      };
    }
    const nTrials = cfg.n_trials[env.config.selection.profile];
    if (nTrials === undefined)
      throw new Error(`sweep.n_trials has no entry for profile '${env.config.selection.profile}'`);
    const space = (cfg.spaces[famName] ?? {}) as Record<string, Distribution>;
    if (Object.keys(space).length === 0) throw new Error(`sweep.spaces has no search space for '${famName}'`);
    const feats = inputs["04_features"] as FeaturesOutput;
    const split = inputs["02_split"] as SplitOutput;
    const train = fromPlain((inputs["01_ingest"] as IngestOutput).frame).take(split.train);
    const tt = targetTransformOf(env.config);
    const y = modelTarget(feats.y, tt);
    const folds = cvFolds(train, env.contract, cfg.cv_folds, env.config.seed, 6);
    const scoring = scorerName(cfg.objective, tt);
    const direction = cfg.objective === "r2" ? "maximize" : "minimize";
    const seed = deriveSeed(env.config.seed, 60);
    const studyName = `sweep-${createHash("sha256")
      .update(
        canonicalJson({
          famName,
          space,
          objective: scoring,
          folds: cfg.cv_folds,
          seed,
          sampler: cfg.sampler,
          startup: cfg.n_startup_trials,
          ei: cfg.n_ei_candidates,
          pruner: cfg.pruner,
          warm: cfg.pruner_warmup_folds,
          // trial t sees the trials numbered <= t - parallel: the window is part of the study's identity
          parallel: cfg.parallel,
          train: split.trainHash,
          features: feats.options,
          fixed,
          gridBest,
        }),
      )
      .digest("hex")
      .slice(0, 16)}`;
    const sampler =
      cfg.sampler === "random"
        ? new RandomSampler(seed)
        : new TPESampler({
            seed,
            nStartupTrials: Math.min(cfg.n_startup_trials, Math.floor(nTrials / 2)),
            nEiCandidates: cfg.n_ei_candidates,
          });
    const pruner =
      cfg.pruner === "median"
        ? new MedianPruner({ nStartupTrials: 5, nWarmupSteps: cfg.pruner_warmup_folds })
        : null;
    const study = await Study.create({
      direction,
      sampler,
      pruner,
      storage: searchTrialStorage(env.tracking.store, studyName),
    });
    const resumedTrials = study.trials.length;
    if (resumedTrials > 0) log(`resuming sweep ${studyName}: ${resumedTrials} stored trial(s)`);
    const baseline: Params = {};
    for (const [k, d] of Object.entries(space))
      if (k in gridBest && contains(d, gridBest[k])) baseline[k] = gridBest[k];
    study.enqueueTrial(0, baseline);
    const pool = await env.pool();
    const runner = await CvRunner.create(fam.scaled ? feats.Xscaled : feats.Xraw, y, { cv: folds, pool });
    const bar = progress(`sweep ${famName}`, nTrials);
    let ranHere = 0;
    bar.update(Math.min(resumedTrials, nTrials));
    try {
      await study.optimize(
        async (trial) => {
          const params: Params = { ...fixed };
          for (const [k, d] of Object.entries(space)) params[k] = trial.suggest(k, d);
          return runner.evaluate(trial, fam.kind, params, scoring);
        },
        {
          nTrials,
          parallel: cfg.parallel,
          // the study is shared through the tracking store: other `mlops run` processes (or machines, on a
          // PostgreSQL store) with the same config and data join it and claim trials; a dead worker's
          // claims are taken over after the lease
          concurrency: cfg.concurrency ?? cfg.parallel,
          leaseSeconds: cfg.lease_seconds,
          workerId: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
          timeoutSeconds: cfg.timeout_seconds ?? undefined,
          onTrial: (t: FrozenTrial, s: Study) => {
            ranHere++;
            const best = s.bestValue;
            // trials finished by other workers of a shared sweep count too
            bar.update(
              Math.min(s.trials.length, nTrials),
              `best ${cfg.objective} ${best === null ? "-" : best.toFixed(3)}`,
            );
            void run.logMetric("trial_value", t.value ?? Number.NaN, t.number).catch(() => {});
            if (best !== null) void run.logMetric("best_so_far", best, t.number).catch(() => {});
          },
        },
      );
    } finally {
      bar.stop();
      await runner.close();
    }
    const best = study.bestTrial;
    if (!best) throw new Error(`sweep ${studyName}: no trial completed (all failed or pruned)`);
    const bestParams = { ...fixed, ...best.params };
    const trials = study.trials.map((t) => ({
      number: t.number,
      state: t.state,
      value: t.value,
      params: t.params,
      seconds: t.durationMs / 1000,
    }));
    await run.logParams({
      family: famName,
      objective: cfg.objective,
      study: studyName,
      n_trials: nTrials,
      ...prefixed(loggableParams(bestParams)),
    });
    await run.logMetrics({
      best_value: best.value as number,
      trials_complete: trials.filter((t) => t.state === "complete").length,
      trials_pruned: trials.filter((t) => t.state === "pruned").length,
    });
    await run.logJson("sweep_trials.json", trials);
    log(
      `sweep ${famName}: best CV ${cfg.objective} ${(best.value as number).toFixed(3)} (trial ${best.number} of ${trials.length}; ` +
        `${ranHere} run by this process, ${resumedTrials} stored before it started)`,
    );
    return {
      family: famName,
      kind: fam.kind,
      objective: cfg.objective,
      studyName,
      enabled: true,
      bestParams,
      bestValue: best.value,
      trials,
      resumedTrials,
    };
  },
};

function prefixed(p: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [`best.${k}`, v]));
}
