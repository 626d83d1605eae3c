-- Destructive actions with the snapshot taken before them (rollback.rs). Kept, with their
-- snapshot, so `hyperagent rollback ACTION` can restore the files later.
CREATE TABLE actions (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
