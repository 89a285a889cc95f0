/**
 * Trial storage for resumable sweeps, backed by a TrackingStore. Re-running a sweep with the same study
 * name resumes it.
 *
 * - `searchTrialStorage(store, study)` implements src/ml/search's `TrialStorage` (FrozenTrial in, the same
 *   FrozenTrial out): the queryable columns (number, state, value, params, intermediate values) are filled
 *   and the complete trial is kept in `payload`. It implements `claim`, so a study on it runs in shared mode:
 *   several processes (or machines, on a PostgreSQL store) can work on one study at once.
 * - `trialStorage(store, study)` is the plain adapter over `TrialRecord`.
 */
import type { TrialStorage as SearchTrialStorage } from "../ml/search/storage.ts";
import type { FrozenTrial } from "../ml/search/trial.ts";
import type { TrackingStore } from "./store.ts";
import { TrackingError, type TrialRecord, type TrialState } from "./types.ts";

export interface TrialStorage {
  loadTrials(): Promise<TrialRecord[]>;
  saveTrial(trial: TrialRecord): Promise<void>;
}

/** Bind a store to one study (plain TrialRecord shape). */
export function trialStorage(store: TrackingStore, studyName: string): TrialStorage {
  return {
    loadTrials: () => store.loadTrials(studyName),
    saveTrial: (trial) => store.saveTrial(studyName, trial),
  };
}

const TO_STORE: Record<FrozenTrial["state"], TrialState> = {
  complete: "COMPLETE",
  pruned: "PRUNED",
  fail: "FAIL",
};

/** Bind a store to one study with src/ml/search's `TrialStorage` contract (pass it as `storage` to a study). */
export function searchTrialStorage(store: TrackingStore, studyName: string): SearchTrialStorage {
  return {
    async loadTrials(): Promise<FrozenTrial[]> {
      // RUNNING rows are claims of a shared study, not finished trials
      const rows = (await store.loadTrials(studyName)).filter((r) => r.state !== "RUNNING");
      return rows.map((r) => {
        if (r.payload === undefined || r.payload === null || typeof r.payload !== "object") {
          throw new TrackingError(
            "INVALID",
            `study '${studyName}' trial ${r.number} was not saved by the search code (no payload); use trialStorage()`,
          );
        }
        return r.payload as FrozenTrial;
      });
    },
    claim: (number, owner, leaseMs) => store.claimTrial(studyName, number, owner, leaseMs),
    async saveTrial(trial: FrozenTrial): Promise<void> {
      const state = TO_STORE[trial.state];
      if (!state) {
        throw new TrackingError(
          "INVALID",
          `study '${studyName}' trial ${trial.number}: unknown state ${JSON.stringify(trial.state)}`,
        );
      }
      const intermediateValues: Record<number, number> = {};
      for (const [step, value] of trial.intermediate ?? []) intermediateValues[step] = value;
      await store.saveTrial(studyName, {
        number: trial.number,
        params: { ...trial.params },
        state,
        value: trial.value,
        intermediateValues,
        userAttrs: trial.userAttrs,
        payload: trial,
      });
    },
  };
}
