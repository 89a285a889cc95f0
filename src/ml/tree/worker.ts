/**
 * Worker thread of the tree pool. Protocol (see pool.ts): workerData = { port, signal }. For each job message
 * { id, job, counter } it takes tree indices from the shared counter (Atomics.add) until none are left, posts
 * { id, index, tree } per tree on `port`, then { id, done: true }; after every post it bumps `signal` and notifies.
 * A predict message { id, predict: { layoutId, layout?, x, rows, from, to, stage } } fills `stage` (shared) with
 * the leaf value of each tree in [from, to) for each row of `x` (`leafTerms`), then posts { id, done: true }.
 * Layouts are kept by id (sent once per worker; the last WORKER_LAYOUTS are kept).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { TreeGrower } from "./core.ts";
import type { ForestJob } from "./forest_build.ts";
import { buildForestTree } from "./forest_build.ts";
import { type PredictorLayout, TreeEnsemblePredictor, WORKER_LAYOUTS } from "./predict.ts";

/** Predictors by layout id, most recent last (a few models at a time: a server's current and next version). */
const predictors = new Map<number, TreeEnsemblePredictor>();

interface PredictJob {
  layoutId: number;
  layout?: PredictorLayout;
  x: Float64Array;
  rows: number;
  from: number;
  to: number;
  stage: Float64Array;
}

function predict(j: PredictJob): void {
  let pred = predictors.get(j.layoutId);
  if (!pred) {
    if (!j.layout) throw new Error(`predict: unknown layout ${j.layoutId}`);
    pred = new TreeEnsemblePredictor(j.layout);
    predictors.set(j.layoutId, pred);
    if (predictors.size > WORKER_LAYOUTS) predictors.delete(predictors.keys().next().value as number);
  }
  pred.leafTerms(j.x, j.rows, j.from, j.to, j.stage);
}

const port = workerData.port as MessagePort;
const signal = workerData.signal as Int32Array;

function post(msg: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

post({ ready: true });

parentPort?.on(
  "message",
  (m: { id: number; job: ForestJob; counter: Int32Array; nTrees: number; predict?: PredictJob }) => {
    if (m.predict) {
      try {
        predict(m.predict);
        // wall-clock end (timeOrigin differs between threads), for the caller's load balance
        post({ id: m.id, done: true, end: performance.timeOrigin + performance.now() });
      } catch (e) {
        post({ id: m.id, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
      }
      return;
    }
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
  },
);
