import assert from "node:assert/strict";
import { it } from "node:test";
import { Command } from "commander";
import { registerServeCommand, runServe } from "../../src/cli/commands/serve.ts";

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
  await assert.rejects(runServe({ port: 0, modelUrl: "ftp://x/y" }), /only http:, https: and s3: are supported/);
});
