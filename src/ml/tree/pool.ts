/**
 * A lazily created, process-wide pool of tree worker threads, driven synchronously so `fit()` stays synchronous:
 * the main thread posts a job, builds trees itself from the same shared counter, then blocks on Atomics.wait and
 * drains results with receiveMessageOnPort. Workers are unref'd (they never keep the process alive); call
 * `shutdownTreeWorkers()` to terminate them explicitly. Data is shared, not copied: the binned codes and the
 * targets live on SharedArrayBuffers.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { TreeArrays } from "./core.ts";
import { TreeGrower } from "./core.ts";
import type { ForestJob } from "./forest_build.ts";
import { buildForestTree } from "./forest_build.ts";

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
  seen: number;
  ready: boolean;
}

const workers: PoolWorker[] = [];
let jobSeq = 0;
const STARTUP_TIMEOUT_MS = 60_000;

function spawn(): PoolWorker {
  const isTs = import.meta.url.endsWith(".ts");
  const workerUrl = new URL(isTs ? "./worker.ts" : "./worker.js", import.meta.url).href;
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
  return { worker, port: port1, signal, seen: 0, ready: false };
}

/** Terminate the pool's workers (they are unref'd, so this is only needed for a clean shutdown). */
export async function shutdownTreeWorkers(): Promise<void> {
  const ws = workers.splice(0);
  await Promise.all(ws.map((w) => w.worker.terminate()));
}

/** Resolve sklearn's n_jobs (null = 1, -1 = all cores, -k = cores + 1 - k). */
export function resolveJobs(nJobs: number | null): number {
  const cores = availableParallelism();
  if (nJobs === null || nJobs === 0) return 1;
  if (nJobs < 0) return Math.max(1, cores + 1 + nJobs);
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

/** Build trees 0..nTrees-1 of a forest job with `threads` threads (the calling thread is one of them). */
export function buildForestParallel(job: ForestJob, nTrees: number, threads: number): TreeArrays[] {
  const out: (TreeArrays | undefined)[] = new Array(nTrees);
  const nw = Math.max(0, Math.min(threads, nTrees) - 1);
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
