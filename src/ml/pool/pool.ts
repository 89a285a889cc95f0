/**
 * A small worker_threads pool for model selection. Workers run TypeScript through a tsx bootstrap, import
 * the estimator registry, and may import extra modules (to register more kinds). Datasets are shared once
 * per pool through SharedArrayBuffer (`shareDataset`); tasks then carry only params and a fold index.
 *
 * Idle workers are unref'd, so a pool never keeps the process alive on its own; still call `close()`.
 */
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { moduleUrl, startModuleWorker } from "./spawn.ts";
import type { Fold } from "../model_selection/kfold.ts";
import type { FitScoreTask, VariantResult } from "../model_selection/fit_score.ts";
import { MLInputError, type Matrix } from "../types.ts";
import type { SharedDatasetMessage, SharedSlice, WorkerRequest, WorkerResponse } from "./protocol.ts";

export interface PoolOptions {
  /** Number of workers. Default os.availableParallelism(). */
  size?: number;
  /** Modules (file paths or URLs) every worker imports at start, e.g. to register extra regressor kinds. */
  modules?: string[];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}
interface Slot {
  worker: Worker;
  busy: boolean;
  pending: Map<number, Pending>;
}
interface Queued {
  op: WorkerRequest["op"];
  payload: unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/** Resolve an n_jobs value sklearn-style: undefined → all cores, -1 → all cores, k ≥ 1 → k. */
export function resolveJobs(nJobs: number | undefined): number {
  if (nJobs === undefined || nJobs === -1) return defaultJobs();
  if (!Number.isInteger(nJobs) || nJobs < 1)
    throw new MLInputError(`nJobs must be -1 or an integer >= 1, got ${nJobs}`);
  return nJobs;
}

function toUrl(m: string): string {
  return /^[a-z]+:/i.test(m) ? m : pathToFileURL(m).href;
}

function toShared(a: Float64Array | Uint32Array): SharedSlice {
  if (a.buffer instanceof SharedArrayBuffer)
    return { buffer: a.buffer, byteOffset: a.byteOffset, length: a.length };
  const sab = new SharedArrayBuffer(a.byteLength);
  const view = a instanceof Float64Array ? new Float64Array(sab) : new Uint32Array(sab);
  view.set(a);
  return { buffer: sab, byteOffset: 0, length: a.length };
}

let nextDatasetId = 1;

export class WorkerPool {
  readonly size: number;
  private slots: Slot[] = [];
  private queue: Queued[] = [];
  private msgId = 1;
  private failed: Error | null = null;
  private closed = false;

  private constructor(size: number) {
    this.size = size;
  }

  static async create(opts: PoolOptions = {}): Promise<WorkerPool> {
    const size = resolveJobs(opts.size);
    const pool = new WorkerPool(size);
    const entry = moduleUrl("./worker.ts", import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = startModuleWorker(entry);
      const slot: Slot = { worker, busy: false, pending: new Map() };
      worker.on("message", (msg: WorkerResponse) => pool.onMessage(slot, msg));
      worker.on("error", (e) => pool.onFailure(slot, e));
      worker.on("exit", (code) => {
        if (!pool.closed)
          pool.onFailure(slot, new Error(`pool worker exited unexpectedly with code ${code}`));
      });
      worker.unref();
      pool.slots.push(slot);
    }
    const modules = ["../registry.ts", ...(opts.modules ?? [])].map((m) =>
      m.startsWith("../") ? moduleUrl(m, import.meta.url) : toUrl(m),
    );
    try {
      await pool.broadcast("init", { modules });
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private post(slot: Slot, op: WorkerRequest["op"], payload: unknown): Promise<unknown> {
    const id = this.msgId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, op, payload });
    });
  }

  private onMessage(slot: Slot, msg: WorkerResponse): void {
    const p = slot.pending.get(msg.id);
    if (!p) return;
    slot.pending.delete(msg.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if (msg.ok) p.resolve(msg.result);
    else {
      const e =
        msg.error.name === "MLInputError"
          ? new MLInputError(msg.error.message)
          : new Error(msg.error.message);
      if (msg.error.name !== "MLInputError") e.name = msg.error.name;
      p.reject(e);
    }
  }

  private onFailure(slot: Slot, e: Error): void {
    this.failed ??= e;
    for (const p of slot.pending.values()) p.reject(e);
    slot.pending.clear();
    for (const q of this.queue.splice(0)) q.reject(e);
  }

  /** Send a message to every worker (in order with their tasks); resolves when all have handled it. */
  broadcast(op: WorkerRequest["op"], payload: unknown): Promise<unknown[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error("pool is closed"));
    return Promise.all(this.slots.map((s) => this.post(s, op, payload)));
  }

  /** Run one task on the next free worker. */
  exec<T>(op: WorkerRequest["op"], payload: unknown): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error("pool is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, payload, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const q = this.queue.shift()!;
      slot.busy = true;
      this.post(slot, q.op, q.payload).then(
        (v) => {
          slot.busy = false;
          q.resolve(v);
          this.pump();
        },
        (e: Error) => {
          slot.busy = false;
          q.reject(e);
          this.pump();
        },
      );
    }
  }

  /** Share X, y and folds with every worker (zero-copy when already SharedArrayBuffer-backed). */
  async shareDataset(X: Matrix, y: Float64Array, folds: readonly Fold[]): Promise<number> {
    const id = nextDatasetId++;
    const xs = toShared(X.data);
    const msg: SharedDatasetMessage = {
      id,
      X: {
        rows: X.rows,
        cols: X.cols,
        buffer: xs.buffer,
        byteOffset: xs.byteOffset,
        featureNames: X.featureNames,
      },
      y: toShared(y),
      folds: folds.map((f) => ({ train: toShared(f.train), test: toShared(f.test) })),
    };
    await this.broadcast("setData", msg);
    return id;
  }

  async dropDataset(id: number): Promise<void> {
    if (this.failed || this.closed) return;
    await this.broadcast("dropData", { id });
  }

  /**
   * Run `fn(...args)` — an exported function of a module under src/ (give its URL, e.g.
   * `new URL("./x.ts", import.meta.url).href`) — on the next free worker. Arguments and result travel by structured
   * clone, so pass typed arrays and plain data (e.g. a ModelState), not class instances.
   */
  call<T>(moduleUrl: string, fn: string, ...args: unknown[]): Promise<T> {
    return this.exec<T>("call", { module: moduleUrl, fn, args });
  }

  fitScore(datasetId: number, fold: number, task: FitScoreTask): Promise<VariantResult[]> {
    return this.exec<VariantResult[]>("fitScore", { datasetId, fold, task });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error("pool closed");
    for (const q of this.queue.splice(0)) q.reject(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** Run `fn` with a pool of `size` workers, closing it afterwards. */
export async function withPool<T>(opts: PoolOptions, fn: (pool: WorkerPool) => Promise<T>): Promise<T> {
  const pool = await WorkerPool.create(opts);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}
