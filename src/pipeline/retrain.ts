/**
 * Retraining on a monitoring trigger (`mlops monitor --retrain-on-drift`): the configured training data plus
 * the logged predictions that received feedback (their inputs, with the observed value as the target), run
 * through the whole pipeline as a new run; the resulting version is registered as a challenger and promoted
 * only when the promotion gates pass (the pipeline's own promotion step).
 *
 * The combined data is written to `<home>/retrain/<stamp>.csv` (atomically) and becomes the run's
 * `data.source`, so the run is reproducible and its lineage names exactly what it was trained on.
 */
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import {
  datasetContractPath,
  type LoadedConfig,
  loadConfig,
  REPO_ROOT,
  resolveHome,
} from "../config/load.ts";
import { contractTypes, loadContract } from "../data/contract.ts";
import type { DatasetContract } from "../data/contract-types.ts";
import { writeCsv } from "../data/csv.ts";
import { type Column, categoricalColumn, concatFrames, Frame, numericColumn } from "../data/frame.ts";
import { readTable } from "../data/io.ts";
import type { PredictionLog } from "../monitoring/prediction-log.ts";
import { type TrainOptions, type TrainResult, train } from "./pipeline.ts";
import { sourceOf } from "./steps/ingest.ts";

export interface RetrainOptions extends Omit<TrainOptions, "loaded" | "promote"> {
  loaded: LoadedConfig;
  /** The prediction log holding feedback (used when monitoring.retrain.include_feedback). */
  predictionLog?: PredictionLog;
  /** Why (recorded in the log line and the data file name's sidecar). */
  reason: string;
  /** Clock for the file stamp (tests). */
  now?: () => number;
}

export interface RetrainResult {
  dataPath: string;
  baseRows: number;
  feedbackRows: number;
  train: TrainResult;
}

/**
 * The labelled feedback rows as a frame with the contract's columns: inputs as logged (columns the log does
 * not have are missing), the observed value as the target. Categories are matched as logged (serving already
 * normalised them to the contract's spelling).
 */
export function feedbackFrame(
  contract: DatasetContract,
  labelled: { n: number; actual: Float64Array; inputs: Frame },
): Frame {
  const n = labelled.n;
  const cols: Column[] = contract.columns.map((c) => {
    if (c.name === contract.target) return numericColumn(c.name, Float64Array.from(labelled.actual));
    const kind = c.type === "categorical" ? "categorical" : "numeric";
    if (labelled.inputs.has(c.name)) {
      const col = labelled.inputs.col(c.name);
      // serving logs each input with the contract's kind; anything else is a foreign log
      if (col.kind !== kind) {
        throw new Error(
          `retrain: logged column '${c.name}' is ${col.kind}, but the contract '${contract.name}' declares it ${kind}`,
        );
      }
      return col;
    }
    return kind === "numeric"
      ? numericColumn(c.name, new Float64Array(n).fill(Number.NaN))
      : categoricalColumn(c.name, new Int32Array(n).fill(-1), []);
  });
  return new Frame(cols, n);
}

/** Build the retraining data, run the pipeline on it and promote through the gates. */
export async function retrainWithFeedback(o: RetrainOptions): Promise<RetrainResult> {
  const { config } = o.loaded;
  const home = resolveHome(config);
  const contract = loadContract(datasetContractPath(config));
  const src = sourceOf({ config, contract, root: REPO_ROOT });
  const log = o.log ?? (() => {});
  if (/^[a-z0-9]+:\/\//i.test(src)) {
    throw new Error(
      `retrain: data.source ${src} is remote; retraining with feedback needs a local file (download it and set data.source)`,
    );
  }
  const base = (await readTable(src, { types: contractTypes(contract) })).frame;
  const names = contract.columns.map((c) => c.name);
  const missing = names.filter((n) => !base.has(n));
  if (missing.length) throw new Error(`retrain: ${src} lacks the contract's columns ${missing.join(", ")}`);
  let data = base.select(names);
  let feedbackRows = 0;
  if (config.monitoring.retrain.include_feedback && o.predictionLog) {
    const labelled = o.predictionLog.labelled();
    feedbackRows = labelled.n;
    if (labelled.n > 0) data = concatFrames(data, feedbackFrame(contract, labelled));
  }
  const dir = join(home, "retrain");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date((o.now ?? Date.now)()).toISOString().replace(/[:.]/g, "-");
  const dataPath = join(dir, `${contract.name}-${stamp}.csv`);
  const tmp = `${dataPath}.${process.pid}.tmp`;
  await writeCsv(data, tmp);
  renameSync(tmp, dataPath);
  log(
    `retraining (${o.reason}) on ${base.nRows} rows of ${src} + ${feedbackRows} labelled feedback rows → ${dataPath}`,
  );
  const loaded = loadConfig({
    configPath: o.loaded.sources.file,
    overrides: [...o.loaded.sources.overrides, `data.source=${dataPath}`],
  });
  const { predictionLog: _pl, reason: _r, now: _n, ...trainOpts } = o;
  const result = await train({ ...trainOpts, loaded, promote: true });
  return { dataPath, baseRows: base.nRows, feedbackRows, train: result };
}
