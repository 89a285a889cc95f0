/**
 * The compiled tree (dist/, `npm run build`) and the launcher's choice between it and the sources.
 *
 * bin/mlops.js runs dist/ only while every src/ .ts has a .js at least as new; the compiled tree's worker threads
 * (prediction-log writer, analysis thread, model-selection pool, tree pool) start on their .js entries without
 * tsx. A build of this tree into a temp dir is run by plain node, so nothing here can fall back to tsx.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../../src/config/load.ts";
import { codeVersion } from "../../src/pipeline/runner.ts";

const tmp = mkdtempSync(join(tmpdir(), "compiled-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}, cwd = REPO_ROOT): Promise<Result> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("MLOPS_") && !k.startsWith("NODE_TEST") && k !== "NODE_OPTIONS") clean[k] = v;
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...clean, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    ),
  );
}

describe("launcher: compiled tree or sources", () => {
  // a miniature project: the real launcher, a src/ and a dist/ whose entry points say which one ran
  const root = join(tmp, "mini");
  const write = (rel: string, text: string, mtimeS: number) => {
    const p = join(root, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, text);
    utimesSync(p, mtimeS, mtimeS);
  };
  const setup = () => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, "bin"), { recursive: true });
    copyFileSync(join(REPO_ROOT, "bin", "mlops.js"), join(root, "bin", "mlops.js"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
    writeFileSync(join(root, "package.json"), '{"type":"module"}');
    write("src/cli/index.ts", 'const from: string = "sources";\nconsole.log(from);\n', 1_000);
    write("src/ml/deep/x.ts", "export const x: number = 1;\n", 1_000);
    write("dist/cli/index.js", 'console.log("compiled");\n', 2_000);
    write("dist/ml/deep/x.js", "export const x = 1;\n", 2_000);
  };
  const launch = (env: NodeJS.ProcessEnv = {}) => node([join(root, "bin", "mlops.js")], env, root);

  it("runs dist/ when every source has an up-to-date .js, the sources otherwise", async () => {
    setup();
    const fresh = await launch();
    assert.equal(fresh.stdout.trim(), "compiled");
    assert.equal(fresh.stderr, "");
    // a source edited after the build, deep in the tree: the sources run, and stderr says why
    utimesSync(join(root, "src/ml/deep/x.ts"), 3_000, 3_000);
    const stale = await launch();
    assert.equal(stale.stdout.trim(), "sources", stale.stderr);
    assert.match(
      stale.stderr,
      /^mlops: dist\/ is older than src\/ml\/deep\/x\.ts; running the TypeScript sources/,
    );
    // rebuilt
    utimesSync(join(root, "dist/ml/deep/x.js"), 3_000, 3_000);
    assert.equal((await launch()).stdout.trim(), "compiled");
    // a new source file without a compiled counterpart
    write("src/ml/new.ts", "export {};\n", 1_500);
    assert.equal((await launch()).stdout.trim(), "sources");
    rmSync(join(root, "src/ml/new.ts"));
    assert.equal((await launch()).stdout.trim(), "compiled");
    // a declaration file (compiles to nothing) is not a stale source
    write("src/ml/ambient.d.ts", "declare const y: number;\n", 4_000);
    assert.equal((await launch()).stdout.trim(), "compiled");
    // forced: no warning (the sources were asked for)
    const forced = await launch({ MLOPS_FROM_SOURCE: "1" });
    assert.equal(forced.stdout.trim(), "sources");
    assert.equal(forced.stderr, "");
    // a deployment of dist/ alone
    rmSync(join(root, "src"), { recursive: true });
    assert.equal((await launch()).stdout.trim(), "compiled");
    // no build at all
    setup();
    rmSync(join(root, "dist"), { recursive: true });
    const unbuilt = await launch();
    assert.equal(unbuilt.stdout.trim(), "sources");
    assert.match(unbuilt.stderr, /^mlops: dist\/ is not built; running the TypeScript sources/);
  });
});

describe("compiled tree", () => {
  const out = join(tmp, "build");
  const dist = join(out, "dist");

  it("builds, and runs without tsx: the CLI and every worker thread entry", {
    timeout: 240_000,
  }, async () => {
    // the project's build (tsconfig.build.json) into a temp dir that resolves packages from this checkout
    mkdirSync(out, { recursive: true });
    symlinkSync(join(REPO_ROOT, "node_modules"), join(out, "node_modules"));
    symlinkSync(join(REPO_ROOT, "src"), join(out, "src")); // dist/ sits next to src/, as in a checkout
    writeFileSync(join(out, "package.json"), '{"type":"module","version":"9.9.9"}');
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const built = await node([tsc, "-p", "tsconfig.build.json", "--noCheck", "--outDir", dist]);
    assert.equal(built.code, 0, built.stdout + built.stderr);

    const version = await node([join(dist, "cli", "index.js"), "--version", "--json"]);
    assert.equal(version.code, 0, version.stderr);
    assert.deepEqual(JSON.parse(version.stdout), {
      version: "9.9.9",
      runtime: "compiled",
      node: process.version,
    });
    // the launcher finds this fresh build current against the real sources (every file of src/)
    mkdirSync(join(out, "bin"), { recursive: true });
    copyFileSync(join(REPO_ROOT, "bin", "mlops.js"), join(out, "bin", "mlops.js"));
    const launched = await node([join(out, "bin", "mlops.js"), "--version", "--json"], {}, out);
    assert.equal(launched.code, 0, launched.stderr);
    assert.equal(JSON.parse(launched.stdout).runtime, "compiled");

    // plain node (no loader hooks registered anywhere) runs each kind of worker thread from dist/
    const script = join(out, "workers.mjs");
    writeFileSync(
      script,
      `
const url = (p) => new URL("./dist/" + p, import.meta.url).href;
const { PredictionLog } = await import(url("monitoring/prediction-log.js"));
const { AnalysisThread } = await import(url("monitoring/analysis.js"));
const { WorkerPool } = await import(url("ml/pool/pool.js"));
const { RandomForestRegressor } = await import(url("ml/tree/forest.js"));
const { shutdownTreeWorkers } = await import(url("ml/tree/pool.js"));
const { matrix } = await import(url("ml/types.js"));
const out = {};
// prediction-log writer thread
const log = new PredictionLog({ path: ${JSON.stringify(join(out, "m.db"))}, writer: "thread", batchSize: 10 });
for (let i = 0; i < 25; i++)
  log.append([{ id: "p" + i, ts: 1_000 + i, modelVersion: "1", inputs: { a: i }, prediction: 2 * i }]);
await log.flush();
out.writer = log.writerMode;
// analysis thread (drift skipped: minRows above the window; the window is still read on the thread)
const thread = new AnalysisThread(log);
const a = await thread.analyse({ features: [] }, { sinceMs: 0, untilMs: 10_000, minRows: 1e9 });
out.analysed = a.window.analysed;
await thread.close();
await log.close();
// model-selection pool (its workers import the estimator registry at start)
const pool = await WorkerPool.create({ size: 1 });
await pool.close();
out.pool = "ok";
// tree pool: a forest fitted on two threads predicts like one fitted on one
const n = 400, X = new Float64Array(n * 2), y = new Float64Array(n);
for (let i = 0; i < n; i++) { X[2 * i] = i % 17; X[2 * i + 1] = (i * 7) % 13; y[i] = X[2 * i] * 3 - X[2 * i + 1]; }
const fit = (jobs) => new RandomForestRegressor({ n_estimators: 8, random_state: 3, n_jobs: jobs }).fit(matrix(n, 2, X), y);
const p2 = fit(2).predict(matrix(n, 2, X)), p1 = fit(1).predict(matrix(n, 2, X));
out.forest = p2.every((v, i) => Object.is(v, p1[i])) ? "identical" : "different";
await shutdownTreeWorkers();
// the step cache's code version hashes the TypeScript sources, compiled or not
out.codeVersion = (await import(url("pipeline/runner.js"))).codeVersion(["ml", "features"]);
console.log(JSON.stringify(out));
`,
    );
    const r = await node([script]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
    assert.equal(got.writer, "thread", r.stdout);
    assert.equal(got.analysed, 25);
    assert.equal(got.pool, "ok");
    assert.equal(got.forest, "identical");
    assert.equal(got.codeVersion, codeVersion(["ml", "features"]));
  });
});
