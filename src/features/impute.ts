/**
 * NumericImputer: the one imputation component used by the imputation comparison (pipeline step 03)
 * and by the fitted FeaturePipeline (training and serving). Strategies:
 * - median / mean: SimpleImputer per column;
 * - knn: StandardScaler fitted on the training rows, KNNImputer (nan-euclidean) on the scaled data, inverse-scaled
 *   (the reference's "KNN Imputer (k=5)" recipe);
 * - iterative: IterativeImputer (round-robin BayesianRidge, ascending order).
 * The target column is never part of the matrix given to an imputer.
 */
import { IterativeImputer, KNNImputer, SimpleImputer } from "../ml/impute.ts";
import { StandardScaler } from "../ml/preprocessing.ts";
import { type BundlePart, packBundle, unpackBundle } from "../ml/codec.ts";
import { checkFeatures } from "../ml/linalg.ts";
import { type Matrix, type ModelState, matrix } from "../ml/types.ts";

export const IMPUTE_STRATEGIES = ["median", "mean", "knn", "iterative"] as const;
export type ImputeStrategy = (typeof IMPUTE_STRATEGIES)[number];

export interface ImputerOptions {
  strategy: ImputeStrategy;
  knnK?: number;
  iterativeMaxIter?: number;
  seed?: number;
}

/** Non-empty with every cell finite: no NaN (missing) to impute, nothing the imputers reject. */
function isComplete(X: Matrix): boolean {
  if (X.rows === 0 || X.cols === 0) return false;
  const d = X.data;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

export class NumericImputer {
  readonly strategy: ImputeStrategy;
  private simple: SimpleImputer | null = null;
  private scaler: StandardScaler | null = null;
  private knn: KNNImputer | null = null;
  private iterative: IterativeImputer | null = null;

  constructor(readonly options: ImputerOptions) {
    if (!IMPUTE_STRATEGIES.includes(options.strategy)) {
      throw new Error(
        `unknown imputation strategy '${options.strategy}' (valid: ${IMPUTE_STRATEGIES.join(", ")})`,
      );
    }
    this.strategy = options.strategy;
  }

  fit(X: Matrix): this {
    switch (this.strategy) {
      case "median":
      case "mean":
        this.simple = new SimpleImputer({ strategy: this.strategy }).fit(X);
        break;
      case "knn": {
        this.scaler = new StandardScaler().fit(X);
        this.knn = new KNNImputer({ n_neighbors: this.options.knnK ?? 5 }).fit(this.scaler.transform(X));
        break;
      }
      case "iterative":
        this.iterative = new IterativeImputer({
          max_iter: this.options.iterativeMaxIter ?? 10,
          random_state: this.options.seed ?? 0,
        }).fit(X);
        break;
    }
    return this;
  }

  transform(X: Matrix): Matrix {
    let out: Matrix;
    switch (this.strategy) {
      case "median":
      case "mean":
        out = this.need(this.simple).transform(X);
        break;
      case "knn": {
        const scaler = this.need(this.scaler);
        if (scaler.mean_ && isComplete(X)) {
          // Nothing to impute (a typical serving row): the general path below would return X's values bit for bit
          // (every observed cell is copied back), so skip the scale → KNN → inverse-scale round trip. The same
          // shape checks run first, so a mismatched input gets the same error.
          checkFeatures(scaler.kind, X, scaler.mean_.length, scaler.featureNames_);
          const knn = this.need(this.knn);
          checkFeatures(knn.kind, X, knn.nFeaturesIn_, knn.featureNames_);
          return matrix(X.rows, X.cols, X.data.slice(), X.featureNames);
        }
        const imputed = scaler.inverseTransform(this.need(this.knn).transform(scaler.transform(X)));
        // inverse scaling can perturb observed values in the last ulp: keep observed cells bit-exact
        const d = imputed.data as Float64Array;
        for (let i = 0; i < d.length; i++) if (!Number.isNaN(X.data[i])) d[i] = X.data[i];
        out = imputed;
        break;
      }
      case "iterative":
        out = this.need(this.iterative).transform(X);
        break;
    }
    // an explicit Matrix, not `{ ...out, featureNames }`: see servableFromBundle (serving/registry-source.ts)
    return X.featureNames ? matrix(out.rows, out.cols, out.data, X.featureNames) : out;
  }

  private need<T>(x: T | null): T {
    if (x === null) throw new Error(`NumericImputer(${this.strategy}) is not fitted`);
    return x;
  }

  /** A codec Bundle state tagged `component: 'NumericImputer'`. */
  toState(): ModelState {
    const parts: Record<string, BundlePart> = { options: { json: this.options } };
    if (this.simple) parts.simple = this.simple.toState();
    if (this.scaler) parts.scaler = this.scaler.toState();
    if (this.knn) parts.knn = this.knn.toState();
    if (this.iterative) parts.iterative = this.iterative.toState();
    return packBundle(parts, { component: "NumericImputer" });
  }

  static fromState(state: ModelState): NumericImputer {
    if (state.meta.component !== "NumericImputer")
      throw new Error(`expected a NumericImputer state, got ${state.kind}`);
    const p = unpackBundle(state);
    const options = (p.options as { json: ImputerOptions }).json;
    const imp = new NumericImputer(options);
    if (p.simple) imp.simple = SimpleImputer.fromState(p.simple as ModelState);
    if (p.scaler) imp.scaler = StandardScaler.fromState(p.scaler as ModelState);
    if (p.knn) imp.knn = KNNImputer.fromState(p.knn as ModelState);
    if (p.iterative) imp.iterative = IterativeImputer.fromState(p.iterative as ModelState);
    return imp;
  }
}
