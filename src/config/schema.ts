/**
 * The pipeline configuration schema (one table for types, ranges and allowed values; `config/pipeline.yaml`
 * holds the defaults). Objects are closed (`additionalProperties: false`), so a misspelt key is an error;
 * the only open places are the maps (`selection.profiles`, a profile's per-model grids, a grid's parameters,
 * `sweep.n_trials`, `sweep.spaces` and a space's parameters) — that is where `+key=value` can add entries.
 */
import Type, { type Static, type TSchema } from "typebox";

/** Model families the selection / sweep steps know. */
export const MODEL_NAMES = ["random_forest", "gradient_boosting", "ridge", "lasso", "decision_tree"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const IMPUTE_STRATEGIES = ["median", "mean", "knn", "iterative"] as const;
export type ImputeStrategy = (typeof IMPUTE_STRATEGIES)[number];

/** Regression metrics usable as a score / objective. All but `r2` are minimised. */
export const METRIC_NAMES = ["mae", "rmse", "mape", "wmape", "r2"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Config paths whose values are secrets: redacted by `config show` and excluded from the config hash. */
export const SECRET_PATHS = ["serve.admin_api_key", "monitoring.webhook.url"] as const;

const closed = { additionalProperties: false } as const;
const lit = <const T extends string[]>(values: readonly [...T]) => Type.Enum(values);
const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const identifier = Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" });
const name = Type.String({ minLength: 1 });
const fraction = Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 });
const nonNegative = Type.Number({ minimum: 0 });
const positiveInt = Type.Integer({ minimum: 1 });
/** A duration like 90s, 15m, 24h, 7d, 2w. */
const duration = Type.String({ pattern: "^[0-9]+(\\.[0-9]+)?[smhdw]$" });
/** An open map: identifier keys (others rejected) → `value`. `+key=...` overrides can add entries here. */
const map = <T extends TSchema>(value: T) => Type.Record(identifier, value, closed);

/** One grid: parameter name → list of candidate values (`null` = the estimator's "none", e.g. max_depth). */
export const GridSchema = map(
  Type.Array(Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]), { minItems: 1 }),
);
export type Grid = Static<typeof GridSchema>;

/** One sweep parameter's search space. */
export const ParamSpaceSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal("int"),
      low: Type.Integer(),
      high: Type.Integer(),
      log: Type.Optional(Type.Boolean()),
    },
    closed,
  ),
  Type.Object(
    {
      type: Type.Literal("float"),
      low: Type.Number(),
      high: Type.Number(),
      log: Type.Optional(Type.Boolean()),
    },
    closed,
  ),
  Type.Object(
    {
      type: Type.Literal("categorical"),
      choices: Type.Array(Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]), {
        minItems: 1,
      }),
    },
    closed,
  ),
]);
export type ParamSpace = Static<typeof ParamSpaceSchema>;

export const PipelineConfigSchema = Type.Object(
  {
    seed: Type.Integer({ minimum: 0, maximum: 4294967295 }),
    home: name,
    experiment: name,
    model_name: name,
    data: Type.Object(
      {
        // a contract name (config/datasets/<name>.yaml) or a path to a contract YAML
        dataset: Type.String({ pattern: "^([A-Za-z_][A-Za-z0-9_]*|.+\\.ya?ml)$" }),
        source: nullable(name),
        test_size: fraction,
        stratify: Type.Boolean(),
      },
      closed,
    ),
    impute: Type.Object(
      {
        strategies: Type.Array(lit(IMPUTE_STRATEGIES), { minItems: 1, uniqueItems: true }),
        mask_fractions: Type.Array(fraction, { minItems: 1 }),
        knn_k: positiveInt,
        iterative_max_iter: positiveInt,
        select_by: lit(["rmse", "mae"]),
      },
      closed,
    ),
    features: Type.Object(
      {
        ratios: Type.Boolean(),
        one_hot: Type.Boolean(),
        scale: Type.Boolean(),
        geo_clusters: Type.Object(
          {
            enabled: Type.Boolean(),
            k_min: Type.Integer({ minimum: 2 }),
            k_max: Type.Integer({ minimum: 2 }),
            selection: lit(["silhouette", "calinski_harabasz", "fixed"]),
            k: nullable(Type.Integer({ minimum: 1 })),
            silhouette_sample: Type.Integer({ minimum: 10 }),
            n_init: positiveInt,
            rbf_gamma: Type.Number({ exclusiveMinimum: 0 }),
          },
          closed,
        ),
        geo_neighbors: Type.Object(
          { enabled: Type.Boolean(), k: Type.Integer({ minimum: 1, maximum: 1000 }) },
          closed,
        ),
      },
      closed,
    ),
    selection: Type.Object(
      {
        profile: identifier,
        cv_folds: Type.Integer({ minimum: 2 }),
        shuffle: Type.Boolean(),
        scoring: lit(METRIC_NAMES),
        target_transform: lit(["none", "log1p"]),
        models: Type.Array(lit(MODEL_NAMES), { minItems: 1, uniqueItems: true }),
        profiles: map(map(GridSchema)),
      },
      closed,
    ),
    sweep: Type.Object(
      {
        enabled: Type.Boolean(),
        model: nullable(lit(MODEL_NAMES)),
        sampler: lit(["tpe", "random"]),
        n_trials: map(positiveInt),
        n_startup_trials: Type.Integer({ minimum: 0 }),
        n_ei_candidates: positiveInt,
        objective: lit(METRIC_NAMES),
        cv_folds: Type.Integer({ minimum: 2 }),
        pruner: lit(["median", "none"]),
        pruner_warmup_folds: Type.Integer({ minimum: 0 }),
        parallel: positiveInt,
        concurrency: nullable(positiveInt),
        lease_seconds: Type.Number({ exclusiveMinimum: 0 }),
        timeout_seconds: nullable(Type.Number({ exclusiveMinimum: 0 })),
        spaces: map(map(ParamSpaceSchema)),
      },
      closed,
    ),
    register: Type.Object(
      {
        interval_level: fraction,
        alias: identifier,
      },
      closed,
    ),
    promote: Type.Object(
      {
        auto: Type.Boolean(),
        min_r2: Type.Number({ maximum: 1 }),
        max_mape: Type.Number({ exclusiveMinimum: 0 }),
        not_worse_than_production: Type.Boolean(),
        compare_metric: lit(METRIC_NAMES),
        tolerance: nonNegative,
      },
      closed,
    ),
    serve: Type.Object(
      {
        host: name,
        port: Type.Integer({ minimum: 0, maximum: 65535 }),
        alias: identifier,
        fallback_alias: nullable(identifier),
        max_batch: positiveInt,
        body_limit_bytes: Type.Integer({ minimum: 1024 }),
        request_timeout_ms: positiveInt,
        reload_poll_seconds: nonNegative,
        log_level: lit(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
        admin_api_key: nullable(Type.String({ minLength: 8 })),
      },
      closed,
    ),
    monitoring: Type.Object(
      {
        enabled: Type.Boolean(),
        log_predictions: Type.Boolean(),
        queue_capacity: positiveInt,
        batch_size: positiveInt,
        flush_interval_ms: positiveInt,
        retention_days: nullable(positiveInt),
        /** drift / sanity-check window, e.g. 24h */
        window: duration,
        /** rolling accuracy window, e.g. 7d */
        accuracy_window: duration,
        /** in-server monitoring pass (gauges, alerts) every N seconds; 0 = off */
        interval_seconds: nonNegative,
        min_rows: positiveInt,
        /** drift / checks read at most this many rows of the window (an even sample above it) */
        max_window_rows: positiveInt,
        reference: Type.Object(
          {
            bins: Type.Integer({ minimum: 2, maximum: 1000 }),
            fine_bins: Type.Integer({ minimum: 2, maximum: 10000 }),
            reservoir: Type.Integer({ minimum: 0, maximum: 100000 }),
          },
          closed,
        ),
        drift: Type.Object(
          {
            psi_warn: Type.Number({ exclusiveMinimum: 0 }),
            psi_alert: Type.Number({ exclusiveMinimum: 0 }),
            wasserstein: Type.Number({ exclusiveMinimum: 0 }),
            jensen_shannon: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
            ks_p_value: fraction,
            chisquare_p_value: fraction,
            z_p_value: fraction,
            share: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
            small_sample_limit: positiveInt,
          },
          closed,
        ),
        /** alert rules (null = the built-in defaults) */
        alerts: nullable(
          Type.Array(
            Type.Object(
              {
                name: Type.Optional(name),
                metric: name,
                feature: Type.Optional(name),
                model_version: Type.Optional(name),
                op: lit([">", ">=", "<", "<=", "==", "!="]),
                threshold: Type.Number(),
                severity: Type.Optional(lit(["info", "warning", "critical"])),
              },
              closed,
            ),
          ),
        ),
        webhook: Type.Object(
          {
            url: nullable(Type.String({ pattern: "^https?://" })),
            retries: Type.Integer({ minimum: 0, maximum: 20 }),
            timeout_ms: positiveInt,
          },
          closed,
        ),
        retrain: Type.Object(
          {
            /** `mlops monitor --retrain-on-drift` trigger: dataset drift, or any fired alert rule */
            trigger: lit(["dataset_drift", "alert"]),
            /** add logged predictions that have feedback (inputs + actual) to the training data */
            include_feedback: Type.Boolean(),
          },
          closed,
        ),
      },
      closed,
    ),
  },
  closed,
);

/** The validated, fully resolved pipeline configuration. */
export type PipelineConfig = Static<typeof PipelineConfigSchema>;
