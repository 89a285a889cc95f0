/**
 * `mlops run [overrides...]` — the training pipeline (steps 01–07) with step caching, then gated promotion.
 */
import type { Command } from "commander";
import { type TrainResult, train } from "../../pipeline/pipeline.ts";
import type { StepEvent } from "../../pipeline/runner.ts";
import type { RegisterOutput } from "../../pipeline/steps/register.ts";
import {
  CliError,
  type GlobalOptions,
  createProgress,
  globalOptions,
  info,
  printJson,
  printTable,
} from "../util.ts";
import { loadConfigForCli } from "./config.ts";

export interface RunCliOptions {
  steps?: string;
  from?: string;
  force?: boolean;
  promote?: boolean;
}

/** Runs the pipeline with CLI progress/logging; shared by `run` and `start`. */
export async function runTrainingFromCli(
  g: GlobalOptions,
  overrides: readonly string[],
  o: RunCliOptions,
): Promise<TrainResult> {
  const loaded = loadConfigForCli(g, overrides);
  const started = new Map<string, number>();
  const onEvent = (e: StepEvent) => {
    if (e.status === "running") {
      started.set(e.step, Date.now());
      info(`▶ ${e.step}`, g);
    } else if (e.status === "done") info(`✔ ${e.step} (${((e.durationMs ?? 0) / 1000).toFixed(1)} s)`, g);
    else if (e.status === "cached") info(`↺ ${e.step} (cached)`, g);
    else if (e.status === "failed") info(`✘ ${e.step}: ${e.error}`, g);
  };
  return train({
    loaded,
    steps: o.steps
      ? o.steps
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    from: o.from,
    force: o.force,
    promote: o.promote,
    onEvent,
    progress: (label, total) => {
      const p = createProgress({ total, label: `  ${label}`, json: g.json, quiet: g.quiet });
      return {
        tick: (n, msg) => p.tick(n, msg === undefined ? undefined : { info: msg }),
        update: (v, msg) => p.update(v, msg === undefined ? undefined : { info: msg }),
        stop: () => p.stop(),
      };
    },
    log: (msg) => info(`  ${msg}`, g),
  });
}

export function summarize(r: TrainResult): Record<string, unknown> {
  const reg = r.registered;
  return {
    run_id: r.runId,
    seconds: Number(r.seconds.toFixed(2)),
    steps: r.events
      .filter((e) => e.status !== "running")
      .map((e) => ({ step: e.step, status: e.status, seconds: e.durationMs ? e.durationMs / 1000 : null })),
    model: reg
      ? {
          name: reg.modelName,
          version: reg.version,
          family: reg.family,
          params: reg.params,
          metrics: reg.metrics,
        }
      : null,
    promotion: r.promotion ? { promoted: r.promotion.promoted, gates: r.promotion.gates } : null,
    promotion_error: r.promotionError,
    home: r.home,
  };
}

export function printTrainSummary(r: TrainResult, g: GlobalOptions): void {
  if (g.json) {
    printJson(summarize(r));
    return;
  }
  const reg: RegisterOutput | null = r.registered;
  printTable(
    r.events
      .filter((e) => e.status !== "running")
      .map((e) => ({
        step: e.step,
        status: e.status,
        seconds: e.durationMs ? (e.durationMs / 1000).toFixed(1) : "-",
      })),
  );
  if (reg) {
    const m = reg.metrics;
    process.stdout.write(
      `\nmodel ${reg.modelName} v${reg.version} (${reg.family}) — test R² ${m.r2.toFixed(4)}, MAPE ${m.mape.toFixed(2)} %, wMAPE ${m.wmape.toFixed(2)} %, MAE ${m.mae.toFixed(0)}, ` +
        `within 10 % ${m.within_10pct.toFixed(1)} %, ${(reg.interval.level * 100).toFixed(0)} % interval coverage ${(reg.interval.testCoverage * 100).toFixed(1)} %\n`,
    );
  }
  if (r.reportPath) process.stdout.write(`report: ${r.reportPath}\n`);
  if (r.promotion) {
    process.stdout.write(
      `promotion to production: ${r.promotion.promoted ? "done" : r.promotionError ? "refused" : "unchanged"}\n`,
    );
    printTable(
      r.promotion.gates.map((gt) => ({
        gate: gt.name,
        passed: gt.passed ? "yes" : "NO",
        actual: gt.actual,
        threshold: gt.threshold,
      })),
    );
  } else if (r.promotionError) {
    process.stdout.write(`promotion refused: ${r.promotionError}\n`);
  }
  process.stdout.write(`run ${r.runId} in ${r.seconds.toFixed(1)} s (home ${r.home})\n`);
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description(
      "run the training pipeline (01 ingest … 07 register) with step caching, then promote through the gates",
    )
    .argument(
      "[overrides...]",
      "Hydra-style config overrides, e.g. selection.profile=full sweep.n_trials.full=80",
    )
    .option(
      "--steps <list>",
      "run only these steps (comma-separated ids or numbers, e.g. 03,05); their inputs must be cached",
    )
    .option("--from <step>", "re-run this step and all later ones, ignoring the cache")
    .option("--force", "ignore the step cache")
    .option("--no-promote", "do not promote to production even when config.promote.auto is true")
    .addHelpText("after", "\nSteps: 01_ingest 02_split 03_impute 04_features 05_select 06_sweep 07_register")
    .action(async (overrides: string[], o: RunCliOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const r = await runTrainingFromCli(g, overrides, o);
      printTrainSummary(r, g);
      if (!r.registered && !o.steps) throw new CliError("pipeline finished without registering a model");
    });
}
