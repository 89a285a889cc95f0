/**
 * Known-value tests for src/monitoring/stats.ts. Reference values computed once with scipy 1.10.1 / numpy 1.24
 * (Debian python3-scipy) and pasted here as constants (the script is in docs/monitoring.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  binIndex,
  chiSquareHomogeneity,
  gammaP,
  gammaQ,
  histogram,
  jensenShannon,
  kolmogorovSf,
  ksTwoSample,
  lnGamma,
  psi,
  psiLevel,
  quantileEdges,
  sortedCopy,
  wasserstein1,
  wassersteinBinned,
  zTestProportions,
} from "../../src/monitoring/stats.ts";

const seqx = (n: number) => Array.from({ length: n }, (_, k) => ((k + 1) * 0.6180339887) % 1);
const seqy = (n: number) => Array.from({ length: n }, (_, k) => (((k + 1) * 0.7548776662) % 1) * 1.1 + 0.05);

function close(actual: number, expected: number, rel: number, label: string): void {
  const tol = rel * Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${label}: got ${actual}, expected ${expected} (rel tol ${rel})`,
  );
}

test("KS statistic and exact p-value match scipy ks_2samp (method='auto' → exact)", () => {
  // [n1, n2, D, p_auto, p_asymp_scipy, wasserstein]
  const cases: [number, number, number, number, number, number][] = [
    [40, 30, 0.16666666666666666, 0.677132831390203, 0.6723625005784594, 0.07087854879966585],
    [300, 200, 0.14166666666666666, 0.015044391703177697, 0.014535458550566144, 0.09944403239332396],
    [1000, 800, 0.1345, 1.8275282167150224e-7, 1.8218601120076012e-7, 0.09834450005996587],
  ];
  for (const [n1, n2, d, p, pAsymp, w] of cases) {
    const x = seqx(n1),
      y = seqy(n2);
    const r = ksTwoSample(x, y);
    assert.equal(r.method, "exact");
    close(r.statistic, d, 1e-12, `D ${n1}x${n2}`);
    close(r.pValue, p, 1e-6, `p ${n1}x${n2}`);
    // asymptotic (Stephens-corrected Kolmogorov) vs scipy's kstwo.sf(D, round(en)): close, not identical
    const a = ksTwoSample(x, y, "asymp");
    assert.equal(a.method, "asymp");
    close(a.pValue, pAsymp, 0.07, `asymp p ${n1}x${n2}`);
    close(wasserstein1(x, y), w, 1e-12, `W1 ${n1}x${n2}`);
  }
  const x = seqx(500),
    y = seqx(400).map((v) => v + 0.08);
  const r = ksTwoSample(x, y);
  close(r.statistic, 0.0865, 1e-12, "D shift");
  close(r.pValue, 0.06791972033517965, 1e-9, "p shift");
  close(ksTwoSample(x, y, "asymp").pValue, 0.0679498560238544, 1e-3, "asymp p shift");
});

test("KS 'auto' switches to the asymptotic distribution above 10,000 rows", () => {
  const r = ksTwoSample(seqx(12000), seqy(9000));
  assert.equal(r.method, "asymp");
  close(r.statistic, 0.13624999999999998, 1e-12, "D");
  // scipy: 9.793e-84; Stephens-corrected Kolmogorov tail agrees to within a factor 1.3 this far out
  assert.ok(r.pValue > 5e-84 && r.pValue < 2e-83, `p=${r.pValue}`);
});

test("Kolmogorov survival function matches scipy kstwobign.sf on both branches", () => {
  close(kolmogorovSf(0.5), 0.9639452436648751, 1e-12, "0.5");
  close(kolmogorovSf(1.0), 0.26999967167735456, 1e-12, "1.0");
  close(kolmogorovSf(1.5), 0.022217962616525127, 1e-12, "1.5");
  close(kolmogorovSf(1.18), 0.1234538094297657, 1e-12, "1.18");
  close(kolmogorovSf(1.17999999), 0.1234538094297657, 1e-6, "just below the switch");
});

test("KS p-value is a probability, identical samples give D=0, p=1; empty or NaN input throws", () => {
  const x = seqx(50);
  const r = ksTwoSample(x, x);
  assert.equal(r.statistic, 0);
  assert.equal(r.pValue, 1);
  assert.throws(() => ksTwoSample([], x), /empty sample/);
  assert.throws(() => ksTwoSample([1, Number.NaN], x), /NaN at index 1/);
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 40 }),
      (a, b) => {
        const k = ksTwoSample(a, b);
        return k.statistic >= 0 && k.statistic <= 1 && k.pValue >= 0 && k.pValue <= 1;
      },
    ),
    { numRuns: 200, seed: 7 },
  );
});

test("regularized incomplete gamma and lnGamma match scipy.special", () => {
  const q: [number, number, number][] = [
    [0.5, 0.3, 0.4385780260809997],
    [1, 1, 0.36787944117144245],
    [2.5, 7.1, 0.01438767817692133],
    [10, 3, 0.9988975118698845],
    [10, 20, 0.0049954123083075785],
    [50, 45, 0.7531979655998298],
  ];
  for (const [a, x, v] of q) {
    close(gammaQ(a, x), v, 1e-12, `Q(${a},${x})`);
    close(gammaP(a, x), 1 - v, 1e-11, `P(${a},${x})`);
  }
  close(lnGamma(0.5), 0.5723649429247, 1e-13, "lnGamma(0.5)");
  close(lnGamma(10.3), 13.482036786138359, 1e-13, "lnGamma(10.3)");
  close(lnGamma(171.5), 709.1431630309283, 1e-13, "lnGamma(171.5)");
  assert.throws(() => gammaQ(0, 1), /a > 0/);
});

test("chi-square homogeneity matches scipy chi2_contingency(correction=False)", () => {
  const r = chiSquareHomogeneity([120, 80, 45, 5], [100, 95, 60, 15]);
  close(r.statistic, 9.49156325156325, 1e-12, "chi2");
  assert.equal(r.dof, 3);
  close(r.pValue, 0.023421282852604766, 1e-10, "p");
  const b = chiSquareHomogeneity([30, 20], [10, 25]);
  close(b.statistic, 8.16269841269841, 1e-12, "chi2 2x2");
  close(b.pValue, 0.004276070303601571, 1e-10, "p 2x2");
  // categories empty in both samples do not add degrees of freedom
  assert.equal(chiSquareHomogeneity([120, 0, 80], [100, 0, 95]).dof, 1);
  assert.throws(() => chiSquareHomogeneity([1, 2], [0, 0]), /no observations/);
});

test("two-proportion z-test matches the normal-approximation formula (scipy.stats.norm)", () => {
  const r = zTestProportions(30, 100, 45, 110);
  close(r.statistic, -1.6477716817422, 1e-12, "z");
  close(r.pValue, 0.09939953216165574, 1e-10, "p");
});

test("Wasserstein-1: empirical (scipy wasserstein_distance) and binned (hand-computed)", () => {
  assert.equal(wasserstein1([0, 1, 3], [5, 6, 8]), 5);
  close(wasserstein1([1.5, 2, 2, 7], [0.5, 3, 9]), 1.791666666666667, 1e-12, "W1 uneven");
  // U[0,1] vs U[2,3] → 2; U[0,2] vs U[0,1] → 0.5
  close(wassersteinBinned([0, 1, 2, 3], [1, 0, 0], [0, 0, 1]), 2, 1e-12, "binned shift");
  close(wassersteinBinned([0, 1, 2], [1, 1], [2, 0]), 0.5, 1e-12, "binned scale");
  // crossing CDFs inside a bin: exact triangle areas
  close(wassersteinBinned([0, 1, 2], [1, 0], [0, 1]), 1, 1e-12, "binned crossing");
  // binned W1 approaches the exact one with many bins
  const a = seqx(4000),
    b = seqx(3000).map((v) => v * 1.2);
  const edges = Array.from({ length: 241 }, (_, i) => i / 200);
  const ha = histogram(a, edges),
    hb = histogram(b, edges);
  close(wassersteinBinned(edges, ha.counts, hb.counts), wasserstein1(a, b), 0.02, "binned ≈ exact");
});

test("Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon (natural log and base 2)", () => {
  close(jensenShannon([0.1, 0.4, 0.5], [0.3, 0.3, 0.4]), 0.1803596560271257, 1e-12, "JS e");
  close(jensenShannon([0.1, 0.4, 0.5], [0.3, 0.3, 0.4], 2), 0.21663402449519675, 1e-12, "JS 2");
  close(jensenShannon([1, 0, 0], [0, 1, 0]), 0.8325546111576977, 1e-12, "JS disjoint = √ln2");
  close(jensenShannon([5, 3, 2, 0], [1, 1, 1, 1], 2), 0.3991098102149374, 1e-12, "JS counts");
  assert.equal(jensenShannon([1, 2, 3], [2, 4, 6]), 0);
});

test("PSI matches the formula by hand, with ε = 1e-4 for empty reference bins; levels 0.1 / 0.2", () => {
  close(psi([100, 200, 300, 400], [150, 150, 250, 450]), 0.04966258865051417, 1e-12, "psi");
  close(psi([100, 200, 0, 400], [150, 150, 50, 450]), 0.45536539089199507, 1e-12, "psi eps");
  assert.equal(psi([1, 2, 3], [2, 4, 6]), 0);
  assert.equal(psiLevel(0.05), "none");
  assert.equal(psiLevel(0.1), "moderate");
  assert.equal(psiLevel(0.2), "major");
  assert.equal(psiLevel(0.15, [0.2, 0.3]), "none");
});

test("histogram bins: [e_i, e_i+1), last bin closed, under/overflow and missing counted", () => {
  const edges = [0, 1, 2];
  assert.equal(binIndex(edges, -0.1), -1);
  assert.equal(binIndex(edges, 0), 0);
  assert.equal(binIndex(edges, 1), 1);
  assert.equal(binIndex(edges, 2), 1);
  assert.equal(binIndex(edges, 2.1), 2);
  assert.deepEqual(histogram([-1, 0, 0.5, 1, 2, 3, Number.NaN], edges), {
    under: 1,
    counts: [2, 2],
    over: 1,
    missing: 1,
  });
  // quantile edges of a discrete sample are de-duplicated
  assert.deepEqual(quantileEdges(sortedCopy([1, 1, 1, 1, 2, 3]), 4), [1, 1.75, 3]);
  assert.deepEqual(quantileEdges(sortedCopy([5, 5, 5]), 10), [5, 5]);
});
