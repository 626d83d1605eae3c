-- Conversations (conversation.rs): a person's requests one after another, with the manager's
-- answers and the plans they became, kept as one JSON document each; listed newest first.
CREATE TABLE conversations (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX conversations_by_update ON conversations (json_extract(data, '$.updated_us'));
