/**
 * `mlops serve`: the prediction API.
 *
 *   mlops serve [--host 127.0.0.1] [--port 8000] [--model-file PATH] [--model-url URL]
 *               [--admin-key-env MLOPS_ADMIN_KEY] [--contract config/datasets/california_housing.yaml]
 *               [--poll-interval SECONDS] [--max-batch N] [--log-level info]
 *
 * Sources cascade in the order: injected sources (registry, later) → --model-url → --model-file. Model bytes
 * are decoded by the decoder registered in src/serving/decoders.ts (`registerDecoder`). The admin key is read
 * from the environment variable named by --admin-key-env (never a default in code); unset → admin disabled.
 * The process drains and exits 0 on SIGTERM/SIGINT.
 */
import type { Command } from "commander";
import { datasetContractPath, type LoadedConfig, resolveHome } from "../../config/load.ts";
import { loadContract } from "../../data/contract.ts";
import { PredictionLog } from "../../monitoring/prediction-log.ts";
import { monitoringSettings } from "../../monitoring/settings.ts";
import type { RunningServer } from "../../serving/app.ts";
import type { DashboardOptions } from "../../serving/dashboard.ts";
import type { ServingMonitoringOptions } from "../../serving/monitoring.ts";
import {
  registerBundleDecoder,
  registryReferenceProfile,
  registrySource,
} from "../../serving/registry-source.ts";
import { fileSource, urlSource } from "../../serving/sources.ts";
import type { ModelDecoder, ModelSource } from "../../serving/types.ts";
import { globalOptions, info, UsageError } from "../util.ts";
import { loadConfigForCli } from "./config.ts";

export interface ServeOptions {
  host?: string;
  port?: number;
  modelFile?: string;
  modelUrl?: string;
  /** Name of the env var holding the admin key (overrides adminApiKey). */
  adminKeyEnv?: string;
  /** Admin key (from config serve.admin_api_key, itself `${env:MLOPS_ADMIN_KEY,null}` by default). */
  adminApiKey?: string;
  bodyLimit?: number;
  /** Time to receive a whole request (ms; 0 = none). */
  requestTimeoutMs?: number;
  contract?: string;
  /** Seconds between polls of the primary source (0 = off). */
  pollInterval?: number;
  maxBatch?: number;
  logLevel?: string;
  /** Sources tried before --model-url/--model-file (e.g. the registry alias source). */
  sources?: ModelSource[];
  /** Decoder for file/URL sources; default: the decoder registry. */
  decode?: ModelDecoder;
  env?: NodeJS.ProcessEnv;
  /** Prediction log, feedback/drift routes and the monitoring schedule (from the config's monitoring:). */
  monitoring?: ServingMonitoringOptions;
  /** The web dashboard (commander sets false for --no-dashboard). */
  dashboard?: DashboardOptions | boolean;
  /** false = no monitoring (--no-monitoring) */
  monitor?: boolean;
}

export const DEFAULT_CONTRACT = "config/datasets/california_housing.yaml";

/** Extension point for the lead: sources prepended to every `mlops serve` (e.g. registry alias). */
export type ServeSourceFactory = (opts: ServeOptions) => ModelSource[] | Promise<ModelSource[]>;

export async function runServe(opts: ServeOptions): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const contract = loadContract(opts.contract ?? DEFAULT_CONTRACT);
  const sources: ModelSource[] = [...(opts.sources ?? [])];
  if (opts.modelUrl) sources.push(urlSource({ url: opts.modelUrl, decode: opts.decode }));
  if (opts.modelFile) sources.push(fileSource({ path: opts.modelFile, decode: opts.decode }));
  if (sources.length === 0) throw new UsageError("serve: give --model-file PATH and/or --model-url URL");
  const keyVar = opts.adminKeyEnv;
  const adminApiKey = keyVar
    ? env[keyVar] && env[keyVar] !== ""
      ? env[keyVar]
      : undefined
    : opts.adminApiKey;
  // the HTTP stack (Fastify, swagger, static files) is loaded only when a server starts, not for every command
  const { startServer } = await import("../../serving/app.ts");
  return await startServer({
    contract,
    sources,
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 8000,
    adminApiKey,
    pollIntervalMs: (opts.pollInterval ?? 0) * 1000,
    maxBatch: opts.maxBatch,
    bodyLimit: opts.bodyLimit,
    requestTimeoutMs: opts.requestTimeoutMs,
    logLevel: opts.logLevel ?? env.LOG_LEVEL ?? "info",
    waitForModel: true,
    ...(typeof opts.monitoring === "object" && opts.monitor !== false ? { monitoring: opts.monitoring } : {}),
    ...(typeof opts.dashboard === "object" ? { dashboard: { ...opts.dashboard, adminApiKey } } : {}),
  });
}

function intArg(name: string, min: number, max: number) {
  return (s: string) => {
    const v = Number(s);
    if (!/^\d+$/.test(s.trim()) || v < min || v > max) {
      throw new UsageError(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(s)}`);
    }
    return v;
  };
}

/** Sources, host/port, admin key and limits from the pipeline config (CLI flags win). */
export function serveOptionsFromConfig(loaded: LoadedConfig, o: ServeOptions): ServeOptions {
  const c = loaded.config;
  const home = resolveHome(c);
  registerBundleDecoder();
  const sources: ModelSource[] = [registrySource({ home, name: c.model_name, alias: c.serve.alias })];
  if (c.serve.fallback_alias && c.serve.fallback_alias !== c.serve.alias) {
    sources.push(registrySource({ home, name: c.model_name, alias: c.serve.fallback_alias }));
  }
  const contractPath = o.contract ?? datasetContractPath(c);
  const m = monitoringSettings(c, home);
  const monitoring: ServingMonitoringOptions | undefined =
    m.enabled && o.monitor !== false
      ? {
          log: new PredictionLog(m.log),
          logPredictions: m.logPredictions,
          reference: ({ name, version }) => registryReferenceProfile(home, name, version),
          windowMs: m.windowMs,
          accuracyWindowMs: m.accuracyWindowMs,
          minRows: m.minRows,
          maxWindowRows: m.maxWindowRows,
          drift: m.drift,
          rules: m.rules,
          sinks: m.sinks,
          intervalMs: m.intervalMs,
        }
      : undefined;
  const dashboard: DashboardOptions | false =
    o.dashboard === false
      ? false
      : {
          home,
          contract: loadContract(contractPath),
          modelName: c.model_name,
          // the geo scatter of the predict page: the configured local data (else the bundled file)
          ...(c.data.source && !/^[a-z0-9]+:\/\//i.test(c.data.source) ? { dataPath: c.data.source } : {}),
        };
  return {
    ...o,
    ...(monitoring ? { monitoring } : {}),
    dashboard,
    host: o.host ?? c.serve.host,
    port: o.port ?? c.serve.port,
    contract: contractPath,
    pollInterval: o.pollInterval ?? c.serve.reload_poll_seconds,
    maxBatch: o.maxBatch ?? c.serve.max_batch,
    logLevel: o.logLevel ?? c.serve.log_level,
    adminApiKey: c.serve.admin_api_key ?? undefined,
    bodyLimit: c.serve.body_limit_bytes,
    requestTimeoutMs: c.serve.request_timeout_ms,
    sources: [...sources, ...(o.sources ?? [])],
  };
}

export function registerServeCommand(program: Command, deps: { sources?: ServeSourceFactory } = {}): Command {
  return program
    .command("serve")
    .description(
      "serve the registry's production model over HTTP (reference /api/v1, MLflow /invocations, Open Inference V2, dashboard)",
    )
    .argument("[overrides...]", "config overrides, e.g. serve.port=9000 serve.alias=staging")
    .option("--host <host>", "bind address (default: serve.host)")
    .option("--port <port>", "port, 0 = any free port (default: serve.port)", intArg("--port", 0, 65535))
    .option("--model-file <path>", "model bundle file (fallback source after the registry)")
    .option(
      "--model-url <url>",
      "model bundle URL (http(s):// or s3://bucket/key; tried after the registry, before --model-file)",
    )
    .option(
      "--admin-key-env <name>",
      "environment variable holding the admin API key (overrides serve.admin_api_key)",
    )
    .option("--contract <path>", "dataset contract YAML (default: the config's dataset)")
    .option(
      "--poll-interval <seconds>",
      "poll the registry alias for new versions, 0 = off (default: serve.reload_poll_seconds)",
      intArg("--poll-interval", 0, 86_400),
    )
    .option(
      "--max-batch <n>",
      "max rows per request (default: serve.max_batch)",
      intArg("--max-batch", 1, 1_000_000),
    )
    .option("--log-level <level>", "pino log level (default: serve.log_level)")
    .option("--no-monitoring", "no prediction log, feedback or drift routes (monitoring.enabled=false)")
    .option("--no-dashboard", "do not serve the web dashboard")
    .action(
      async (
        overrides: string[],
        raw: Omit<ServeOptions, "monitoring"> & { monitoring?: boolean },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        // commander gives --no-monitoring as `monitoring: false` (default true); ServeOptions.monitoring is the
        // options object, so the flag travels as `monitor`
        const { monitoring: monitoringFlag, ...o } = raw;
        const extra = deps.sources ? await deps.sources(o) : [];
        const opts = serveOptionsFromConfig(loadConfigForCli(g, overrides), {
          ...o,
          monitor: monitoringFlag !== false,
          sources: extra,
        });
        const running = await runServe(opts);
        info(
          `serving on ${running.url} (${opts.dashboard ? `dashboard ${running.url}/ui/, ` : ""}API docs ${running.url}/docs)`,
          g,
        );
      },
    );
}
