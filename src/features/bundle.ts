/**
 * ModelBundle: the unit that is registered, promoted and served — the fitted FeaturePipeline, the fitted
 * regressor, the target transform, the conformal interval calibration and metadata, encoded as one codec
 * file. `predictFrame` is the single prediction path for offline evaluation (step 07) and for the API.
 */
import type { DatasetContract } from "../data/contract-types.ts";
import type { Frame } from "../data/frame.ts";
import {
  type BundlePart,
  ModelCodecError,
  decodeModel,
  encodeModel,
  packBundle,
  unpackBundle,
} from "../ml/codec.ts";
import { type ConformalCalibration, predictInterval } from "../ml/intervals.ts";
import { regressorFromState } from "../ml/registry.ts";
import type { Matrix, ModelState, Regressor } from "../ml/types.ts";
import { FeaturePipeline } from "./pipeline.ts";

export type TargetTransform = "none" | "log1p";

export interface BundleMeta {
  modelKind: string;
  params: Record<string, unknown>;
  trainedAt: string;
  dataHash?: string;
  configHash?: string;
  runId?: string;
  metrics?: Record<string, number>;
  /** Raw input rows (contract columns, no target) and their predictions at training time (warm-up check). */
  inputExample: Record<string, unknown>[];
  examplePredictions: number[];
  [k: string]: unknown;
}

export interface BundlePrediction {
  predictions: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  level: number;
}

export const BUNDLE_COMPONENT = "ModelBundle";

export function forwardTarget(y: Float64Array, t: TargetTransform): Float64Array {
  if (t === "none") return y;
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    if (!(y[i] > -1)) throw new Error(`target transform log1p needs targets > -1, got ${y[i]} at row ${i}`);
    out[i] = Math.log1p(y[i]);
  }
  return out;
}

export function inverseTarget(y: Float64Array, t: TargetTransform): Float64Array {
  if (t === "none") return y;
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = Math.expm1(y[i]);
  return out;
}

export class ModelBundle {
  /** targetFloor() for the contract it was computed from */
  private floorOf: { contract: DatasetContract; floor: number } | null = null;

  constructor(
    readonly pipeline: FeaturePipeline,
    readonly model: Regressor,
    readonly targetTransform: TargetTransform,
    readonly interval: ConformalCalibration | null,
    readonly meta: BundleMeta,
  ) {}

  get contract(): DatasetContract {
    return this.pipeline.contract;
  }

  /** Point predictions in target units. */
  predictPoint(frame: Frame): Float64Array {
    const X = this.pipeline.transform(frame);
    return inverseTarget(this.model.predict(X), this.targetTransform);
  }

  predictFrame(frame: Frame): BundlePrediction {
    return this.predictMatrix(this.pipeline.transform(frame));
  }

  /** Predictions + intervals from an already transformed feature matrix. */
  predictMatrix(X: Matrix): BundlePrediction {
    const predictions = inverseTarget(this.model.predict(X), this.targetTransform);
    if (!this.interval) {
      return { predictions, lower: predictions.slice(), upper: predictions.slice(), level: 0 };
    }
    const { lower, upper } = predictInterval(predictions, this.interval);
    const floor = this.targetFloor();
    for (let i = 0; i < lower.length; i++) if (lower[i] < floor) lower[i] = floor;
    return { predictions, lower, upper, level: this.interval.level };
  }

  /** The contract's minimum of the target (−∞ if none): interval lower bounds are clipped to it. */
  private targetFloor(): number {
    const contract = this.contract;
    if (this.floorOf?.contract !== contract) {
      const tspec = contract.columns.find((c) => c.name === contract.target);
      const floor =
        tspec && tspec.type !== "categorical" && tspec.min !== undefined
          ? tspec.min
          : Number.NEGATIVE_INFINITY;
      this.floorOf = { contract, floor };
    }
    return this.floorOf.floor;
  }
  toState(): ModelState {
    const parts: Record<string, BundlePart> = {
      pipeline: this.pipeline.toState(),
      model: this.model.toState(),
      info: { json: { targetTransform: this.targetTransform, interval: this.interval, meta: this.meta } },
    };
    return packBundle(parts, { component: BUNDLE_COMPONENT, formatNote: "tabular-mlops model bundle" });
  }

  encode(): Uint8Array {
    return encodeModel(this.toState());
  }

  static fromState(state: ModelState): ModelBundle {
    if (state.meta.component !== BUNDLE_COMPONENT) {
      throw new ModelCodecError(`not a model bundle (component ${JSON.stringify(state.meta.component)})`);
    }
    const p = unpackBundle(state);
    if (!p.pipeline || !p.model || !p.info)
      throw new ModelCodecError("model bundle is missing pipeline, model or info");
    const info = (
      p.info as {
        json: { targetTransform: TargetTransform; interval: ConformalCalibration | null; meta: BundleMeta };
      }
    ).json;
    if (info.targetTransform !== "none" && info.targetTransform !== "log1p") {
      throw new ModelCodecError(
        `model bundle has unknown target transform ${JSON.stringify(info.targetTransform)}`,
      );
    }
    const interval = info.interval
      ? { ...info.interval, qhat: info.interval.qhat ?? Number.POSITIVE_INFINITY }
      : null;
    return new ModelBundle(
      FeaturePipeline.fromState(p.pipeline as ModelState),
      regressorFromState(p.model as ModelState),
      info.targetTransform,
      interval,
      info.meta,
    );
  }

  static decode(bytes: Uint8Array, source = "model bundle"): ModelBundle {
    return ModelBundle.fromState(decodeModel(bytes, source));
  }
}
