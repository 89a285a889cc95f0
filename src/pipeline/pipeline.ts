/**
 * The training pipeline: steps 01–07 on the runner, recorded in the tracking store (one pipeline run with a
 * nested run per step), followed by gated promotion. Dataset-agnostic: everything dataset-specific comes from
 * the dataset contract YAML named by `data.dataset`.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LoadedConfig, REPO_ROOT, datasetContractPath, resolveHome } from "../config/load.ts";
import { loadContract } from "../data/contract.ts";
import { WorkerPool } from "../ml/pool/pool.ts";
import {
  type ActiveRun,
  type PromotionResult,
  type Tracking,
  openTracking,
  startRun,
} from "../tracking/index.ts";
import type { PipelineEnv, PipelineStep, StepContext } from "./context.ts";
import { renderRunReport } from "./report.ts";
import {
  type ProgressHandle,
  type RunOptions,
  type StepDef,
  type StepEvent,
  StepCache,
  codeVersion,
  runPipeline,
} from "./runner.ts";
import { featuresStep } from "./steps/features.ts";
import { imputeStep } from "./steps/impute.ts";
import { ingestStep } from "./steps/ingest.ts";
import { type RegisterOutput, registerStep } from "./steps/register.ts";
import { selectStep } from "./steps/select.ts";
import { splitStep } from "./steps/split.ts";
import { sweepStep } from "./steps/sweep.ts";

export const STEPS: readonly PipelineStep<unknown>[] = [
  ingestStep,
  splitStep,
  imputeStep,
  featuresStep,
  selectStep,
  sweepStep,
  registerStep,
] as PipelineStep<unknown>[];

export interface TrainOptions extends Pick<RunOptions, "steps" | "from" | "force"> {
  loaded: LoadedConfig;
  /** Promote to production when gates pass (default: config.promote.auto). */
  promote?: boolean;
  onEvent?: (e: StepEvent) => void;
  progress?: (label: string, total: number) => ProgressHandle;
  log?: (msg: string) => void;
  /** Worker threads for CV/grid/sweep (default: all cores). */
  nJobs?: number;
  /** Open tracking here instead of config.home. */
  tracking?: Tracking;
}

export interface TrainResult {
  runId: string;
  events: StepEvent[];
  outputs: Record<string, unknown>;
  registered: RegisterOutput | null;
  promotion: PromotionResult | null;
  promotionError: string | null;
  home: string;
  seconds: number;
  /** `<home>/reports/<runId>.html` when step 07 ran or was cached, else null. */
  reportPath: string | null;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const { config, resolved, hash } = opts.loaded;
  const home = resolveHome(config);
  const tracking = opts.tracking ?? openTracking({ home });
  const contractPath = datasetContractPath(config);
  const contract = loadContract(contractPath);
  const log = opts.log ?? (() => {});
  const parent = await startRun(tracking, {
    experiment: config.experiment,
    name: `pipeline ${new Date().toISOString()}`,
    tags: { kind: "pipeline", config_hash: hash, dataset: contract.name },
  });
  await parent.logJson("resolved_config.json", resolved);
  await parent.logParams({
    config_hash: hash,
    dataset: contract.name,
    seed: config.seed,
    profile: config.selection.profile,
  });
  let poolP: Promise<WorkerPool> | null = null;
  const env: PipelineEnv = {
    config,
    resolved,
    configHash: hash,
    contract,
    contractPath,
    tracking,
    run: parent,
    root: REPO_ROOT,
    pool: () => {
      poolP ??= WorkerPool.create({ size: opts.nJobs });
      return poolP;
    },
  };
  const closePool = async () => {
    if (poolP) await (await poolP).close();
    poolP = null;
  };
  const stepRuns = new Map<string, ActiveRun>();
  const defs: StepDef<PipelineEnv>[] = STEPS.map((s) => ({
    id: s.id,
    title: s.title,
    deps: s.deps,
    configKeys: s.configKeys.map((k) => `config.${k}`),
    cacheSalt: s.cacheSalt
      ? (e: PipelineEnv) => (s.cacheSalt as (e: PipelineEnv) => string | Promise<string>)(e)
      : () => contract.name + JSON.stringify(contract),
    async run(rt) {
      const run = await parent.startChild(s.id, { kind: "step", step: s.id });
      stepRuns.set(s.id, run);
      const ctx: StepContext = { env, run, inputs: rt.inputs, progress: rt.progress, log: rt.log };
      try {
        const out = await s.run(ctx);
        await run.end("FINISHED");
        return out;
      } catch (err) {
        await run.setTags({ error: String((err as Error)?.message ?? err).slice(0, 4000) }).catch(() => {});
        await run.end("FAILED").catch(() => {});
        throw err;
      }
    },
  }));
  const code = codeVersion(["data", "features", "ml", "pipeline", "config"]);
  const cache = new StepCache(join(home, "cache"));
  let result: Awaited<ReturnType<typeof runPipeline>>;
  try {
    result = await runPipeline(defs, env, cache, code, {
      steps: opts.steps,
      from: opts.from,
      force: opts.force,
      onEvent: async (e) => {
        opts.onEvent?.(e);
        // start the worker pool (≈ 1 s: a thread per core loading the estimators) while step 03 runs on this
        // thread, so it is ready for steps 04–07; a fully cached run never pays for it
        if (e.step === "03_impute" && e.status === "running") void env.pool().catch(() => {});
        if (e.status === "cached") await parent.setTags({ [`step.${e.step}`]: "cached" }).catch(() => {});
      },
      progress: opts.progress,
      log,
    });
  } catch (err) {
    await closePool().catch(() => {});
    await parent.setTags({ error: String((err as Error)?.message ?? err).slice(0, 4000) }).catch(() => {});
    await parent.end("FAILED").catch(() => {});
    if (!opts.tracking) await tracking.close();
    throw err;
  }
  await closePool();
  const registered = (result.outputs["07_register"] as RegisterOutput | undefined) ?? null;
  let promotion: PromotionResult | null = null;
  let promotionError: string | null = null;
  const wantPromote = opts.promote ?? config.promote.auto;
  if (registered && wantPromote) {
    try {
      promotion = await promoteVersion(
        tracking,
        opts.loaded,
        registered.version,
        `auto-promotion by pipeline run ${parent.runId}`,
      );
    } catch (err) {
      promotionError = (err as Error).message;
      const gates = (err as { result?: PromotionResult }).result?.gates;
      if (gates) promotion = (err as { result: PromotionResult }).result;
      log(`promotion refused: ${promotionError}`);
    }
  }
  let reportPath: string | null = null;
  if (registered) {
    const html = renderRunReport(result.outputs, {
      runId: parent.runId,
      configHash: hash,
      dataset: contract.name,
      startedAt,
      seconds: (performance.now() - t0) / 1000,
    });
    await parent.logArtifact("report.html", Buffer.from(html), "text/html");
    mkdirSync(join(home, "reports"), { recursive: true });
    reportPath = join(home, "reports", `${parent.runId}.html`);
    const tmp = `${reportPath}.${process.pid}.tmp`;
    writeFileSync(tmp, html);
    renameSync(tmp, reportPath);
  }
  await parent.logMetrics({ seconds: (performance.now() - t0) / 1000 });
  await parent.end("FINISHED");
  if (!opts.tracking) await tracking.close();
  return {
    runId: parent.runId,
    events: result.events,
    outputs: result.outputs,
    registered,
    promotion,
    promotionError,
    home,
    seconds: (performance.now() - t0) / 1000,
    reportPath,
  };
}

/** Promote a version to production through the configured gates. */
export async function promoteVersion(
  tracking: Tracking,
  loaded: LoadedConfig,
  version: number,
  reason: string,
): Promise<PromotionResult> {
  const p = loaded.config.promote;
  return tracking.registry.promote(loaded.config.model_name, version, {
    to: "production",
    reason,
    gates: {
      minR2: p.min_r2,
      maxMape: p.max_mape,
      notWorseThanProduction: p.not_worse_than_production,
      compareMetric: p.compare_metric,
      tolerance: p.tolerance,
    },
  });
}
