-- Agents the manager has seen. `data` is the JSON of the agent's stored record.
CREATE TABLE agents (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);

-- Tasks. `data` is the JSON of the whole task (attempts, result, ...); the other columns are for lookups.
CREATE TABLE tasks (
    id              TEXT PRIMARY KEY NOT NULL,
    task_type       TEXT NOT NULL,
    state           TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_us      INTEGER NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX tasks_state ON tasks(state);

-- The event feed: every state change, progress report, log line and agent output, in order.
-- `seq` is the resume cursor. A task log line keeps its per-task `log_seq`, its `level`
-- (1 trace .. 5 error), its message in `body` and its fields as JSON in `fields` (NULL when none);
-- every other event keeps the JSON of its body in `body`.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY NOT NULL,
    time_us INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    task_id TEXT,
    log_seq INTEGER,
    level   INTEGER,
    body    TEXT NOT NULL,
    fields  TEXT
);
CREATE INDEX events_task ON events(task_id, log_seq) WHERE task_id IS NOT NULL;
