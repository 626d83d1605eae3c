-- The names of the secrets in the keychain (never their values).
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    updated_us INTEGER NOT NULL
);
