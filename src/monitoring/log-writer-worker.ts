/**
 * Writer thread of the prediction log (see log-writer.ts): owns its own connection to the log database and
 * commits the jobs the serving thread posts, in order, acknowledging each one.
 * workerData: { path: string } (plus `entry`, used by the tsx bootstrap).
 */
import { parentPort, workerData } from "node:worker_threads";
import { BatchWriter, openLogDatabase, type WriterRequest, type WriterResponse } from "./log-writer.ts";

const port = parentPort;
if (!port) throw new Error("log-writer-worker.ts must run in a worker thread");
const send = (m: WriterResponse) => port.postMessage(m);

const db = openLogDatabase((workerData as { path: string }).path);
const writer = new BatchWriter(db);
send({ op: "ready" });

port.on("message", (m: WriterRequest) => {
  if (m.op === "write") {
    try {
      send({ op: "written", seq: m.seq, result: writer.write(m.job) });
    } catch (e) {
      send({ op: "failed", seq: m.seq, error: e instanceof Error ? e.message : String(e) });
    }
  } else if (m.op === "retain") {
    try {
      writer.deleteOlderThan(m.cutoffMs);
    } catch (e) {
      send({ op: "retainFailed", error: e instanceof Error ? e.message : String(e) });
    }
  } else if (m.op === "close") {
    db.close();
    send({ op: "closed" });
    port.close();
  }
});
