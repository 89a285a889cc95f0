/**
 * Step 03 — imputation comparison, on the training split only. For every numeric input column that has
 * missing values, a seeded fraction of its *known* values is masked, each candidate strategy (median, mean,
 * KNN on standardised columns, iterative BayesianRidge) is fitted on the masked training matrix and scored
 * by RMSE / MAE against the hidden truth, for several mask fractions. The target is never a predictor
 * (the reference leaked it). Winner = lowest mean RMSE normalised by the column's std (scale-free when
 * several columns have gaps). The winning strategy is then fitted inside the FeaturePipeline (step 04).
 */
import { deriveSeed, Rng } from "../../data/prng.ts";
import { type ImputeStrategy, NumericImputer } from "../../features/impute.ts";
import { inputColumns } from "../../features/pipeline.ts";
import { matrix } from "../../ml/types.ts";
import type { PipelineStep } from "../context.ts";
import { fromPlain } from "../frame-io.ts";
import type { IngestOutput } from "./ingest.ts";
import type { SplitOutput } from "./split.ts";

export interface ImputeScore {
  strategy: ImputeStrategy;
  column: string;
  fraction: number;
  masked: number;
  rmse: number;
  mae: number;
  seconds: number;
}

export interface ImputeOutput {
  winner: ImputeStrategy;
  columnsWithMissing: { column: string; missing: number; percent: number }[];
  scores: ImputeScore[];
  /** strategy → mean normalised RMSE */
  summary: Record<string, { meanRmse: number; meanMae: number; meanNormRmse: number }>;
}

export const imputeStep: PipelineStep<ImputeOutput> = {
  id: "03_impute",
  title: "Compare imputation strategies",
  deps: ["01_ingest", "02_split"],
  configKeys: ["seed", "impute"],
  async run({ env, run, inputs, progress }) {
    const cfg = env.config.impute;
    const frame = fromPlain((inputs["01_ingest"] as IngestOutput).frame).take(
      (inputs["02_split"] as SplitOutput).train,
    );
    const cols = inputColumns(env.contract).numeric;
    const X = frame.toMatrix(cols);
    const n = X.rows,
      m = X.cols;
    const columnsWithMissing: ImputeOutput["columnsWithMissing"] = [];
    for (let j = 0; j < m; j++) {
      let miss = 0;
      for (let i = 0; i < n; i++) if (Number.isNaN(X.data[i * m + j])) miss++;
      if (miss > 0) columnsWithMissing.push({ column: cols[j], missing: miss, percent: (100 * miss) / n });
    }
    const strategies = cfg.strategies as ImputeStrategy[];
    const scores: ImputeScore[] = [];
    if (columnsWithMissing.length === 0) {
      await run.logParams({ winner: "median", reason: "no missing values in the training split" });
      return { winner: "median", columnsWithMissing, scores, summary: {} };
    }
    const total = columnsWithMissing.length * cfg.mask_fractions.length * strategies.length;
    const bar = progress("imputation candidates", total);
    const stds: Record<string, number> = {};
    for (const [ci, cm] of columnsWithMissing.entries()) {
      const j = cols.indexOf(cm.column);
      const known: number[] = [];
      for (let i = 0; i < n; i++) if (!Number.isNaN(X.data[i * m + j])) known.push(i);
      const vals = known.map((i) => X.data[i * m + j]);
      const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
      stds[cm.column] = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length) || 1;
      for (const [fi, frac] of cfg.mask_fractions.entries()) {
        const rng = new Rng(deriveSeed(env.config.seed, 3000 + ci * 100 + fi));
        const k = Math.max(1, Math.round(frac * known.length));
        const pick = rng.sampleWithoutReplacement(known.length, k);
        const masked = Float64Array.from(X.data);
        const rows = Array.from(pick, (p) => known[p]);
        for (const i of rows) masked[i * m + j] = Number.NaN;
        const Xm = matrix(n, m, masked, cols);
        for (const strategy of strategies) {
          const t0 = performance.now();
          const imp = new NumericImputer({
            strategy,
            knnK: cfg.knn_k,
            iterativeMaxIter: cfg.iterative_max_iter,
            seed: deriveSeed(env.config.seed, 31),
          });
          const out = imp.fit(Xm).transform(Xm);
          let se = 0,
            ae = 0;
          for (const i of rows) {
            const d = out.data[i * m + j] - X.data[i * m + j];
            se += d * d;
            ae += Math.abs(d);
          }
          const s: ImputeScore = {
            strategy,
            column: cm.column,
            fraction: frac,
            masked: rows.length,
            rmse: Math.sqrt(se / rows.length),
            mae: ae / rows.length,
            seconds: (performance.now() - t0) / 1000,
          };
          scores.push(s);
          bar.tick(1, `${strategy} ${cm.column} ${Math.round(frac * 100)}%`);
        }
      }
    }
    bar.stop();
    const summary: ImputeOutput["summary"] = {};
    for (const st of strategies) {
      const mine = scores.filter((s) => s.strategy === st);
      summary[st] = {
        meanRmse: mine.reduce((a, s) => a + s.rmse, 0) / mine.length,
        meanMae: mine.reduce((a, s) => a + s.mae, 0) / mine.length,
        meanNormRmse: mine.reduce((a, s) => a + s.rmse / stds[s.column], 0) / mine.length,
      };
    }
    const key = cfg.select_by === "mae" ? "meanMae" : "meanNormRmse";
    const winner = strategies.reduce(
      (best, st) => (summary[st][key] < summary[best][key] ? st : best),
      strategies[0],
    );
    await run.logParams({
      winner,
      strategies: strategies.join(","),
      mask_fractions: cfg.mask_fractions.join(","),
    });
    for (const st of strategies) {
      await run.logMetrics({
        [`imputation_rmse_${st}`]: summary[st].meanRmse,
        [`imputation_mae_${st}`]: summary[st].meanMae,
      });
    }
    await run.logJson("imputation_scores.json", { columnsWithMissing, scores, summary, winner });
    return { winner, columnsWithMissing, scores, summary };
  },
};
