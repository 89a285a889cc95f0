/**
 * Step 01 — ingest: read the configured source (bundled file, local path or http(s) URL; CSV, Parquet,
 * .csv.gz, .tar.gz), validate it against the dataset contract, quarantine rejected rows (never dropped
 * silently), store the accepted data as Parquet and the validation report as artifacts, hash the data.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { contractTypes, validateFrame } from "../../data/contract.ts";
import { writeCsv } from "../../data/csv.ts";
import { downloadToFile } from "../../data/download.ts";
import { hashFile, hashFrame } from "../../data/hash.ts";
import { readTable } from "../../data/io.ts";
import { frameToParquet } from "../../data/parquet.ts";
import type { PipelineEnv, PipelineStep } from "../context.ts";
import { type PlainFrame, toPlain } from "../frame-io.ts";

export interface IngestOutput {
  frame: PlainFrame;
  dataHash: string;
  source: string;
  rows: number;
  validRows: number;
  rejectedRows: number;
  violationCounts: Record<string, unknown>;
  rawParquetSha: string;
}

export function sourceOf(env: Pick<PipelineEnv, "config" | "contract" | "root">): string {
  const src = env.config.data.source ?? env.contract.source?.path ?? env.contract.source?.url;
  if (!src)
    throw new Error(
      `no data source: set data.source or give the contract '${env.contract.name}' a source.path`,
    );
  if (/^[a-z0-9]+:\/\//i.test(src)) return src;
  if (isAbsolute(src)) return src;
  // a configured source is relative to the working directory; the contract's bundled file to the repository
  return env.config.data.source ? resolve(process.cwd(), src) : join(env.root, src);
}

export const ingestStep: PipelineStep<IngestOutput> = {
  id: "01_ingest",
  title: "Ingest & validate",
  deps: [],
  configKeys: ["data.source", "data.dataset"],
  async cacheSalt(env) {
    const src = sourceOf(env);
    // remote sources are keyed by URL (re-run with --force to re-download); local files by content
    const contract = JSON.stringify(env.contract);
    return /^[a-z0-9]+:\/\//i.test(src) ? `${src}|${contract}` : `${await hashFile(src)}|${contract}`;
  },
  async run({ env, run, log }) {
    const src = sourceOf(env);
    let path = src;
    let tmpDir: string | null = null;
    try {
      if (/^(https?|s3):\/\//i.test(src)) {
        tmpDir = mkdtempSync(join(tmpdir(), "mlops-ingest-"));
        path = join(tmpDir, basename(new URL(src.replace(/^s3:/i, "https:")).pathname) || "download.csv");
        log(`downloading ${src}`);
        const r = await downloadToFile(src, path, {
          seed: env.config.seed,
          onRetry: (i) => log(`retry ${i.attempt} in ${i.delayMs} ms: ${i.reason}`),
        });
        log(`downloaded ${r.bytes} bytes in ${r.attempts} attempt(s)`);
      }
      const table = await readTable(path, { types: contractTypes(env.contract) });
      const { report, valid, rejects } = validateFrame(table.frame, env.contract, {
        invalid: table.invalid,
        lineOf: table.lineOf,
        label: src,
      });
      await run.logJson("validation_report.json", report);
      if (rejects.nRows > 0) {
        const d = tmpDir ?? mkdtempSync(join(tmpdir(), "mlops-rejects-"));
        tmpDir = d;
        const rp = join(d, "rejects.csv");
        await writeCsv(rejects, rp);
        await run.logArtifact("rejects.csv", rp, "text/csv");
        log(`${rejects.nRows} row(s) failed the contract and were quarantined to rejects.csv`);
      }
      if (valid.nRows < 10)
        throw new Error(`${src}: only ${valid.nRows} valid row(s) after validation; cannot train`);
      const dataHash = hashFrame(valid);
      const pq = await run.logArtifact(
        "data/raw.parquet",
        frameToParquet(valid),
        "application/vnd.apache.parquet",
      );
      await run.logParams({ source: src, data_hash: dataHash });
      await run.logMetrics({
        rows: report.rows,
        valid_rows: report.validRows,
        rejected_rows: report.rejectedRows,
      });
      return {
        frame: toPlain(valid),
        dataHash,
        source: src,
        rows: report.rows,
        validRows: report.validRows,
        rejectedRows: report.rejectedRows,
        violationCounts: report.violationCounts as unknown as Record<string, unknown>,
        rawParquetSha: pq.sha256,
      };
    } finally {
      if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
    }
  },
};
