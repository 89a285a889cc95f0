/**
 * Test helper: load the first N data rows of data/california_housing.csv (no quoting in that file),
 * parsed with plain string split and `Number()`; an empty field is NaN.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Matrix } from "../../src/ml/types.ts";
import { fromRows } from "../../src/ml/types.ts";

export const HOUSING_CSV = fileURLToPath(new URL("../../data/california_housing.csv", import.meta.url));

export const NUMERIC = [
  "longitude",
  "latitude",
  "housing_median_age",
  "total_rooms",
  "total_bedrooms",
  "population",
  "households",
  "median_income",
] as const;

export interface HousingRows {
  header: string[];
  /** numeric columns by name (NaN for empty fields) */
  num: Record<string, Float64Array>;
  /** ocean_proximity values */
  ocean: string[];
  n: number;
}

export function loadHousing(n: number): HousingRows {
  const lines = readFileSync(HOUSING_CSV, "utf8").split("\n");
  const header = lines[0].trim().split(",");
  const rows = lines.slice(1, n + 1).map((l) => l.replace(/\r$/, ""));
  if (rows.length < n || rows[n - 1] === "") throw new Error(`housing.csv has fewer than ${n} data rows`);
  const num: Record<string, Float64Array> = {};
  const ocean: string[] = [];
  const oceanIdx = header.indexOf("ocean_proximity");
  for (const name of header) if (name !== "ocean_proximity") num[name] = new Float64Array(n);
  rows.forEach((line, i) => {
    const f = line.split(",");
    if (f.length !== header.length)
      throw new Error(`housing.csv line ${i + 2}: ${f.length} fields, expected ${header.length}`);
    header.forEach((name, j) => {
      if (j === oceanIdx) ocean.push(f[j]);
      else num[name][i] = f[j] === "" ? Number.NaN : Number(f[j]);
    });
  });
  return { header, num, ocean, n };
}

/** Matrix of the given columns (default: the 8 numeric features, NaN kept). */
export function housingMatrix(h: HousingRows, cols: readonly string[] = NUMERIC): Matrix {
  const rows: number[][] = [];
  for (let i = 0; i < h.n; i++) rows.push(cols.map((c) => h.num[c][i]));
  return fromRows(rows, cols);
}

/** Replace NaN in column j by `value` (copy). */
export function fillColumn(X: Matrix, j: number, value: number): Matrix {
  const data = Float64Array.from(X.data);
  for (let i = 0; i < X.rows; i++) if (Number.isNaN(data[i * X.cols + j])) data[i * X.cols + j] = value;
  return { ...X, data };
}

/** Load a JSON fixture from test/fixtures/sklearn/. */
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON is loosely typed on purpose
export function fixture<T = any>(name: string): T {
  return JSON.parse(
    readFileSync(fileURLToPath(new URL(`../fixtures/sklearn/${name}`, import.meta.url)), "utf8"),
  ) as T;
}

/** Max relative deviation |a−e|/max(|e|, floor). */
export function maxRel(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-300): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

export function maxAbs(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
