/**
 * A lazily created, process-wide pool of tree worker threads, driven synchronously so `fit()` stays synchronous:
 * the main thread posts a job, builds trees itself from the same shared counter, then blocks on Atomics.wait and
 * drains results with receiveMessageOnPort. Workers are unref'd (they never keep the process alive); call
 * `shutdownTreeWorkers()` to terminate them explicitly. Data is shared, not copied: the binned codes and the
 * targets live on SharedArrayBuffers.
 *
 * The same workers also predict: `predictSumsParallel` splits a large batch by rows between the calling thread
 * and the workers, each walking every tree for its rows exactly as `TreeEnsemblePredictor.predictSums` does
 * (same code, same tree order), so the result is bit-identical to the single-threaded one. The ensemble's layout
 * is posted to each worker once (on SharedArrayBuffers: nothing is copied).
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { isMainThread, MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { moduleUrl } from "../pool/spawn.ts";
import type { TreeArrays } from "./core.ts";
import { TreeGrower } from "./core.ts";
import type { ForestJob } from "./forest_build.ts";
import { buildForestTree } from "./forest_build.ts";
import { type PredictorLayout, type TreeEnsemblePredictor, WORKER_LAYOUTS } from "./predict.ts";

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
  seen: number;
  ready: boolean;
  /** ids of the predictor layouts this worker holds */
  layouts: Set<number>;
}

const workers: PoolWorker[] = [];
let jobSeq = 0;
const STARTUP_TIMEOUT_MS = 60_000;

function spawn(): PoolWorker {
  const workerUrl = moduleUrl("./worker.ts", import.meta.url);
  const isTs = workerUrl.endsWith(".ts");
  const { port1, port2 } = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  // A plain-JS bootstrap: registers tsx when running from sources, imports the worker module, and reports a load
  // failure on the result port (the parent is blocked in Atomics.wait and cannot see 'error' events).
  const tsxApi = isTs
    ? pathToFileURL(
        createRequire(import.meta.url)
          .resolve("tsx/esm/api")
          .replace(/\.cjs$/, ".mjs"),
      ).href
    : null;
  const code = `
const { workerData } = require('node:worker_threads');
const fail = (e) => {
  workerData.port.postMessage({ error: 'worker load failed: ' + (e && e.stack ? e.stack : String(e)) });
  Atomics.add(workerData.signal, 0, 1);
  Atomics.notify(workerData.signal, 0);
};
(async () => {
  ${tsxApi ? `(await import(${JSON.stringify(tsxApi)})).register();` : ""}
  await import(${JSON.stringify(workerUrl)});
})().catch(fail);
`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { port: port2, signal },
    transferList: [port2],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  return { worker, port: port1, signal, seen: 0, ready: false, layouts: new Set() };
}

/** Terminate the pool's workers (they are unref'd, so this is only needed for a clean shutdown). */
export async function shutdownTreeWorkers(): Promise<void> {
  const ws = workers.splice(0);
  await Promise.all(ws.map((w) => w.worker.terminate()));
}

let cores = 0;

/**
 * Resolve sklearn's n_jobs (null = 1, -1 = all cores, -k = cores + 1 - k). The core count is read once, and only
 * for negative n_jobs: `availableParallelism()` is a sched_getaffinity system call, and `predict` resolves n_jobs on
 * every call (it was a measurable part of a 200-tree forest's ~50 µs single-row prediction).
 */
export function resolveJobs(nJobs: number | null): number {
  if (nJobs === null || nJobs === 0) return 1;
  if (nJobs < 0) {
    if (cores === 0) cores = availableParallelism();
    return Math.max(1, cores + 1 + nJobs);
  }
  return nJobs;
}

/** Receive one message from w, blocking up to timeoutMs. */
function receive(w: PoolWorker, timeoutMs: number): Record<string, unknown> | undefined {
  for (;;) {
    const m = receiveMessageOnPort(w.port);
    if (m) return m.message as Record<string, unknown>;
    const cur = Atomics.load(w.signal, 0);
    if (cur === w.seen) {
      if (Atomics.wait(w.signal, 0, w.seen, timeoutMs) === "timed-out") return undefined;
    }
    w.seen = Atomics.load(w.signal, 0);
  }
}

/** The first `nw` workers, started (and waited for) if needed. */
function readyWorkers(nw: number): PoolWorker[] {
  while (workers.length < nw) workers.push(spawn());
  const used = workers.slice(0, nw);
  for (const w of used) {
    if (w.ready) continue;
    const m = receive(w, STARTUP_TIMEOUT_MS);
    if (!m?.ready) {
      workers.splice(workers.indexOf(w), 1);
      void w.worker.terminate();
      throw new Error(
        m?.error ? `tree worker failed to start: ${m.error}` : "tree worker failed to start within 60 s",
      );
    }
    w.ready = true;
  }
  return used;
}

/** Build trees 0..nTrees-1 of a forest job with `threads` threads (the calling thread is one of them). */
export function buildForestParallel(job: ForestJob, nTrees: number, threads: number): TreeArrays[] {
  const out: (TreeArrays | undefined)[] = new Array(nTrees);
  const used = readyWorkers(Math.max(0, Math.min(threads, nTrees) - 1));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const id = ++jobSeq;
  for (const w of used) w.worker.postMessage({ id, job, counter, nTrees });
  const grower = new TreeGrower(job.data);
  const scratch = {};
  let err: string | null = null;
  for (;;) {
    const i = Atomics.add(counter, 0, 1);
    if (i >= nTrees) break;
    out[i] = buildForestTree(job, i, grower, scratch);
  }
  for (const w of used) {
    for (;;) {
      const m = receive(w, 600_000);
      if (!m) {
        err = "tree worker timed out";
        break;
      }
      if (m.id !== id) continue;
      if (m.error) {
        err = m.error as string;
        break;
      }
      if (m.done) break;
      out[m.index as number] = m.tree as TreeArrays;
    }
  }
  if (err) throw new Error(`forest worker failed: ${err}`);
  for (let i = 0; i < nTrees; i++) if (!out[i]) throw new Error(`forest: tree ${i} was not built`);
  return out as TreeArrays[];
}

/** Below this many row × tree walks a batch is predicted in the calling thread (hand-off costs ~0.1 ms). */
export const PARALLEL_PREDICT_MIN_WORK = 40_000;

const layoutIds = new WeakMap<TreeEnsemblePredictor, number>();
let layoutSeq = 0;

/**
 * Trees the calling thread takes in `predictSumsParallel` per tree of a worker, learnt from the calls so far: both
 * sides' time per tree (a worker's counted from the post, so its wake-up is included) moves it halfway towards the
 * weight at which they would have finished together. Which thread walks which tree does not change the result.
 */
let callerWeight = 1;

export function balance(callerMs: number, callerTrees: number, workerMs: number, workerTrees: number): void {
  if (!(callerMs > 0 && workerMs > 0)) return;
  const target = workerMs / workerTrees / (callerMs / callerTrees);
  callerWeight = Math.min(2, Math.max(0.5, (callerWeight + target) / 2));
}

/** The current weight (see `balance`); with an argument, sets it first (clamped to [0.5, 2]). */
export function parallelPredictWeight(w?: number): number {
  if (w !== undefined) callerWeight = Math.min(2, Math.max(0.5, w));
  return callerWeight;
}

/** Grow-only shared buffers of `predictSumsParallel`: [0] the input, [k + 1] worker k's stage. */
const predictScratch: SharedArrayBuffer[] = [];

/** A Float64Array of `len` values on scratch[i], grown (to a power of two) when too small. */
function sharedScratch(scratch: SharedArrayBuffer[], i: number, len: number): Float64Array {
  let buf = scratch[i];
  if (!buf || buf.byteLength < len * 8) {
    buf = new SharedArrayBuffer(8 * 2 ** Math.ceil(Math.log2(Math.max(len, 1024))));
    scratch[i] = buf;
  }
  return new Float64Array(buf, 0, len);
}

/**
 * init + Σ of trees [0, to) per row of the row-major `x` (rows × nFeatures), bit-identical to
 * `pred.predictSums(x, rows, to, init)`, with the trees split between the calling thread and `threads - 1` pool
 * workers. Split by trees, not rows: walking a tree costs a fixed pass over its records (the tree must come
 * through the cache) plus a little per row, so each thread must read only its share of the trees. The calling
 * thread sums its trees [0, h) per row, each worker writes the leaf value of each of its trees for each row
 * (`leafTerms`), and the calling thread then adds those terms in tree order: the same additions in the same order
 * as one thread. Returns null when the batch should be predicted in the calling thread: one thread, a small batch,
 * a non-compact ensemble, a worker thread (pools do not nest), or a NaN (those rows walk the TreeArrays on the
 * summing path). The first call waits for the workers to start (~1–2 s from TypeScript sources), as the first
 * parallel fit does.
 */
export function predictSumsParallel(
  pred: TreeEnsemblePredictor,
  x: Float64Array,
  rows: number,
  to: number,
  init: number,
  threads: number,
): Float64Array | null {
  if (threads < 2 || !isMainThread || !pred.compact || to < 2 || rows * to < PARALLEL_PREDICT_MIN_WORK)
    return null;
  const p = pred.nFeatures;
  const len = rows * p;
  for (let i = 0; i < len; i++) if (Number.isNaN(x[i])) return null;
  const nw = Math.min(threads - 1, to - 1);
  const used = readyWorkers(nw);
  let id = layoutIds.get(pred);
  if (id === undefined) {
    id = ++layoutSeq;
    layoutIds.set(pred, id);
  }
  const layout: PredictorLayout = pred.layout(true);
  // the input and the stages live in grow-only shared scratch (allocating ~1 MB of SharedArrayBuffer per call
  // cost several ms: zeroed pages and external-memory GC pressure); calls are synchronous, so reuse is safe
  const xs = sharedScratch(predictScratch, 0, len);
  xs.set(x.subarray(0, len));
  // tree ranges: the calling thread [0, mine), worker k [mine + per·k, mine + per·(k + 1)) (the last one to `to`);
  // the calling thread takes callerWeight trees per tree of a worker (a worker starts later and fills its stage)
  const mine = Math.max(1, Math.min(to - nw, Math.round((to * callerWeight) / (callerWeight + nw))));
  const per = Math.ceil((to - mine) / nw);
  const start = performance.timeOrigin + performance.now();
  const jobId = ++jobSeq;
  const parts: { w: PoolWorker; from: number; to: number; stage: Float64Array }[] = [];
  for (let k = 0; k < used.length; k++) {
    const from = mine + per * k;
    const end = k === used.length - 1 ? to : Math.min(to, from + per);
    if (from >= end) break;
    const w = used[k];
    const stage = sharedScratch(predictScratch, k + 1, rows * (end - from));
    const known = w.layouts.has(id);
    w.worker.postMessage({
      id: jobId,
      predict: { layoutId: id, layout: known ? undefined : layout, x: xs, rows, from, to: end, stage },
    });
    if (!known) {
      // mirror the worker's cache: it drops its oldest layout beyond WORKER_LAYOUTS
      w.layouts.add(id);
      if (w.layouts.size > WORKER_LAYOUTS) w.layouts.delete(w.layouts.values().next().value as number);
    }
    parts.push({ w, from, to: end, stage });
  }
  const out = pred.predictSums(x, rows, mine, init);
  const mineEnd = performance.timeOrigin + performance.now();
  let err: string | null = null;
  let lastEnd = 0;
  let lastTrees = 1;
  for (const part of parts) {
    for (;;) {
      const m = receive(part.w, 600_000);
      if (!m) {
        err = "tree worker timed out";
        break;
      }
      if (m.id !== jobId) continue;
      if (m.error) err = m.error as string;
      else if (typeof m.end === "number" && m.end > lastEnd) {
        lastEnd = m.end;
        lastTrees = part.to - part.from;
      }
      break;
    }
    if (err) break;
    const st = part.stage;
    for (let t = 0; t < part.to - part.from; t++) {
      const o = t * rows;
      for (let r = 0; r < rows; r++) out[r] += st[o + r];
    }
  }
  if (err) {
    // a worker that failed may have lost its layouts: forget what it held
    for (const part of parts) part.w.layouts.clear();
    throw new Error(`parallel predict failed: ${err}`);
  }
  balance(mineEnd - start, mine, lastEnd - start, lastTrees);
  return out;
}
