import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { CommanderError } from "commander";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig, REPO_ROOT } from "../../src/config/load.ts";
import {
  CliError,
  createProgress,
  EXIT,
  exitCodeFor,
  fail,
  formatTable,
  UsageError,
} from "../../src/cli/util.ts";

const CLI = join(REPO_ROOT, "src", "cli", "index.ts");
const BIN = join(REPO_ROOT, "bin", "mlops.js");

/** A clean environment: no MLOPS_* variables leak into the child. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("MLOPS_") && !k.startsWith("NODE_TEST")) env[k] = v;
  return { ...env, ...extra };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { env?: Record<string, string>; bin?: boolean } = {}): Promise<Result> {
  const argv = opts.bin ? [BIN, ...args] : ["--import", "tsx", CLI, ...args];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { cwd: REPO_ROOT, env: childEnv(opts.env), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("mlops CLI (subprocess)", { concurrency: 4 }, () => {
  it("--help exits 0 and lists the commands", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: mlops/);
    assert.match(r.stdout, /config/);
    assert.match(r.stdout, /--json/);
  });

  it("an unknown command exits 2 with a message", async () => {
    const cmd = await run(["no-such-command"]);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command 'no-such-command'/);
  });

  it("config show applies overrides and prints the resolved JSON", async () => {
    const r = await run(["config", "show", "selection.cv_folds=3", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as { selection: { cv_folds: number }; seed: number };
    assert.equal(cfg.selection.cv_folds, 3);
    assert.equal(cfg.seed, 42);
  });

  it("config show with a bad value exits 2 naming the key", async () => {
    const r = await run(["config", "show", "selection.cv_folds=abc"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: config: selection\.cv_folds: expected integer >= 2, got "abc"$/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace without MLOPS_DEBUG");
  });

  it("config show --hash via bin/mlops.js matches the in-process hash", async () => {
    const hash = await run(["config", "show", "--hash", "sweep.enabled=false"], { bin: true });
    assert.equal(hash.code, 0, hash.stderr);
    assert.equal(hash.stdout.trim(), loadConfig({ env: {}, overrides: ["sweep.enabled=false"] }).hash);
  });

  it("the launcher runs node with --min-semi-space-size=16 (no young-generation shrink after idle)", async () => {
    // bin/mlops.js run as a program (its shebang, as npm's bin link does); a preloaded script reports node's flags
    const dir = mkdtempSync(join(tmpdir(), "cli-heap-"));
    try {
      const probe = join(dir, "probe.cjs");
      writeFileSync(
        probe,
        `process.on("exit", () => process.stderr.write("execArgv " + JSON.stringify(process.execArgv) + "\\n"));`,
      );
      const r = await new Promise<Result>((resolve) =>
        execFile(
          BIN,
          ["config", "show", "--hash"],
          { cwd: REPO_ROOT, env: childEnv({ NODE_OPTIONS: `--require ${probe}` }), timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? -1 : 0, stdout, stderr }),
        ),
      );
      assert.equal(r.code, 0, r.stderr);
      const argv = JSON.parse(/execArgv (.*)/.exec(r.stderr)?.[1] ?? "null") as string[];
      assert.ok(argv.includes("--min-semi-space-size=16"), r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a reader that closes the pipe early ends the command quietly (no EPIPE crash)", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "config", "show"], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy(); // like `| head -0`: nothing reads what the command writes
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  });

  it("MLOPS_DEBUG=1 adds the stack trace", async () => {
    const r = await run(["config", "validate", "--config", join(REPO_ROOT, "no-such-config.yaml")], {
      env: { MLOPS_DEBUG: "1" },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error: config: cannot read config file .*no-such-config\.yaml \(no such file\)/);
    assert.match(r.stderr, /\n\s+at /);
  });
});

describe("exit codes", () => {
  it("maps errors to 0/1/2", () => {
    assert.equal(exitCodeFor(new Error("boom")), EXIT.FAILURE);
    assert.equal(exitCodeFor(new UsageError("bad flag")), EXIT.USAGE);
    assert.equal(exitCodeFor(new CliError("custom", 7)), 7);
    assert.equal(exitCodeFor(new ConfigError("config: x: bad")), EXIT.USAGE);
    assert.equal(exitCodeFor(new CommanderError(1, "commander.unknownCommand", "x")), EXIT.USAGE);
    assert.equal(exitCodeFor(new CommanderError(0, "commander.helpDisplayed", "x")), EXIT.OK);
    assert.equal(exitCodeFor("a string"), EXIT.FAILURE);
  });

  it("fail() throws a CliError with the code (UsageError for 2)", () => {
    assert.throws(
      () => fail("nope"),
      (e: unknown) => e instanceof CliError && e.exitCode === 1 && e.message === "nope",
    );
    assert.throws(
      () => fail("usage", 2),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2,
    );
  });
});

describe("formatTable", () => {
  it("aligns columns: numbers right, text left, no trailing spaces", () => {
    const text = formatTable(
      [
        { model: "ridge", mae: 49000.123456, rank: 2 },
        { model: "random_forest", mae: 31000.5, rank: 1 },
      ],
      ["model", { key: "mae", header: "MAE" }, "rank"],
    );
    assert.equal(
      text,
      [
        "model                 MAE  rank",
        "-------------  ----------  ----",
        "ridge          49000.1235     2",
        "random_forest     31000.5     1",
      ].join("\n"),
    );
    assert.equal(formatTable([{ a: null, b: "x" }]), "a  b\n-  -\n-  x");
    assert.equal(formatTable([]), "");
  });
});

describe("createProgress", () => {
  function capture() {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c.toString()));
    return { stream, lines: () => chunks.join("").split("\n").filter(Boolean) };
  }

  it("prints plain lines on a non-TTY at 10 % steps and on stop", () => {
    const { stream, lines } = capture();
    const p = createProgress({ total: 20, label: "cv", stream, tty: false, now: () => 0 });
    p.tick(); // 5 %: nothing yet
    assert.equal(lines().length, 0);
    p.tick(); // 10 %
    p.tick(3, { model: "ridge" }); // 25 %
    p.update(20, { mae: 123.45678 });
    p.stop();
    p.stop();
    assert.deepEqual(lines(), [
      "cv: 10% (2/20)",
      "cv: 25% (5/20) model=ridge",
      "cv: 100% (20/20) model=ridge mae=123.4568",
    ]);
  });

  it("prints at most every intervalMs between steps, and a final line when stopped early", () => {
    const { stream, lines } = capture();
    let t = 0;
    const p = createProgress({
      total: 1000,
      label: "trials",
      stream,
      tty: false,
      now: () => t,
      intervalMs: 2000,
    });
    p.tick(); // 0.1 %
    t = 2500;
    p.tick(); // interval passed
    p.tick();
    t = 3000;
    p.stop();
    assert.deepEqual(lines(), ["trials: 0% (2/1000)", "trials: 0% (3/1000)"]);
  });

  it("is silent with --json or --quiet", () => {
    for (const flag of [{ json: true }, { quiet: true }]) {
      const { stream, lines } = capture();
      const p = createProgress({ total: 2, label: "x", stream, tty: false, ...flag });
      p.tick(2);
      p.stop();
      assert.equal(lines().length, 0);
    }
  });

  it("draws a bar on a TTY stream", () => {
    const { stream, lines } = capture();
    const p = createProgress({ total: 4, label: "fit", stream, tty: true });
    p.tick(4, { fold: 4 });
    p.stop();
    const out = lines().join("\n");
    assert.match(out, /fit \[/);
    assert.match(out, /100% 4\/4/);
  });
});
