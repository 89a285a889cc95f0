import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type TrainResult, train } from "../../src/pipeline/pipeline.ts";
import { renderRunReport, renderRunReportMarkdown } from "../../src/pipeline/report.ts";
import type { FeaturesOutput } from "../../src/pipeline/steps/features.ts";
import type { RegisterOutput } from "../../src/pipeline/steps/register.ts";
import type { SelectOutput } from "../../src/pipeline/steps/select.ts";
import { openTracking } from "../../src/tracking/index.ts";
import { fastConfig, writeSample } from "../helpers/pipeline.ts";

const EVIL = `<script>alert("x")</script>`;

describe("run report (HTML + Markdown) from a fast pipeline run", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "report-"));
  const csv = join(dir, "sample.csv");
  let r: TrainResult;
  let html: string;
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    writeSample(csv, 1500, 11);
    r = await train({ loaded: fastConfig(csv, join(dir, "home"), ["promote.auto=false"]), nJobs: 1 });
    html = readFileSync(r.reportPath as string, "utf8");
  });

  it("writes <home>/reports/<runId>.html and logs report.html on the pipeline run", async () => {
    assert.equal(r.reportPath, join(dir, "home", "reports", `${r.runId}.html`));
    assert.ok(existsSync(r.reportPath as string));
    const t = openTracking({ home: join(dir, "home") });
    try {
      const art = (await t.store.listArtifacts(r.runId)).find((a) => a.path === "report.html");
      assert.ok(art, "report.html artifact not on the run");
      assert.equal(art.mediaType, "text/html");
      assert.equal(Buffer.from(await t.artifacts.get(art.sha256)).toString("utf8"), html);
    } finally {
      await t.close();
    }
  });

  it("contains every section, the chosen K, every model family and the test metrics", () => {
    for (const id of [
      "summary",
      "ingest",
      "split",
      "impute",
      "kselect",
      "models",
      "sweep",
      "test",
      "interval",
      "residuals",
      "importance",
      "segments",
    ]) {
      assert.ok(html.includes(`<section id="${id}">`), `section ${id} missing`);
    }
    const feat = r.outputs["04_features"] as FeaturesOutput;
    assert.ok(feat.k !== null);
    assert.ok(html.includes(`chosen K = ${feat.k}`));
    assert.ok(html.includes("Inertia vs K (elbow)"));
    const sel = r.outputs["05_select"] as SelectOutput;
    assert.equal(sel.results.length, 5);
    for (const f of sel.results) assert.ok(html.includes(`<td>${f.family}`), `family ${f.family} missing`);
    const reg = r.outputs["07_register"] as RegisterOutput;
    for (const m of Object.keys(reg.metrics))
      assert.ok(html.includes(`<td>${m}</td>`), `metric ${m} missing`);
    assert.ok(html.includes(reg.interval.method));
    assert.ok(html.includes("ocean_proximity"));
    assert.ok(html.includes("INLAND"));
    assert.ok(html.includes(r.runId));
    // charts: at least imputation, 2×K, models, sweep, scatter, residuals, importance
    assert.ok((html.match(/<svg /g) ?? []).length >= 8);
  });

  it("is self-contained and small: no scripts, no external URLs, < 1 MB", () => {
    assert.ok(Buffer.byteLength(html) < 1_000_000, `${Buffer.byteLength(html)} bytes`);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /url\(|@import/i);
    // the only URL allowed is the SVG namespace identifier
    const urls = html.match(/https?:\/\/[^\s"'<>]+/g) ?? [];
    assert.deepEqual([...new Set(urls)], ["http://www.w3.org/2000/svg"]);
  });

  it("escapes hostile text in meta and in step outputs (HTML and Markdown)", () => {
    const outputs = structuredClone(r.outputs) as Record<string, unknown>;
    const reg = outputs["07_register"] as RegisterOutput;
    reg.segments = [...reg.segments, { ...reg.segments[0], value: EVIL }];
    reg.featureImportance = [{ feature: EVIL, importance: 1e9 }, ...reg.featureImportance];
    const meta = { runId: EVIL, configHash: `"><img onerror=x>`, dataset: EVIL, startedAt: "t", seconds: 1 };
    const out = renderRunReport(outputs, meta);
    assert.doesNotMatch(out, /<script/i);
    assert.doesNotMatch(out, /<img/i);
    assert.ok(out.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    const md = renderRunReportMarkdown(outputs, meta);
    assert.doesNotMatch(md, /<script/i);
    assert.ok(md.includes("| INLAND |") || md.includes("INLAND"));
  });

  it("renders without crashing when steps are missing (partial run)", () => {
    const meta = { runId: "r", configHash: "h", dataset: "d", startedAt: "t", seconds: 0 };
    const out = renderRunReport({ "01_ingest": r.outputs["01_ingest"] }, meta);
    assert.ok(out.includes("step 07_register output not available"));
    assert.ok(renderRunReportMarkdown({}, meta).includes("# Training run r"));
  });
});
