//! Retention: log lines past their age or past the database's size bound are deleted, and ended
//! tasks past theirs; each task that loses lines keeps one line in their place saying how many,
//! which and why (numbered as the first line deleted, so its log stays in order). The newest
//! event is never deleted: the feed numbers on from the largest `seq` stored, and a subscriber
//! resuming after its last `seq` must never be sent a number again.
use std::collections::{BTreeMap, HashSet};

use sqlx::Row;

use super::Store;
use crate::error::Result;
use crate::model::LogLevel;

/// Rows per DELETE statement: under SQLite's bound-parameter limit.
const ROWS_PER_DELETE: usize = 5_000;

/// Which log lines a sweep deletes.
#[derive(Clone, Copy, Debug)]
pub enum Sweep {
    /// Written before this time.
    OlderThan(i64),
    /// The oldest, of ended tasks, while the database holds more than this many bytes.
    WhileOver(u64),
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Swept {
    /// Log lines and agent output lines deleted.
    pub lines: u64,
    /// Tasks that lost lines (each got a line saying so).
    pub tasks: u64,
}

/// Lines of one task deleted in one step.
struct Lost {
    /// The first one's feed seq, task-wide number, attempt and number within it: the note
    /// takes its place.
    seq: i64,
    log_seq: i64,
    attempt: Option<i64>,
    attempt_seq: Option<i64>,
    /// The last one's task-wide number.
    last_log_seq: i64,
    count: u64,
    bytes: u64,
}

impl Store {
    /// Deletes the log lines `sweep` selects (never those of `active` tasks when over the size
    /// bound), leaving a note in each task's log; `now_us` dates the notes. Works in steps of
    /// `step_rows` rows, each one short transaction, so the writer is never held up for long.
    pub async fn sweep_logs(
        &self,
        sweep: Sweep,
        active: &HashSet<String>,
        now_us: i64,
        step_rows: u32,
    ) -> Result<Swept> {
        let step_rows = i64::from(step_rows.max(1));
        let mut swept = Swept::default();
        let mut after = 0_i64;
        // Per task, all this sweep took (across its steps): one note each says it all.
        let mut lost: BTreeMap<String, Lost> = BTreeMap::new();
        loop {
            if let Sweep::WhileOver(bound) = sweep {
                if self.bytes_used().await? <= bound {
                    break;
                }
            }
            // Past the size bound, the age does not matter, but a line written since the sweep
            // began may be a task's that `active` (read then) does not know of.
            let older_than = match sweep {
                Sweep::OlderThan(t) => t,
                Sweep::WhileOver(_) => now_us,
            };
            let rows = sqlx::query(
                "SELECT seq, task_id, log_seq, attempt, attempt_seq, \
                 length(body) + coalesce(length(fields), 0) FROM events \
                 WHERE kind IN ('task_log', 'agent_output') AND time_us < ? AND seq > ? \
                 AND seq < (SELECT MAX(seq) FROM events) ORDER BY seq LIMIT ?",
            )
            .bind(older_than)
            .bind(after)
            .bind(step_rows)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            let full_step = rows.len() as i64 == step_rows;
            let mut doomed: Vec<i64> = Vec::with_capacity(rows.len());
            let mut touched: HashSet<String> = HashSet::new();
            for r in &rows {
                let task: Option<String> = r.get(1);
                if let Some(t) = &task {
                    if matches!(sweep, Sweep::WhileOver(_)) && active.contains(t) {
                        continue;
                    }
                }
                let seq: i64 = r.get(0);
                doomed.push(seq);
                let Some(t) = task else { continue };
                touched.insert(t.clone());
                let log_seq: i64 = r.get::<Option<i64>, _>(2).unwrap_or(0);
                let bytes = r.get::<Option<i64>, _>(5).unwrap_or(0).max(0) as u64;
                let e = lost.entry(t).or_insert_with(|| Lost {
                    seq,
                    log_seq,
                    attempt: r.get(3),
                    attempt_seq: r.get(4),
                    last_log_seq: log_seq,
                    count: 0,
                    bytes: 0,
                });
                e.last_log_seq = log_seq;
                e.count += 1;
                e.bytes += bytes;
            }
            if !doomed.is_empty() {
                self.delete_with_notes(&doomed, &lost, &touched, sweep, now_us)
                    .await?;
                swept.lines += doomed.len() as u64;
            }
            if !full_step {
                break;
            }
        }
        swept.tasks = lost.len() as u64;
        Ok(swept)
    }

    async fn delete_with_notes(
        &self,
        doomed: &[i64],
        lost: &BTreeMap<String, Lost>,
        touched: &HashSet<String>,
        sweep: Sweep,
        now_us: i64,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for chunk in doomed.chunks(ROWS_PER_DELETE) {
            let mut b = sqlx::QueryBuilder::new("DELETE FROM events WHERE seq IN (");
            let mut sep = b.separated(", ");
            for s in chunk {
                sep.push_bind(*s);
            }
            b.push(")");
            b.build().execute(&mut *tx).await?;
        }
        let why = match sweep {
            Sweep::OlderThan(_) => "they were older than store.log_retention".to_string(),
            Sweep::WhileOver(bound) => format!(
                "the database was over its size bound of {bound} bytes (store.max_database_bytes)"
            ),
        };
        for (task, l) in lost.iter().filter(|(t, _)| touched.contains(*t)) {
            // An earlier sweep's note among the deleted lines is covered: the range starts at
            // it. This sweep's own note (from an earlier step) is replaced: it has the same seq.
            let message = format!(
                "log lines {} to {} of this task were deleted because {why} ({} lines, {} \
                 bytes, by this sweep)",
                l.log_seq, l.last_log_seq, l.count, l.bytes
            );
            sqlx::query(
                "INSERT OR REPLACE INTO events (seq, time_us, kind, task_id, log_seq, level, body, fields, \
                 attempt, attempt_seq) VALUES (?, ?, 'task_log', ?, ?, ?, ?, NULL, ?, ?)",
            )
            .bind(l.seq)
            .bind(now_us)
            .bind(task)
            .bind(l.log_seq)
            .bind(LogLevel::Warn as i64)
            .bind(message)
            .bind(l.attempt)
            .bind(l.attempt_seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the settled messages (acknowledged or dead-lettered) `sweep` selects: those last
    /// changed before its time, or the oldest while the database is over its bound. Their audit
    /// entries stay; a sender reusing a deleted message's idempotency key sends anew. Returns how
    /// many.
    pub async fn sweep_messages(&self, sweep: Sweep, step_rows: u32) -> Result<u64> {
        const SETTLED: &str = "json_extract(data, '$.state') IN ('acked', 'dead_lettered')";
        match sweep {
            Sweep::OlderThan(t) => {
                let r = sqlx::query(&format!(
                    "DELETE FROM messages WHERE {SETTLED} AND json_extract(data, '$.updated_us') < ?"
                ))
                .bind(t)
                .execute(self.pool())
                .await?;
                Ok(r.rows_affected())
            }
            Sweep::WhileOver(bound) => {
                let mut deleted = 0;
                // Ids are time-ordered (UUIDv7): the lowest are the oldest.
                while self.bytes_used().await? > bound {
                    let r = sqlx::query(&format!(
                        "DELETE FROM messages WHERE id IN \
                         (SELECT id FROM messages WHERE {SETTLED} ORDER BY id LIMIT ?)"
                    ))
                    .bind(i64::from(step_rows.max(1)))
                    .execute(self.pool())
                    .await?;
                    if r.rows_affected() == 0 {
                        break;
                    }
                    deleted += r.rows_affected();
                }
                Ok(deleted)
            }
        }
    }

    /// Deletes ended tasks created before `before_us`, with their events, and the ended plans made
    /// before it; returns how many tasks. Their audit entries stay (the chain is never cut).
    /// Works in steps of at most `step_rows` rows, each one short transaction, so the writer is
    /// never held up for long (one task's events may be many: they go first, step by step).
    pub async fn delete_tasks_before(&self, before_us: i64, step_rows: u32) -> Result<u64> {
        const OLD_ENDED: &str = "SELECT id FROM tasks WHERE created_us < ? \
             AND state IN ('completed', 'failed', 'canceled', 'dead_lettered')";
        let step = i64::from(step_rows.max(1));
        let steps = |sql: String| self.delete_in_steps(sql, before_us, step);
        steps(format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE task_id IN \
             ({OLD_ENDED}) AND seq < (SELECT MAX(seq) FROM events) LIMIT ?)"
        ))
        .await?;
        let tasks = steps(format!(
            "DELETE FROM tasks WHERE id IN ({OLD_ENDED} LIMIT ?)"
        ))
        .await?;
        // Ended plans go with their tasks (their audit entries stay too).
        steps(
            "DELETE FROM plans WHERE id IN (SELECT id FROM plans \
             WHERE json_extract(data, '$.created_us') < ? \
             AND json_extract(data, '$.state') NOT IN ('proposed', 'running') LIMIT ?)"
                .to_string(),
        )
        .await?;
        Ok(tasks)
    }

    /// Runs `sql` (a DELETE taking a time and a row limit) until it deletes nothing; returns how
    /// many rows went.
    async fn delete_in_steps(&self, sql: String, before_us: i64, step: i64) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let r = sqlx::query(&sql)
                .bind(before_us)
                .bind(step)
                .execute(self.pool())
                .await?;
            if r.rows_affected() == 0 {
                return Ok(deleted);
            }
            deleted += r.rows_affected();
        }
    }

    /// Bytes the database's pages hold (free pages not counted).
    pub async fn bytes_used(&self) -> Result<u64> {
        let row = sqlx::query(
            "SELECT (SELECT page_count FROM pragma_page_count()) - \
             (SELECT freelist_count FROM pragma_freelist_count()), \
             (SELECT page_size FROM pragma_page_size())",
        )
        .fetch_one(self.pool())
        .await?;
        let pages: i64 = row.get(0);
        let size: i64 = row.get(1);
        Ok((pages.max(0) as u64).saturating_mul(size.max(0) as u64))
    }

    /// Gives the database's free pages back to the disk (a database made before incremental
    /// vacuum was turned on keeps them for reuse instead).
    /// Works in steps of at most `step_pages` pages, each its own transaction, so the writer is
    /// never held up for long.
    pub async fn reclaim(&self, step_pages: u32) -> Result<()> {
        loop {
            let free: i64 =
                sqlx::query_scalar("SELECT freelist_count FROM pragma_freelist_count()")
                    .fetch_one(self.pool())
                    .await?;
            if free <= 0 {
                return Ok(());
            }
            let before = free;
            sqlx::query(&format!("PRAGMA incremental_vacuum({})", step_pages.max(1)))
                .execute(self.pool())
                .await?;
            let after: i64 =
                sqlx::query_scalar("SELECT freelist_count FROM pragma_freelist_count()")
                    .fetch_one(self.pool())
                    .await?;
            // A database made before incremental vacuum was turned on keeps its free pages.
            if after >= before {
                return Ok(());
            }
        }
    }

    /// Bytes of a task's own records stored: its log lines, progress and model-call reports
    /// (`agents.max_log_bytes_per_task`).
    pub async fn task_record_bytes(&self, task_id: &str) -> Result<u64> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(length(body) + coalesce(length(fields), 0)) FROM events \
             WHERE task_id = ? AND kind IN ('task_log', 'task_progress', 'model_call')",
        )
        .bind(task_id)
        .fetch_one(self.pool())
        .await?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }
}
