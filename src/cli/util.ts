/**
 * Shared CLI helpers: exit codes, errors, output (JSON / aligned tables) and progress reporting.
 *
 * Conventions for every command: results go to stdout (human text, or one JSON document with --json);
 * progress and diagnostics go to stderr, so `mlops ... --json | jq` always sees clean JSON. Commands never
 * call process.exit: they throw (CliError / UsageError / any Error) and src/cli/index.ts maps the error to
 * an exit code and an `error: <message>` line.
 */
import { type Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors.ts";
import cliProgress from "cli-progress";

/** Process exit codes. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT] | number;

/** An error with an explicit exit code; the message is printed as `error: <message>`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Bad invocation (arguments, options, overrides, config): exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.USAGE, options);
    this.name = "UsageError";
  }
}

/** Throws a CliError (caught by the CLI entry point, which prints it and exits with `code`). */
export function fail(message: string, code: number = EXIT.FAILURE): never {
  throw code === EXIT.USAGE ? new UsageError(message) : new CliError(message, code);
}

/**
 * Exit code for a thrown value: commander's own errors → 0 for --help/--version, else 2 (usage);
 * CliError → its exitCode; ConfigError (bad config / override) → 2; anything else → 1.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError) return EXIT.USAGE;
  return EXIT.FAILURE;
}

/** Global options every command can read (defined on the root program). */
export interface GlobalOptions {
  /** Machine-readable output: one JSON document on stdout, no progress. */
  json: boolean;
  /** No progress and no informational messages (results and errors still print). */
  quiet: boolean;
  /** Config file (--config), if given. */
  config?: string;
}

/** Reads the global options from inside an action handler (`this` or the last action argument). */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { json?: boolean; quiet?: boolean; config?: string };
  return { json: o.json === true, quiet: o.quiet === true, config: o.config };
}

/** Writes `value` as pretty JSON (2-space indent) plus a newline to stdout. */
export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes an informational line to stderr unless quiet/json. */
export function info(message: string, opts: Partial<Pick<GlobalOptions, "json" | "quiet">> = {}): void {
  if (opts.json || opts.quiet) return;
  process.stderr.write(`${message}\n`);
}

export interface TableColumn<Row> {
  /** Property of the row to show. */
  key: keyof Row & string;
  /** Header text (default: the key). */
  header?: string;
  /** Alignment (default: right for numbers, left otherwise). */
  align?: "left" | "right";
  /** Cell formatter (default: numbers with up to 4 decimals, null/undefined as "-"). */
  format?: (value: unknown, row: Row) => string;
}

function defaultCell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3 ? v.toPrecision(4) : String(Number(v.toFixed(4)));
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * Formats rows as an aligned plain-text table (header, dashes, one line per row, no trailing spaces).
 * Columns may be given as keys or TableColumn objects; default: the keys of the first row.
 */
export function formatTable<Row extends Record<string, unknown>>(
  rows: readonly Row[],
  columns?: readonly ((keyof Row & string) | TableColumn<Row>)[],
): string {
  const cols: TableColumn<Row>[] = (columns ?? (Object.keys(rows[0] ?? {}) as (keyof Row & string)[])).map(
    (c) => (typeof c === "string" ? { key: c } : c),
  );
  if (cols.length === 0) return "";
  const cells = rows.map((r) => cols.map((c) => (c.format ? c.format(r[c.key], r) : defaultCell(r[c.key]))));
  const headers = cols.map((c) => c.header ?? c.key);
  const align = cols.map(
    (c, j) =>
      c.align ??
      (rows.length > 0 && rows.every((r) => typeof r[cols[j]!.key] === "number") ? "right" : "left"),
  );
  const width = headers.map((h, j) => Math.max(h.length, ...cells.map((row) => row[j]!.length)));
  const pad = (s: string, j: number) => (align[j] === "right" ? s.padStart(width[j]!) : s.padEnd(width[j]!));
  const line = (parts: string[]) => parts.map(pad).join("  ").trimEnd();
  return [line(headers), line(width.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Prints formatTable(rows, columns) to stdout. */
export function printTable<Row extends Record<string, unknown>>(
  rows: readonly Row[],
  columns?: readonly ((keyof Row & string) | TableColumn<Row>)[],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const text = formatTable(rows, columns);
  if (text) out.write(`${text}\n`);
}

export type ProgressPayload = Record<string, string | number | boolean | null | undefined>;

export interface Progress {
  /** Advances by n (default 1). */
  tick(n?: number, payload?: ProgressPayload): void;
  /** Sets the current value. */
  update(value: number, payload?: ProgressPayload): void;
  /** Ends the progress display (idempotent). */
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  label: string;
  /** --json: no progress output at all. */
  json?: boolean;
  /** --quiet: no progress output at all. */
  quiet?: boolean;
  /** Output stream (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force the TTY (bar) or plain-line mode; default: the stream's isTTY. */
  tty?: boolean;
  /** Plain mode: print at most one line per this many ms unless a 10 % step is crossed (default 2000). */
  intervalMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

const NOOP_PROGRESS: Progress = { tick() {}, update() {}, stop() {} };

function formatPayload(p: ProgressPayload | undefined): string {
  if (!p) return "";
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "number" ? defaultCell(v) : String(v)}`)
    .join(" ");
}

/**
 * A progress reporter on stderr: a cli-progress bar on a TTY; on a non-TTY stream, plain lines
 * `label: 40% (8/20) k=v` when a 10 % step is crossed or at most every `intervalMs`, plus a final line;
 * nothing at all with json or quiet.
 */
export function createProgress(options: ProgressOptions): Progress {
  if (options.json || options.quiet) return NOOP_PROGRESS;
  const stream = options.stream ?? process.stderr;
  const total = Math.max(0, options.total);
  const tty = options.tty ?? stream.isTTY === true;
  let value = 0;
  let stopped = false;
  let payload: ProgressPayload = {};

  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% {value}/{total} | {duration_formatted} ETA {eta_formatted} {info}`,
        hideCursor: true,
        noTTYOutput: true, // we already decided this is a terminal (or the caller forced it)
        clearOnComplete: false,
        barsize: 30,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: "" });
    const render = (p?: ProgressPayload) => {
      if (p) payload = { ...payload, ...p };
      bar.update(value, { info: formatPayload(payload) });
    };
    return {
      tick(n = 1, p) {
        if (stopped) return;
        value += n;
        render(p);
      },
      update(v, p) {
        if (stopped) return;
        value = v;
        render(p);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }

  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 2000;
  let lastTime = now();
  let lastDecile = 0;
  let printedFinal = false;
  const decile = (v: number) => (total > 0 ? Math.floor((Math.min(v, total) / total) * 10) : 0);
  const line = () => {
    const pct = total > 0 ? Math.floor((Math.min(value, total) / total) * 100) : 0;
    const extra = formatPayload(payload);
    stream.write(`${options.label}: ${pct}% (${value}/${total})${extra ? ` ${extra}` : ""}\n`);
    lastTime = now();
    lastDecile = decile(value);
    if (total > 0 && value >= total) printedFinal = true;
  };
  const maybe = () => {
    if (decile(value) > lastDecile || now() - lastTime >= interval) line();
  };
  return {
    tick(n = 1, p) {
      if (stopped) return;
      value += n;
      if (p) payload = { ...payload, ...p };
      maybe();
    },
    update(v, p) {
      if (stopped) return;
      value = v;
      if (p) payload = { ...payload, ...p };
      maybe();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (!printedFinal) line();
    },
  };
}
