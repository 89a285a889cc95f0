/**
 * Child of the prediction-log memory test (run with node --expose-gc): appends 2,000-row jobs, lets each waiting
 * job's buffers survive two scavenges (promoted, as under load), flushes, and prints how much the ArrayBuffer
 * memory grew after a final scavenge. Buffers freed at the acknowledgement are gone; buffers left to the
 * collector would wait for a full GC.
 *   node --expose-gc --import tsx test/helpers/log-memory-child.ts DB thread|inline
 * The test uses inline: with a writer thread, runs without the free grew by only 0.3-0.7 MB (V8 ran full GCs of
 * its own in that mode), too close to the 16-160 kB of runs with it.
 */
import { PredictionLog, type PredictionRecord } from "../../src/monitoring/prediction-log.ts";

const gc = (globalThis as { gc?: (o?: { type: "minor" | "major" }) => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const [path, writer] = process.argv.slice(2) as [string, "thread" | "inline"];
const ROWS = 2_000;
const log = new PredictionLog({ path, batchSize: ROWS, flushIntervalMs: 600_000, writer });
const records = (k: number): PredictionRecord[] =>
  Array.from({ length: ROWS }, (_, i) => ({
    id: `r-${k}-${i}`,
    ts: k * 10_000 + i,
    modelVersion: "1",
    inputs: { a: i, b: 2 * i, c: i % 2 === 0 ? "x" : "y" },
    prediction: i,
    lower: i - 1,
    upper: i + 1,
    latencyMs: 1,
  }));
for (let k = 0; k < 3; k++) {
  log.append(records(k));
  await log.flush();
}
gc();
const base = process.memoryUsage().arrayBuffers;
const jobs = 60;
for (let k = 3; k < 3 + jobs; k++) {
  log.append(records(k)); // a full batch: sealed into a job at once
  gc({ type: "minor" });
  gc({ type: "minor" });
  await log.flush();
}
gc({ type: "minor" });
const grown = process.memoryUsage().arrayBuffers - base;
const written = log.stats().written;
await log.close();
process.stdout.write(`${JSON.stringify({ grown, written, jobs })}\n`);
