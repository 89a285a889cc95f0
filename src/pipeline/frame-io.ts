/** Step outputs are cached with v8 structured clone: Frames travel as plain column lists. */
import { type Column, Frame } from "../data/frame.ts";

export interface PlainFrame {
  nRows: number;
  columns: Column[];
}

export function toPlain(f: Frame): PlainFrame {
  return { nRows: f.nRows, columns: f.columns.map((c) => ({ ...c })) };
}

export function fromPlain(p: PlainFrame): Frame {
  return new Frame(p.columns, p.nRows);
}
