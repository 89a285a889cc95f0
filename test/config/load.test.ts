// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${...} interpolation strings
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { ConfigError, OverrideError } from "../../src/config/errors.ts";
import {
  canonicalJson,
  configHash,
  DEFAULT_CONFIG_PATH,
  datasetContractPath,
  loadConfig,
  REDACTED,
  resolveHome,
} from "../../src/config/load.ts";
import { MODEL_NAMES } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";

const env = {}; // no MLOPS_* variables: defaults only
const tmp = mkdtempSync(join(tmpdir(), "mlops-config-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function configErrorMatching(...patterns: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

describe("default config", () => {
  it("loads and validates with the expected defaults", () => {
    const { config, sources } = loadConfig({ env });
    assert.equal(config.seed, 42);
    assert.equal(config.home, "./.mlops");
    assert.equal(config.experiment, "california_housing");
    assert.equal(config.model_name, "housing_price_model");
    assert.deepEqual(config.data, {
      dataset: "california_housing",
      source: null,
      test_size: 0.2,
      stratify: true,
    });
    assert.deepEqual(config.impute.strategies, ["median", "mean", "knn", "iterative"]);
    assert.equal(config.selection.profile, "fast");
    assert.deepEqual(config.selection.models, [...MODEL_NAMES]);
    assert.equal(config.sweep.n_trials.fast, 16);
    assert.equal(config.sweep.n_trials.full, 60);
    assert.equal(config.serve.admin_api_key, null);
    assert.equal(config.promote.min_r2, 0.8);
    assert.equal(config.monitoring.drift.psi_alert, 0.2);
    assert.equal(sources.file, DEFAULT_CONFIG_PATH);
    assert.equal(
      datasetContractPath(config),
      join(DEFAULT_CONFIG_PATH, "..", "datasets", "california_housing.yaml"),
    );
  });

  it("the full profile holds the reference grids (594 combinations)", () => {
    const { config } = loadConfig({ env });
    const combos = (grid: Record<string, unknown[]>) => Object.values(grid).reduce((n, v) => n * v.length, 1);
    const full = config.selection.profiles.full!;
    const counts = Object.fromEntries(Object.entries(full).map(([m, g]) => [m, combos(g)]));
    assert.deepEqual(counts, {
      random_forest: 180,
      gradient_boosting: 300,
      ridge: 9,
      lasso: 9,
      decision_tree: 96,
    });
    assert.deepEqual(full.random_forest!.max_depth, [10, 15, 20, 25, null]);
    const fast = config.selection.profiles.fast!;
    for (const m of MODEL_NAMES) assert.ok(combos(fast[m]!) <= 12, `fast grid for ${m} is small`);
    assert.deepEqual(config.sweep.spaces.gradient_boosting!.learning_rate, {
      type: "float",
      low: 0.005,
      high: 0.3,
      log: true,
    });
  });
});

describe("overrides and environment", () => {
  it("applies typed overrides", () => {
    const { config } = loadConfig({
      env,
      overrides: [
        "selection.cv_folds=3",
        "sweep.enabled=false",
        "selection.models=[ridge, lasso]",
        "data.source=x.csv",
      ],
    });
    assert.equal(config.selection.cv_folds, 3);
    assert.equal(config.sweep.enabled, false);
    assert.deepEqual(config.selection.models, ["ridge", "lasso"]);
    assert.equal(config.data.source, "x.csv");
  });

  it("+ adds entries where the schema has maps; a custom profile can be selected", () => {
    const { config } = loadConfig({
      env,
      overrides: [
        "+selection.profiles.tiny={ridge: {alpha: [1.0]}}",
        "selection.profile=tiny",
        "selection.models=[ridge]",
        "+sweep.n_trials.tiny=3",
      ],
    });
    assert.deepEqual(config.selection.profiles.tiny, { ridge: { alpha: [1] } });
    assert.equal(config.sweep.n_trials.tiny, 3);
  });

  it("+ on a closed object is caught by the schema as an unknown key", () => {
    assert.throws(
      () => loadConfig({ env, overrides: ["+selection.cv_fold=3"] }),
      configErrorMatching(/config: selection\.cv_fold: unknown key \(allowed here: .*cv_folds/),
    );
  });

  it("setting a non-existent key without + is an override error", () => {
    assert.throws(
      () => loadConfig({ env, overrides: ["selection.cv_fold=3"] }),
      (err: unknown) => err instanceof OverrideError && /use \+selection\.cv_fold=/.test(err.message),
    );
  });

  it("environment variables fill interpolations and are converted to the schema type", () => {
    const { config, sources, resolved } = loadConfig({
      env: { MLOPS_HOME: "/var/lib/mlops", MLOPS_ADMIN_KEY: "a-very-secret-key" },
    });
    assert.equal(config.home, "/var/lib/mlops");
    assert.equal(config.serve.admin_api_key, "a-very-secret-key");
    assert.equal((resolved.serve as Record<string, unknown>).admin_api_key, REDACTED);
    assert.equal(sources.env.MLOPS_HOME, "/var/lib/mlops");
    assert.equal(sources.env.MLOPS_ADMIN_KEY, REDACTED);
    assert.ok(!JSON.stringify({ resolved, sources }).includes("a-very-secret-key"));

    const typed = loadConfig({
      env: { PORT: "9001", FOLDS: "4" },
      overrides: ["serve.port=${env:PORT,8000}", "selection.cv_folds=${env:FOLDS}"],
    });
    assert.equal(typed.config.serve.port, 9001);
    assert.equal(typed.config.selection.cv_folds, 4);
    // a string key keeps numeric-looking text as a string
    assert.equal(
      loadConfig({ env: { E: "123" }, overrides: ["experiment=${env:E}"] }).config.experiment,
      "123",
    );
    assert.throws(
      () => loadConfig({ env: { PORT: "eighty" }, overrides: ["serve.port=${env:PORT}"] }),
      configErrorMatching(/config: serve\.port: expected integer >= 0 and <= 65535, got "eighty"/),
    );
    assert.throws(
      () => loadConfig({ env: {}, overrides: ["serve.port=${env:NO_SUCH_PORT_VAR}"] }),
      configErrorMatching(/serve\.port: environment variable NO_SUCH_PORT_VAR is not set/),
    );
  });

  it("${key} interpolation between config keys", () => {
    const { config } = loadConfig({
      env,
      overrides: ["experiment=${model_name}-exp", "sweep.cv_folds=${selection.cv_folds}"],
    });
    assert.equal(config.experiment, "housing_price_model-exp");
    assert.equal(config.sweep.cv_folds, 5);
  });

  it("reads MLOPS_CONFIG and relative home resolves against cwd", () => {
    const file = join(tmp, "alt.yaml");
    const doc = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, "utf8"));
    doc.seed = 7;
    writeFileSync(file, toYaml(doc));
    const { config, sources } = loadConfig({ env: { MLOPS_CONFIG: file } });
    assert.equal(config.seed, 7);
    assert.equal(sources.file, file);
    assert.equal(resolveHome(config, "/work"), "/work/.mlops");
    assert.equal(resolveHome({ home: "/abs" }, "/work"), "/abs");
  });
});

describe("schema errors name the key path, the value and the expectation", () => {
  const cases: [string[], RegExp][] = [
    [['selection.cv_folds="five"'], /^config: selection\.cv_folds: expected integer >= 2, got "five"$/m],
    [["selection.cv_folds=1"], /config: selection\.cv_folds: expected integer >= 2, got 1/],
    [["selection.cv_folds=2.5"], /config: selection\.cv_folds: expected integer >= 2, got 2\.5/],
    [["data.test_size=1.5"], /config: data\.test_size: expected number > 0 and < 1, got 1\.5/],
    [
      ["selection.scoring=accuracy"],
      /config: selection\.scoring: expected one of mae\|rmse\|mape\|wmape\|r2, got "accuracy"/,
    ],
    [["data.stratify=maybe"], /config: data\.stratify: expected boolean \(true\/false\), got "maybe"/],
    [
      ["selection.models=[ridge, svm]"],
      /config: selection\.models\.1: expected one of random_forest\|.*, got "svm"/,
    ],
    [
      ["selection.models=[ridge, ridge]"],
      /config: selection\.models: expected .*without duplicates.*\(duplicates\)/,
    ],
    [["serve.port=70000"], /config: serve\.port: expected integer >= 0 and <= 65535, got 70000/],
    [
      ["+features.geo_clusters.kmax=3"],
      /config: features\.geo_clusters\.kmax: unknown key \(allowed here: enabled, k_min, k_max/,
    ],
    [["~seed"], /config: seed: missing required key \(expected integer >= 0/],
    [["sweep.spaces.ridge.alpha={type: float, low: 1}"], /config: sweep\.spaces\.ridge\.alpha/],
  ];
  for (const [overrides, re] of cases) {
    it(overrides.join(" "), () => {
      assert.throws(() => loadConfig({ env, overrides }), configErrorMatching(re));
    });
  }

  it("reports several problems at once", () => {
    assert.throws(
      () => loadConfig({ env, overrides: ["seed=-1", 'serve.host=""', "impute.knn_k=0"] }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.issues.length, 3, err.message);
        assert.match(err.message, /config: seed: /);
        assert.match(err.message, /config: serve\.host: expected string \(non-empty\), got ""/);
        assert.match(err.message, /config: impute\.knn_k: expected integer >= 1, got 0/);
        return true;
      },
    );
  });

  it("secrets are not echoed in errors", () => {
    assert.throws(
      () => loadConfig({ env: { MLOPS_ADMIN_KEY: "short" } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /serve\.admin_api_key/.test(err.message) &&
        !err.message.includes('short"'),
    );
  });
});

describe("cross-key rules", () => {
  const cases: [string[], RegExp][] = [
    [
      ["selection.profile=huge"],
      /config: selection\.profile: unknown profile "huge" \(defined: fast, full\)/,
    ],
    [["~selection.profiles.fast.lasso"], /config: selection\.profiles\.fast: no grid for model "lasso"/],
    [
      ["+selection.profiles.fast.svm={c: [1]}"],
      /config: selection\.profiles\.fast\.svm: unknown model "svm"/,
    ],
    [
      ["features.geo_clusters.k_min=8", "features.geo_clusters.k_max=4"],
      /k_min: expected <= k_max \(4\), got 8/,
    ],
    [
      ["features.geo_clusters.selection=fixed"],
      /features\.geo_clusters\.k: expected an integer >= 1 when selection = fixed/,
    ],
    [
      ["sweep.spaces.ridge.alpha={type: float, low: 5, high: 1}"],
      /sweep\.spaces\.ridge\.alpha: expected low < high/,
    ],
    [
      ["sweep.spaces.ridge.alpha={type: float, low: 0, high: 1, log: true}"],
      /log-scaled range needs low > 0/,
    ],
    [["~sweep.n_trials.fast"], /config: sweep\.n_trials: no trial count for profile "fast"/],
    [["~sweep.spaces.lasso"], /config: sweep\.spaces: no search space for model "lasso"/],
    [["monitoring.drift.psi_warn=0.3"], /monitoring\.drift\.psi_warn: expected <= psi_alert/],
    [["data.dataset=no_such_dataset"], /config: data\.dataset: no dataset contract "no_such_dataset"/],
  ];
  for (const [overrides, re] of cases) {
    it(overrides.join(" "), () => {
      assert.throws(() => loadConfig({ env, overrides }), configErrorMatching(re));
    });
  }

  it("sweep rules are skipped when the sweep is disabled", () => {
    assert.doesNotThrow(() => loadConfig({ env, overrides: ["sweep.enabled=false", "~sweep.spaces.lasso"] }));
  });

  it("validateConfig can skip file checks", () => {
    const { config } = loadConfig({ env });
    const copy = structuredClone(config);
    copy.data.dataset = "elsewhere";
    assert.doesNotThrow(() => validateConfig(copy, { checkFiles: false }));
    assert.throws(() => validateConfig(copy), /no dataset contract/);
  });
});

describe("config file errors", () => {
  it("a missing file and invalid YAML are reported with the file name", () => {
    assert.throws(
      () => loadConfig({ env, configPath: join(tmp, "nope.yaml") }),
      /cannot read config file .*nope\.yaml \(no such file\)/,
    );
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "seed: 1\nseed: 2\n");
    assert.throws(
      () => loadConfig({ env, configPath: bad }),
      configErrorMatching(/bad\.yaml:2:1: invalid YAML/),
    );
    const list = join(tmp, "list.yaml");
    writeFileSync(list, "- 1\n- 2\n");
    assert.throws(() => loadConfig({ env, configPath: list }), /expected a YAML map at the top level/);
  });
});

describe("hash", () => {
  it("is stable for the same config and changes with any value", () => {
    const a = loadConfig({ env });
    const b = loadConfig({ env });
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    assert.equal(a.hash, b.hash);
    assert.equal(a.hash, configHash(a.resolved));
    assert.notEqual(loadConfig({ env, overrides: ["selection.cv_folds=3"] }).hash, a.hash);
    assert.notEqual(loadConfig({ env, overrides: ["impute.mask_fractions=[0.2, 0.1, 0.3]"] }).hash, a.hash);
    // same value reached through an override = same hash
    assert.equal(loadConfig({ env, overrides: ["selection.cv_folds=5"] }).hash, a.hash);
  });

  it("does not depend on key order in the file", () => {
    const doc = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, "utf8")) as Record<string, unknown>;
    const reversed = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reversed);
      if (v && typeof v === "object") {
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reversed(x)]),
        );
      }
      return v;
    };
    const file = join(tmp, "reversed.yaml");
    writeFileSync(file, toYaml(reversed(doc)));
    assert.ok(readFileSync(file, "utf8").startsWith("monitoring:"));
    assert.equal(loadConfig({ env, configPath: file }).hash, loadConfig({ env }).hash);
  });

  it("does not change when the admin key changes (secrets are redacted before hashing)", () => {
    const h1 = loadConfig({ env: { MLOPS_ADMIN_KEY: "first-secret-key" } }).hash;
    const h2 = loadConfig({ env: { MLOPS_ADMIN_KEY: "second-secret-key" } }).hash;
    assert.equal(h1, h2);
    assert.notEqual(h1, loadConfig({ env }).hash); // admin on vs off is a real difference
  });

  it("canonicalJson sorts keys at every level and is invariant under key permutation (property)", () => {
    assert.equal(
      canonicalJson({ b: 1, a: [{ d: null, c: "x" }], u: undefined }),
      '{"a":[{"c":"x","d":null}],"b":1}',
    );
    assert.throws(() => canonicalJson({ x: Number.NaN }), /non-finite/);
    const shuffleKeys = (v: unknown, seed: number): unknown => {
      if (Array.isArray(v)) return v.map((x, i) => shuffleKeys(x, seed + i));
      if (v && typeof v === "object") {
        const entries = Object.entries(v);
        entries.sort(
          (p, q) => ((p[0].length * 31 + seed) % 7) - ((q[0].length * 31 + seed) % 7) || (seed % 2 ? 1 : -1),
        );
        return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x, seed * 3 + 1)]));
      }
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 0, max: 1000 }), (value, seed) => {
        const clean = JSON.parse(JSON.stringify(value)) as unknown; // -0 → 0
        const text = canonicalJson(clean);
        assert.deepEqual(JSON.parse(text), clean);
        assert.equal(canonicalJson(shuffleKeys(clean, seed)), text);
      }),
      { numRuns: 200 },
    );
  });
});
