/** Public surface of experiment tracking and the model registry. */
export * from "./types.ts";
export * from "./store.ts";
export * from "./postgres-store.ts";
export * from "./artifacts.ts";
export * from "./s3-artifacts.ts";
export * from "./registry.ts";
export * from "./query.ts";
export * from "./trials.ts";
export * from "./tracker.ts";
