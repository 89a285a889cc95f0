/** What every pipeline step sees. */
import type { PipelineConfig } from "../config/load.ts";
import type { DatasetContract } from "../data/contract-types.ts";
import type { WorkerPool } from "../ml/pool/pool.ts";
import type { ActiveRun, Tracking } from "../tracking/index.ts";
import type { StepRuntime } from "./runner.ts";

export interface PipelineEnv {
  config: PipelineConfig;
  /** Resolved config as a plain object (lineage) and its hash. */
  resolved: Record<string, unknown>;
  configHash: string;
  contract: DatasetContract;
  contractPath: string;
  tracking: Tracking;
  /** The pipeline (parent) run. */
  run: ActiveRun;
  /** Repository root (bundled data paths are relative to it). */
  root: string;
  /** One worker pool for the whole run, created on first use (steps 05–07). */
  pool(): Promise<WorkerPool>;
}

export interface StepContext {
  env: PipelineEnv;
  /** This step's nested run. */
  run: ActiveRun;
  inputs: Record<string, unknown>;
  progress: StepRuntime<unknown>["progress"];
  log: (msg: string) => void;
}

export interface PipelineStep<O> {
  id: string;
  title: string;
  deps: readonly string[];
  /** Dot paths into PipelineConfig that the step reads. */
  configKeys: readonly string[];
  cacheSalt?: (env: PipelineEnv) => string | Promise<string>;
  run(ctx: StepContext): Promise<O>;
}
