/** Minimal RFC 4180 CSV parse/serialise for the batch page (pure). */

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let q = false;
  const s = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          cell += '"';
          i++;
        } else q = false;
      } else cell += ch;
    } else if (ch === '"') q = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && s[i + 1] === "\n") i++;
      row.push(cell);
      cell = "";
      if (!(row.length === 1 && row[0] === "")) rows.push(row);
      row = [];
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const lines = [header.map(quote).join(",")];
  for (const r of rows) lines.push(r.map((v) => quote(v === null ? "" : String(v))).join(","));
  return `${lines.join("\n")}\n`;
}

/** Turn parsed CSV rows into records keyed by header; reports rows with a wrong field count. */
export function recordsOf(rows: string[][]): {
  header: string[];
  records: Record<string, string>[];
  badRows: { row: number; message: string }[];
} {
  const [header = [], ...data] = rows;
  const h = header.map((x) => x.trim());
  const records: Record<string, string>[] = [];
  const badRows: { row: number; message: string }[] = [];
  data.forEach((r, i) => {
    if (r.length !== h.length)
      badRows.push({ row: i, message: `row ${i + 1}: ${r.length} fields, expected ${h.length}` });
    const rec: Record<string, string> = {};
    h.forEach((k, j) => {
      rec[k] = r[j] ?? "";
    });
    records.push(rec);
  });
  return { header: h, records, badRows };
}
