/**
 * Trial storage: a study saves every finished trial and, on start, loads the stored ones, so a killed
 * sweep resumes where it stopped. The tracking layer provides a SQLite implementation of the same interface.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../../data/atomic.ts";
import type { FrozenTrial } from "./trial.ts";

export interface TrialStorage {
  /** The finished trials (complete, pruned, failed). */
  loadTrials(): Promise<FrozenTrial[]> | FrozenTrial[];
  /** Insert or replace the trial with this number (a finished trial also ends any claim on it). */
  saveTrial(trial: FrozenTrial): Promise<void> | void;
  /**
   * Shared storages (several processes or machines working on one study) implement claims: atomically take
   * trial `number` for `owner` for `leaseMs` — true when it is not finished and unclaimed, claimed by `owner`
   * already, or its claim expired (its worker died). A study whose storage has `claim` runs in shared mode.
   */
  claim?(number: number, owner: string, leaseMs: number): Promise<boolean>;
}

const clone = <T>(x: T): T => structuredClone(x);

export class InMemoryStorage implements TrialStorage {
  private readonly trials = new Map<number, FrozenTrial>();
  loadTrials(): FrozenTrial[] {
    return [...this.trials.values()].sort((a, b) => a.number - b.number).map(clone);
  }
  saveTrial(trial: FrozenTrial): void {
    this.trials.set(trial.number, clone(trial));
  }
}

const FILE_FORMAT = "tabular-mlops/study-trials";

/** JSON file storage; every save rewrites the file atomically (temp file + fsync + rename). */
export class JsonFileStorage implements TrialStorage {
  private trials: Map<number, FrozenTrial> | null = null;
  constructor(readonly path: string) {}

  private read(): Map<number, FrozenTrial> {
    if (this.trials) return this.trials;
    const m = new Map<number, FrozenTrial>();
    if (existsSync(this.path)) {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(this.path, "utf8"));
      } catch (e) {
        throw new Error(`${this.path}: study file is not valid JSON (${(e as Error).message})`);
      }
      const d = doc as { format?: unknown; version?: unknown; trials?: unknown };
      if (d?.format !== FILE_FORMAT || d.version !== 1 || !Array.isArray(d.trials)) {
        throw new Error(`${this.path}: not a ${FILE_FORMAT} v1 file`);
      }
      d.trials.forEach((t: FrozenTrial, i: number) => {
        if (!Number.isInteger(t?.number) || !["complete", "pruned", "fail"].includes(t?.state)) {
          throw new Error(`${this.path}: trials[${i}] is malformed (number/state)`);
        }
        m.set(t.number, t);
      });
    }
    this.trials = m;
    return m;
  }

  loadTrials(): FrozenTrial[] {
    return [...this.read().values()].sort((a, b) => a.number - b.number).map(clone);
  }

  saveTrial(trial: FrozenTrial): void {
    const m = this.read();
    m.set(trial.number, clone(trial));
    const trials = [...m.values()].sort((a, b) => a.number - b.number);
    writeFileAtomicSync(
      this.path,
      `${JSON.stringify({ format: FILE_FORMAT, version: 1, trials }, null, 1)}\n`,
    );
  }
}
