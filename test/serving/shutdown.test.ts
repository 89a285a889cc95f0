/**
 * Graceful shutdown: a child server gets SIGTERM while a request is in flight (its body still uploading);
 * the request completes with 200, new connections are refused, the process exits 0, and its asynchronous JSON
 * log is flushed first: the drained request's line and "shutdown complete" are on stdout, in order.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { encodeTestServable, SAMPLE } from "../helpers/servable.ts";

it("SIGTERM drains the in-flight request and exits 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "serving-shutdown-"));
  const modelFile = join(dir, "model.json");
  writeFileSync(modelFile, encodeTestServable({ version: "11" }));
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "test/helpers/serve-child.ts",
      "--model-file",
      modelFile,
      "--port",
      "0",
      "--log-level",
      "info",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    let out = "";
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /LISTENING (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const body = Buffer.from(JSON.stringify({ instances: [SAMPLE, SAMPLE] }));
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/v1/predict",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, 20));
      setTimeout(() => {
        child.kill("SIGTERM");
        setTimeout(async () => {
          // The listener is closed by now: a new connection is refused.
          const refused = await fetch(`http://127.0.0.1:${port}/health`).then(
            () => false,
            () => true,
          );
          req.end(body.subarray(20));
          if (!refused) reject(new Error("server still accepted new connections after SIGTERM"));
        }, 400);
      }, 300);
    });
    const r = await response;
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).predictions.length, 2);
    assert.equal(await exited, 0, stderr);
    const lines = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; route?: string; statusCode?: number; rows?: number });
    const msgs = lines.map((l) => l.msg);
    const drained = lines.findIndex((l) => l.msg === "request completed" && l.route === "/api/v1/predict");
    assert.ok(drained >= 0, `the drained request's log line is missing: ${msgs.join(" | ")}`);
    assert.equal(lines[drained].statusCode, 200);
    assert.equal(lines[drained].rows, 2);
    const draining = msgs.indexOf("shutting down: draining in-flight requests");
    assert.ok(draining >= 0 && draining < drained, msgs.join(" | "));
    assert.equal(msgs[msgs.length - 1], "shutdown complete", msgs.join(" | "));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
