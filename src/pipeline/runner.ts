/**
 * Pipeline runner: executes steps as a DAG with a content-addressed step cache.
 *
 * A step's cache key = sha256(step id, step code version, the config values the step declares it reads,
 * the cache keys of its upstream steps). A step whose key is unchanged is skipped and its stored output
 * reused ("cached"); a failed run re-run with the same inputs therefore resumes at the failed step.
 * Outputs are serialised with v8 structured clone (typed arrays kept as such) and written atomically.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deserialize, serialize } from "node:v8";

export type StepStatus = "pending" | "running" | "cached" | "done" | "failed" | "skipped";

export interface StepEvent {
  step: string;
  status: StepStatus;
  durationMs?: number;
  cacheKey?: string;
  error?: string;
}

export interface ProgressHandle {
  tick(n?: number, info?: string): void;
  update(value: number, info?: string): void;
  stop(): void;
}

export interface StepRuntime<C> {
  /** Resolved config of the run. */
  config: C;
  /** Outputs of upstream steps, by step id. */
  inputs: Record<string, unknown>;
  /** Progress reporting for long loops inside a step. */
  progress: (label: string, total: number) => ProgressHandle;
  log: (msg: string) => void;
}

export interface StepDef<C, O = unknown> {
  /** e.g. "01_ingest" */
  id: string;
  title: string;
  deps: readonly string[];
  /** Dot paths into the config that this step reads (its cache depends on exactly these). */
  configKeys: readonly string[];
  /** Extra cache inputs (e.g. the data file's hash) computed before running. */
  cacheSalt?: (config: C) => string | Promise<string>;
  run(rt: StepRuntime<C>): Promise<O>;
}

export interface RunOptions {
  /** Only these steps (their deps must be cached). */
  steps?: readonly string[];
  /** Re-run this step and everything after it, ignoring the cache. */
  from?: string;
  /** Ignore the cache entirely. */
  force?: boolean;
  onEvent?: (e: StepEvent) => void;
  progress?: StepRuntime<unknown>["progress"];
  log?: (msg: string) => void;
}

export interface RunResult {
  outputs: Record<string, unknown>;
  events: StepEvent[];
  cacheKeys: Record<string, string>;
}

export class StepFailedError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StepFailedError";
  }
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  });
}

function sha256(s: string | Buffer): string {
  return createHash("sha256").update(s).digest("hex");
}

/**
 * Hash of the engine's source code: every .ts file under the given src folders (sorted by path). Always the
 * TypeScript sources, also when the process runs the compiled tree (dist/ mirrors src/, two levels below the
 * repository root), so both give the same step-cache keys.
 */
export function codeVersion(folders: readonly string[]): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const srcRoot = resolve(here, "..", "..", "src");
  const h = createHash("sha256");
  const files: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts")) files.push(p);
    }
  };
  for (const f of folders) walk(join(srcRoot, f));
  for (const f of files.sort()) {
    h.update(relative(srcRoot, f));
    h.update("\0");
    h.update(readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex");
}

export class StepCache {
  constructor(readonly dir: string) {}

  private file(step: string, key: string): string {
    return join(this.dir, step, `${key}.bin`);
  }

  has(step: string, key: string): boolean {
    return existsSync(this.file(step, key));
  }

  get(step: string, key: string): unknown {
    const buf = readFileSync(this.file(step, key));
    return deserialize(buf);
  }

  put(step: string, key: string, value: unknown): void {
    const f = this.file(step, key);
    mkdirSync(dirname(f), { recursive: true });
    const tmp = `${f}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, serialize(value));
    renameSync(tmp, f);
  }
}

/** Topological order of the steps; throws on unknown deps or cycles. */
export function topoOrder<C>(steps: readonly StepDef<C>[]): StepDef<C>[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const out: StepDef<C>[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (s: StepDef<C>, stack: string[]) => {
    const st = state.get(s.id);
    if (st === 2) return;
    if (st === 1) throw new Error(`pipeline: dependency cycle ${[...stack, s.id].join(" -> ")}`);
    state.set(s.id, 1);
    for (const d of s.deps) {
      const dep = byId.get(d);
      if (!dep) throw new Error(`pipeline: step ${s.id} depends on unknown step ${d}`);
      visit(dep, [...stack, s.id]);
    }
    state.set(s.id, 2);
    out.push(s);
  };
  for (const s of steps) visit(s, []);
  return out;
}

/** Resolve a user's step reference ("05", "5", "05_model_selection", "model_selection") to a step id. */
export function resolveStepId<C>(steps: readonly StepDef<C>[], ref: string): string {
  const r = ref.trim();
  const exact = steps.find((s) => s.id === r);
  if (exact) return exact.id;
  const num = /^\d+$/.test(r) ? r.padStart(2, "0") : null;
  const m = steps.filter((s) => (num !== null && s.id.startsWith(`${num}_`)) || s.id.endsWith(`_${r}`));
  if (m.length === 1) return m[0].id;
  throw new Error(`unknown step '${ref}' (steps: ${steps.map((s) => s.id).join(", ")})`);
}

export async function runPipeline<C>(
  steps: readonly StepDef<C>[],
  config: C,
  cache: StepCache,
  code: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  const order = topoOrder(steps);
  const only = opts.steps ? new Set(opts.steps.map((s) => resolveStepId(steps, s))) : null;
  const fromIdx = opts.from ? order.findIndex((s) => s.id === resolveStepId(steps, opts.from as string)) : -1;
  const outputs: Record<string, unknown> = {};
  const keys: Record<string, string> = {};
  const events: StepEvent[] = [];
  const emit = (e: StepEvent) => {
    events.push(e);
    opts.onEvent?.(e);
  };
  const log = opts.log ?? (() => {});
  const progress = opts.progress ?? (() => ({ tick() {}, update() {}, stop() {} }));

  for (let i = 0; i < order.length; i++) {
    const step = order[i];
    const cfgSlice = Object.fromEntries(step.configKeys.map((k) => [k, getPath(config, k) ?? null]));
    const salt = step.cacheSalt ? await step.cacheSalt(config) : "";
    const key = sha256(
      canonical({ id: step.id, code, config: cfgSlice, salt, deps: step.deps.map((d) => keys[d]) }),
    );
    keys[step.id] = key;
    const wanted = only === null || only.has(step.id);
    const forced = wanted && (opts.force === true || (fromIdx >= 0 && i >= fromIdx));

    if (!forced && cache.has(step.id, key)) {
      if (wanted || needsOutput(step.id, order, i, only)) outputs[step.id] = cache.get(step.id, key);
      emit({ step: step.id, status: "cached", cacheKey: key });
      continue;
    }
    if (!wanted) {
      if (needsOutput(step.id, order, i, only)) {
        throw new Error(
          `step ${step.id} is needed by the selected steps but has no cached output for the current inputs; run it too (e.g. --steps ${step.id},...)`,
        );
      }
      emit({ step: step.id, status: "skipped" });
      continue;
    }
    emit({ step: step.id, status: "running", cacheKey: key });
    const t0 = performance.now();
    const inputs: Record<string, unknown> = {};
    for (const d of transitiveDeps(step, order)) inputs[d] = outputs[d];
    try {
      const out = await step.run({ config, inputs, progress, log });
      outputs[step.id] = out;
      cache.put(step.id, key, out);
      emit({ step: step.id, status: "done", durationMs: performance.now() - t0, cacheKey: key });
    } catch (err) {
      emit({
        step: step.id,
        status: "failed",
        durationMs: performance.now() - t0,
        error: err instanceof Error ? err.message : String(err),
      });
      throw new StepFailedError(step.id, err);
    }
  }
  return { outputs, events, cacheKeys: keys };
}

function transitiveDeps<C>(step: StepDef<C>, order: readonly StepDef<C>[]): string[] {
  const byId = new Map(order.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const visit = (id: string) => {
    for (const d of byId.get(id)?.deps ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(step.id);
  return [...seen];
}

function needsOutput<C>(
  id: string,
  order: readonly StepDef<C>[],
  idx: number,
  only: Set<string> | null,
): boolean {
  if (only === null) return true;
  for (let j = idx + 1; j < order.length; j++) {
    if (only.has(order[j].id) && transitiveDeps(order[j], order).includes(id)) return true;
  }
  return false;
}
