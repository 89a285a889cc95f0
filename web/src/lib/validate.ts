/** Client-side validation from the dataset contract served by /api/v1/ui/contract (pure; tested under node). */

export interface UiColumn {
  name: string;
  type: "float" | "integer" | "categorical";
  required?: boolean;
  nullable?: boolean;
  min?: number;
  max?: number;
  categories?: string[];
  description?: string;
  unit?: string;
}

export type FieldErrors = Record<string, string>;

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** Validate one raw (string) value; returns the message or null, and the parsed value. */
export function validateField(
  col: UiColumn,
  raw: string,
): { error: string | null; value: number | string | null } {
  const s = raw.trim();
  if (s === "") {
    if (col.required === false || col.nullable) return { error: null, value: null };
    return { error: `${col.name} is required`, value: null };
  }
  if (col.type === "categorical") {
    const cats = col.categories ?? [];
    const hit = cats.find((c) => c.toLowerCase() === s.toLowerCase());
    if (!hit) return { error: `${col.name} must be one of ${cats.join(", ")} (got "${s}")`, value: null };
    return { error: null, value: hit };
  }
  if (!NUMBER.test(s)) return { error: `${col.name} must be a number (got "${s}")`, value: null };
  const v = Number(s);
  if (col.type === "integer" && !Number.isInteger(v))
    return { error: `${col.name} must be a whole number (got ${s})`, value: null };
  if (col.min !== undefined && v < col.min)
    return { error: `${col.name} must be ≥ ${col.min} (got ${s})`, value: null };
  if (col.max !== undefined && v > col.max)
    return { error: `${col.name} must be ≤ ${col.max} (got ${s})`, value: null };
  return { error: null, value: v };
}

/** Validate a whole record; returns the typed instance (only when valid) and the per-field errors. */
export function validateRecord(
  cols: readonly UiColumn[],
  raw: Readonly<Record<string, string | undefined>>,
): { instance: Record<string, number | string | null> | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const instance: Record<string, number | string | null> = {};
  for (const c of cols) {
    const r = validateField(c, raw[c.name] ?? "");
    if (r.error) errors[c.name] = r.error;
    else instance[c.name] = r.value;
  }
  return { instance: Object.keys(errors).length === 0 ? instance : null, errors };
}

export interface ApiErrorItem {
  loc?: (string | number)[];
  msg?: string;
}

/**
 * Map a 422 body ({detail:[{loc:["body","instances",i,"field"],msg}]}) onto rows:
 * row index (relative to the chunk) → field → message. Errors without a row go under -1.
 */
export function mapApiErrors(body: unknown): Map<number, FieldErrors> {
  const out = new Map<number, FieldErrors>();
  const detail = (body as { detail?: unknown } | null)?.detail;
  const items: ApiErrorItem[] = Array.isArray(detail)
    ? (detail as ApiErrorItem[])
    : [{ msg: typeof detail === "string" ? detail : "request failed" }];
  for (const it of items) {
    const loc = Array.isArray(it.loc) ? it.loc : [];
    const i = loc.indexOf("instances");
    const row = i >= 0 && typeof loc[i + 1] === "number" ? (loc[i + 1] as number) : -1;
    const field = i >= 0 && loc[i + 2] !== undefined ? String(loc[i + 2]) : "_";
    const m = out.get(row) ?? {};
    m[field] = m[field] ? `${m[field]}; ${it.msg ?? "invalid"}` : (it.msg ?? "invalid");
    out.set(row, m);
  }
  return out;
}
