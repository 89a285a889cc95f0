import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  SCORER_NAMES,
  evaluateRegression,
  meanAbsoluteError,
  meanAbsolutePercentageError,
  meanSquaredError,
  r2Score,
  scorer,
} from "../../src/ml/metrics.ts";
import { fixture } from "../helpers/housing.ts";

interface Pair {
  name: string;
  y_true: number[];
  y_pred: number[];
  sklearn: Record<string, number>;
  seed_formulas: Record<string, number | null>;
}
const fx = fixture<{ expected: Pair[] }>("metrics.json");

function rel(a: number, e: number | null): number {
  if (e === null) return Number.isNaN(a) ? 0 : Number.POSITIVE_INFINITY;
  if (a === e) return 0;
  return Math.abs(a - e) / Math.abs(e);
}

describe("metrics vs sklearn 1.2.1 (metrics.json)", () => {
  let worst = 0;
  for (const p of fx.expected) {
    it(`pair ${p.name}`, () => {
      const y = Float64Array.from(p.y_true);
      const yh = Float64Array.from(p.y_pred);
      const m = evaluateRegression(y, yh);
      const checks: [string, number, number | null][] = [
        ["mae", m.mae, p.sklearn.mean_absolute_error],
        ["mse", m.mse, p.sklearn.mean_squared_error],
        ["rmse", m.rmse, p.sklearn.root_mean_squared_error],
        ["r2", m.r2, p.sklearn.r2_score],
        ["mape%", m.mape, p.sklearn.mean_absolute_percentage_error_percent],
        ["mape", meanAbsolutePercentageError(y, yh), p.sklearn.mean_absolute_percentage_error],
        ["smape", m.smape, p.seed_formulas.smape],
        ["wmape", m.wmape, p.seed_formulas.wmape],
        ["median_ape", m.median_ape, p.seed_formulas.median_ape],
      ];
      for (const [k, a, e] of checks) {
        const r = rel(a, e);
        worst = Math.max(worst, r);
        assert.ok(r <= 1e-9, `${p.name}.${k}: ${a} vs ${e} (rel ${r})`);
      }
      assert.equal(m.within_5pct, p.seed_formulas.within_5pct);
      assert.equal(m.within_10pct, p.seed_formulas.within_10pct);
      assert.equal(m.within_15pct, p.seed_formulas.within_15pct);
    });
  }
  it("reports the worst deviation", () => {
    assert.ok(worst <= 1e-9);
    console.log(`metrics: max relative deviation ${worst.toExponential(2)}`);
  });

  it("zero targets: literal IEEE by default, finite with safe denominators", () => {
    const e = fx.expected.find((p) => p.name.startsWith("E"))!;
    const y = Float64Array.from(e.y_true);
    const yh = Float64Array.from(e.y_pred);
    const lit = evaluateRegression(y, yh);
    assert.ok(Number.isNaN(lit.smape) && Number.isNaN(lit.median_ape));
    const safe = evaluateRegression(y, yh, { safe: true });
    for (const [k, v] of Object.entries(safe)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    const d = evaluateRegression([0, 100], [1, 100]);
    assert.equal(d.wmape, 1);
    assert.ok(d.mape > 1e17 && Number.isFinite(d.mape));
  });
});

describe("metric invariants (property)", () => {
  const arr = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 50 });
  it("MAE >= 0, MSE >= 0, perfect predictions give R² = 1 and zero errors", () => {
    fc.assert(
      fc.property(arr, arr, (a, b) => {
        const n = Math.min(a.length, b.length);
        const y = a.slice(0, n);
        const yh = b.slice(0, n);
        if (!(meanAbsoluteError(y, yh) >= 0 && meanSquaredError(y, yh) >= 0)) return false;
        return r2Score(y, y) === 1 && meanAbsoluteError(y, y) === 0;
      }),
    );
  });
});

describe("scorer registry and bad input", () => {
  it("knows every name and direction", () => {
    for (const n of SCORER_NAMES) assert.equal(scorer(n).name, n);
    assert.equal(scorer("r2").greaterIsBetter, true);
    assert.equal(scorer("mae").greaterIsBetter, false);
    assert.equal(scorer("wmape").fn([100, 200], [110, 180]), 10);
    assert.throws(() => scorer("accuracy"), /valid scorers are: mae, mse/);
  });
  it("rejects length mismatch, empty input and NaN", () => {
    assert.throws(() => meanAbsoluteError([1, 2], [1]), /length mismatch/);
    assert.throws(() => evaluateRegression([], []), /empty/);
    assert.throws(() => r2Score([1, Number.NaN], [1, 2]), /y_true\[1\] is NaN/);
  });
});
