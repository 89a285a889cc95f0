/**
 * Dataset contract types (the YAML in config/datasets/*.yaml parses to this). The same contract drives
 * ingestion validation, the training pipeline's column roles and the serving API's request schema,
 * so training and serving can never disagree on ranges or categories.
 */

export interface NumericColumnSpec {
  name: string;
  type: 'float' | 'integer';
  /** A value must be present (not missing) — violations are rejected rows. */
  required?: boolean; // default true
  /** Missing allowed (NaN). `required: true, nullable: true` = column must exist, cells may be empty. */
  nullable?: boolean; // default false
  min?: number; // inclusive
  max?: number; // inclusive
  description?: string;
  unit?: string;
}

export interface CategoricalColumnSpec {
  name: string;
  type: 'categorical';
  required?: boolean;
  nullable?: boolean;
  /** Canonical spellings; input matching is case-insensitive and trimmed, then normalised to these. */
  categories: string[];
  description?: string;
}

export type ColumnSpec = NumericColumnSpec | CategoricalColumnSpec;

export interface DatasetContract {
  name: string;
  description?: string;
  /** Where the bundled copy lives (relative to the repo root), if any. */
  source?: { path?: string; url?: string; citation?: string };
  columns: ColumnSpec[];
  /** Target column (numeric). Not part of the serving input schema. */
  target: string;
  /** Optional geo columns used for clustering features. */
  geo?: { latitude: string; longitude: string };
  /** Optional stratification: a numeric column binned at the given edges (Géron: median_income, [0,1.5,3,4.5,6,inf]). */
  stratify?: { column: string; bins: number[] };
  /** Optional ratio features: name = numerator / denominator. */
  ratios?: { name: string; numerator: string; denominator: string }[];
  /** Example inputs (e.g. dashboard scenarios). */
  examples?: { name: string; values: Record<string, number | string> }[];
}
