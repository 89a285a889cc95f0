/**
 * `mlops config ...`: inspect the resolved pipeline configuration.
 *
 *   mlops config show [overrides...] [--yaml] [--hash] [--select <key>]   (global --json for JSON)
 *   mlops config validate [overrides...]                                   (prints "ok <hash>")
 *   mlops config schema                                                    (JSON Schema of the config)
 */
import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { ConfigError } from "../../config/errors.ts";
import { type LoadedConfig, loadConfig } from "../../config/load.ts";
import { PipelineConfigSchema } from "../../config/schema.ts";
import { type GlobalOptions, globalOptions, printJson, UsageError } from "../util.ts";

/**
 * Loads the config for a CLI command: `--config` (global) + positional overrides. Config and override errors
 * become UsageError (exit 2) with the same message.
 */
export function loadConfigForCli(
  globals: Pick<GlobalOptions, "config">,
  overrides: readonly string[] = [],
  env?: NodeJS.ProcessEnv,
): LoadedConfig {
  try {
    return loadConfig({ configPath: globals.config, overrides, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

function select(resolved: Record<string, unknown>, key: string): unknown {
  let node: unknown = resolved;
  for (const seg of key.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, seg)) {
      throw new UsageError(`config show --select: no key ${key} in the resolved config`);
    }
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

export function registerConfigCommands(program: Command): void {
  const config = program
    .command("config")
    .description("inspect and check the pipeline configuration (config/pipeline.yaml + overrides)");

  config
    .command("show")
    .description("print the resolved configuration (secrets redacted) after overrides and interpolation")
    .argument("[overrides...]", "Hydra-style overrides: a.b=v, +a.new=v, ++a.b=v, ~a.b")
    .option("--yaml", "print YAML (the default unless --json)")
    .option("--hash", "print only the config hash (sha256 of the canonical resolved config)")
    .option("--select <key>", "print only the subtree at this dotted key")
    .addHelpText(
      "after",
      '\nExamples:\n  mlops config show selection.cv_folds=3 sweep.enabled=false\n  mlops config show --json --select sweep\n  mlops config show +selection.profiles.tiny="{ridge: {alpha: [1.0]}}" selection.profile=tiny selection.models=[ridge]\n',
    )
    .action(
      (overrides: string[], opts: { yaml?: boolean; hash?: boolean; select?: string }, cmd: Command) => {
        const g = globalOptions(cmd);
        if (g.json && opts.yaml) throw new UsageError("config show: choose one of --json and --yaml");
        const loaded = loadConfigForCli(g, overrides);
        if (opts.hash) {
          if (g.json) printJson({ hash: loaded.hash });
          else process.stdout.write(`${loaded.hash}\n`);
          return;
        }
        const value = opts.select ? select(loaded.resolved, opts.select) : loaded.resolved;
        if (g.json) printJson(value);
        else process.stdout.write(toYaml(value, { lineWidth: 0 }));
      },
    );

  config
    .command("validate")
    .description(
      'load and validate the configuration; print "ok <hash>" (exit 2 with the problems if invalid)',
    )
    .argument("[overrides...]", "Hydra-style overrides")
    .action((overrides: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const loaded = loadConfigForCli(g, overrides);
      if (g.json)
        printJson({
          ok: true,
          hash: loaded.hash,
          file: loaded.sources.file,
          overrides: loaded.sources.overrides,
        });
      else process.stdout.write(`ok ${loaded.hash}\n`);
    });

  config
    .command("schema")
    .description("print the JSON Schema of the configuration")
    .action(() => {
      printJson(PipelineConfigSchema);
    });
}
