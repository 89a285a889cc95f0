/**
 * Prediction latency in a fresh process, as a server sees it: load a saved model (model codec) and a test matrix
 * (raw little-endian Float64, row-major), then print `{"runs": [Latency, ...]}` (3 measurements) on stdout.
 *
 *   node --import tsx bench/predict-child.ts MODEL_FILE MATRIX_FILE ROWS COLS
 */
import { readFileSync } from "node:fs";
import { loadModelFile } from "../src/ml/codec.ts";
import { regressorFromState } from "../src/ml/registry.ts";
import { matrix } from "../src/ml/types.ts";
import { latency } from "./predict-latency.ts";

const [modelFile, matrixFile, rowsText, colsText] = process.argv.slice(2);
const rows = Number(rowsText);
const cols = Number(colsText);
if (!modelFile || !matrixFile || !(rows > 0) || !(cols > 0)) {
  process.stderr.write("usage: predict-child.ts MODEL_FILE MATRIX_FILE ROWS COLS\n");
  process.exit(2);
}
const bytes = readFileSync(matrixFile);
if (bytes.length !== rows * cols * 8) {
  process.stderr.write(
    `predict-child: ${matrixFile} has ${bytes.length} bytes, expected ${rows * cols * 8}\n`,
  );
  process.exit(2);
}
const data = new Float64Array(rows * cols);
new Uint8Array(data.buffer).set(bytes);
const model = regressorFromState(loadModelFile(modelFile));
const X = matrix(rows, cols, data);
const runs = [latency(model, X), latency(model, X), latency(model, X)];
process.stdout.write(`${JSON.stringify({ runs })}\n`);
