-- Each log line keeps the attempt that wrote it and its number within that attempt, so a retry's
-- lines are kept whole beside the earlier attempts' (`log_seq` stays the task-wide number).
-- Lines stored before this have NULL in both (shown as attempt 0).
ALTER TABLE events ADD COLUMN attempt INTEGER;
ALTER TABLE events ADD COLUMN attempt_seq INTEGER;
