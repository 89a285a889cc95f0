/** Helpers for pipeline tests: a small seeded sample of the bundled data and a fast config. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LoadedConfig, loadConfig } from "../../src/config/load.ts";
import { Rng } from "../../src/data/prng.ts";

export const HOUSING = join(import.meta.dirname, "..", "..", "data", "california_housing.csv");

/** Write `n` seeded random rows of the bundled CSV (header kept) to `path`; `edit` may rewrite data lines. */
export function writeSample(
  path: string,
  n: number,
  seed = 1,
  edit?: (cells: string[], i: number) => string[],
): void {
  const lines = readFileSync(HOUSING, "utf8").trimEnd().split("\n");
  const header = lines[0];
  const rows = lines.slice(1);
  const idx = new Rng(seed).sampleWithoutReplacement(rows.length, n);
  const out = [header];
  Array.from(idx).forEach((r, i) => {
    const cells = rows[r].split(",");
    out.push((edit ? edit(cells, i) : cells).join(","));
  });
  writeFileSync(path, `${out.join("\n")}\n`);
}

/** A config that runs every step in a few seconds on ~1,500 rows. */
export function fastConfig(source: string, home: string, extra: string[] = []): LoadedConfig {
  return loadConfig({ overrides: fastOverrides(source, home, extra) });
}

/** fastConfig's overrides (for `mlops` command lines). */
export function fastOverrides(source: string, home: string, extra: string[] = []): string[] {
  return [
    `data.source=${source}`,
    `home=${home}`,
    "impute.mask_fractions=[0.2]",
    "impute.strategies=[median,mean,knn,iterative]",
    "features.geo_clusters.k_min=2",
    "features.geo_clusters.k_max=4",
    "features.geo_clusters.silhouette_sample=400",
    "features.geo_clusters.n_init=2",
    "selection.cv_folds=3",
    "+selection.profiles.tiny={random_forest: {n_estimators: [10, 20], max_depth: [6]}, gradient_boosting: {n_estimators: [20, 40], max_depth: [3]}, ridge: {alpha: [1.0, 10.0]}, lasso: {alpha: [10.0]}, decision_tree: {max_depth: [4, 6]}}",
    "selection.profile=tiny",
    "+sweep.n_trials.tiny=4",
    "sweep.n_startup_trials=2",
    "sweep.cv_folds=2",
    "sweep.parallel=1",
    "+sweep.spaces.gradient_boosting.n_estimators={type: int, low: 10, high: 40}",
    "++sweep.spaces.gradient_boosting.n_estimators={type: int, low: 10, high: 40}",
    "++sweep.spaces.random_forest.n_estimators={type: int, low: 5, high: 20}",
    ...extra,
  ].filter((o) => !o.startsWith("+sweep.spaces"));
}
