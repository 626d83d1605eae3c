//! The only module that speaks SQL. SQLite through sqlx, WAL mode, embedded migrations.
//!
//! All writes go through one writer task ([`Writer`]) that groups whatever is queued into one
//! transaction (group commit), assigns feed sequence numbers, commits, and only then publishes the
//! events and answers the callers. So anything acknowledged is in the database, and the feed never
//! shows an event that a crash could take back. `synchronous=NORMAL` in WAL mode survives a killed
//! process (not a power cut) without an fsync per commit.
pub mod audit;
mod retention;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

pub use retention::{Sweep, Swept};
pub use writer::{Cursors, Pending, Write, Writer};

use crate::error::{Error, Result};
use crate::model::Event;
use crate::model::{AuditEntry, EventBody, LogLevel, LogLine, Task, TaskState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A stored agent: what survives a manager restart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentRow {
    /// Agent id.
    pub id: String,
    /// Declared version.
    pub version: String,
    /// Declared task types.
    pub capabilities: Vec<crate::model::TaskType>,
    /// Declared concurrency.
    pub max_concurrency: u32,
    /// Declared cost.
    pub cost: f64,
    /// First registration.
    pub registered_us: i64,
    /// Last heartbeat or registration.
    pub last_seen_us: i64,
    /// Supervisor restarts.
    pub restarts: u32,
    /// Tasks completed.
    pub successes: u64,
    /// Tasks failed or lost.
    pub failures: u64,
}

/// Which events a reader wants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    /// Only this task's events.
    pub task_id: Option<String>,
    /// Leave out log lines and agent output.
    pub exclude_logs: bool,
}

impl EventFilter {
    /// Does `body` pass?
    pub fn matches(&self, body: &EventBody) -> bool {
        if self.exclude_logs && body.is_log() {
            return false;
        }
        match &self.task_id {
            Some(t) => body.task_id() == Some(t.as_str()),
            None => true,
        }
    }
}

/// Filters of ListTasks.
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    /// Only these states (all when empty).
    pub states: Vec<TaskState>,
    /// Only this type.
    pub task_type: Option<String>,
    /// Tasks with ids below this (older).
    pub before_id: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// Which audit entries a reader wants (ListAudit's filters).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only this task's.
    pub task_id: Option<String>,
    /// Only this actor's ("client", "manager", or an agent id).
    pub actor: Option<String>,
    /// Only actions that start with this.
    pub action: Option<String>,
    /// Ids above this.
    pub after: u64,
    /// Ids below this (no bound when 0).
    pub before: u64,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// At most this many (a page when 0; never more than a page).
    pub limit: u32,
}

impl AuditQuery {
    /// Everything, oldest first, `limit` at most.
    pub fn all(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// One task's entries, oldest first, `limit` at most.
    pub fn task(task_id: &str, limit: u32) -> Self {
        Self {
            task_id: Some(task_id.to_string()),
            limit,
            ..Self::default()
        }
    }
}

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`. The write-ahead log is cut
    /// back to `wal_size_limit` bytes whenever a checkpoint empties it.
    pub async fn open(
        path: &std::path::Path,
        busy_timeout: Duration,
        wal_size_limit: u64,
    ) -> Result<Store> {
        let url = format!("sqlite://{}", path.display());
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy_timeout)
            // Checkpoints (which fsync) run from `checkpoint`, off the commit path, so a commit
            // never waits for one.
            .pragma("wal_autocheckpoint", "0")
            .pragma(
                "journal_size_limit",
                wal_size_limit.min(i64::MAX as u64).to_string(),
            )
            // Pages freed by retention go back to the disk (`reclaim`); a database made before
            // this keeps reusing its free pages instead.
            .auto_vacuum(sqlx::sqlite::SqliteAutoVacuum::Incremental);
        // Every connection is opened now, one after another, and kept: opening one sets pragmas
        // that take a lock, so one opened later, while another process holds the write lock (a
        // person's `sqlite3` shell, a vacuum), would fail after `busy_timeout` and with it the
        // read it was for.
        const CONNECTIONS: u32 = 4;
        let pool = SqlitePoolOptions::new()
            .max_connections(CONNECTIONS)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        let mut opened = Vec::new();
        for _ in 0..CONNECTIONS {
            opened.push(pool.acquire().await?);
        }
        drop(opened);
        Ok(Store { pool })
    }

    /// Copies committed pages from the WAL into the database without blocking the writer
    /// (`PASSIVE`), or fully and truncating the WAL when `truncate` (at shutdown).
    pub async fn checkpoint(&self, truncate: bool) -> Result<()> {
        let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
        sqlx::query(&format!("PRAGMA wal_checkpoint({mode})"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The highest feed sequence number stored (0 when empty).
    pub async fn max_seq(&self) -> Result<u64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Where the writer continues: next feed seq, last audit id and hash.
    pub async fn cursors(&self) -> Result<Cursors> {
        let next_seq = self.max_seq().await? + 1;
        let row = sqlx::query("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        let (audit_id, audit_hash) = match row {
            Some(r) => (r.get::<i64, _>(0) as u64, r.get::<String, _>(1)),
            None => (0, audit::GENESIS.to_string()),
        };
        Ok(Cursors {
            next_seq,
            audit_id,
            audit_hash,
        })
    }

    /// The audit entries `q` selects, in its order, at most `limit`.
    pub async fn audit_entries(&self, q: &AuditQuery, limit: u32) -> Result<Vec<AuditEntry>> {
        let bound = |id: u64| i64::try_from(id).unwrap_or(i64::MAX);
        let mut b = sqlx::QueryBuilder::new(
            "SELECT id, time_us, actor, action, task_id, detail, prev_hash, hash FROM audit WHERE id > ",
        );
        b.push_bind(bound(q.after));
        if q.before != 0 {
            b.push(" AND id < ").push_bind(bound(q.before));
        }
        if let Some(t) = &q.task_id {
            b.push(" AND task_id = ").push_bind(t);
        }
        if let Some(a) = &q.actor {
            b.push(" AND actor = ").push_bind(a);
        }
        if let Some(a) = &q.action {
            // A prefix, matched by comparison so that no character of it is a LIKE wildcard.
            b.push(" AND substr(action, 1, length(")
                .push_bind(a)
                .push(")) = ")
                .push_bind(a);
        }
        b.push(if q.newest_first {
            " ORDER BY id DESC LIMIT "
        } else {
            " ORDER BY id LIMIT "
        })
        .push_bind(i64::from(limit));
        let rows = b.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(audit_row).collect())
    }

    /// Checks the whole audit chain; returns how many entries were read and every problem found.
    pub async fn verify_audit(&self, head: Option<&audit::Head>) -> Result<(u64, Vec<String>)> {
        let rows = sqlx::query("SELECT id, time_us, actor, action, task_id, detail, prev_hash, hash FROM audit ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let entries: Vec<AuditEntry> = rows.iter().map(audit_row).collect();
        let mut problems = audit::verify(&entries);
        problems.extend(head.and_then(|h| h.check(&entries)));
        Ok((entries.len() as u64, problems))
    }

    /// Every stored agent.
    pub async fn load_agents(&self) -> Result<Vec<AgentRow>> {
        let rows = sqlx::query("SELECT data FROM agents ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// Every permission rule, revoked ones too, oldest first.
    pub async fn load_rules(&self) -> Result<Vec<crate::policy::Rule>> {
        let rows = sqlx::query("SELECT data FROM policy_rules ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// A setting made in the app, if any.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The names of the stored secrets with when each was last set (µs), by name.
    pub async fn secret_names(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, updated_us FROM secrets ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// One destructive action.
    pub async fn get_action(&self, id: &str) -> Result<Option<crate::rollback::Action>> {
        let row = sqlx::query("SELECT data FROM actions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// Destructive actions, newest first, at most `limit`.
    pub async fn list_actions(&self, limit: u32) -> Result<Vec<crate::rollback::Action>> {
        let rows = sqlx::query("SELECT data FROM actions ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// Plans proposed or running, oldest first.
    pub async fn load_active_plans(&self) -> Result<Vec<crate::plan::Plan>> {
        let rows = sqlx::query(
            "SELECT data FROM plans WHERE json_extract(data, '$.state') IN ('proposed', 'running') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// Messages not yet acknowledged or dead-lettered, oldest first.
    pub async fn load_active_messages(&self) -> Result<Vec<crate::message::Message>> {
        let rows = sqlx::query(
            "SELECT data FROM messages WHERE json_extract(data, '$.state') IN ('pending', 'delivered') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// The message an agent sent with this idempotency key, if any.
    pub async fn message_by_key(
        &self,
        from: &str,
        key: &str,
    ) -> Result<Option<crate::message::Message>> {
        let row = sqlx::query(
            "SELECT data FROM messages WHERE json_extract(data, '$.from') = ? AND json_extract(data, '$.idempotency_key') = ?",
        )
        .bind(from)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// Messages newest first: in `state` when given, sent by or to `agent` when given, sent
    /// before `before_id` when given; at most `limit`.
    pub async fn list_messages(
        &self,
        state: Option<&str>,
        agent: Option<&str>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::message::Message>> {
        let rows = sqlx::query(
            "SELECT data FROM messages WHERE (?1 IS NULL OR json_extract(data, '$.state') = ?1) \
             AND (?2 IS NULL OR json_extract(data, '$.from') = ?2 OR json_extract(data, '$.to_agent') = ?2) \
             AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
        )
        .bind(state)
        .bind(agent)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// One message.
    pub async fn get_message(&self, id: &str) -> Result<Option<crate::message::Message>> {
        let row = sqlx::query("SELECT data FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// One plan.
    pub async fn get_plan(&self, id: &str) -> Result<Option<crate::plan::Plan>> {
        let row = sqlx::query("SELECT data FROM plans WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// Plans newest first, made before `before_id` when given, at most `limit`.
    pub async fn list_plans(
        &self,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::plan::Plan>> {
        let rows = sqlx::query(
            "SELECT data FROM plans WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// One conversation.
    pub async fn get_conversation(
        &self,
        id: &str,
    ) -> Result<Option<crate::conversation::Conversation>> {
        let row = sqlx::query("SELECT data FROM conversations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// Conversations, the last changed first; changed before `before_us` when given; at most
    /// `limit`.
    pub async fn list_conversations(
        &self,
        before_us: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::conversation::Conversation>> {
        let rows = sqlx::query(
            "SELECT data FROM conversations WHERE (?1 IS NULL OR json_extract(data, '$.updated_us') < ?1) \
             ORDER BY json_extract(data, '$.updated_us') DESC, id DESC LIMIT ?2",
        )
        .bind(before_us)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// Tasks that have not ended, oldest first.
    pub async fn load_active_tasks(&self) -> Result<Vec<Task>> {
        let rows = sqlx::query(
            "SELECT data FROM tasks WHERE state NOT IN ('completed','failed','canceled','dead_lettered') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// One task.
    pub async fn get_task(&self, id: &str) -> Result<Option<Task>> {
        let row = sqlx::query("SELECT data FROM tasks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// The task created with an idempotency key.
    pub async fn task_by_idempotency_key(&self, key: &str) -> Result<Option<Task>> {
        let row = sqlx::query("SELECT data FROM tasks WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decode(r.get::<&str, _>(0))).transpose()
    }

    /// Tasks matching `q`, newest first.
    pub async fn list_tasks(&self, q: &TaskQuery) -> Result<Vec<Task>> {
        let mut b = sqlx::QueryBuilder::new("SELECT data FROM tasks WHERE 1=1");
        if !q.states.is_empty() {
            b.push(" AND state IN (");
            let mut sep = b.separated(", ");
            for s in &q.states {
                sep.push_bind(s.as_str());
            }
            b.push(")");
        }
        if let Some(t) = &q.task_type {
            b.push(" AND task_type = ").push_bind(t);
        }
        if let Some(before) = &q.before_id {
            b.push(" AND id < ").push_bind(before);
        }
        b.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter().map(|r| decode(r.get::<&str, _>(0))).collect()
    }

    /// A task's log lines with `seq > after`, in order, at most `limit`.
    pub async fn task_logs(&self, task_id: &str, after: u64, limit: u32) -> Result<Vec<LogLine>> {
        let rows = sqlx::query(
            "SELECT seq, time_us, kind, task_id, log_seq, level, body, fields, attempt, attempt_seq FROM events \
             WHERE task_id = ? AND log_seq > ? AND kind = 'task_log' ORDER BY log_seq LIMIT ?",
        )
        .bind(task_id)
        // Past i64::MAX there is nothing (`as` would wrap to -1 and return every line).
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| match decode_event(r)?.body {
                EventBody::TaskLog { line, .. } => Ok(line),
                other => Err(Error::InvalidInput(format!(
                    "stored log row holds a {} event",
                    other.kind()
                ))),
            })
            .collect()
    }

    /// What the person granted `task_id` for the rest of the task (consents answered "for this
    /// task"), in the order granted: kept in memory while it runs, read back after a restart.
    pub async fn task_grants(&self, task_id: &str) -> Result<Vec<crate::policy::Permission>> {
        let bodies: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM events WHERE task_id = ? AND kind = 'consent' ORDER BY seq",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        let mut grants = Vec::new();
        for body in bodies {
            if let EventBody::Consent { consent } = decode(&body)? {
                if consent.status == crate::consent::Status::Granted
                    && consent.scope == Some(crate::consent::Scope::Task)
                    && !grants.contains(&consent.permission)
                {
                    grants.push(consent.permission);
                }
            }
        }
        Ok(grants)
    }

    /// Where a task's stored log lines end: the last line's task-wide number, attempt and number
    /// within that attempt (all 0 when none).
    pub async fn last_log(&self, task_id: &str) -> Result<crate::manager::LogCursor> {
        let row = sqlx::query(
            "SELECT log_seq, attempt, attempt_seq FROM events \
             WHERE task_id = ? AND log_seq IS NOT NULL ORDER BY log_seq DESC LIMIT 1",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map_or_else(Default::default, |r| crate::manager::LogCursor {
                task_seq: r.get::<i64, _>(0) as u64,
                attempt: r.get::<Option<i64>, _>(1).unwrap_or(0) as u32,
                attempt_seq: r.get::<Option<i64>, _>(2).unwrap_or(0) as u64,
            }),
        )
    }

    /// Stored events with `seq > after` that pass `filter`, in order, at most `limit`.
    pub async fn events_after(
        &self,
        after: u64,
        filter: &EventFilter,
        limit: u32,
    ) -> Result<Vec<Event>> {
        let mut b = sqlx::QueryBuilder::new(
            "SELECT seq, time_us, kind, task_id, log_seq, level, body, fields, attempt, attempt_seq FROM events WHERE seq > ",
        );
        b.push_bind(i64::try_from(after).unwrap_or(i64::MAX));
        if let Some(t) = &filter.task_id {
            b.push(" AND task_id = ").push_bind(t);
        }
        if filter.exclude_logs {
            b.push(" AND kind NOT IN ('task_log', 'agent_output')");
        }
        b.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        let rows = b.build().fetch_all(&self.pool).await?;
        rows.iter().map(decode_event).collect()
    }

    /// Checkpoints and closes the pool (after the writer has finished).
    pub async fn close(&self) {
        if let Err(e) = self.checkpoint(true).await {
            tracing::warn!(error = %e, "final checkpoint failed");
        }
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// An `audit` row (columns: id, time_us, actor, action, task_id, detail, prev_hash, hash).
fn audit_row(r: &sqlx::sqlite::SqliteRow) -> AuditEntry {
    AuditEntry {
        id: r.get::<i64, _>(0) as u64,
        time_us: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        task_id: r.get(4),
        detail: r.get(5),
        prev_hash: r.get(6),
        hash: r.get(7),
    }
}

/// An `events` row (columns: seq, time_us, kind, task_id, log_seq, level, body, fields, attempt,
/// attempt_seq) as an event.
fn decode_event(r: &sqlx::sqlite::SqliteRow) -> Result<Event> {
    let seq = r.get::<i64, _>(0) as u64;
    let time_us: i64 = r.get(1);
    let body = if r.get::<&str, _>(2) == "task_log" {
        let fields: Option<&str> = r.get(7);
        EventBody::TaskLog {
            task_id: r.get::<Option<String>, _>(3).unwrap_or_default(),
            line: LogLine {
                seq: r.get::<Option<i64>, _>(4).unwrap_or(0) as u64,
                attempt: r.get::<Option<i64>, _>(8).unwrap_or(0) as u32,
                attempt_seq: r.get::<Option<i64>, _>(9).unwrap_or(0) as u64,
                time_us,
                level: LogLevel::from_number(r.get::<Option<i64>, _>(5).unwrap_or(3)),
                message: r.get(6),
                fields: fields.map(decode).transpose()?.unwrap_or_default(),
            },
        }
    } else {
        decode(r.get::<&str, _>(6))?
    };
    Ok(Event { seq, time_us, body })
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Store(sqlx::Error::Decode(Box::new(e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_tasks_events_are_read_in_feed_order_from_an_index_without_sorting_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(5), 1 << 20)
            .await
            .unwrap();
        // The query `events_after` makes for one task's feed (a subscriber catching up).
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT seq, body FROM events WHERE seq > 0 AND task_id = 't' \
             ORDER BY seq LIMIT 100",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("events_task_seq"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
