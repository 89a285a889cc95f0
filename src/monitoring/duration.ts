/** Durations of monitoring windows: "90s", "15m", "24h", "7d", "2w" (config, CLI flags, query strings). */

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

export class DurationError extends Error {
  constructor(
    readonly input: string,
    what: string,
  ) {
    super(`${what}: expected a duration like 30m, 24h or 7d, got '${input}'`);
    this.name = "DurationError";
  }
}

/** Parse a duration into milliseconds; throws DurationError naming `what` (e.g. "--window") and the value. */
export function parseDurationMs(s: string, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(s);
  if (!m || !(Number(m[1]) > 0)) throw new DurationError(s, what);
  return Number(m[1]) * UNITS[m[2].toLowerCase()];
}
