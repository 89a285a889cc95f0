/**
 * `mlops drift`: data drift of a file or of the logged predictions against a reference profile.
 *
 *   mlops drift --current FILE  [--reference PROFILE.json] [--prediction-column NAME] [...]
 *   mlops drift --window 24h    [--reference PROFILE.json] [--model V] [--home DIR] [...]
 *   common: [--fail-on-drift] [--html out.html] [--drift-share 0.5]   (global --json prints the report)
 *
 * FILE is read with src/data/io.ts `readTable` (CSV, CSV.gz, Parquet, tar/tar.gz), column kinds from the
 * profile. Exit codes: 0 ok (also when drift is found without --fail-on-drift), 1 dataset drift with
 * --fail-on-drift (the report is still printed / written first), 2 usage errors (missing/invalid profile,
 * bad --window, empty window, unknown columns).
 *
 * Without --reference the command asks `deps.resolveReference({ model, home })` (the lead wires the registry
 * lookup there); `runDriftCheck` is the whole command as a function, for `mlops monitor` scheduling.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { type LoadedConfig, resolveHome } from "../../config/load.ts";
import { writeFileAtomicSync } from "../../data/atomic.ts";
import { readTable } from "../../data/io.ts";
import { type AlertSink, logSink } from "../../monitoring/alerts.ts";
import { computeDrift, type DriftOptions, type DriftReport } from "../../monitoring/drift.ts";
import { parseDurationMs } from "../../monitoring/duration.ts";
import { type MonitorPassResult, runMonitorPass } from "../../monitoring/monitor.ts";
import { PredictionLog } from "../../monitoring/prediction-log.ts";
import { loadReferenceProfile, profileTypes, type ReferenceProfile } from "../../monitoring/reference.ts";
import { renderDriftHtml } from "../../monitoring/report-html.ts";
import { monitoringSettings } from "../../monitoring/settings.ts";
import { retrainWithFeedback } from "../../pipeline/retrain.ts";
import { registryReferenceProfile } from "../../serving/registry-source.ts";
import { hasTrackingStore, openTracking } from "../../tracking/index.ts";
import { CliError, EXIT, globalOptions, info, printJson, printTable, UsageError } from "../util.ts";
import { loadConfigForCli } from "./config.ts";

export interface MonitorCliDeps {
  /** where results go (tests pass a collecting stream) */
  out?: NodeJS.WritableStream;
  /** reference lookup when --reference is absent (e.g. the registry's profile of the champion / --model) */
  resolveReference?: (q: { model?: string; home?: string }) => Promise<ReferenceProfile>;
  /** clock for --window (tests) */
  now?: () => number;
}

export interface DriftCheckOptions {
  current?: string;
  window?: string;
  reference?: string;
  model?: string;
  home?: string;
  predictionColumn?: string;
  driftShare?: number;
  html?: string;
  /** --window: read at most this many rows (PredictionLog.window's sample); default: the whole window */
  maxRows?: number;
  /** passed through to computeDrift */
  drift?: DriftOptions;
}

export interface DriftCheckResult {
  report: DriftReport;
  source:
    | { kind: "file"; path: string }
    | {
        kind: "window";
        sinceMs: number;
        untilMs: number;
        model?: string;
        /** rows logged in the window, and rows read (fewer when sampled down to maxRows) */
        n: number;
        analysed: number;
      };
  htmlPath?: string;
}

/** "90s", "15m", "24h", "7d", "2w" → milliseconds. */
export function parseDuration(s: string): number {
  try {
    return parseDurationMs(s, "--window");
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
}

function defaultHome(home?: string): string {
  return home ?? process.env.MLOPS_HOME ?? ".mlops";
}

async function resolveProfile(o: DriftCheckOptions, deps: MonitorCliDeps): Promise<ReferenceProfile> {
  if (o.reference) {
    try {
      return loadReferenceProfile(o.reference);
    } catch (e) {
      throw new UsageError((e as Error).message, { cause: e });
    }
  }
  if (deps.resolveReference) return deps.resolveReference({ model: o.model, home: o.home });
  throw new UsageError("no --reference PROFILE.json given (and no registry reference lookup is configured)");
}

/** The whole `mlops drift` check as a function (no printing); throws UsageError on bad input. */
export async function runDriftCheck(
  o: DriftCheckOptions,
  deps: MonitorCliDeps = {},
): Promise<DriftCheckResult> {
  if (!!o.current === !!o.window)
    throw new UsageError("drift: give exactly one of --current FILE and --window DURATION");
  if (o.driftShare !== undefined && !(o.driftShare > 0 && o.driftShare <= 1)) {
    throw new UsageError(`drift: --drift-share must be in (0, 1], got ${o.driftShare}`);
  }
  const profile = await resolveProfile(o, deps);
  const driftOpts: DriftOptions = { ...(o.drift ?? {}) };
  if (o.driftShare !== undefined) driftOpts.driftShare = o.driftShare;
  let report: DriftReport;
  let source: DriftCheckResult["source"];
  if (o.current) {
    let frame: Awaited<ReturnType<typeof readTable>>["frame"];
    try {
      frame = (await readTable(o.current, { types: profileTypes(profile) })).frame;
    } catch (e) {
      throw new UsageError((e as Error).message, { cause: e });
    }
    if (o.predictionColumn) {
      if (!frame.has(o.predictionColumn) || frame.col(o.predictionColumn).kind !== "numeric") {
        throw new UsageError(`${o.current}: no numeric column '${o.predictionColumn}' (--prediction-column)`);
      }
      driftOpts.predictions = frame.numeric(o.predictionColumn);
    }
    try {
      report = computeDrift(profile, frame, driftOpts);
    } catch (e) {
      throw new UsageError(`${o.current}: ${(e as Error).message}`, { cause: e });
    }
    source = { kind: "file", path: o.current };
  } else {
    const ms = parseDuration(o.window!);
    const path = join(defaultHome(o.home), "monitoring.db");
    if (!existsSync(path))
      throw new UsageError(`no prediction log at ${path} (is the server logging predictions?)`);
    const log = new PredictionLog({ path });
    try {
      const until = (deps.now ?? Date.now)() + 1;
      const since = until - 1 - ms;
      const w = log.window(since, until, {
        ...(o.model !== undefined ? { modelVersion: o.model } : {}),
        ...(o.maxRows !== undefined ? { maxRows: o.maxRows } : {}),
      });
      if (w.n === 0) {
        throw new UsageError(
          `no logged predictions in the last ${o.window}${o.model !== undefined ? ` for model version ${o.model}` : ""} (${path})`,
        );
      }
      driftOpts.predictions = w.predictions;
      try {
        report = computeDrift(profile, w.inputs, driftOpts);
      } catch (e) {
        throw new UsageError(`${path}: ${(e as Error).message}`, { cause: e });
      }
      source = {
        kind: "window",
        sinceMs: since,
        untilMs: until,
        ...(o.model !== undefined ? { model: o.model } : {}),
        n: w.rowsInWindow,
        analysed: w.n,
      };
    } finally {
      await log.close();
    }
  }
  let htmlPath: string | undefined;
  if (o.html) {
    writeFileAtomicSync(
      o.html,
      renderDriftHtml(report, { title: `Data drift — ${o.current ?? `last ${o.window}`}` }),
    );
    htmlPath = o.html;
  }
  return { report, source, ...(htmlPath ? { htmlPath } : {}) };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "-";
  return Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export function registerMonitorCommands(program: Command, deps: MonitorCliDeps = {}): void {
  const out = deps.out ?? process.stdout;
  program
    .command("drift")
    .description(
      "data drift of a file or of the logged predictions vs the reference profile (Evidently-style tests, PSI)",
    )
    .option("--current <file>", "current data (CSV, CSV.gz, Parquet, tar)")
    .option(
      "--window <duration>",
      "logged predictions of the last DURATION (e.g. 24h, 7d) from the prediction log",
    )
    .option("--reference <profile>", "reference profile JSON (default: the registry's, when configured)")
    .option(
      "--model <version>",
      "only predictions of this model version (--window) / reference of this version",
    )
    .argument("[overrides...]", "config overrides (registry, thresholds), e.g. home=/srv/mlops")
    .option("--home <dir>", "MLOps home holding monitoring.db and the registry (default: the config's home)")
    .option("--prediction-column <name>", "column of FILE holding the model's predictions (prediction drift)")
    .option("--drift-share <x>", "dataset drift when the share of drifted features ≥ x (default 0.5)")
    .option(
      "--max-rows <n>",
      "--window: read at most N rows, whole batches evenly spread then an even subsample (default: monitoring.max_window_rows, as the server's passes); 'all' reads the whole window",
    )
    .option("--fail-on-drift", "exit 1 when dataset drift is detected")
    .option("--html <out.html>", "write a self-contained HTML report")
    .action(
      async (
        overrides: string[],
        o: {
          current?: string;
          window?: string;
          reference?: string;
          model?: string;
          home?: string;
          predictionColumn?: string;
          driftShare?: string;
          failOnDrift?: boolean;
          html?: string;
          maxRows?: string;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const driftShare = o.driftShare === undefined ? undefined : Number(o.driftShare);
        // without --reference: the stored profile of the served version (or --model) from the configured
        // registry; without --home: the configured home. Thresholds come from monitoring.drift.
        let loaded: LoadedConfig | null = null;
        const config = () => {
          loaded ??= loadConfigForCli(g, o.home ? [...overrides, `home=${o.home}`] : overrides);
          return loaded;
        };
        const resolveReference =
          deps.resolveReference ??
          (async (q: { model?: string }) => (await servedReference(config(), q.model)).profile);
        const home = o.home ?? (o.reference && o.current ? undefined : resolveHome(config().config));
        const settings =
          o.reference && o.current ? undefined : monitoringSettings(config().config, home ?? "");
        const drift = settings?.drift;
        let maxRows: number | undefined;
        if (o.maxRows !== undefined && o.maxRows !== "all") {
          maxRows = Number(o.maxRows);
          if (!Number.isInteger(maxRows) || maxRows < 1)
            throw new UsageError(
              `drift: --max-rows must be a positive integer or 'all', got ${JSON.stringify(o.maxRows)}`,
            );
        } else if (o.maxRows === undefined && o.window) maxRows = settings?.maxWindowRows;
        const { maxRows: _flag, ...rest } = o;
        const r = await runDriftCheck(
          {
            ...rest,
            driftShare,
            ...(home ? { home } : {}),
            ...(drift ? { drift } : {}),
            ...(maxRows !== undefined ? { maxRows } : {}),
          },
          { ...deps, resolveReference },
        );
        const rep = r.report;
        if (g.json) printJson(rep, out);
        else {
          printTable(
            [...rep.features, ...(rep.prediction ? [{ ...rep.prediction, name: "(prediction)" }] : [])].map(
              (f) => ({
                feature: f.name,
                test: f.test,
                statistic: fmt(f.statistic),
                threshold: `${f.direction === "p_le" ? "p≤" : "≥"}${fmt(f.threshold)}`,
                drift: f.drifted ? "DRIFT" : "-",
                psi: fmt(f.psi),
                psi_level: f.psiLevel,
              }),
            ),
            undefined,
            out,
          );
          out.write(
            `\ndataset drift: ${rep.datasetDrift ? "DETECTED" : "not detected"} (${rep.nDrifted}/${rep.nTested} features drifted, share ${fmt(rep.share)}, threshold ${rep.driftShare}; reference ${rep.nReference} rows, current ${rep.nCurrent})\n`,
          );
        }
        if (r.source.kind === "window" && r.source.analysed < r.source.n)
          info(
            `window: ${r.source.n} logged predictions, a sample of ${r.source.analysed} analysed (--max-rows)`,
            g,
          );
        if (r.htmlPath) info(`HTML report: ${r.htmlPath}`, g);
        if (o.failOnDrift && rep.datasetDrift) {
          throw new CliError(
            `dataset drift detected (${rep.nDrifted}/${rep.nTested} features)`,
            EXIT.FAILURE,
          );
        }
      },
    );
}

// ------------------------------------------------------------------------------------------ mlops monitor

/** The version the serving alias (else its fallback) points at, with its stored reference profile. */
export async function servedReference(
  loaded: LoadedConfig,
  versionOverride?: string,
): Promise<{ name: string; version: string; profile: ReferenceProfile }> {
  const c = loaded.config;
  const home = resolveHome(c);
  let version = versionOverride;
  if (version === undefined) {
    if (!hasTrackingStore(home)) {
      throw new UsageError(`no registry at ${home} (train a model first: mlops run)`);
    }
    const t = openTracking({ home, mustExist: true });
    try {
      for (const alias of [c.serve.alias, c.serve.fallback_alias]) {
        if (!alias) continue;
        const v = await t.registry.getVersionByAlias(c.model_name, alias);
        if (v) {
          version = String(v.version);
          break;
        }
      }
    } finally {
      await t.close();
    }
    if (version === undefined) {
      throw new UsageError(
        `model ${c.model_name} has no version under alias ${c.serve.alias}${c.serve.fallback_alias ? ` or ${c.serve.fallback_alias}` : ""}`,
      );
    }
  }
  const profile = await registryReferenceProfile(home, c.model_name, version);
  if (!profile) {
    throw new UsageError(
      `model ${c.model_name} version ${version} has no stored reference profile (registered before monitoring existed? re-run the pipeline, or pass --reference PROFILE.json)`,
    );
  }
  return { name: c.model_name, version, profile };
}

export interface MonitorOptions {
  once?: boolean;
  interval?: string;
  window?: string;
  model?: string;
  retrainOnDrift?: boolean;
  retrainCooldown?: string;
  maxPasses?: number;
}

export interface MonitorTick {
  pass: MonitorPassResult | null;
  modelVersion: string | null;
  error?: string;
  retrain?: {
    dataPath: string;
    baseRows: number;
    feedbackRows: number;
    version: number | null;
    promoted: boolean;
    detail: string;
  };
}

/**
 * The `mlops monitor` loop: a monitoring pass over the prediction log every `interval` (drift vs the served
 * version's reference, rolling accuracy, checks, alert rules → log + webhook sinks), optionally retraining on
 * the configured trigger. Returns the ticks (for tests); stops after `maxPasses`, `once`, or `signal`.
 */
export async function runMonitorLoop(
  loaded: LoadedConfig,
  o: MonitorOptions,
  hooks: {
    onTick?: (t: MonitorTick) => void;
    signal?: AbortSignal;
    log?: (msg: string) => void;
    nJobs?: number;
    now?: () => number;
  } = {},
): Promise<MonitorTick[]> {
  const c = loaded.config;
  const home = resolveHome(c);
  const s = monitoringSettings(c, home);
  const windowMs = o.window ? parseDuration(o.window) : s.windowMs;
  const intervalMs = o.interval ? parseDuration(o.interval) : Math.max(s.intervalMs, 1000);
  const cooldownMs = o.retrainCooldown ? parseDuration(o.retrainCooldown) : 6 * 3_600_000;
  const maxPasses = o.once ? 1 : (o.maxPasses ?? Number.POSITIVE_INFINITY);
  const log = hooks.log ?? (() => {});
  const sinks: AlertSink[] = [logSink(), ...s.sinks];
  const ticks: MonitorTick[] = [];
  let lastRetrain = Number.NEGATIVE_INFINITY;
  const now = hooks.now ?? Date.now;
  const predictionLog = new PredictionLog({ ...s.log, retentionDays: undefined });
  try {
    for (let i = 0; i < maxPasses && !hooks.signal?.aborted; i++) {
      if (i > 0) await sleep(intervalMs, hooks.signal);
      if (hooks.signal?.aborted) break;
      let tick: MonitorTick;
      try {
        const ref = await servedReference(loaded, o.model);
        const pass = await runMonitorPass({
          log: predictionLog,
          reference: ref.profile,
          windowMs,
          accuracyWindowMs: s.accuracyWindowMs,
          modelVersion: ref.version,
          minRows: s.minRows,
          maxRows: s.maxWindowRows,
          drift: s.drift,
          rules: s.rules,
          sinks,
          now,
        });
        tick = { pass, modelVersion: ref.version };
        const triggered =
          c.monitoring.retrain.trigger === "dataset_drift"
            ? pass.drift?.datasetDrift === true
            : pass.alerts.length > 0;
        if (triggered && o.retrainOnDrift) {
          if (now() - lastRetrain < cooldownMs) {
            log(
              `retraining trigger fired, but the last retraining was less than ${o.retrainCooldown ?? "6h"} ago`,
            );
          } else {
            lastRetrain = now();
            const reason =
              c.monitoring.retrain.trigger === "dataset_drift"
                ? `dataset drift on v${ref.version}: ${pass.drift?.nDrifted}/${pass.drift?.nTested} features`
                : `${pass.alerts.length} alert(s) on v${ref.version}`;
            const r = await retrainWithFeedback({
              loaded,
              predictionLog,
              reason,
              log,
              ...(hooks.nJobs ? { nJobs: hooks.nJobs } : {}),
            });
            const reg = r.train.registered;
            const promoted = r.train.promotion?.promoted === true;
            tick.retrain = {
              dataPath: r.dataPath,
              baseRows: r.baseRows,
              feedbackRows: r.feedbackRows,
              version: reg?.version ?? null,
              promoted,
              detail: promoted
                ? `challenger v${reg?.version} promoted to production`
                : `challenger v${reg?.version} not promoted: ${r.train.promotionError ?? "gates failed"}`,
            };
            log(tick.retrain.detail);
          }
        }
      } catch (e) {
        if (o.once) throw e;
        tick = { pass: null, modelVersion: null, error: (e as Error).message };
        log(`monitoring pass failed: ${(e as Error).message}`);
      }
      ticks.push(tick);
      hooks.onTick?.(tick);
    }
  } finally {
    await predictionLog.close();
  }
  return ticks;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function tickLine(t: MonitorTick): string {
  if (!t.pass) return `${new Date().toISOString()}  error: ${t.error}`;
  const p = t.pass;
  const d = p.drift
    ? `drift ${p.drift.datasetDrift ? "DETECTED" : "no"} (${p.drift.nDrifted}/${p.drift.nTested})`
    : `drift skipped (${p.driftSkipped})`;
  const acc = p.accuracy.versions.find((v) => v.modelVersion === t.modelVersion);
  const a = acc ? `MAPE ${fmt(acc.mape)} % on ${acc.n} labelled` : "no feedback";
  return `${p.at}  v${t.modelVersion}  ${p.window.n} predictions  ${d}  ${a}  p99 ${fmt(p.checks.latency.p99)} ms  alerts ${p.alerts.length}${t.retrain ? `  → ${t.retrain.detail}` : ""}`;
}

export function registerMonitorLoopCommand(program: Command, deps: MonitorCliDeps = {}): void {
  const out = deps.out ?? process.stdout;
  program
    .command("monitor")
    .description(
      "monitoring passes on a schedule: drift of the logged predictions vs the served version's reference, rolling accuracy from feedback, checks, alerts (log + webhook); optionally retrain on drift",
    )
    .argument("[overrides...]", "config overrides, e.g. monitoring.window=6h")
    .option("--once", "one pass, then exit (exit 1 on failure)")
    .option("--interval <duration>", "time between passes (default: monitoring.interval_seconds)")
    .option("--window <duration>", "drift / checks window (default: monitoring.window)")
    .option("--model <version>", "monitor this registry version instead of the served alias")
    .option(
      "--retrain-on-drift",
      "on the trigger (monitoring.retrain.trigger), retrain on the data + labelled feedback and promote the challenger if its gates pass",
    )
    .option("--retrain-cooldown <duration>", "minimum time between retrainings (default 6h)")
    .action(async (overrides: string[], o: MonitorOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const loaded = loadConfigForCli(g, overrides);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await runMonitorLoop(loaded, o, {
          signal: ac.signal,
          log: (m) => info(m, g),
          onTick: (t) => {
            if (g.json)
              out.write(
                `${JSON.stringify({ modelVersion: t.modelVersion, error: t.error, retrain: t.retrain, ...(t.pass ? { at: t.pass.at, window: t.pass.window, drift: t.pass.drift, driftSkipped: t.pass.driftSkipped, accuracy: t.pass.accuracy, checks: t.pass.checks, alerts: t.pass.alerts } : {}) })}\n`,
              );
            else out.write(`${tickLine(t)}\n`);
          },
        });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
