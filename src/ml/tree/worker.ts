/**
 * Worker thread of the tree pool. Protocol (see pool.ts): workerData = { port, signal }. For each job message
 * { id, job, counter } it takes tree indices from the shared counter (Atomics.add) until none are left, posts
 * { id, index, tree } per tree on `port`, then { id, done: true }; after every post it bumps `signal` and notifies.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { TreeGrower } from "./core.ts";
import type { ForestJob } from "./forest_build.ts";
import { buildForestTree } from "./forest_build.ts";

const port = workerData.port as MessagePort;
const signal = workerData.signal as Int32Array;

function post(msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

post({ ready: true });

parentPort?.on("message", (m: { id: number; job: ForestJob; counter: Int32Array; nTrees: number }) => {
  try {
    const grower = new TreeGrower(m.job.data);
    const scratch = {};
    for (;;) {
      const i = Atomics.add(m.counter, 0, 1);
      if (i >= m.nTrees) break;
      const t = buildForestTree(m.job, i, grower, scratch);
      const bufs = [
        t.feature.buffer,
        t.threshold.buffer,
        t.left.buffer,
        t.right.buffer,
        t.missingLeft.buffer,
        t.value.buffer,
        t.nSamples.buffer,
        t.weightedNSamples.buffer,
        t.impurity.buffer,
      ] as ArrayBuffer[];
      // the arrays may share one buffer: transfer each buffer once
      post({ id: m.id, index: i, tree: t }, [...new Set(bufs)]);
    }
    post({ id: m.id, done: true });
  } catch (e) {
    post({ id: m.id, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});
