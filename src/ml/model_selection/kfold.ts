/**
 * Folds for model selection. K-fold splitting lives in src/data/split.ts (scikit-learn KFold layout, seeded
 * shuffle, ascending indices); this module re-exports it and validates user-supplied folds.
 */
import { kFold, type Split, stratifiedKFold } from "../../data/split.ts";
import { MLInputError } from "../types.ts";

export type Fold = Split;
export { kFold, stratifiedKFold };

/** Validate user-provided folds against n rows. */
export function checkFolds(folds: readonly Fold[], n: number): void {
  if (folds.length < 1) throw new MLInputError("cv: at least one fold is required");
  folds.forEach((f, i) => {
    if (!(f.train instanceof Uint32Array) || !(f.test instanceof Uint32Array)) {
      throw new MLInputError(`cv: fold ${i} must have Uint32Array train and test indices`);
    }
    if (f.test.length === 0) throw new MLInputError(`cv: fold ${i} has an empty test set`);
    if (f.train.length === 0) throw new MLInputError(`cv: fold ${i} has an empty train set`);
    for (const arr of [f.train, f.test]) {
      for (let j = 0; j < arr.length; j++) {
        if (!(arr[j] < n))
          throw new MLInputError(`cv: fold ${i} index ${arr[j]} is out of range for ${n} rows`);
      }
    }
  });
}
