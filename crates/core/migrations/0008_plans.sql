-- Plans: what a plain-words request became (plan.rs), with every step, the agents considered for
-- it and why one was chosen, kept as one JSON document per plan. Proposed and running plans are
-- taken back at start.
CREATE TABLE plans (
    id   TEXT PRIMARY KEY NOT NULL,
    data TEXT NOT NULL
);
