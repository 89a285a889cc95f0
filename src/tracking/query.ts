/**
 * Read-side reports over a TrackingStore: filtered run lists, side-by-side comparison, metric history,
 * run trees (pipeline run → step runs → trials).
 */
import type { TrackingStore } from "./store.ts";
import { TrackingError, type Metric, type Run, type RunStatus } from "./types.ts";

export type Comparison = "<" | "<=" | ">" | ">=" | "=" | "!=";

export interface MetricFilter {
  key: string;
  op: Comparison;
  value: number;
}

export interface RunFilter {
  experiment?: string;
  status?: RunStatus;
  /** `null` = top-level runs only; a run id = its direct children. */
  parentRunId?: string | null;
  tags?: Readonly<Record<string, string>>;
  /** Exact string match on params. */
  params?: Readonly<Record<string, string>>;
  /** Compared with the latest value of each metric; runs without the metric are excluded. */
  metrics?: readonly MetricFilter[];
  /** Sort by the latest value of this metric (runs without it last). Default: start time, newest first. */
  orderByMetric?: { key: string; descending?: boolean };
  limit?: number;
}

function compare(a: number, op: Comparison, b: number): boolean {
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    default:
      throw new TrackingError("INVALID", `unknown comparison ${JSON.stringify(op)}`);
  }
}

/**
 * Parse `rmse<0.5`, `r2 >= 0.8`, ... into a MetricFilter (CLI helper).
 */
export function parseMetricFilter(s: string): MetricFilter {
  const m = /^\s*([A-Za-z0-9_\-./: ]+?)\s*(<=|>=|!=|<|>|=)\s*(\S+)\s*$/.exec(s);
  const v = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isFinite(v)) {
    throw new TrackingError(
      "INVALID",
      `invalid metric filter ${JSON.stringify(s)}: expected e.g. "rmse<0.5" or "r2>=0.8"`,
    );
  }
  return { key: m[1], op: m[2] as Comparison, value: v };
}

/** Runs matching every given condition. Tag/experiment/status/parent filters run in the store; the rest here. */
export async function listRuns(store: TrackingStore, filter: RunFilter = {}): Promise<Run[]> {
  const needsLocal =
    filter.params !== undefined || filter.metrics !== undefined || filter.orderByMetric !== undefined;
  let runs = await store.searchRuns({
    experiment: filter.experiment,
    status: filter.status,
    parentRunId: filter.parentRunId,
    tags: filter.tags,
    limit: needsLocal ? 1_000_000 : (filter.limit ?? 1000),
  });
  if (filter.params) {
    const want = Object.entries(filter.params);
    runs = runs.filter((r) => want.every(([k, v]) => r.params[k] === v));
  }
  if (filter.metrics) {
    const fs = filter.metrics;
    runs = runs.filter((r) =>
      fs.every((f) => r.metrics[f.key] !== undefined && compare(r.metrics[f.key].value, f.op, f.value)),
    );
  }
  if (filter.orderByMetric) {
    const { key, descending } = filter.orderByMetric;
    const val = (r: Run) => {
      const v = r.metrics[key]?.value;
      return v === undefined || Number.isNaN(v) ? null : v;
    };
    runs = [...runs].sort((a, b) => {
      const va = val(a);
      const vb = val(b);
      if (va === null) return vb === null ? 0 : 1;
      if (vb === null) return -1;
      return descending ? vb - va : va - vb;
    });
  }
  return filter.limit !== undefined ? runs.slice(0, filter.limit) : runs;
}

export interface RunComparison {
  readonly runs: readonly Pick<
    Run,
    "runId" | "name" | "experimentName" | "status" | "startTime" | "endTime"
  >[];
  /** One row per param key present in any run; `differs` when not all runs have the same value. */
  readonly params: readonly { key: string; values: (string | null)[]; differs: boolean }[];
  /** Latest metric values; `best` = index of the lowest value (or highest for r2-like metrics). */
  readonly metrics: readonly { key: string; values: (number | null)[]; best: number | null }[];
}

const HIGHER_IS_BETTER = /(^|[_.])(r2|r2_score|accuracy|explained_variance|within_\d+pct)$/;

/** Params and latest metrics of several runs side by side. */
export async function compareRuns(store: TrackingStore, runIds: readonly string[]): Promise<RunComparison> {
  if (runIds.length === 0) throw new TrackingError("INVALID", "compareRuns needs at least one run id");
  const runs = await Promise.all(runIds.map((id) => store.getRun(id)));
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const params = paramKeys.map((key) => {
    const values = runs.map((r) => r.params[key] ?? null);
    return { key, values, differs: new Set(values).size > 1 };
  });
  const metrics = metricKeys.map((key) => {
    const values = runs.map((r) => {
      const v = r.metrics[key]?.value;
      return v === undefined || Number.isNaN(v) ? null : v;
    });
    const higher = HIGHER_IS_BETTER.test(key);
    let best: number | null = null;
    values.forEach((v, i) => {
      if (v === null) return;
      const b = best === null ? null : values[best];
      if (b === null || b === undefined || (higher ? v > b : v < b)) best = i;
    });
    return { key, values, best };
  });
  return {
    runs: runs.map((r) => ({
      runId: r.runId,
      name: r.name,
      experimentName: r.experimentName,
      status: r.status,
      startTime: r.startTime,
      endTime: r.endTime,
    })),
    params,
    metrics,
  };
}

/** Every logged value of `key` in a run (step order). */
export function metricHistory(store: TrackingStore, runId: string, key: string): Promise<Metric[]> {
  return store.getMetricHistory(runId, key);
}

export interface RunTreeNode {
  readonly run: Run;
  readonly children: RunTreeNode[];
}

/** A run and all its descendants (pipeline run → step runs → trials). */
export async function runTree(store: TrackingStore, rootRunId: string, maxDepth = 10): Promise<RunTreeNode> {
  const build = async (run: Run, depth: number): Promise<RunTreeNode> => {
    if (depth >= maxDepth) return { run, children: [] };
    const kids = await store.searchRuns({ parentRunId: run.runId, order: "start_time_asc", limit: 100_000 });
    return { run, children: await Promise.all(kids.map((k) => build(k, depth + 1))) };
  };
  return build(await store.getRun(rootRunId), 0);
}
