/**
 * Study: runs an objective over trials with a sampler, an optional pruner and a storage.
 *
 * Determinism: trial t samples with `Rng(deriveSeed(sampler.seed, t))` and sees only the finished trials
 * numbered <= t − parallel (a snapshot taken when it starts; the scheduler starts trial t only once all of
 * those have finished). Sampling and pruning therefore do not depend on timing, and a resumed study (same
 * storage) re-creates exactly the trials a run without interruption would have made.
 *
 * Shared mode (the storage implements `claim`, e.g. the tracking store's trial table): several processes or
 * machines optimise one study. Each claims a trial number before running it (with a lease it renews while the
 * trial runs; a dead worker's trials are taken over when their lease expires) and starts trial t only once every
 * trial numbered <= t − parallel is finished in the storage, whoever ran it. Trial t therefore sees the same
 * history, and has the same params and value, whichever worker runs it: N workers produce exactly the trials one
 * worker would (`parallel` must be the same for all of them; it is part of the study's identity).
 */
import { randomUUID } from "node:crypto";
import { deriveSeed, Rng } from "../../data/prng.ts";
import { MLInputError, type Params } from "../types.ts";
import type { Pruner } from "./pruner.ts";
import { RandomSampler, type Sampler, TPESampler } from "./samplers.ts";
import { InMemoryStorage, type TrialStorage } from "./storage.ts";
import { type Direction, type FrozenTrial, Trial, TrialPruned } from "./trial.ts";

export interface StudyOptions {
  direction?: Direction;
  /** Default: TPESampler({seed: 0}). */
  sampler?: Sampler;
  pruner?: Pruner | null;
  /** Default: in-memory. */
  storage?: TrialStorage;
}

export interface OptimizeOptions {
  /** Total number of trials the study should hold (stored trials count, so a resumed run finishes the rest). */
  nTrials: number;
  /** Trials run concurrently (objective must be async to overlap, e.g. on the worker pool). Default 1. */
  parallel?: number;
  /** Called after each trial is stored. */
  onTrial?: (trial: FrozenTrial, study: Study) => void;
  /** Record objective errors as failed trials and continue (default false: record, then rethrow). */
  catchErrors?: boolean;
  /** Do not start new trials after this many seconds. */
  timeoutSeconds?: number;
  /**
   * Shared mode: trials this worker runs at once (default `parallel`). `parallel` is then the study-wide window
   * (at most `parallel` trials can run at once across all workers), so set it to the workers' total concurrency.
   */
  concurrency?: number;
  /** Shared mode: this worker's claim owner id (default: a random id per optimize call). */
  workerId?: string;
  /** Shared mode: claim lease, renewed every third of it while the trial runs (default 300 s). */
  leaseSeconds?: number;
  /** Shared mode: how often to look for trials finished by other workers while waiting (default 500 ms). */
  pollMs?: number;
}

export type Objective = (trial: Trial) => number | Promise<number>;

export class Study {
  readonly direction: Direction;
  readonly sampler: Sampler;
  readonly pruner: Pruner | null;
  readonly storage: TrialStorage;
  private readonly finished = new Map<number, FrozenTrial>();
  private readonly fixed = new Map<number, Params>();

  private constructor(opts: StudyOptions) {
    this.direction = opts.direction ?? "minimize";
    if (this.direction !== "minimize" && this.direction !== "maximize") {
      throw new MLInputError(
        `study direction must be "minimize" or "maximize", got ${JSON.stringify(this.direction)}`,
      );
    }
    this.sampler = opts.sampler ?? new TPESampler({ seed: 0 });
    this.pruner = opts.pruner ?? null;
    this.storage = opts.storage ?? new InMemoryStorage();
  }

  /** Create a study and load the trials already in its storage. */
  static async create(opts: StudyOptions = {}): Promise<Study> {
    const s = new Study(opts);
    for (const t of await s.storage.loadTrials()) s.finished.set(t.number, t);
    return s;
  }

  /** Finished trials, by number. */
  get trials(): FrozenTrial[] {
    return [...this.finished.values()].sort((a, b) => a.number - b.number);
  }

  get bestTrial(): FrozenTrial | null {
    let best: FrozenTrial | null = null;
    for (const t of this.trials) {
      if (t.state !== "complete") continue;
      const v = t.value as number;
      if (!best || (this.direction === "minimize" ? v < (best.value as number) : v > (best.value as number)))
        best = t;
    }
    return best;
  }

  get bestValue(): number | null {
    return this.bestTrial?.value ?? null;
  }

  get bestParams(): Params | null {
    return this.bestTrial?.params ?? null;
  }

  /** Fix (some) params of a future trial number (e.g. a known-good baseline as trial 0). */
  enqueueTrial(number: number, params: Params): void {
    this.fixed.set(number, { ...params });
  }

  async optimize(objective: Objective, opts: OptimizeOptions): Promise<void> {
    const nTrials = opts.nTrials;
    const parallel = opts.parallel ?? 1;
    if (!Number.isInteger(nTrials) || nTrials < 0)
      throw new MLInputError(`nTrials must be an integer >= 0, got ${nTrials}`);
    if (!Number.isInteger(parallel) || parallel < 1)
      throw new MLInputError(`parallel must be an integer >= 1, got ${parallel}`);
    const deadline =
      opts.timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutSeconds * 1000;
    const pending: number[] = [];
    for (let t = 0; t < nTrials; t++) if (!this.finished.has(t)) pending.push(t);
    const running = new Map<number, Promise<void>>();
    let firstError: unknown = null;
    const waitersDone = () => Promise.race(running.values());

    const runOne = async (t: number): Promise<void> => {
      const history = this.trials.filter((x) => x.number <= t - parallel);
      const rng = new Rng(deriveSeed(this.sampler.seed, t));
      const trial = new Trial(
        t,
        this.sampler,
        this.pruner,
        rng,
        history,
        this.direction,
        this.fixed.get(t) ?? {},
      );
      const started = new Date();
      let state: FrozenTrial["state"] = "complete";
      let value: number | null = null;
      let error: string | undefined;
      try {
        const v = await objective(trial);
        if (typeof v !== "number" || Number.isNaN(v)) {
          state = "fail";
          error = `objective returned ${v === undefined ? "undefined" : String(v)} (expected a number)`;
        } else value = v;
      } catch (e) {
        if (e instanceof TrialPruned) state = "pruned";
        else {
          state = "fail";
          error = (e as Error)?.message ?? String(e);
          if (!opts.catchErrors && firstError === null) firstError = e;
        }
      }
      const frozen: FrozenTrial = {
        number: t,
        state,
        params: trial.params,
        distributions: trial.distributions,
        value,
        intermediate: [...trial.intermediate.entries()],
        userAttrs: trial.userAttrs,
        startedAt: started.toISOString(),
        completedAt: new Date().toISOString(),
        durationMs: Date.now() - started.getTime(),
      };
      if (error !== undefined) frozen.error = error;
      await this.storage.saveTrial(frozen);
      this.finished.set(t, frozen);
      opts.onTrial?.(frozen, this);
    };

    if (this.storage.claim) {
      await this.optimizeShared(
        nTrials,
        parallel,
        deadline,
        opts,
        runOne,
        running,
        () => firstError,
        (e) => {
          firstError ??= e;
        },
      );
      if (firstError !== null) throw firstError;
      return;
    }

    for (const t of pending) {
      if (firstError !== null || Date.now() > deadline) break;
      // wait for a free slot and for every trial numbered <= t - parallel to finish
      for (;;) {
        const blockers = [...running.keys()].filter((n) => n <= t - parallel);
        if (running.size < parallel && blockers.length === 0) break;
        await waitersDone();
      }
      if (firstError !== null) break;
      const p = runOne(t).then(
        () => {
          running.delete(t);
        },
        (e) => {
          running.delete(t);
          firstError ??= e;
        },
      );
      running.set(t, p);
    }
    await Promise.all(running.values());
    if (firstError !== null) throw firstError;
  }

  /** Trials finished in the storage (by any worker) that this study has not seen yet. */
  private async refresh(): Promise<void> {
    for (const t of await this.storage.loadTrials())
      if (!this.finished.has(t.number)) this.finished.set(t.number, t);
  }

  /** The shared-mode scheduler (see the module comment). */
  private async optimizeShared(
    nTrials: number,
    parallel: number,
    deadline: number,
    opts: OptimizeOptions,
    runOne: (t: number) => Promise<void>,
    running: Map<number, Promise<void>>,
    failed: () => unknown,
    fail: (e: unknown) => void,
  ): Promise<void> {
    const claim = this.storage.claim!.bind(this.storage);
    const owner = opts.workerId ?? `worker-${randomUUID()}`;
    const leaseMs = Math.max(1, (opts.leaseSeconds ?? 300) * 1000);
    const pollMs = Math.max(1, opts.pollMs ?? 500);
    const concurrency = opts.concurrency ?? parallel;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new MLInputError(`concurrency must be an integer >= 1, got ${concurrency}`);
    if (typeof owner !== "string" || owner.length === 0 || owner.length > 200)
      throw new MLInputError(`workerId must be 1-200 characters, got ${JSON.stringify(owner)}`);
    const start = (t: number) => {
      // renew the claim while the trial runs, so other workers do not take it over
      const renew = setInterval(
        () => void claim(t, owner, leaseMs).catch(() => {}),
        Math.max(1, leaseMs / 3),
      );
      renew.unref?.();
      const p = runOne(t).then(
        () => {
          clearInterval(renew);
          running.delete(t);
        },
        (e) => {
          clearInterval(renew);
          running.delete(t);
          fail(e);
        },
      );
      running.set(t, p);
    };
    for (;;) {
      if (failed() !== null) break;
      await this.refresh();
      let allDone = true;
      let started = false;
      let blocked = false;
      for (let t = 0; t < nTrials; t++) {
        if (this.finished.has(t)) continue;
        allDone = false;
        if (running.has(t)) continue;
        if (running.size >= concurrency || Date.now() > deadline || failed() !== null) break;
        // trial t may start only when every trial numbered <= t - parallel is finished (by anyone)
        let ready = true;
        for (let b = 0; b <= t - parallel; b++) {
          if (!this.finished.has(b)) {
            ready = false;
            break;
          }
        }
        if (!ready) {
          blocked = true;
          break; // later trials need a superset of these
        }
        if (await claim(t, owner, leaseMs)) {
          start(t);
          started = true;
        }
      }
      if (allDone) break;
      if (Date.now() > deadline && running.size === 0) break;
      if (!started) {
        // wait for one of ours to finish, or for other workers' progress
        const tick = new Promise<void>((r) =>
          setTimeout(r, blocked || running.size === 0 ? pollMs : pollMs * 4),
        );
        await Promise.race([tick, ...running.values()]);
      }
    }
    await Promise.all(running.values());
  }
}

/** Convenience: a seeded TPE or random study. */
export function createStudy(opts: StudyOptions = {}): Promise<Study> {
  return Study.create(opts);
}

export { RandomSampler, TPESampler };
