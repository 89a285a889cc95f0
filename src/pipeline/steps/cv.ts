/** Shared CV plumbing for steps 05–07: seeded (stratified) folds on the training split and target handling. */
import type { PipelineConfig } from "../../config/load.ts";
import type { DatasetContract } from "../../data/contract-types.ts";
import type { Frame } from "../../data/frame.ts";
import { deriveSeed } from "../../data/prng.ts";
import { type Split, binLabels, kFold, stratifiedKFold } from "../../data/split.ts";
import { type TargetTransform, forwardTarget } from "../../features/bundle.ts";

export function targetTransformOf(config: PipelineConfig): TargetTransform {
  const t = config.selection.target_transform;
  if (t !== "none" && t !== "log1p")
    throw new Error(`selection.target_transform must be none or log1p, got ${t}`);
  return t;
}

/** Scorer names evaluated on the original target scale (the '@expm1' suffix undoes log1p inside the scorer). */
export function scorerName(metric: string, t: TargetTransform): string {
  return t === "log1p" ? `${metric}@expm1` : metric;
}

export function cvFolds(
  train: Frame,
  contract: DatasetContract,
  k: number,
  seed: number,
  stream: number,
): Split[] {
  const s = deriveSeed(seed, stream);
  if (contract.stratify) {
    const labels = binLabels(train.numeric(contract.stratify.column), contract.stratify.bins, {
      outOfRange: "clip",
    });
    return stratifiedKFold(labels, k, s);
  }
  return kFold(train.nRows, k, { shuffle: true, seed: s });
}

export function modelTarget(y: Float64Array, t: TargetTransform): Float64Array {
  return forwardTarget(y, t);
}
