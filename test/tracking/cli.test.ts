import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Command } from "commander";
import { registerModelsCommands } from "../../src/cli/commands/models.ts";
import { registerRunsCommands } from "../../src/cli/commands/runs.ts";
import { CliError, UsageError } from "../../src/cli/util.ts";
import { openTracking } from "../../src/tracking/tracker.ts";
import { collector, tempHome } from "./helpers.ts";

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) exitOverrideAll(c);
}

/** A fresh root program shaped like src/cli/index.ts (global --json/--quiet, root --version). */
async function cli(args: string[]): Promise<string> {
  const out = collector();
  const program = new Command("mlops")
    .version("0.0.0-test", "-V, --version")
    .option("--json")
    .option("-q, --quiet")
    .exitOverride();
  registerRunsCommands(program, { out: out.stream });
  registerModelsCommands(program, { out: out.stream });
  exitOverrideAll(program);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    (e as { output?: string }).output = out.text();
    throw e;
  }
  return out.text();
}

describe("mlops runs / models CLI", () => {
  const h = tempHome();
  const home = h.dir;
  const ids: string[] = [];

  before(async () => {
    const t = openTracking({ home });
    for (const [name, r2, mape] of [
      ["ridge", 0.6, 28],
      ["gbdt", 0.84, 16.5],
    ] as const) {
      const run = await t.store.createRun({ experiment: "housing", name });
      ids.push(run.runId);
      await t.store.logParams(run.runId, { model: name });
      await t.store.logMetrics(run.runId, [
        { key: "r2", value: r2 },
        { key: "mape", value: mape },
        { key: "loss", value: 2, step: 0 },
        { key: "loss", value: 1, step: 1 },
      ]);
      await t.store.endRun(run.runId);
      const art = await t.artifacts.put(Buffer.from(`model-${name}`));
      await t.registry.registerModelVersion({
        name: "housing_price_model",
        runId: run.runId,
        artifactSha: art.sha256,
        metrics: { r2, mape },
        lineage: { testSetHash: "T" },
      });
    }
    await t.close();
  });
  after(h.cleanup);

  it("runs list / show / compare / history (text and --json)", async () => {
    const list = await cli(["runs", "list", "--home", home]);
    assert.match(list, /ridge/);
    assert.match(list, /gbdt/);
    assert.match(list, /FINISHED/);
    const json = JSON.parse(await cli(["runs", "list", "--home", home, "--json", "--metric", "r2>=0.8"]));
    assert.deepEqual(
      json.map((r: { name: string }) => r.name),
      ["gbdt"],
    );
    assert.equal(
      JSON.parse(await cli(["runs", "list", "--home", home, "--experiment", "nope", "--json"])).length,
      0,
    );
    const show = await cli(["runs", "show", ids[1], "--home", home]);
    assert.match(show, /params:/);
    assert.match(show, /model\s+gbdt/);
    assert.match(show, /loss\s+1\s+1/);
    const cmp = await cli(["runs", "compare", ids[0], ids[1], "--home", home]);
    assert.match(cmp, /r2 .*0\.84 \*/);
    assert.match(cmp, /model ≠/);
    const cmpJson = JSON.parse(await cli(["--json", "runs", "compare", ids[0], ids[1], "--home", home]));
    assert.equal(cmpJson.metrics.find((m: { key: string }) => m.key === "r2").best, 1);
    const hist = JSON.parse(await cli(["runs", "history", ids[0], "loss", "--home", home, "--json"]));
    assert.deepEqual(
      hist.map((m: { step: number; value: number }) => [m.step, m.value]),
      [
        [0, 2],
        [1, 1],
      ],
    );
    await assert.rejects(() => cli(["runs", "compare", ids[0], "--home", home]), UsageError);
    await assert.rejects(() => cli(["runs", "show", "nope", "--home", home]), /run nope not found/);
    await assert.rejects(() => cli(["runs", "list", "--home", join(home, "missing")]), UsageError);
  });

  it("models list / show, promote (refused → exit 1 with gate table), force, alias, rollback, history", async () => {
    assert.match(await cli(["models", "list", "--home", home]), /housing_price_model\s+2/);
    const refused = await cli(["models", "promote", "housing_price_model", "1", "--home", home]).then(
      () => assert.fail("promotion of a weak model must be refused"),
      (e: unknown) => e as CliError & { output: string },
    );
    assert.ok(refused instanceof CliError);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.output, /min_r2\s+FAIL\s+0\.6\s+0\.8/);
    assert.match(refused.output, /max_mape\s+FAIL\s+28\s+20/);

    const ok = await cli([
      "models",
      "promote",
      "housing_price_model",
      "--version=2",
      "--home",
      home,
      "--actor",
      "ci",
    ]);
    assert.match(ok, /promoted housing_price_model v2 to 'production' \(was unset\)/);
    assert.match(ok, /not_worse_than_production\s+PASS/);

    await assert.rejects(
      () => cli(["models", "promote", "housing_price_model", "1", "--force", "--home", home]),
      UsageError,
    );
    const forced = JSON.parse(
      await cli([
        "models",
        "promote",
        "housing_price_model",
        "1",
        "--force",
        "--reason",
        "drill",
        "--home",
        home,
        "--json",
      ]),
    );
    assert.equal(forced.forced, true);
    assert.equal(forced.audit.action, "force_promote");

    const rb = await cli([
      "models",
      "rollback",
      "housing_price_model",
      "--home",
      home,
      "--reason",
      "drill over",
    ]);
    assert.match(rb, /v1 -> v2/);
    await assert.rejects(
      () => cli(["models", "rollback", "housing_price_model", "--home", home]),
      /no previous version/,
    );

    assert.match(
      await cli(["models", "alias", "housing_price_model", "staging", "1", "--home", home]),
      /staging -> v1 \(was unset\)/,
    );
    const v1 = JSON.parse(
      await cli(["models", "show", "housing_price_model", "1", "--home", home, "--json"]),
    );
    assert.deepEqual(v1.aliases, ["staging"]);
    const model = await cli(["models", "show", "housing_price_model", "--home", home]);
    assert.match(model, /aliases production=v2, staging=v1/);
    assert.match(model, /rollback/);
    const hist = JSON.parse(
      await cli([
        "models",
        "history",
        "housing_price_model",
        "--alias",
        "production",
        "--home",
        home,
        "--json",
      ]),
    );
    assert.deepEqual(
      hist.map((a: { action: string }) => a.action),
      ["promote_refused", "promote", "force_promote", "rollback"],
    );
    await assert.rejects(
      () => cli(["models", "show", "housing_price_model", "x", "--home", home]),
      UsageError,
    );
    await assert.rejects(() => cli(["models", "promote", "housing_price_model", "--home", home]), UsageError);
  });
});
