export * from "./cross_validate.ts";
export * from "./fit_score.ts";
export * from "./grid.ts";
export * from "./kfold.ts";
export * from "./scoring.ts";
export * from "./sharing.ts";
