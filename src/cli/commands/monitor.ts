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
import { writeFileAtomicSync } from "../../data/atomic.ts";
import { readTable } from "../../data/io.ts";
import { computeDrift, type DriftOptions, type DriftReport } from "../../monitoring/drift.ts";
import { PredictionLog } from "../../monitoring/prediction-log.ts";
import { loadReferenceProfile, profileTypes, type ReferenceProfile } from "../../monitoring/reference.ts";
import { renderDriftHtml } from "../../monitoring/report-html.ts";
import { CliError, EXIT, globalOptions, info, printJson, printTable, UsageError } from "../util.ts";

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
  /** passed through to computeDrift */
  drift?: DriftOptions;
}

export interface DriftCheckResult {
  report: DriftReport;
  source:
    | { kind: "file"; path: string }
    | { kind: "window"; sinceMs: number; untilMs: number; model?: string };
  htmlPath?: string;
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** "90s", "15m", "24h", "7d", "2w" → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(s);
  if (!m || Number(m[1]) <= 0)
    throw new UsageError(`--window: expected a duration like 30m, 24h or 7d, got '${s}'`);
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
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
      const w = log.window(since, until, o.model !== undefined ? { modelVersion: o.model } : {});
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
    .option("--home <dir>", "MLOps home holding monitoring.db (default: env MLOPS_HOME, else ./.mlops)")
    .option("--prediction-column <name>", "column of FILE holding the model's predictions (prediction drift)")
    .option("--drift-share <x>", "dataset drift when the share of drifted features ≥ x (default 0.5)")
    .option("--fail-on-drift", "exit 1 when dataset drift is detected")
    .option("--html <out.html>", "write a self-contained HTML report")
    .action(
      async (
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
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const driftShare = o.driftShare === undefined ? undefined : Number(o.driftShare);
        const r = await runDriftCheck({ ...o, driftShare }, deps);
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
