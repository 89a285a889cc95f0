import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { Command } from "commander";
import { registerServeCommand, runServe, serveOptionsFromConfig } from "../../src/cli/commands/serve.ts";
import { loadConfig } from "../../src/config/load.ts";

it("serve: option parsing and usage errors", async () => {
  const program = new Command().exitOverride();
  const cmd = registerServeCommand(program).exitOverride();
  assert.equal(cmd.name(), "serve");
  const names = cmd.options.map((o) => o.long);
  for (const f of ["--host", "--port", "--model-file", "--model-url", "--admin-key-env", "--poll-interval"]) {
    assert.ok(names.includes(f), f);
  }
  await assert.rejects(
    program.parseAsync(["node", "mlops", "serve", "--port", "99999"]),
    /--port must be an integer/,
  );
  await assert.rejects(runServe({ port: 0 }), /give --model-file PATH and\/or --model-url URL/);
  await assert.rejects(
    runServe({ port: 0, modelUrl: "ftp://x/y" }),
    /only http:, https: and s3: are supported/,
  );
});

it("serve: monitoring and dashboard options come from the config, and the flags turn them off", async () => {
  const home = mkdtempSync(join(tmpdir(), "serve-opts-"));
  try {
    const cfg = (...o: string[]) => loadConfig({ overrides: [`home=${home}`, ...o] });
    const off = serveOptionsFromConfig(cfg("monitoring.enabled=false"), {});
    assert.equal(off.monitoring, undefined);
    const flags = serveOptionsFromConfig(cfg(), { monitor: false, dashboard: false });
    assert.equal(flags.monitoring, undefined);
    assert.equal(flags.dashboard, false);
    const on = serveOptionsFromConfig(cfg("monitoring.window=6h", "monitoring.min_rows=7"), {});
    assert.equal(on.monitoring?.windowMs, 6 * 3_600_000);
    assert.equal(on.monitoring?.minRows, 7);
    assert.equal(on.monitoring?.logPredictions, true);
    assert.equal(typeof on.dashboard, "object");
    await on.monitoring?.log.close();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
