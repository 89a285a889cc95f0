/**
 * `mlops runs ...`: inspect tracked runs.
 *
 *   mlops runs list [--experiment X] [--status S] [--parent RUN_ID | --top-level] [--metric "r2>=0.8"]... [--limit N]
 *   mlops runs show RUN_ID
 *   mlops runs compare RUN_ID RUN_ID...
 *   mlops runs history RUN_ID METRIC
 *
 * Every command takes --home DIR (default env MLOPS_HOME, else ./.mlops); global --json prints one JSON document.
 */
import type { Command } from "commander";
import { compareRuns, listRuns, metricHistory, parseMetricFilter, runTree } from "../../tracking/query.ts";
import { openTracking, type Tracking } from "../../tracking/tracker.ts";
import { RUN_STATUSES, TrackingError, type Run, type RunStatus } from "../../tracking/types.ts";
import { globalOptions, printJson, printTable, UsageError } from "../util.ts";

/** Where command output goes (tests pass a collecting stream). */
export interface CliIo {
  out: NodeJS.WritableStream;
}

const defaultIo: CliIo = { out: process.stdout };

export function isoTime(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function duration(r: Pick<Run, "startTime" | "endTime">): number | null {
  return r.endTime === null ? null : Math.round((r.endTime - r.startTime) / 10) / 100;
}

/** Open the tracking home for a CLI command; a missing store or bad input becomes a usage error. */
export async function withTracking<T>(home: string | undefined, fn: (t: Tracking) => Promise<T>): Promise<T> {
  let t: Tracking;
  try {
    t = openTracking({ home, mustExist: true });
  } catch (e) {
    if (e instanceof TrackingError && e.code === "NOT_FOUND") throw new UsageError(e.message, { cause: e });
    throw e;
  }
  try {
    return await fn(t);
  } catch (e) {
    if (e instanceof TrackingError && e.code === "INVALID") throw new UsageError(e.message, { cause: e });
    throw e;
  } finally {
    await t.close();
  }
}

const HOME_FLAG = "--home <dir>";
const HOME_HELP = "tracking home (default: env MLOPS_HOME, else ./.mlops)";

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerRunsCommands(program: Command, io: CliIo = defaultIo): void {
  const runs = program.command("runs").description("inspect tracked runs (params, metrics, tags, artifacts)");

  runs
    .command("list")
    .description("list runs, newest first")
    .option(HOME_FLAG, HOME_HELP)
    .option("--experiment <name>", "only runs of this experiment")
    .option("--status <status>", `only runs with this status (${RUN_STATUSES.join(", ")})`)
    .option("--parent <runId>", "only direct children of this run")
    .option("--top-level", "only runs without a parent")
    .option("--metric <filter>", 'metric filter on the latest value, e.g. "r2>=0.8" (repeatable)', collect)
    .option("--limit <n>", "at most n runs", "50")
    .action(
      async (
        opts: {
          home?: string;
          experiment?: string;
          status?: string;
          parent?: string;
          topLevel?: boolean;
          metric?: string[];
          limit: string;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 1)
          throw new UsageError(`runs list: --limit must be a positive integer, got ${opts.limit}`);
        const status = opts.status?.toUpperCase();
        if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus)) {
          throw new UsageError(
            `runs list: --status must be one of ${RUN_STATUSES.join(", ")}, got ${opts.status}`,
          );
        }
        if (opts.parent && opts.topLevel)
          throw new UsageError("runs list: choose one of --parent and --top-level");
        await withTracking(opts.home, async (t) => {
          const list = await listRuns(t.store, {
            experiment: opts.experiment,
            status: status as RunStatus | undefined,
            parentRunId: opts.topLevel ? null : opts.parent,
            metrics: opts.metric?.map(parseMetricFilter),
            limit,
          });
          if (g.json) {
            printJson(list, io.out);
            return;
          }
          if (list.length === 0) {
            io.out.write("no runs\n");
            return;
          }
          printTable(
            list.map((r) => ({
              run_id: r.runId,
              name: r.name,
              experiment: r.experimentName,
              status: r.status,
              started: isoTime(r.startTime),
              duration_s: duration(r),
              parent: r.parentRunId ? r.parentRunId.slice(0, 8) : "-",
              metrics: Object.keys(r.metrics).length,
            })),
            undefined,
            io.out,
          );
        });
      },
    );

  runs
    .command("show")
    .description("show one run: info, params, latest metrics, tags, artifacts, child runs")
    .argument("<runId>", "run id")
    .option(HOME_FLAG, HOME_HELP)
    .action(async (runId: string, opts: { home?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      await withTracking(opts.home, async (t) => {
        const tree = await runTree(t.store, runId, 1);
        const run = tree.run;
        const artifacts = await t.store.listArtifacts(runId);
        const children = tree.children.map((c) => ({
          runId: c.run.runId,
          name: c.run.name,
          status: c.run.status,
        }));
        if (g.json) {
          printJson({ ...run, artifacts, children }, io.out);
          return;
        }
        const w = (s: string) => io.out.write(`${s}\n`);
        w(`run ${run.runId}  ${run.name}`);
        w(`  experiment: ${run.experimentName}`);
        w(`  status:     ${run.status}`);
        w(
          `  started:    ${isoTime(run.startTime)}   ended: ${isoTime(run.endTime)}   duration_s: ${duration(run) ?? "-"}`,
        );
        w(`  parent:     ${run.parentRunId ?? "-"}`);
        const section = (title: string, rows: Record<string, unknown>[]) => {
          w("");
          w(`${title}:`);
          if (rows.length === 0) w("  (none)");
          else printTable(rows, undefined, io.out);
        };
        section(
          "params",
          Object.entries(run.params).map(([key, value]) => ({ key, value })),
        );
        section(
          "metrics (latest)",
          Object.values(run.metrics).map((m) => ({
            key: m.key,
            value: m.value,
            step: m.step,
            at: isoTime(m.timestamp),
          })),
        );
        section(
          "tags",
          Object.entries(run.tags).map(([key, value]) => ({ key, value })),
        );
        section(
          "artifacts",
          artifacts.map((a) => ({
            path: a.path,
            sha256: a.sha256.slice(0, 12),
            size: a.size,
            media_type: a.mediaType,
          })),
        );
        section(
          "child runs",
          children.map((c) => ({ run_id: c.runId, name: c.name, status: c.status })),
        );
      });
    });

  runs
    .command("compare")
    .description("params and latest metrics of several runs side by side (* = best value)")
    .argument("<runIds...>", "two or more run ids")
    .option(HOME_FLAG, HOME_HELP)
    .action(async (runIds: string[], opts: { home?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (runIds.length < 2) throw new UsageError("runs compare: give at least two run ids");
      await withTracking(opts.home, async (t) => {
        const cmp = await compareRuns(t.store, runIds);
        if (g.json) {
          printJson(cmp, io.out);
          return;
        }
        const heads = cmp.runs.map((r, i) => `${i + 1}:${r.name}`);
        const w = (s: string) => io.out.write(`${s}\n`);
        cmp.runs.forEach((r, i) => {
          w(`${i + 1}: ${r.runId}  ${r.name}  (${r.experimentName}, ${r.status})`);
        });
        w("");
        w("params:");
        if (cmp.params.length === 0) w("  (none)");
        else
          printTable(
            cmp.params.map((p) => {
              const row: Record<string, unknown> = { key: p.differs ? `${p.key} ≠` : p.key };
              p.values.forEach((v, i) => {
                row[heads[i]] = v ?? "-";
              });
              return row;
            }),
            undefined,
            io.out,
          );
        w("");
        w("metrics:");
        if (cmp.metrics.length === 0) w("  (none)");
        else
          printTable(
            cmp.metrics.map((m) => {
              const row: Record<string, unknown> = { key: m.key };
              m.values.forEach((v, i) => {
                row[heads[i]] =
                  v === null ? "-" : `${formatNum(v)}${m.best === i && cmp.runs.length > 1 ? " *" : ""}`;
              });
              return row;
            }),
            undefined,
            io.out,
          );
      });
    });

  runs
    .command("history")
    .description("every logged value of one metric of a run (by step)")
    .argument("<runId>", "run id")
    .argument("<metric>", "metric key")
    .option(HOME_FLAG, HOME_HELP)
    .action(async (runId: string, key: string, opts: { home?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      await withTracking(opts.home, async (t) => {
        const h = await metricHistory(t.store, runId, key);
        if (g.json) {
          printJson(h, io.out);
          return;
        }
        if (h.length === 0) {
          io.out.write(`run ${runId} has no metric '${key}'\n`);
          return;
        }
        printTable(
          h.map((m) => ({ step: m.step, value: m.value, at: isoTime(m.timestamp) })),
          undefined,
          io.out,
        );
      });
    });
}

export function formatNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3 ? v.toPrecision(4) : String(Number(v.toFixed(4)));
}
