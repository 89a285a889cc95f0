/**
 * observeRequest / observeBatch reuse label objects and a per-column count scratch: the exposition must equal what
 * plain per-call label objects produce (values and series order), call after call.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { categoricalColumn, Frame, numericColumn } from "../../src/data/frame.ts";
import { createMetrics, type ServingMetrics } from "../../src/serving/metrics.ts";

const LEVELS = ["<1H OCEAN", "INLAND", "NEAR BAY"];

/** The reference: one fresh labels object per observation, categories counted in a Map (first-seen order). */
function referenceBatch(
  m: ServingMetrics,
  route: string,
  frame: Frame,
  predictions: Float64Array,
  maxRows = 256,
) {
  const n = predictions.length;
  m.predictionsTotal.inc({ route }, n);
  const step = n <= maxRows ? 1 : Math.ceil(n / maxRows);
  for (let i = 0; i < n; i += step) m.predictionValue.observe(predictions[i]);
  for (const c of frame.columns) {
    if (c.kind !== "categorical") continue;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i += step) counts.set(c.codes[i], (counts.get(c.codes[i]) ?? 0) + 1);
    for (const [code, k] of counts)
      m.inputCategory.inc({ feature: c.name, category: code < 0 ? "(missing)" : c.levels[code] }, k);
  }
}

async function exposition(m: ServingMetrics, names: string[]): Promise<string> {
  const parts: string[] = [];
  for (const name of names) parts.push(await m.registry.getSingleMetricAsString(name));
  return parts.join("\n");
}

describe("metrics label reuse", () => {
  it("observeRequest equals observe/inc with fresh label objects", async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    const calls: [string, string, number, number][] = [
      ["POST", "/api/v1/predict", 200, 0.0012],
      ["GET", "/health", 200, 0.0001],
      ["POST", "/api/v1/predict", 422, 0.003],
      ["POST", "/api/v1/predict", 200, 0.7],
      ["GET", "unmatched", 404, 0.0002],
    ];
    for (const [method, route, status, s] of calls) {
      a.observeRequest(method, route, status, s);
      b.requestDuration.observe({ method, route, status_code: String(status) }, s);
      b.requests.inc({ method, route, status_code: String(status) });
    }
    const names = ["http_request_duration_seconds", "http_requests_total"];
    const got = await exposition(a, names);
    assert.equal(got, await exposition(b, names));
    assert.match(got, /http_requests_total\{method="POST",route="\/api\/v1\/predict",status_code="200"\} 2/);
  });

  it("observeBatch counts categories exactly, batch after batch (property)", async () => {
    const code = fc.integer({ min: -2, max: LEVELS.length }); // includes codes outside the levels
    const batch = fc.array(code, { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (batches, shared) => {
          const a = createMetrics({ defaultMetrics: false });
          const b = createMetrics({ defaultMetrics: false });
          for (const codes of batches) {
            const levels = shared ? LEVELS : LEVELS.slice();
            const n = codes.length;
            const frame = new Frame([
              numericColumn(
                "x",
                Float64Array.from(codes, (c) => c * 1.5),
              ),
              categoricalColumn("ocean", Int32Array.from(codes), levels),
            ]);
            const preds = Float64Array.from(codes, (c) => 1e5 * (c + 3));
            a.observeBatch("/api/v1/predict", frame, preds, 4);
            referenceBatch(b, "/api/v1/predict", frame, preds, 4);
            assert.equal(n, frame.nRows);
          }
          const names = ["model_input_category_total", "model_predictions_total", "model_prediction_value"];
          assert.equal(await exposition(a, names), await exposition(b, names));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a levels array changed in place is labelled by its new content", async () => {
    const m = createMetrics({ defaultMetrics: false });
    const levels = ["A", "B"];
    const frame = () => new Frame([categoricalColumn("c", Int32Array.of(0, 1, 1), levels)]);
    m.observeBatch("/r", frame(), Float64Array.of(1, 2, 3));
    levels[1] = "Z";
    m.observeBatch("/r", frame(), Float64Array.of(1, 2, 3));
    const text = await m.registry.getSingleMetricAsString("model_input_category_total");
    assert.match(text, /feature="c",category="A"\} 2/);
    assert.match(text, /feature="c",category="B"\} 2/);
    assert.match(text, /feature="c",category="Z"\} 2/);
  });
});
