/**
 * FeaturePipeline: every transformation between a raw, contract-shaped table and the model's feature
 * matrix, fitted on the training split only and serialised next to the model. Training (pipeline steps 04–07)
 * and serving both call `transform`, so the served features are, by construction, the trained ones.
 *
 * Stages (in order): canonical categories (contract spelling, case-insensitive) → numeric imputation
 * (median/mean/KNN/iterative; target never included) → ratio features (contract `ratios`, e.g.
 * rooms_per_household; a zero or missing denominator falls back to the training median of the ratio) →
 * one-hot categories (unseen → all zeros, missing → training mode) → geo clusters (KMeans on raw
 * latitude/longitude: cluster label + RBF similarity exp(-γ‖x − c‖²) to every centroid) → optional
 * standard scaling (linear models).
 */
import type { ColumnSpec, DatasetContract } from "../data/contract-types.ts";
import { type Frame, sameLevels } from "../data/frame.ts";
import { type BundlePart, packBundle, unpackBundle } from "../ml/codec.ts";
import { KMeans } from "../ml/cluster.ts";
import { OneHotEncoder, StandardScaler } from "../ml/preprocessing.ts";
import { type Matrix, type ModelState, matrix } from "../ml/types.ts";
import { type ImputerOptions, NumericImputer } from "./impute.ts";
import { GeoNeighborIndex } from "./neighbors.ts";

export interface GeoOptions {
  k: number;
  gamma: number;
  seed: number;
  nInit?: number;
}

export interface FeatureOptions {
  imputer: ImputerOptions;
  /** Spatial lag: mean model-scale target of the k nearest training rows (leave-one-out on the training rows). */
  neighbors?: { k: number } | null;
  ratios: boolean;
  oneHot: boolean;
  geo: GeoOptions | null;
  scale: boolean;
}

export interface InputColumns {
  numeric: string[];
  categorical: string[];
}

/** The contract's model inputs (every column except the target), split by kind, in contract order. */
export function inputColumns(contract: DatasetContract): InputColumns {
  const numeric: string[] = [];
  const categorical: string[] = [];
  for (const c of contract.columns) {
    if (c.name === contract.target) continue;
    if (c.type === "categorical") categorical.push(c.name);
    else numeric.push(c.name);
  }
  return { numeric, categorical };
}

/** Case-insensitive, trimmed lookup of a category's canonical spelling; null when unknown. */
export function canonicalCategory(spec: ColumnSpec, value: string): string | null {
  if (spec.type !== "categorical") return value;
  const v = value.trim().toUpperCase();
  for (const c of spec.categories) if (c.toUpperCase() === v) return c;
  return null;
}

/** One-hot output column per category code of a column's levels (see FeaturePipeline.oneHotSlots). */
interface OneHotSlots {
  /** the levels these slots were computed for (a copy, to detect a changed array) */
  levels: string[];
  /** slots[code + 1] = encoder output column of that code's filled, canonical category; -1 = all zeros */
  slots: Int32Array;
  /** the encoder's number of output columns */
  width: number;
}

export class FeaturePipeline {
  readonly inputs: InputColumns;
  /** every input column, numeric then categorical (checked on each transform) */
  private readonly inputNames: readonly string[];
  featureNames: string[] = [];
  private imputer: NumericImputer | null = null;
  private ratioFill: Float64Array = new Float64Array(0);
  private catFill: string[] = [];
  private encoders: OneHotEncoder[] = [];
  private kmeans: KMeans | null = null;
  private scaler: StandardScaler | null = null;
  private neighbors: GeoNeighborIndex | null = null;
  private fitted = false;
  /** ratio numerator/denominator positions among the numeric inputs, for the `ratioSpecs` array they came from */
  private ratioIdx: { specs: DatasetContract["ratios"]; cols: Int32Array } | null = null;
  /** per categorical input k: one-hot slots by the levels array of the transformed column (see oneHotSlots) */
  private slotCache: WeakMap<readonly string[], OneHotSlots>[] = [];

  constructor(
    readonly contract: DatasetContract,
    readonly options: FeatureOptions,
  ) {
    this.inputs = inputColumns(contract);
    this.inputNames = [...this.inputs.numeric, ...this.inputs.categorical];
    if (options.geo && !contract.geo)
      throw new Error(`features.geo is enabled but dataset '${contract.name}' declares no geo columns`);
  }

  get ratioSpecs(): NonNullable<DatasetContract["ratios"]> {
    return this.options.ratios ? (this.contract.ratios ?? []) : [];
  }

  fit(frame: Frame, y?: Float64Array): this {
    this.fitTransform(frame, y);
    return this;
  }

  /**
   * Fit on the training rows and return their features. `y` (model-scale target of the same rows) is needed
   * only by the spatial-lag feature; those training rows get leave-one-out values.
   */
  fitTransform(frame: Frame, y?: Float64Array): Matrix {
    this.checkColumns(frame);
    this.slotCache = [];
    const num = frame.toMatrix(this.inputs.numeric);
    this.imputer = new NumericImputer(this.options.imputer).fit(num);
    const imputed = this.imputer.transform(num);
    const ratios = this.rawRatios(imputed);
    this.ratioFill = new Float64Array(ratios.length);
    ratios.forEach((r, k) => {
      this.ratioFill[k] = median(r);
    });
    this.catFill = this.inputs.categorical.map((name) => modeOf(this.categoryStrings(frame, name)));
    this.encoders = this.options.oneHot
      ? this.inputs.categorical.map((name, k) =>
          new OneHotEncoder({ handle_unknown: "ignore" }).fit(this.filledCategories(frame, name, k), name),
        )
      : [];
    if (this.options.geo) {
      const g = this.options.geo;
      this.kmeans = new KMeans({ n_clusters: g.k, n_init: g.nInit ?? 10, random_state: g.seed }).fit(
        this.latLon(imputed),
      );
    }
    this.neighbors = null;
    if (this.options.neighbors) {
      if (!this.contract.geo)
        throw new Error(`features.geo_neighbors needs geo columns in dataset '${this.contract.name}'`);
      if (!y || y.length !== frame.nRows)
        throw new Error("FeaturePipeline: the spatial-lag feature needs the training target");
      const ll = this.latLon(imputed);
      const la = new Float64Array(ll.rows),
        lo = new Float64Array(ll.rows);
      for (let i = 0; i < ll.rows; i++) {
        la[i] = ll.data[2 * i];
        lo[i] = ll.data[2 * i + 1];
      }
      this.neighbors = new GeoNeighborIndex(la, lo, Float64Array.from(y), this.options.neighbors.k);
    }
    this.fitted = true;
    this.scaler = null;
    const unscaled = this.assemble(frame, imputed, ratios, true);
    if (this.options.scale) {
      this.scaler = new StandardScaler().fit(unscaled);
      return this.scaler.transform(unscaled);
    }
    return unscaled;
  }

  /**
   * The same pipeline with standardisation added, fitted on `unscaled` = this (unscaled) pipeline's fitTransform
   * output on the training rows: equal to fitting a `scale: true` pipeline on those rows (every other part is
   * fitted on the same data, deterministically), without fitting the imputer, k-means and the neighbour index twice.
   */
  withScaling(unscaled: Matrix): { pipeline: FeaturePipeline; X: Matrix } {
    if (!this.fitted || this.scaler) throw new Error("withScaling needs a fitted, unscaled FeaturePipeline");
    const p = new FeaturePipeline(this.contract, { ...this.options, scale: true });
    // fitted parts are not mutated after fitting: shared
    p.imputer = this.imputer;
    p.ratioFill = this.ratioFill;
    p.catFill = this.catFill;
    p.encoders = this.encoders;
    p.kmeans = this.kmeans;
    p.neighbors = this.neighbors;
    p.featureNames = this.featureNames;
    p.fitted = true;
    p.scaler = new StandardScaler().fit(unscaled);
    return { pipeline: p, X: p.scaler.transform(unscaled) };
  }

  transform(frame: Frame): Matrix {
    if (!this.fitted || !this.imputer) throw new Error("FeaturePipeline is not fitted");
    this.checkColumns(frame);
    const imputed = this.imputer.transform(frame.toMatrix(this.inputs.numeric));
    this.ratioColumns(); // (its errors come before assemble's, as when the ratios were computed here)
    const out = this.assemble(frame, imputed, null);
    return this.scaler ? this.scaler.transform(out) : out;
  }

  private checkColumns(frame: Frame): void {
    const names = this.inputNames;
    for (let j = 0; j < names.length; j++) {
      if (frame.has(names[j])) continue;
      const missing = names.filter((c) => !frame.has(c));
      throw new Error(`FeaturePipeline: input is missing column(s) ${missing.join(", ")}`);
    }
  }

  /** [numerator, denominator] positions among the numeric inputs of each ratio spec, computed once. */
  private ratioColumns(): Int32Array {
    const source = this.options.ratios ? this.contract.ratios : undefined;
    const hit = this.ratioIdx;
    if (hit && hit.specs === source && hit.cols.length === 2 * (source?.length ?? 0)) return hit.cols;
    const specs = this.ratioSpecs;
    const idx = (name: string) => {
      const j = this.inputs.numeric.indexOf(name);
      if (j < 0) throw new Error(`ratio feature refers to unknown numeric column '${name}'`);
      return j;
    };
    const cols = new Int32Array(2 * specs.length);
    specs.forEach((r, k) => {
      cols[2 * k] = idx(r.numerator);
      cols[2 * k + 1] = idx(r.denominator);
    });
    this.ratioIdx = { specs: source, cols };
    return cols;
  }

  private rawRatios(imputed: Matrix): Float64Array[] {
    const cols = this.ratioColumns();
    const m = imputed.cols;
    return this.ratioSpecs.map((_, k) => {
      const a = cols[2 * k],
        b = cols[2 * k + 1];
      const out = new Float64Array(imputed.rows);
      for (let i = 0; i < imputed.rows; i++) {
        const den = imputed.data[i * m + b];
        out[i] = den !== 0 ? imputed.data[i * m + a] / den : Number.NaN;
      }
      return out;
    });
  }

  private latLon(imputed: Matrix): Matrix {
    const geo = this.contract.geo!;
    const jl = this.inputs.numeric.indexOf(geo.latitude),
      jo = this.inputs.numeric.indexOf(geo.longitude);
    if (jl < 0 || jo < 0)
      throw new Error(`geo columns ${geo.latitude}/${geo.longitude} are not numeric inputs`);
    const n = imputed.rows,
      m = imputed.cols;
    const d = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      d[2 * i] = imputed.data[i * m + jl];
      d[2 * i + 1] = imputed.data[i * m + jo];
    }
    return matrix(n, 2, d, [geo.latitude, geo.longitude]);
  }

  private categoryStrings(frame: Frame, name: string): (string | null)[] {
    const spec = this.contract.columns.find((c) => c.name === name)!;
    const col = frame.categorical(name);
    const canon = col.levels.map((l) => canonicalCategory(spec, l));
    const out = new Array<string | null>(frame.nRows);
    for (let i = 0; i < frame.nRows; i++) {
      const c = col.codes[i];
      out[i] = c < 0 ? null : canon[c];
    }
    return out;
  }

  private filledCategories(frame: Frame, name: string, k: number): string[] {
    return this.categoryStrings(frame, name).map((v) => v ?? this.catFill[k]);
  }

  /**
   * For categorical input k and a column with these levels: slots[code + 1] = the output column of encoders[k] that
   * `filledCategories` + `encoders[k].transform` set to 1 for that code (code -1 = missing), -1 for none. Computed
   * once per levels array (a request's frame reuses the contract's), so one-hot encoding a row is a table lookup
   * rather than building canonical strings; recomputed if the levels array changed since.
   */
  private oneHotSlots(k: number, levels: readonly string[]): OneHotSlots {
    let cache = this.slotCache[k];
    if (!cache) {
      cache = new WeakMap();
      this.slotCache[k] = cache;
    }
    const hit = cache.get(levels);
    if (hit && sameLevels(hit.levels, levels)) return hit;
    const enc = this.encoders[k];
    const name = this.inputs.categorical[k];
    const spec = this.contract.columns.find((c) => c.name === name)!;
    const fill = this.catFill[k];
    const slots = new Int32Array(levels.length + 1);
    slots[0] = enc.categoryIndex(fill);
    for (let c = 0; c < levels.length; c++)
      slots[c + 1] = enc.categoryIndex(canonicalCategory(spec, levels[c]) ?? fill);
    const entry = { levels: levels.slice(), slots, width: enc.getFeatureNamesOut().length };
    cache.set(levels, entry);
    return entry;
  }

  /**
   * Output columns in order: numeric inputs, ratios, one-hot blocks, geo cluster + RBF similarities, spatial lag.
   * Each block is written straight into the row-major output (one pass per block, no per-cell callbacks): serving
   * runs this for every request.
   */
  private assemble(frame: Frame, imputed: Matrix, ratios: Float64Array[] | null, training = false): Matrix {
    const n = frame.nRows;
    // per encoder: its transform output, or (handle_unknown 'ignore', always so when fitted here) the column's
    // codes and their one-hot slots, written below without building strings
    const oneHots = this.encoders.map((enc, k) => {
      const name = this.inputs.categorical[k];
      if (!enc.ignoresUnknown) return enc.transform(this.filledCategories(frame, name, k));
      const col = frame.categorical(name);
      return { codes: col.codes, ...this.oneHotSlots(k, col.levels) };
    });
    let names = this.featureNames;
    if (!this.fitted || training || names.length === 0) {
      names = [...this.inputs.numeric, ...this.ratioSpecs.map((r) => r.name)];
      for (const enc of this.encoders) names.push(...enc.getFeatureNamesOut());
      if (this.kmeans)
        names.push("geo_cluster", ...Array.from({ length: this.kmeans.nClusters }, (_, c) => `geo_sim_${c}`));
      if (this.neighbors) names.push("geo_neighbor_target");
      this.featureNames = names;
    }
    const m = names.length;
    const data = new Float64Array(n * m);
    // numeric inputs (imputed)
    const nn = imputed.cols;
    const src = imputed.data;
    for (let i = 0; i < n; i++) for (let j = 0; j < nn; j++) data[i * m + j] = src[i * nn + j];
    let off = nn;
    // ratios (non-finite → the training median); without precomputed ratios, computed here as rawRatios does
    if (ratios) {
      for (let j = 0; j < ratios.length; j++, off++) {
        const r = ratios[j];
        const fill = this.ratioFill[j];
        for (let i = 0; i < n; i++) {
          const v = r[i];
          data[i * m + off] = Number.isFinite(v) ? v : fill;
        }
      }
    } else {
      const rc = this.ratioColumns();
      for (let j = 0; j < rc.length >> 1; j++, off++) {
        const a = rc[2 * j],
          b = rc[2 * j + 1];
        const fill = this.ratioFill[j];
        for (let i = 0; i < n; i++) {
          const den = src[i * nn + b];
          const v = den !== 0 ? src[i * nn + a] / den : Number.NaN;
          data[i * m + off] = Number.isFinite(v) ? v : fill;
        }
      }
    }
    for (const oh of oneHots) {
      if ("slots" in oh) {
        const { codes, slots, width } = oh;
        for (let i = 0; i < n; i++) {
          const j = slots[codes[i] + 1] ?? slots[0]; // a code outside the levels reads as missing, as in categoryStrings
          if (j >= 0) data[i * m + off + j] = 1;
        }
        off += width;
        continue;
      }
      const w = oh.cols;
      const od = oh.data;
      for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) data[i * m + off + j] = od[i * w + j];
      off += w;
    }
    if (this.kmeans || this.neighbors) {
      const geo = this.contract.geo!;
      const jl = this.inputs.numeric.indexOf(geo.latitude);
      const jo = this.inputs.numeric.indexOf(geo.longitude);
      if (jl < 0 || jo < 0)
        throw new Error(`geo columns ${geo.latitude}/${geo.longitude} are not numeric inputs`);
      if (this.kmeans) {
        const labels = this.kmeans.predict(this.latLon(imputed));
        const centers = this.kmeans.clusterCenters_!;
        const k = this.kmeans.nClusters;
        const gamma = this.options.geo!.gamma;
        for (let i = 0; i < n; i++) {
          const o = i * m + off;
          const la = src[i * nn + jl];
          const lo = src[i * nn + jo];
          data[o] = labels[i];
          for (let c = 0; c < k; c++) {
            const d0 = la - centers[2 * c],
              d1 = lo - centers[2 * c + 1];
            data[o + 1 + c] = Math.exp(-gamma * (d0 * d0 + d1 * d1));
          }
        }
        off += 1 + k;
      }
      if (this.neighbors) {
        const idx = this.neighbors;
        for (let i = 0; i < n; i++)
          data[i * m + off] = idx.query(src[i * nn + jl], src[i * nn + jo], training ? i : -1);
        off++;
      }
    }
    return matrix(n, m, data, names);
  }

  toState(): ModelState {
    if (!this.fitted || !this.imputer) throw new Error("FeaturePipeline is not fitted");
    const parts: Record<string, BundlePart> = {
      spec: {
        json: {
          contract: this.contract,
          options: this.options,
          featureNames: this.featureNames,
          ratioFill: Array.from(this.ratioFill),
          catFill: this.catFill,
        },
      },
      imputer: this.imputer.toState(),
    };
    this.encoders.forEach((e, k) => {
      parts[`onehot_${k}`] = e.toState();
    });
    if (this.kmeans) parts.kmeans = this.kmeans.toState();
    if (this.scaler) parts.scaler = this.scaler.toState();
    if (this.neighbors) {
      parts.neighbors = {
        kind: "GeoNeighborIndex",
        params: { k: this.neighbors.k },
        meta: {},
        arrays: { lat: this.neighbors.lat, lon: this.neighbors.lon, target: this.neighbors.target },
      };
    }
    return packBundle(parts, { component: "FeaturePipeline" });
  }

  static fromState(state: ModelState): FeaturePipeline {
    if (state.meta.component !== "FeaturePipeline") throw new Error("not a FeaturePipeline state");
    const p = unpackBundle(state);
    const spec = (p.spec as { json: Record<string, unknown> }).json as {
      contract: DatasetContract;
      options: FeatureOptions;
      featureNames: string[];
      ratioFill: number[];
      catFill: string[];
    };
    const fp = new FeaturePipeline(spec.contract, spec.options);
    fp.featureNames = spec.featureNames;
    fp.ratioFill = Float64Array.from(spec.ratioFill);
    fp.catFill = spec.catFill;
    fp.imputer = NumericImputer.fromState(p.imputer as ModelState);
    fp.encoders = spec.options.oneHot
      ? fp.inputs.categorical.map((_, k) => OneHotEncoder.fromState(p[`onehot_${k}`] as ModelState))
      : [];
    fp.kmeans = p.kmeans ? KMeans.fromState(p.kmeans as ModelState) : null;
    fp.scaler = p.scaler ? StandardScaler.fromState(p.scaler as ModelState) : null;
    if (p.neighbors) {
      const nb = p.neighbors as ModelState;
      fp.neighbors = new GeoNeighborIndex(
        Float64Array.from(nb.arrays.lat),
        Float64Array.from(nb.arrays.lon),
        Float64Array.from(nb.arrays.target),
        Number(nb.params.k),
      );
    }
    fp.fitted = true;
    return fp;
  }
}

function median(v: Float64Array): number {
  const f = Array.from(v)
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  if (f.length === 0) return 0;
  const h = f.length >> 1;
  return f.length % 2 ? f[h] : (f[h - 1] + f[h]) / 2;
}

function modeOf(values: (string | null)[]): string {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = "";
  let bestN = -1;
  for (const [k, n] of [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (n > bestN) {
      best = k;
      bestN = n;
    }
  }
  return best;
}
