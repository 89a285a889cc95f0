/** Monitoring: reference profiles, drift, prediction log + feedback, sanity checks, alerts, HTML report, metrics. */
export * from "./alerts.ts";
export * from "./analysis.ts";
export * from "./checks.ts";
export * from "./drift.ts";
export * from "./metrics.ts";
export * from "./prediction-log.ts";
export * from "./reference.ts";
export { renderDriftHtml } from "./report-html.ts";
export * as stats from "./stats.ts";
export * from "./monitor.ts";
export * from "./duration.ts";
export * from "./settings.ts";
