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
-- `seq` is the resume cursor. Log lines also carry their per-task `log_seq`.
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY NOT NULL,
    time_us INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    task_id TEXT,
    log_seq INTEGER,
    body    TEXT NOT NULL
);
CREATE INDEX events_task ON events(task_id, log_seq) WHERE task_id IS NOT NULL;
