/**
 * `mlops start`: trains in a child process (`mlops run`), then serves in its own process, which therefore does
 * not carry the training's memory. A failed training stops `start` with the child's exit code, serving nothing.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../../src/config/load.ts";
import { freePort } from "../helpers/net.ts";
import { fastOverrides, writeSample } from "../helpers/pipeline.ts";
import { SAMPLE } from "../helpers/servable.ts";

const tmp = mkdtempSync(join(tmpdir(), "start-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const CLI = join(REPO_ROOT, "src", "cli", "index.ts");

function startCli(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("MLOPS_") && !k.startsWith("NODE_TEST")) env[k] = v;
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
  return { child, output: () => out, exited };
}

describe("mlops start", { timeout: 240_000 }, () => {
  it("trains in a child process, then serves from a process that did not train", async () => {
    const data = join(tmp, "sample.csv");
    writeSample(data, 1_500, 3);
    const port = await freePort();
    const s = startCli(["start", ...fastOverrides(data, join(tmp, "home")), `serve.port=${port}`]);
    try {
      const deadline = Date.now() + 200_000;
      while (!/serving \S+ on http/.test(s.output()) && Date.now() < deadline) {
        if (s.child.exitCode !== null) assert.fail(`start exited ${s.child.exitCode}:\n${s.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const trainer = Number(/training in a child process \(mlops run, pid (\d+)\)/.exec(s.output())?.[1]);
      assert.ok(trainer > 0, s.output());
      assert.notEqual(trainer, s.child.pid);
      // the child's run summary, then the parent's server
      assert.match(s.output(), /run [0-9a-f]{32} in [0-9.]+ s/);
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ instances: [SAMPLE] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { model_version: string };
      assert.equal(body.model_version, "1");
      // the trainer is gone: signal 0 to its pid fails
      assert.throws(() => process.kill(trainer, 0));
    } finally {
      s.child.kill("SIGTERM");
    }
    assert.equal(await s.exited, 0, s.output());
  });

  it("a failed training stops start with the child's exit code and serves nothing", async () => {
    const port = await freePort();
    const s = startCli([
      "start",
      `data.source=${join(tmp, "missing.csv")}`,
      `home=${join(tmp, "home-fail")}`,
      `serve.port=${port}`,
    ]);
    const code = await s.exited;
    assert.equal(code, 1, s.output());
    assert.match(s.output(), /missing\.csv/);
    assert.match(s.output(), /error: training failed: mlops run exited with 1/);
    assert.doesNotMatch(s.output(), /serving /);
  });
});
