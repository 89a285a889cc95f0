/**
 * Versioned schema migrations of the SQLite tracking store. Append only: never edit a released
 * migration, add a new one with the next version. Each migration runs inside one transaction together
 * with its row in `schema_migrations`.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema: experiments, runs, params, metrics, tags, artifacts, registry, audit, trials",
    sql: `
CREATE TABLE experiments (
  experiment_id INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL
);

CREATE TABLE runs (
  run_id        TEXT PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(experiment_id),
  parent_run_id TEXT REFERENCES runs(run_id),
  name          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('RUNNING','FINISHED','FAILED','KILLED')),
  start_time    INTEGER NOT NULL,
  end_time      INTEGER
);
CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time);
CREATE INDEX runs_by_parent ON runs(parent_run_id);

CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- value NULL encodes NaN (SQLite stores NaN as NULL).
CREATE TABLE metrics (
  id        INTEGER PRIMARY KEY,
  run_id    TEXT NOT NULL REFERENCES runs(run_id),
  key       TEXT NOT NULL,
  value     REAL,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL
);
CREATE INDEX metrics_by_run_key ON metrics(run_id, key, step, timestamp);

CREATE TABLE run_tags (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE run_artifacts (
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  size       INTEGER NOT NULL CHECK (size >= 0),
  media_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
CREATE INDEX run_artifacts_by_sha ON run_artifacts(sha256);

CREATE TABLE registered_models (
  model_id    INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE model_versions (
  model_id      INTEGER NOT NULL REFERENCES registered_models(model_id),
  version       INTEGER NOT NULL CHECK (version >= 1),
  run_id        TEXT REFERENCES runs(run_id),
  artifact_sha  TEXT NOT NULL CHECK (length(artifact_sha) = 64),
  status        TEXT NOT NULL CHECK (status IN ('PENDING_REGISTRATION','FAILED_REGISTRATION','READY')),
  metrics       TEXT NOT NULL,
  lineage       TEXT NOT NULL,
  input_example TEXT,
  tags          TEXT NOT NULL,
  description   TEXT,
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_by_run ON model_versions(run_id);

CREATE TABLE model_aliases (
  model_id   INTEGER NOT NULL,
  alias      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
) WITHOUT ROWID;

CREATE TABLE alias_audit (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id     INTEGER NOT NULL REFERENCES registered_models(model_id),
  alias        TEXT NOT NULL,
  action       TEXT NOT NULL CHECK (action IN ('set','promote','force_promote','rollback','delete','promote_refused')),
  from_version INTEGER,
  to_version   INTEGER,
  actor        TEXT NOT NULL,
  reason       TEXT,
  at           INTEGER NOT NULL,
  gate_results TEXT
);
CREATE INDEX alias_audit_by_model_alias ON alias_audit(model_id, alias, id);

CREATE TABLE trials (
  study_name  TEXT NOT NULL,
  number      INTEGER NOT NULL CHECK (number >= 0),
  state       TEXT NOT NULL CHECK (state IN ('RUNNING','COMPLETE','PRUNED','FAIL')),
  value       REAL,
  params      TEXT NOT NULL,
  intermediate TEXT NOT NULL,
  user_attrs  TEXT,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (study_name, number)
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: "trials.payload: the complete trial document as saved by the search code",
    sql: `ALTER TABLE trials ADD COLUMN payload TEXT;`,
  },
  {
    version: 3,
    name: "trials.owner / lease_until: claims of a study shared by several workers",
    sql: `ALTER TABLE trials ADD COLUMN owner TEXT;
ALTER TABLE trials ADD COLUMN lease_until INTEGER;`,
  },
];
