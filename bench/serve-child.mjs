/**
 * Child-process server for the serving benchmark (bench/serve.ts): serves one model file with `startServer`,
 * optionally with the prediction log on, and reports the log's counters when it is stopped.
 *
 *   node --min-semi-space-size=16 bench/serve-child.mjs --model-file PATH [--tree dist|src]
 *        [--servable bundle|test|floor] [--monitoring on|off] [--log-db PATH] [--port 0] [--log-level warn]
 *
 * --tree dist (default): the compiled tree (`npm run build`), what `mlops serve` runs (bin/mlops.js runs dist/
 *   while it is up to date); src: the TypeScript sources, for which node must be given `--import tsx`. Plain
 *   JavaScript so that the dist child loads no tsx at all (its loader thread alone is a third V8 isolate).
 *
 * --servable bundle (default): the file is a ModelBundle (the pipeline's FeaturePipeline + model + intervals),
 *   decoded by the production decoder (registerBundleDecoder); test: the linear test servable (test/helpers);
 *   floor: no model and none of our server (--model-file ignored): a bare Fastify app whose POST /api/v1/predict
 *   answers a constant body of the same shape, i.e. what the machine, Node's HTTP stack and the load generator
 *   cost on their own (the control of the half-peak latency measurement).
 * --monitoring on: every served prediction is queued on a PredictionLog at --log-db (default: a
 *   monitoring.db next to the model file), exactly as `mlops serve` does with monitoring enabled (no periodic
 *   monitoring pass, no reference profile).
 * stdout: `LISTENING <port>` once listening; on SIGTERM/SIGINT the server drains (which flushes and closes the
 * log) and `LOGSTATS {"log": PredictionLog.stats() | null, "rowsPredicted": N}` is printed before exit 0
 * (N = rows predicted by the server, from its model_predictions_total counter).
 */
import { dirname, join } from "node:path";

const CONTRACT_PATH = "config/datasets/california_housing.yaml";

const args = process.argv.slice(2);
/** @param {string} flag @returns {string | undefined} */
const get = (flag) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
/** @param {string} msg @returns {never} */
function fail(msg) {
  process.stderr.write(`bench/serve-child: ${msg}\n`);
  process.exit(2);
}

const tree = get("--tree") ?? "dist";
if (tree !== "dist" && tree !== "src") fail(`--tree must be dist or src, got ${JSON.stringify(tree)}`);
/** a module of the project by its source path, from the chosen tree */
const project = (/** @type {string} */ path) =>
  import(new URL(tree === "dist" ? `../dist/${path}.js` : `../src/${path}.ts`, import.meta.url).href);

const servable = get("--servable") ?? "bundle";
const modelFile = get("--model-file") ?? (servable === "floor" ? "" : fail("--model-file PATH is required"));
const monitoringFlag = get("--monitoring") ?? "off";
if (monitoringFlag !== "on" && monitoringFlag !== "off")
  fail(`--monitoring must be on or off, got ${JSON.stringify(monitoringFlag)}`);
const port = Number(get("--port") ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  fail(`--port must be an integer in [0, 65535], got ${JSON.stringify(get("--port"))}`);

if (servable === "floor") {
  const { default: Fastify } = await import("fastify");
  const app = Fastify({ logger: false });
  const body = {
    predictions: [
      { predicted_price: 452600, confidence_interval: { lower: 380000, upper: 530000, level: 0.9 } },
    ],
    model_version: "floor",
  };
  app.post("/api/v1/predict", async () => body);
  await app.listen({ port, host: "127.0.0.1" });
  const stop = () => {
    void app.close().then(() => {
      process.stdout.write(`LOGSTATS ${JSON.stringify({ log: null, rowsPredicted: 0 })}\n`, () =>
        process.exit(0),
      );
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stdout.write(`LISTENING ${/** @type {{ port: number }} */ (app.server.address()).port}\n`);
} else {
  await serveModel();
}

async function serveModel() {
  const { loadContract } = await project("data/contract");
  const { PredictionLog } = await project("monitoring/prediction-log");
  const { startServer } = await project("serving/app");
  const { registerDecoder } = await project("serving/decoders");
  const { registerBundleDecoder } = await project("serving/registry-source");
  const { fileSource } = await project("serving/sources");
  if (servable === "bundle") registerBundleDecoder();
  else if (servable === "test") {
    if (tree !== "src") fail("--servable test needs --tree src (the test servable is TypeScript)");
    const { decodeTestServable } = await import("../test/helpers/servable.ts");
    registerDecoder(decodeTestServable, "test-servable");
  } else fail(`--servable must be bundle, test or floor, got ${JSON.stringify(servable)}`);

  const log =
    monitoringFlag === "on"
      ? new PredictionLog({ path: get("--log-db") ?? join(dirname(modelFile), "monitoring.db") })
      : null;

  const server = await startServer({
    contract: loadContract(CONTRACT_PATH),
    sources: [fileSource({ path: modelFile })],
    port,
    logLevel: get("--log-level") ?? "warn",
    handleSignals: true,
    exitOnSignal: false,
    waitForModel: true,
    ...(log ? { monitoring: { log, reference: async () => null, intervalMs: 0 } } : {}),
  });
  if (!server.app.mlops.manager.current) {
    process.stderr.write(`bench/serve-child: no model loaded from ${modelFile}\n`);
    await server.close();
    process.exit(1);
  }

  const onStop = () => {
    // startServer's own handler (registered first) starts the drain; close() returns that same drain
    server
      .close()
      .then(async () => {
        const rows = await server.app.mlops.metrics.predictionsTotal.get();
        const rowsPredicted = rows.values.reduce(
          (/** @type {number} */ a, /** @type {{ value: number }} */ v) => a + v.value,
          0,
        );
        const line = JSON.stringify({ log: log ? log.stats() : null, rowsPredicted });
        process.stdout.write(`LOGSTATS ${line}\n`, () => process.exit(0));
      })
      .then(undefined, (err) => {
        process.stderr.write(`bench/serve-child: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.once("SIGTERM", onStop);
  process.once("SIGINT", onStop);
  process.stdout.write(`LISTENING ${server.port}\n`);
}
