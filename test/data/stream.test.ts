import assert from "node:assert/strict";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { createGzip } from "node:zlib";
import { readTable } from "../../src/data/io.ts";

const tmp = mkdtempSync(join(tmpdir(), "stream-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const LEVELS = ["alpha", "beta, with comma", 'gamma "q"', "delta"];

/** Write a ~`mb` MB CSV (optionally gzipped); returns the expected row count and column sums. */
async function generate(path: string, mb: number, gzip: boolean) {
  const out = createWriteStream(path);
  const sink = gzip ? createGzip({ level: 1 }) : null;
  if (sink) sink.pipe(out);
  const w = sink ?? out;
  const write = (s: string) =>
    new Promise<void>((res) => (w.write(s) ? res() : w.once("drain", () => res())));
  await write("id,x,label,y\r\n");
  let bytes = 0;
  let rows = 0;
  let sumX = 0;
  let nanY = 0;
  const counts = [0, 0, 0, 0];
  while (bytes < mb * 1e6) {
    let s = "";
    for (let k = 0; k < 5000; k++, rows++) {
      const x = ((rows * 7919) % 100003) / 1000;
      sumX += x;
      const lv = rows % 4;
      counts[lv]++;
      const label = lv === 0 || lv === 3 ? LEVELS[lv] : `"${LEVELS[lv].replaceAll('"', '""')}"`;
      const y = rows % 97 === 0 ? "NA" : String(rows % 1000);
      if (y === "NA") nanY++;
      s += `${rows},${x},${label},${y}\r\n`;
    }
    bytes += s.length;
    await write(s);
  }
  await new Promise<void>((res) => {
    out.on("finish", () => res());
    w.end();
  });
  return { rows, sumX, nanY, counts, bytes };
}

it("streams a ~50 MB CSV into typed columns with the exact content", async () => {
  const path = join(tmp, "big.csv");
  const exp = await generate(path, 50, false);
  const r = await readTable(path);
  assert.equal(r.frame.nRows, exp.rows);
  assert.equal(r.stats.bytes, exp.bytes + "id,x,label,y\r\n".length);
  const id = r.frame.numeric("id");
  assert.equal(id[0], 0);
  assert.equal(id[exp.rows - 1], exp.rows - 1);
  let sumX = 0;
  for (const v of r.frame.numeric("x")) sumX += v;
  assert.ok(Math.abs(sumX - exp.sumX) < 1e-6 * Math.abs(exp.sumX));
  assert.equal(r.frame.numeric("y").filter(Number.isNaN).length, exp.nanY);
  const label = r.frame.categorical("label");
  assert.deepEqual([...label.levels], LEVELS);
  const counts = [0, 0, 0, 0];
  for (const c of label.codes) counts[c]++;
  assert.deepEqual(counts, exp.counts);
  assert.equal(r.lineOf?.(exp.rows - 1), exp.rows + 1);
});

it("streams a gzipped CSV (~10 MB uncompressed) the same way", async () => {
  const path = join(tmp, "big.csv.gz");
  const exp = await generate(path, 10, true);
  const r = await readTable(path, { columns: ["label", "y"] });
  assert.equal(r.source.format, "csv.gz");
  assert.deepEqual(r.frame.names, ["label", "y"]);
  assert.equal(r.frame.nRows, exp.rows);
  assert.equal(r.frame.numeric("y").filter(Number.isNaN).length, exp.nanY);
});
