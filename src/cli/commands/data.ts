/**
 * `data validate FILE` and `data profile FILE`.
 *   validate: exit 0 when every row passes the contract, 1 when any row violates it or the header does not
 *             match; 2 for a missing file or a bad contract; --rejects PATH writes the quarantined rows as CSV.
 *   profile:  per-column summary as a table, or JSON with --json.
 * Errors are thrown (src/cli/index.ts prints `error: <message>` and maps the exit code); stdout carries
 * only the report.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import {
  ContractError,
  contractTypes,
  DEFAULT_CONTRACT_PATH,
  HeaderMismatchError,
  loadContract,
  type ValidationReport,
  validateFrame,
} from "../../data/contract.ts";
import { writeCsv } from "../../data/csv.ts";
import { hashFrame } from "../../data/hash.ts";
import { readTable } from "../../data/io.ts";
import { formatProfile, profileFrame } from "../../data/profile.ts";
import { UsageError } from "../util.ts";

export interface ValidateCliOptions {
  contract: string;
  rejects?: string;
  json?: boolean;
  maxViolations: string;
}

export interface ProfileCliOptions {
  contract?: string;
  json?: boolean;
}

/** Contract problems are configuration errors (exit 2); a missing data file is a bad argument (exit 2). */
function loadContractOrUsage(path: string): ReturnType<typeof loadContract> {
  try {
    return loadContract(path);
  } catch (e) {
    if (e instanceof ContractError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
}

function checkFile(file: string): void {
  if (!existsSync(file)) throw new UsageError(`${file}: file not found`);
}

/** FILE defaults to the contract's bundled copy (source.path). */
function resolveFile(file: string | undefined, contractPath: string | undefined): string {
  if (file) return file;
  const contract = loadContractOrUsage(contractPath ?? DEFAULT_CONTRACT_PATH);
  if (!contract.source?.path) throw new UsageError("no FILE given and the contract has no source.path");
  return contract.source.path;
}

function summary(file: string, r: ValidationReport, shown: number): string {
  const lines = [
    `${file}: ${r.rows} rows, ${r.validRows} valid, ${r.rejectedRows} rejected (${r.violationCounts.total} violations)`,
  ];
  const rules = Object.entries(r.violationCounts.byRule);
  if (rules.length > 0) lines.push(`  by rule:   ${rules.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const cols = Object.entries(r.violationCounts.byColumn);
  if (cols.length > 0) lines.push(`  by column: ${cols.map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const first = r.violations.slice(0, shown);
  if (first.length > 0) {
    lines.push(`  first ${first.length} violation(s):`);
    for (const v of first) {
      lines.push(
        `    row ${v.row}${v.line !== undefined ? ` (line ${v.line})` : ""}: ${v.column} [${v.rule}] ${v.message}`,
      );
    }
  }
  return lines.join("\n");
}

export async function runValidate(file: string, opts: ValidateCliOptions): Promise<number> {
  const contract = loadContractOrUsage(opts.contract);
  checkFile(file);
  const max = Number(opts.maxViolations);
  if (!Number.isInteger(max) || max < 0)
    throw new UsageError(`--max-violations: expected an integer >= 0, got '${opts.maxViolations}'`);
  const table = await readTable(file, { types: contractTypes(contract) });
  let result: ReturnType<typeof validateFrame>;
  try {
    result = validateFrame(table.frame, contract, {
      invalid: table.invalid,
      lineOf: table.lineOf,
      label: file,
      maxViolations: max,
    });
  } catch (e) {
    if (e instanceof HeaderMismatchError && opts.json) {
      process.stdout.write(
        `${JSON.stringify({ file, valid: false, error: e.message, missingColumns: e.missing, unexpectedColumns: e.unexpected }, null, 2)}\n`,
      );
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const { report, rejects, valid } = result;
  if (opts.rejects) await writeCsv(rejects, opts.rejects);
  if (opts.json) {
    const out = {
      file,
      contract: opts.contract,
      valid: report.rejectedRows === 0,
      dataHash: hashFrame(valid),
      source: table.source,
      stats: table.stats,
      ...report,
      rejectsFile: opts.rejects ?? null,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`${summary(file, report, 10)}\n`);
    if (opts.rejects) process.stdout.write(`  rejected rows written to ${opts.rejects}\n`);
    process.stdout.write(
      report.rejectedRows === 0
        ? "OK: all rows pass the contract\n"
        : "FAILED: some rows violate the contract\n",
    );
  }
  return report.rejectedRows === 0 ? 0 : 1;
}

export async function runProfile(file: string, opts: ProfileCliOptions): Promise<number> {
  const types = opts.contract ? contractTypes(loadContractOrUsage(opts.contract)) : undefined;
  checkFile(file);
  const table = await readTable(file, types ? { types } : {});
  const profile = profileFrame(table.frame);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ file, source: table.source, ...profile }, null, 2)}\n`);
  } else {
    process.stdout.write(`${file}\n${formatProfile(profile)}\n`);
  }
  return 0;
}

/** Add the `data` command group to a commander program. */
export function registerDataCommands(program: Command): void {
  const data = program
    .command("data")
    .description("Validate and profile tabular data files (.csv, .csv.gz, .parquet, .tar.gz)");
  data
    .command("validate")
    .description("Validate FILE against a dataset contract; exit 1 when any row violates it")
    .argument(
      "[file]",
      "data file (.csv, .csv.gz, .parquet, or .tar.gz/.tgz holding one); default: the contract source.path",
    )
    .option("--contract <path>", "dataset contract YAML", DEFAULT_CONTRACT_PATH)
    .option("--rejects <path>", "write rejected rows (with reject_reasons) to this CSV")
    .option("--max-violations <n>", "violations listed in the report", "1000")
    .option("--json", "print the full report as JSON")
    .action(async (file: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as ValidateCliOptions;
      process.exitCode = await runValidate(resolveFile(file, opts.contract), opts);
    });
  data
    .command("profile")
    .description("Profile FILE: per-column missing share, range, quantiles, category counts")
    .argument("[file]", "data file; default: the contract source.path")
    .option("--contract <path>", "read columns with the types of this contract (default: infer types)")
    .option("--json", "print JSON")
    .action(async (file: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as ProfileCliOptions;
      process.exitCode = await runProfile(resolveFile(file, opts.contract), opts);
    });
}
