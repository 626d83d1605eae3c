-- Permission rules (policy.rs): allow or deny one permission to one agent or to all. Rules are
-- never deleted, only revoked, so the audit log's references to them stay meaningful.
CREATE TABLE policy_rules (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
