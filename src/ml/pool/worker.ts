/** Pool worker: holds shared datasets (SharedArrayBuffer views) and runs fit/score tasks. */
import { parentPort } from "node:worker_threads";
import type { Fold } from "../model_selection/kfold.ts";
import { runFitScore, type FitScoreTask } from "../model_selection/fit_score.ts";
import { matrix, type Matrix } from "../types.ts";
import type { SharedDatasetMessage, WorkerRequest } from "./protocol.ts";

interface Dataset {
  X: Matrix;
  y: Float64Array;
  folds: Fold[];
}
const datasets = new Map<number, Dataset>();
/** URL prefix of the project's source tree: the only modules a "call" task may import. */
const SRC_ROOT = new URL("../../", import.meta.url).href;

function attach(m: SharedDatasetMessage): Dataset {
  const X = matrix(
    m.X.rows,
    m.X.cols,
    new Float64Array(m.X.buffer, m.X.byteOffset, m.X.rows * m.X.cols),
    m.X.featureNames,
  );
  const y = new Float64Array(m.y.buffer, m.y.byteOffset, m.y.length);
  const folds = m.folds.map((f) => ({
    train: new Uint32Array(f.train.buffer, f.train.byteOffset, f.train.length),
    test: new Uint32Array(f.test.buffer, f.test.byteOffset, f.test.length),
  }));
  return { X, y, folds };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case "init": {
      for (const mod of req.payload.modules) await import(mod);
      return null;
    }
    case "setData": {
      datasets.set(req.payload.id, attach(req.payload));
      return null;
    }
    case "dropData": {
      datasets.delete(req.payload.id);
      return null;
    }
    case "fitScore": {
      const { datasetId, fold, task } = req.payload as {
        datasetId: number;
        fold: number;
        task: FitScoreTask;
      };
      const ds = datasets.get(datasetId);
      if (!ds) throw new Error(`worker: unknown dataset ${datasetId}`);
      const f = ds.folds[fold];
      if (!f) throw new Error(`worker: dataset ${datasetId} has no fold ${fold}`);
      return runFitScore(task, ds.X, ds.y, f);
    }
    case "call": {
      // an exported function of one of the project's modules (the pool only sends URLs under src/)
      const { module, fn, args } = req.payload;
      if (!module.startsWith(SRC_ROOT))
        throw new Error(`worker: refusing to import ${module} (not under src/)`);
      const mod = (await import(module)) as Record<string, unknown>;
      const f = mod[fn];
      if (typeof f !== "function") throw new Error(`worker: ${module} has no exported function ${fn}`);
      return await (f as (...a: unknown[]) => unknown)(...args);
    }
    case "ping":
      return "pong";
    default:
      throw new Error(`worker: unknown op ${(req as { op: string }).op}`);
  }
}

const port = parentPort;
if (!port) throw new Error("pool worker must run in a worker thread");
let chain: Promise<void> = Promise.resolve();
port.on("message", (req: WorkerRequest) => {
  chain = chain.then(async () => {
    try {
      const result = await handle(req);
      port.postMessage({ id: req.id, ok: true, result });
    } catch (e) {
      const err = e as Error;
      port.postMessage({
        id: req.id,
        ok: false,
        error: { name: err?.name ?? "Error", message: err?.message ?? String(e), stack: err?.stack },
      });
    }
  });
});
