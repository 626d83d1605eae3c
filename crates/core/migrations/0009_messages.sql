-- Messages between agents through the manager (message.rs): one JSON document each. Those not
-- yet acknowledged or dead-lettered are taken back at start and delivered again.
CREATE TABLE messages (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX messages_by_key ON messages (json_extract(data, '$.from'), json_extract(data, '$.idempotency_key'));
