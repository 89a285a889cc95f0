/**
 * The `mlops` command line. Runs main() on import (bin/mlops.js imports this file; also runnable as
 * `node --import tsx src/cli/index.ts ...`).
 *
 * Exit codes: 0 success, 1 failure, 2 usage error (unknown command/option, bad argument, bad override or
 * invalid config). Errors print `error: <message>` on stderr; MLOPS_DEBUG=1 adds the stack trace.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { Command, CommanderError } from "commander";
import { registerConfigCommands } from "./commands/config.ts";
import { registerDataCommands } from "./commands/data.ts";
import { registerModelsCommands } from "./commands/models.ts";
import { registerMonitorCommands, registerMonitorLoopCommand } from "./commands/monitor.ts";
import { registerRunCommand } from "./commands/run.ts";
import { registerServeCommand, runServe, serveOptionsFromConfig } from "./commands/serve.ts";
import { loadConfigForCli } from "./commands/config.ts";
import { registerRunsCommands } from "./commands/runs.ts";
import { CliError, EXIT, exitCodeFor, type GlobalOptions, globalOptions, info } from "./util.ts";

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/**
 * Runs `mlops <args...>` in a child process with this process's node flags and entry point (the
 * launcher, or src/cli/index.ts under tsx) and the same stdio. SIGINT/SIGTERM received meanwhile are passed on.
 * Rejects with a CliError carrying the child's exit code when it fails.
 */
async function runCliChild(args: readonly string[], g: GlobalOptions): Promise<void> {
  const entry = process.argv[1];
  const child = spawn(process.execPath, [...process.execArgv, entry, ...args], {
    stdio: "inherit",
  });
  info(`training in a child process (mlops run, pid ${child.pid})`, g);
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c, s) => resolve([c, s]));
    });
    if (code !== 0)
      throw new CliError(
        `training failed: mlops run ${signal ? `was stopped by ${signal}` : `exited with ${code}`}`,
        code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : EXIT.FAILURE),
      );
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}

/** Makes every command in the tree throw CommanderError instead of exiting (also commands added via addCommand). */
function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) applyExitOverride(sub);
}

function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description(
      "the whole job: ingest + validate the data, train (fast profile, cached), register, promote through the gates, then serve API + dashboard",
    )
    .argument("[overrides...]", "config overrides, e.g. selection.profile=full serve.port=9000")
    .option("--no-serve", "stop after training and promotion")
    .action(async (overrides: string[], o: { serve: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      // Training runs as `mlops run` in a child process, so the server starts without the pipeline's memory
      // (V8 heap grown to the training peak, malloc arenas): one process doing both measured 385-392 MiB RSS
      // once serving, against ~140 MiB for the server alone.
      await runCliChild(
        [
          "run",
          ...(g.json ? ["--json"] : []),
          ...(g.quiet ? ["--quiet"] : []),
          ...(g.config ? ["--config", g.config] : []),
          ...overrides,
        ],
        g,
      );
      if (!o.serve) return;
      const loaded = loadConfigForCli(g, overrides);
      const running = await runServe(serveOptionsFromConfig(loaded, {}));
      info(
        `\nserving ${loaded.config.model_name} on ${running.url}  ·  dashboard ${running.url}/ui/  ·  API docs ${running.url}/docs  ·  Ctrl-C to stop`,
        g,
      );
    });
}

/** Builds the full `mlops` program (all commands registered, exit override applied). */
export function buildProgram(): Command {
  const program = new Command("mlops");
  program
    .description("End-to-end MLOps for tabular regression: data, training, registry, serving and monitoring")
    .option("--json", "machine-readable output: one JSON document on stdout, no progress")
    .option("-q, --quiet", "no progress or informational messages")
    .option("-c, --config <path>", "pipeline config file (default: $MLOPS_CONFIG or config/pipeline.yaml)")
    .addHelpText("after", "\nVersion: mlops -V | --version (as the first argument)")
    .showSuggestionAfterError(true)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  registerConfigCommands(program);
  registerDataCommands(program);
  registerRunCommand(program);
  registerRunsCommands(program);
  registerModelsCommands(program);
  registerServeCommand(program);
  registerMonitorCommands(program);
  registerMonitorLoopCommand(program);
  registerStartCommand(program);
  applyExitOverride(program);
  return program;
}

function errorLines(err: unknown): string[] {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n").map((l) => `error: ${l}`);
}

/** Parses argv (node-style: [node, script, ...args]) and runs the command; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // The version flag is handled here, only as the first argument: subcommands own `--version <v>`
  // (e.g. `mlops models promote NAME --version 3`), which a root-level commander version option would swallow.
  if (argv[2] === "-V" || argv[2] === "--version") {
    if (argv[3] === "--json") {
      // which tree runs: bin/mlops.js picks dist/ (compiled) while it is up to date with src/
      const runtime = import.meta.url.endsWith(".ts") ? "sources" : "compiled";
      process.stdout.write(
        `${JSON.stringify({ version: packageVersion(), runtime, node: process.version })}\n`,
      );
    } else process.stdout.write(`${packageVersion()}\n`);
    return EXIT.OK;
  }
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (err) {
    const code = exitCodeFor(err);
    // Commander already printed its own usage errors / help / version.
    if (!(err instanceof CommanderError)) {
      process.stderr.write(`${errorLines(err).join("\n")}\n`);
      if (process.env.MLOPS_DEBUG === "1" && err instanceof Error && err.stack) {
        process.stderr.write(`${err.stack}\n`);
      }
    }
    return code;
  }
}

// A reader that stops early (`mlops runs list | head`) closes the pipe: stop quietly, as Unix tools do, instead of
// crashing on the unhandled EPIPE.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT.OK);
    throw e;
  });
process.exitCode = await main();
