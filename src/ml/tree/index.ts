/** Public API of the tree engine. */
export type { BinnedData, BinningOptions } from "./binning.ts";
export { BinnedDataset, clearBinningCache, midpointThreshold } from "./binning.ts";
export type { TreeFitOptions } from "./common.ts";
export type { GrowParams, GrowResult, TreeArrays } from "./core.ts";
export { PackedTrees, pruneTree, TreeGrower, treeShape } from "./core.ts";
export { DecisionTreeRegressor } from "./decision_tree.ts";
export { RandomForestRegressor } from "./forest.ts";
export { treeSeed } from "./forest_build.ts";
export { GradientBoostingRegressor, median, weightedPercentile } from "./gbm.ts";
export type { PruneLimits } from "./predict.ts";
export { f32Key, thresholdKey, TreeEnsemblePredictor } from "./predict.ts";
export { resolveJobs, shutdownTreeWorkers } from "./pool.ts";
