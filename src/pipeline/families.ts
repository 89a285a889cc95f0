/**
 * Model families of the pipeline (config names) → estimator kinds, fixed params and feature variant.
 * Linear families get standardised features; tree families use raw (imputed) features.
 */
import type { Params } from "../ml/types.ts";

export interface Family {
  name: string;
  kind: string;
  scaled: boolean;
  /** Params applied to every candidate (seed added by the caller). */
  fixed: Params;
  seeded: boolean;
}

export const FAMILIES: Record<string, Family> = {
  random_forest: {
    name: "random_forest",
    kind: "RandomForestRegressor",
    scaled: false,
    fixed: {},
    seeded: true,
  },
  gradient_boosting: {
    name: "gradient_boosting",
    kind: "GradientBoostingRegressor",
    scaled: false,
    fixed: {},
    seeded: true,
  },
  decision_tree: {
    name: "decision_tree",
    kind: "DecisionTreeRegressor",
    scaled: false,
    fixed: {},
    seeded: true,
  },
  ridge: { name: "ridge", kind: "Ridge", scaled: true, fixed: {}, seeded: false },
  lasso: { name: "lasso", kind: "Lasso", scaled: true, fixed: { max_iter: 20000 }, seeded: false },
};

export function family(name: string): Family {
  const f = FAMILIES[name];
  if (!f) throw new Error(`unknown model family '${name}' (known: ${Object.keys(FAMILIES).join(", ")})`);
  return f;
}

export function fixedParams(f: Family, seed: number): Params {
  return f.seeded ? { ...f.fixed, random_state: seed } : { ...f.fixed };
}

/** Tracking params are string | number | boolean: null (e.g. max_depth=None) is logged as "None". */
export function loggableParams(p: Params): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v === null ? "None" : v]));
}
