-- A task's events in feed order: a subscriber catching up on one task (a log past the live
-- buffer, a reconnect) reads a range of this index instead of sorting the task's whole log
-- for every page (1.6 million lines: 52 s to catch up before, 2.3 s with it).
CREATE INDEX events_task_seq ON events(task_id, seq) WHERE task_id IS NOT NULL;
