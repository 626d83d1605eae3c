-- The audit log: append-only and hash-chained. Each entry's `hash` is SHA-256 over the previous
-- entry's hash and this entry's content (see store/audit.rs), so an edited, deleted or reordered
-- entry breaks the chain at a place `hyperagent audit verify` names.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY NOT NULL,
    time_us   INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    task_id   TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_task ON audit(task_id) WHERE task_id IS NOT NULL;

-- Through HyperAgent the log only grows; the hash chain catches changes made around it.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
