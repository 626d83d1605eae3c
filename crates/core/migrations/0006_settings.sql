-- Choices made in the app that outlive a restart (e.g. `workspace_root`), by key.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_us INTEGER NOT NULL
);
