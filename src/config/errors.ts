/** Errors raised while reading, overriding, interpolating or validating the pipeline configuration. */

/**
 * A configuration problem. `issues` holds one line per problem, each already formatted as
 * `config: <key path>: <what is wrong>`; `message` is the issues joined by newlines.
 */
export class ConfigError extends Error {
  readonly code: string = "config";
  readonly issues: string[];

  constructor(issues: string | string[], options?: { cause?: unknown }) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.join("\n"), options);
    this.name = "ConfigError";
    this.issues = list;
  }
}

/** A malformed or inapplicable command-line override; the message names the override as typed. */
export class OverrideError extends ConfigError {
  override readonly code = "config_override";
  readonly override: string;

  constructor(override: string, reason: string) {
    super(`config: override ${JSON.stringify(override)}: ${reason}`);
    this.name = "OverrideError";
    this.override = override;
  }
}

/** Renders a value for an error message: strings quoted, everything else as compact JSON (truncated). */
export function showValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = "nothing";
  else if (typeof value === "number" && !Number.isFinite(value)) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
