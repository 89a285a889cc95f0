export * from "./cv_objective.ts";
export * from "./parzen.ts";
export * from "./pruner.ts";
export * from "./samplers.ts";
export * from "./space.ts";
export * from "./storage.ts";
export { createStudy, type Objective, type OptimizeOptions, Study, type StudyOptions } from "./study.ts";
export * from "./trial.ts";
