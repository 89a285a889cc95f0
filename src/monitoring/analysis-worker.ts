/**
 * Analysis thread (see analysis.ts): opens the prediction-log database read-side and answers window analyses
 * one at a time. workerData: { path } (plus `entry`, used by the tsx bootstrap).
 */
import { parentPort, workerData } from "node:worker_threads";
import { type AnalysisRequestMessage, type AnalysisResponseMessage, analyseWindow } from "./analysis.ts";
import { PredictionLog } from "./prediction-log.ts";
import type { ReferenceProfile } from "./reference.ts";

const port = parentPort;
if (!port) throw new Error("analysis-worker.ts must run in a worker thread");
const send = (m: AnalysisResponseMessage) => port.postMessage(m);

// reads only: nothing is ever appended here, so no writer thread is started
const log = new PredictionLog({ path: (workerData as { path: string }).path, writer: "inline" });
const references = new Map<number, ReferenceProfile>();

port.on("message", (m: AnalysisRequestMessage) => {
  if (m.op === "close") {
    void log.close().then(() => port.close());
    return;
  }
  try {
    if (m.reference) references.set(m.refId, m.reference);
    const reference = references.get(m.refId);
    if (!reference) throw new Error(`unknown reference profile ${m.refId}`);
    send({ op: "done", id: m.id, result: analyseWindow(log, reference, m.req) });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const field = (err as { field?: unknown }).field;
    send({
      op: "failed",
      id: m.id,
      error: err.message,
      name: err.name,
      ...(typeof field === "string" ? { field } : {}),
    });
  }
});
