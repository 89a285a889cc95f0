/**
 * `mlops models ...`: the model registry.
 *
 *   mlops models list
 *   mlops models show NAME [VERSION | --version=V]
 *   mlops models promote NAME (VERSION | --version=V) [--to production] [--reason R] [--force]
 *                             [--min-r2 0.8] [--max-mape 20] [--no-not-worse] [--tolerance 0.001] [--compare-metric r2]
 *   mlops models rollback NAME [--alias production] [--reason R]
 *   mlops models alias NAME ALIAS VERSION [--reason R]
 *   mlops models history NAME [--alias A]
 *
 * Every command takes --home DIR (default env MLOPS_HOME, else ./.mlops) and --actor (default $USER);
 * global --json prints one JSON document. A refused promotion prints the gate table and exits 1.
 *
 * Note: a root program with its own `--version` flag (commander recognises root options after the
 * subcommand) swallows `--version 3`; the positional VERSION and `--version=3` always work.
 */
import type { Command } from "commander";
import { DEFAULT_PROMOTION_GATES } from "../../tracking/registry.ts";
import { type AuditEntry, PromotionRefused, type GateResult } from "../../tracking/types.ts";
import { CliError, globalOptions, printJson, printTable, UsageError } from "../util.ts";
import { type CliIo, isoTime, withTracking } from "./runs.ts";

const defaultIo: CliIo = { out: process.stdout };
const HOME_FLAG = "--home <dir>";
const HOME_HELP = "tracking home (default: env MLOPS_HOME, else ./.mlops)";

function parseVersion(s: string, what = "--version"): number {
  if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(s)}`);
  }
  return Number(s);
}

/** The version from the positional argument or --version (not both, unless equal). */
function pickVersion(
  positional: string | undefined,
  option: string | undefined,
  required: boolean,
): string | undefined {
  if (positional !== undefined && option !== undefined && positional !== option) {
    throw new UsageError(`version given twice: ${positional} and --version ${option}`);
  }
  const v = positional ?? option;
  if (v === undefined && required) throw new UsageError("give the version: NAME VERSION, or --version=V");
  return v;
}

function parseNumber(s: string, what: string): number {
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v))
    throw new UsageError(`${what} must be a number, got ${JSON.stringify(s)}`);
  return v;
}

function gateRows(results: readonly GateResult[]) {
  return results.map((r) => ({
    gate: r.name,
    result: r.passed ? "PASS" : "FAIL",
    actual: r.actual,
    threshold: r.threshold,
    detail: r.detail ?? "",
  }));
}

function aliasList(aliases: Readonly<Record<string, number>>): string {
  const e = Object.entries(aliases);
  return e.length === 0 ? "-" : e.map(([a, v]) => `${a}=v${v}`).join(", ");
}

export function registerModelsCommands(program: Command, io: CliIo = defaultIo): void {
  const models = program
    .command("models")
    .description("model registry: versions, aliases, promotion, rollback");
  const w = (s: string) => io.out.write(`${s}\n`);

  models
    .command("list")
    .description("registered models with their latest version and aliases")
    .option(HOME_FLAG, HOME_HELP)
    .action(async (opts: { home?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      await withTracking(opts.home, async (t) => {
        const list = await t.registry.listModels();
        if (g.json) {
          printJson(list, io.out);
          return;
        }
        if (list.length === 0) {
          w("no registered models");
          return;
        }
        printTable(
          list.map((m) => ({
            name: m.name,
            latest: m.latestVersion,
            aliases: aliasList(m.aliases),
            updated: isoTime(m.updatedAt),
          })),
          undefined,
          io.out,
        );
      });
    });

  models
    .command("show")
    .description("a model (versions + alias history) or one version (metrics, lineage, tags, input example)")
    .argument("<name>", "registered model name")
    .argument("[version]", "show this version in full (same as --version)")
    .option(
      "--version <v>",
      "show this version in full (write --version=V when the root program has its own --version)",
    )
    .option(HOME_FLAG, HOME_HELP)
    .action(
      async (
        name: string,
        versionArg: string | undefined,
        opts: { home?: string; version?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const vs = pickVersion(versionArg, opts.version, false);
        const version = vs === undefined ? undefined : parseVersion(vs);
        await withTracking(opts.home, async (t) => {
          if (version !== undefined) {
            const v = await t.registry.getVersion(name, version);
            if (g.json) {
              printJson(v, io.out);
              return;
            }
            w(
              `${v.name} v${v.version}  status ${v.status}  aliases ${v.aliases.length ? v.aliases.join(", ") : "-"}`,
            );
            w(`  created:  ${isoTime(v.createdAt)}`);
            w(`  run:      ${v.runId ?? "-"}`);
            w(`  artifact: sha256 ${v.artifactSha}`);
            if (v.description) w(`  description: ${v.description}`);
            w("");
            w("metrics:");
            const ms = Object.entries(v.metrics);
            if (ms.length === 0) w("  (none)");
            else
              printTable(
                ms.map(([key, value]) => ({ key, value })),
                undefined,
                io.out,
              );
            w("");
            w("tags:");
            const ts = Object.entries(v.tags);
            if (ts.length === 0) w("  (none)");
            else
              printTable(
                ts.map(([key, value]) => ({ key, value })),
                undefined,
                io.out,
              );
            w("");
            w("lineage:");
            w(JSON.stringify(v.lineage, null, 2).replace(/^/gm, "  "));
            if (v.inputExample !== null && v.inputExample !== undefined) {
              w("");
              w("input example:");
              w(JSON.stringify(v.inputExample, null, 2).replace(/^/gm, "  "));
            }
            return;
          }
          const model = await t.registry.getModel(name);
          const versions = await t.registry.listVersions(name);
          const audit = await t.registry.history(name);
          if (g.json) {
            printJson({ ...model, versions, audit }, io.out);
            return;
          }
          w(`${model.name}  latest v${model.latestVersion ?? "-"}  aliases ${aliasList(model.aliases)}`);
          if (model.description) w(`  ${model.description}`);
          w("");
          w("versions:");
          printTable(
            versions.map((v) => ({
              version: v.version,
              status: v.status,
              aliases: v.aliases.join(",") || "-",
              r2: v.metrics.r2 ?? null,
              mape: v.metrics.mape ?? null,
              rmse: v.metrics.rmse ?? null,
              run_id: v.runId ? v.runId.slice(0, 12) : "-",
              created: isoTime(v.createdAt),
            })),
            undefined,
            io.out,
          );
          w("");
          w("alias history (latest 10):");
          if (audit.length === 0) w("  (none)");
          else printTable(auditRows(audit.slice(-10)), undefined, io.out);
        });
      },
    );

  models
    .command("promote")
    .description("move an alias (default production) to a version if the promotion gates pass")
    .argument("<name>", "registered model name")
    .argument("[version]", "version to promote (same as --version)")
    .option(
      "--version <v>",
      "version to promote (write --version=V when the root program has its own --version)",
    )
    .option("--to <alias>", "target alias", "production")
    .option("--reason <text>", "why (required with --force)")
    .option("--force", "promote even if gates fail (audited; needs --reason)")
    .option("--min-r2 <x>", "gate: minimum R²", String(DEFAULT_PROMOTION_GATES.minR2))
    .option("--max-mape <x>", "gate: maximum MAPE in percent", String(DEFAULT_PROMOTION_GATES.maxMape))
    .option("--no-not-worse", 'disable the gate "not worse than the version currently at the alias"')
    .option("--compare-metric <key>", "metric of the not-worse gate", DEFAULT_PROMOTION_GATES.compareMetric)
    .option(
      "--tolerance <x>",
      "absolute tolerance of the not-worse gate",
      String(DEFAULT_PROMOTION_GATES.tolerance),
    )
    .option("--actor <name>", "who is promoting (default $USER)")
    .option(HOME_FLAG, HOME_HELP)
    .action(
      async (
        name: string,
        versionArg: string | undefined,
        opts: {
          version?: string;
          to: string;
          reason?: string;
          force?: boolean;
          minR2: string;
          maxMape: string;
          notWorse: boolean;
          compareMetric: string;
          tolerance: string;
          actor?: string;
          home?: string;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const version = parseVersion(pickVersion(versionArg, opts.version, true)!);
        if (opts.force && !opts.reason?.trim())
          throw new UsageError("models promote: --force requires --reason");
        const gates = {
          minR2: parseNumber(opts.minR2, "--min-r2"),
          maxMape: parseNumber(opts.maxMape, "--max-mape"),
          notWorseThanProduction: opts.notWorse,
          compareMetric: opts.compareMetric,
          tolerance: parseNumber(opts.tolerance, "--tolerance"),
        };
        await withTracking(opts.home, async (t) => {
          try {
            const res = await t.registry.promote(name, version, {
              to: opts.to,
              gates,
              force: opts.force === true,
              reason: opts.reason,
              actor: opts.actor,
            });
            if (g.json) {
              printJson(res, io.out);
              return;
            }
            if (!res.promoted) {
              w(`${name} v${version} is already at '${res.alias}'; nothing to do`);
              return;
            }
            printTable(gateRows(res.gates), undefined, io.out);
            w(
              `${res.forced ? "FORCED: " : ""}promoted ${name} v${version} to '${res.alias}'` +
                ` (was ${res.previousVersion === null ? "unset" : `v${res.previousVersion}`})`,
            );
          } catch (e) {
            if (e instanceof PromotionRefused) {
              if (g.json)
                printJson({ promoted: false, name, version, alias: e.alias, gates: e.results }, io.out);
              else printTable(gateRows(e.results), undefined, io.out);
              throw new CliError(`${e.message} (use --force --reason "..." to override; audited)`, 1, {
                cause: e,
              });
            }
            throw e;
          }
        });
      },
    );

  models
    .command("rollback")
    .description("move an alias back to the version it pointed to before its latest move")
    .argument("<name>", "registered model name")
    .option("--alias <alias>", "alias to roll back", "production")
    .option("--reason <text>", "why")
    .option("--actor <name>", "who (default $USER)")
    .option(HOME_FLAG, HOME_HELP)
    .action(
      async (
        name: string,
        opts: { alias: string; reason?: string; actor?: string; home?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        await withTracking(opts.home, async (t) => {
          const a = await t.registry.rollback(name, opts.alias, { reason: opts.reason, actor: opts.actor });
          if (g.json) printJson(a, io.out);
          else w(`rolled back '${a.alias}' of ${name}: v${a.fromVersion} -> v${a.toVersion}`);
        });
      },
    );

  models
    .command("alias")
    .description("point an alias at a version (no gates; audited)")
    .argument("<name>", "registered model name")
    .argument("<alias>", "alias, e.g. staging")
    .argument("<version>", "version number")
    .option("--reason <text>", "why")
    .option("--actor <name>", "who (default $USER)")
    .option(HOME_FLAG, HOME_HELP)
    .action(
      async (
        name: string,
        alias: string,
        versionArg: string,
        opts: { reason?: string; actor?: string; home?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const version = parseVersion(versionArg, "VERSION");
        await withTracking(opts.home, async (t) => {
          const a = await t.registry.setAlias(name, alias, version, {
            reason: opts.reason,
            actor: opts.actor,
          });
          if (g.json) printJson(a, io.out);
          else
            w(
              `${name}@${alias} -> v${version} (was ${a.fromVersion === null ? "unset" : `v${a.fromVersion}`})`,
            );
        });
      },
    );

  models
    .command("history")
    .description("alias audit log (who moved which alias, when, from/to, why, gate results)")
    .argument("<name>", "registered model name")
    .option("--alias <alias>", "only this alias")
    .option(HOME_FLAG, HOME_HELP)
    .action(async (name: string, opts: { alias?: string; home?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      await withTracking(opts.home, async (t) => {
        const audit = await t.registry.history(name, opts.alias);
        if (g.json) printJson(audit, io.out);
        else if (audit.length === 0) w("no alias history");
        else printTable(auditRows(audit), undefined, io.out);
      });
    });
}

function auditRows(audit: readonly AuditEntry[]) {
  return audit.map((a) => ({
    at: isoTime(a.at),
    alias: a.alias,
    action: a.action,
    from: a.fromVersion === null ? "-" : `v${a.fromVersion}`,
    to: a.toVersion === null ? "-" : `v${a.toVersion}`,
    actor: a.actor,
    reason: a.reason ?? "-",
    gates: a.gateResults ? a.gateResults.map((r) => `${r.name}:${r.passed ? "ok" : "FAIL"}`).join(" ") : "-",
  }));
}
