//! The single writer: group commit, sequence numbers, publish after commit.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{QueryBuilder, Sqlite};
use tokio::sync::{mpsc, oneshot, watch};

use super::{AgentRow, Store};
use crate::error::{Error, Result};
use crate::model::{AuditEntry, Event, EventBody, Task};

/// One row to write.
#[derive(Debug)]
pub enum Write {
    /// Insert or replace a task.
    Task(Box<Task>),
    /// Insert or replace an agent.
    Agent(Box<AgentRow>),
    /// Append a feed event (it gets the next sequence number).
    Event {
        /// When it happened.
        time_us: i64,
        /// What happened.
        body: EventBody,
    },
    /// Insert or replace a permission rule.
    Rule(Box<crate::policy::Rule>),
    /// Record that a secret of this name is (or, `present: false`, is no longer) in the keychain.
    SecretName {
        /// Its name.
        name: String,
        /// Set or deleted.
        present: bool,
        /// When.
        time_us: i64,
    },
    /// Insert or replace (`value: Some`) or remove (`None`) a setting.
    Setting {
        /// Its key.
        key: String,
        /// Its value.
        value: Option<String>,
        /// When.
        time_us: i64,
    },
    /// Insert or replace a destructive action's record.
    Action(Box<crate::rollback::Action>),
    /// Insert or replace a plan.
    Plan(Box<crate::plan::Plan>),
    /// Insert or replace a message between agents.
    Message(Box<crate::message::Message>),
    /// Insert or replace a conversation.
    Conversation(Box<crate::conversation::Conversation>),
    /// Delete a conversation (its plans and tasks stay).
    ForgetConversation(String),
    /// Append an audit entry (it gets the next id and is chained to the previous entry).
    Audit {
        /// When it happened.
        time_us: i64,
        /// Who did it.
        actor: String,
        /// What.
        action: String,
        /// The task it concerns.
        task_id: Option<String>,
        /// Details as a JSON object.
        detail: String,
    },
}

impl Write {
    /// An audit entry: who did what, about which task, with details (any serialisable value,
    /// stored as its JSON).
    pub fn audit(
        time_us: i64,
        actor: impl Into<String>,
        action: &str,
        task_id: Option<&str>,
        detail: impl serde::Serialize,
    ) -> Write {
        Write::Audit {
            time_us,
            actor: actor.into(),
            action: action.to_string(),
            task_id: task_id.map(str::to_string),
            detail: serde_json::to_string(&detail).unwrap_or_default(),
        }
    }
}

/// Where the next event and audit entry go.
#[derive(Clone)]
pub struct Cursors {
    /// One more than the highest stored feed sequence number.
    pub next_seq: u64,
    /// The highest stored audit entry id (0 when none).
    pub audit_id: u64,
    /// Its hash (the genesis hash when none).
    pub audit_hash: String,
}

struct Batch {
    writes: Vec<Write>,
    reply: Option<oneshot::Sender<Result<(), String>>>,
    stop: bool,
}

/// A handle on queued writes: resolves once they are committed (and their events published).
pub struct Pending(oneshot::Receiver<Result<(), String>>);

impl Pending {
    /// Waits for the commit.
    pub async fn wait(self) -> Result<()> {
        match self.0.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::StoreFailed(e)),
            Err(_) => Err(Error::ShuttingDown),
        }
    }
}

/// Queues writes for the writer task. Cheap to clone; `submit` never blocks, so it may be called
/// while holding the manager's state lock (which keeps writes in the order the changes were made).
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Batch>,
    failed: watch::Receiver<Option<String>>,
}

impl Writer {
    /// Starts the writer task at `cursors` (read from the store).
    /// `audit_head`, when given, is where the audit chain's head is kept outside the database;
    /// `lock_patience` is how long a commit waits for another connection's write lock (each try
    /// waits the connection's busy timeout) before the writer gives up.
    pub fn spawn(
        store: Store,
        cursors: Cursors,
        feed: crate::feed::Feed,
        batch_rows: usize,
        audit_head: Option<std::path::PathBuf>,
        lock_patience: Duration,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (failed_tx, failed) = watch::channel(None);
        let handle = tokio::spawn(run(
            Setup {
                store,
                feed,
                batch_rows,
                audit_head,
                lock_patience,
            },
            cursors,
            rx,
            failed_tx,
        ));
        (Writer { tx, failed }, handle)
    }

    /// Set (to what went wrong) once a write has failed. From then on the writer stores nothing
    /// more and answers every write with [`Error::StoreFailed`]: what the manager holds in memory
    /// may include the change that was not stored, so it must stop and read the database back.
    pub fn failed(&self) -> watch::Receiver<Option<String>> {
        self.failed.clone()
    }

    /// Whether a write has failed (see [`Writer::failed`]).
    pub fn has_failed(&self) -> bool {
        self.failed.borrow().is_some()
    }

    /// Queues `writes` as one unit; they commit together with whatever else is queued.
    pub fn submit(&self, writes: Vec<Write>) -> Pending {
        let (reply, rx) = oneshot::channel();
        // A send error means the writer has stopped: the Pending then reports ShuttingDown.
        let _ = self.tx.send(Batch {
            writes,
            reply: Some(reply),
            stop: false,
        });
        Pending(rx)
    }

    /// Lets the writer finish everything queued so far, then stop.
    pub fn stop(&self) {
        let _ = self.tx.send(Batch {
            writes: Vec::new(),
            reply: None,
            stop: true,
        });
    }
}

/// What the writer task works with.
struct Setup {
    store: Store,
    feed: crate::feed::Feed,
    batch_rows: usize,
    audit_head: Option<std::path::PathBuf>,
    lock_patience: Duration,
}

async fn run(
    setup: Setup,
    mut cursors: Cursors,
    rx: mpsc::UnboundedReceiver<Batch>,
    failed: watch::Sender<Option<String>>,
) {
    let Setup {
        store,
        feed,
        batch_rows,
        audit_head,
        lock_patience,
    } = setup;
    let mut head_file =
        audit_head
            .as_deref()
            .and_then(|path| match super::audit::HeadFile::open(path) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::error!(error = %e, "cannot record the audit chain's head");
                    None
                }
            });
    let mut record_head = |c: &Cursors| {
        if let Some(f) = &mut head_file {
            let head = super::audit::Head {
                id: c.audit_id,
                hash: c.audit_hash.clone(),
            };
            if let Err(e) = f.write(&head) {
                tracing::error!(error = %e, "cannot record the audit chain's head");
            }
        }
    };
    // A database from before the head was kept (or a head lost): record where the chain is now.
    if cursors.audit_id > 0
        && audit_head
            .as_deref()
            .is_some_and(|p| super::audit::Head::read(p).is_none())
    {
        record_head(&cursors);
    }
    // One connection for the writer's whole life: no pool hand-off per commit.
    let mut conn = match store.pool().acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the database writer cannot get a connection");
            give_up(&failed, Vec::new(), rx, false, e.to_string()).await;
            return;
        }
    };
    let mut rx = rx;
    let mut stopping = false;
    while !stopping {
        let Some(first) = rx.recv().await else { break };
        let mut rows = first.writes.len();
        let mut batches = vec![first];
        while rows < batch_rows {
            match rx.try_recv() {
                Ok(b) => {
                    rows += b.writes.len();
                    batches.push(b);
                }
                Err(_) => break,
            }
        }
        stopping = batches.iter().any(|b| b.stop);
        let before = cursors.clone();
        let mut events = Vec::new();
        let mut result = commit(
            &mut conn,
            &mut batches,
            &mut cursors,
            &mut events,
            lock_patience,
        )
        .await;
        if let Err(e) = &result {
            // The connection may be left mid-transaction (SQLite can roll a failed COMMIT back
            // itself, leaving the driver's idea of the transaction depth wrong): never reuse it.
            tracing::error!(error = %e, "database write failed");
            let _ = conn.close().await;
            conn = match store.pool().acquire().await {
                Ok(c) => c,
                Err(e2) => {
                    tracing::error!(error = %e2, "the database writer cannot get a new connection");
                    give_up(&failed, batches, rx, stopping, e.to_string()).await;
                    return;
                }
            };
            // A failed COMMIT may still have landed (an error after the commit record was
            // written): read back whether this commit's last event and audit entry are there.
            if landed(&mut conn, &before, &cursors).await {
                tracing::warn!("the failed write was stored after all");
                result = Ok(());
            }
        }
        match result {
            Ok(()) => {
                if cursors.audit_id != before.audit_id {
                    record_head(&cursors);
                }
                let live = feed.sender();
                for e in events {
                    // No subscriber is fine: the event is stored.
                    let _ = live.send(e);
                }
                feed.mark_published(cursors.next_seq - 1);
                for b in batches {
                    if let Some(r) = b.reply {
                        let _ = r.send(Ok(()));
                    }
                }
            }
            Err(e) => {
                give_up(&failed, batches, rx, stopping, e.to_string()).await;
                return;
            }
        }
    }
}

/// After a failed write: says so (`failed`), answers these batches and every later one with the
/// failure, and returns once told to stop (`stopping`: already told).
async fn give_up(
    failed: &watch::Sender<Option<String>>,
    batches: Vec<Batch>,
    mut rx: mpsc::UnboundedReceiver<Batch>,
    mut stopping: bool,
    why: String,
) {
    let _ = failed.send(Some(why.clone()));
    let mut batches = batches;
    loop {
        for b in batches {
            if let Some(r) = b.reply {
                let _ = r.send(Err(why.clone()));
            }
        }
        if stopping {
            return;
        }
        let Some(b) = rx.recv().await else { return };
        stopping = b.stop;
        batches = vec![b];
    }
}

/// Whether a commit that reported an error is in the database: its last feed event and last
/// audit entry (those it assigned between `before` and `after`) are stored. A commit with
/// neither cannot be told apart, and counts as not stored.
async fn landed(
    conn: &mut sqlx::pool::PoolConnection<Sqlite>,
    before: &Cursors,
    after: &Cursors,
) -> bool {
    let wanted_seq = (after.next_seq > before.next_seq).then(|| after.next_seq - 1);
    let wanted_audit = (after.audit_id > before.audit_id).then_some(after.audit_id);
    if wanted_seq.is_none() && wanted_audit.is_none() {
        return false;
    }
    if let Some(seq) = wanted_seq {
        let found: Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT seq FROM events WHERE seq = ?")
                .bind(seq as i64)
                .fetch_optional(&mut **conn)
                .await;
        if !matches!(found, Ok(Some(_))) {
            return false;
        }
    }
    if let Some(id) = wanted_audit {
        let found: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT hash FROM audit WHERE id = ?")
                .bind(id as i64)
                .fetch_optional(&mut **conn)
                .await;
        if !matches!(found, Ok(Some(h)) if h == after.audit_hash) {
            return false;
        }
    }
    true
}

/// Rows per multi-row INSERT: 10 columns at most, well under SQLite's bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Stores the writes of `batches` in one transaction (none when there is nothing to store).
/// Another connection holding the write lock (a retention step, a checkpoint, a person's
/// `sqlite3` shell) is waited for, up to `lock_patience`: nothing was written then, and a
/// housekeeping job must not stop the manager.
async fn commit(
    conn: &mut sqlx::pool::PoolConnection<Sqlite>,
    batches: &mut [Batch],
    cursors: &mut Cursors,
    events: &mut Vec<Arc<Event>>,
    lock_patience: Duration,
) -> Result<()> {
    let rows = Rows::gather(batches, cursors, events)?;
    if rows.is_empty() {
        // Nothing to store (a caller waiting for what was queued before it): no transaction.
        return Ok(());
    }
    let since = std::time::Instant::now();
    loop {
        match rows.store(conn).await {
            Err(Error::Store(e)) if locked(&e) && since.elapsed() < lock_patience => {
                tracing::warn!(error = %e, waited = ?since.elapsed(),
                    "another connection holds the database's write lock; the commit waits (store.write_lock_patience)");
                // Nothing of this commit is stored: BEGIN IMMEDIATE takes the lock before any
                // statement runs. A transaction left open anyway is rolled back.
                let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
            }
            other => return other,
        }
    }
}

/// Whether `e` says the database was locked by another connection (SQLITE_BUSY or
/// SQLITE_LOCKED, with any extended code).
fn locked(e: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

const CONVERSATION_UPSERT: &str = "INSERT OR REPLACE INTO conversations (id, data)";

/// One commit's rows, grouped per table into multi-row statements. The whole transaction —
/// `BEGIN`, every statement, `COMMIT` — goes to SQLite's worker thread as one query: each
/// query is a round trip to that thread (two thread wake-ups, 30–90 µs each on a busy two-core
/// machine), and a commit of a task's submission was five of them. Tables do not depend on each
/// other, and within a table rows keep their order. When a statement fails, those after it,
/// `COMMIT` among them, do not run: the caller then closes the connection, which rolls back.
#[derive(Default)]
struct Rows {
    tasks: Vec<Task>,
    task_index: HashMap<String, usize>,
    agents: Vec<AgentRow>,
    agent_index: HashMap<String, usize>,
    audit: Vec<AuditEntry>,
    /// Rows stored as (id, JSON) in a table of their own: the statement, the id, the JSON.
    documents: Vec<(&'static str, String, String)>,
    /// Conversations deleted.
    forgotten: Vec<String>,
    secret_names: Vec<(String, bool, i64)>,
    settings: Vec<(String, Option<String>, i64)>,
    events: Vec<EventRow>,
}

impl Rows {
    /// Takes the writes out of `batches`, numbering events and chaining audit entries from
    /// `cursors`; the events to publish once committed go to `published`.
    fn gather(
        batches: &mut [Batch],
        cursors: &mut Cursors,
        published: &mut Vec<Arc<Event>>,
    ) -> Result<Rows> {
        let mut rows = Rows::default();
        for w in batches.iter_mut().flat_map(|b| b.writes.drain(..)) {
            match w {
                // Only the last snapshot of a task or agent in a commit matters.
                Write::Task(t) => last_of(&mut rows.tasks, &mut rows.task_index, t.id.clone(), *t),
                Write::Agent(a) => {
                    last_of(&mut rows.agents, &mut rows.agent_index, a.id.clone(), *a)
                }
                Write::Rule(r) => rows.documents.push((
                    "INSERT OR REPLACE INTO policy_rules (id, data)",
                    r.id.clone(),
                    serde_json::to_string(&r).map_err(encode_err)?,
                )),
                Write::Plan(p) => rows.documents.push((
                    "INSERT OR REPLACE INTO plans (id, data)",
                    p.id.clone(),
                    serde_json::to_string(&p).map_err(encode_err)?,
                )),
                Write::Message(msg) => rows.documents.push((
                    "INSERT OR REPLACE INTO messages (id, data)",
                    msg.id.clone(),
                    serde_json::to_string(&msg).map_err(encode_err)?,
                )),
                // Deletes run after upserts in a group: the later of the two for one
                // conversation is the one kept, as the queue ordered them.
                Write::Conversation(c) => {
                    rows.forgotten.retain(|f| *f != c.id);
                    rows.documents.push((
                        CONVERSATION_UPSERT,
                        c.id.clone(),
                        serde_json::to_string(&c).map_err(encode_err)?,
                    ))
                }
                Write::ForgetConversation(id) => {
                    rows.documents
                        .retain(|(sql, d, _)| !(*sql == CONVERSATION_UPSERT && *d == id));
                    rows.forgotten.push(id)
                }
                Write::Action(a) => rows.documents.push((
                    "INSERT OR REPLACE INTO actions (id, data)",
                    a.id.clone(),
                    serde_json::to_string(&a).map_err(encode_err)?,
                )),
                Write::SecretName {
                    name,
                    present,
                    time_us,
                } => rows.secret_names.push((name, present, time_us)),
                Write::Setting {
                    key,
                    value,
                    time_us,
                } => rows.settings.push((key, value, time_us)),
                Write::Audit {
                    time_us,
                    actor,
                    action,
                    task_id,
                    detail,
                } => {
                    let mut e = AuditEntry {
                        id: cursors.audit_id + 1,
                        time_us,
                        actor,
                        action,
                        task_id,
                        detail,
                        prev_hash: cursors.audit_hash.clone(),
                        hash: String::new(),
                    };
                    e.hash = super::audit::entry_hash(&e.prev_hash, &e);
                    cursors.audit_id = e.id;
                    cursors.audit_hash = e.hash.clone();
                    rows.audit.push(e);
                }
                Write::Event { time_us, body } => {
                    let ev = Arc::new(Event {
                        seq: cursors.next_seq,
                        time_us,
                        body,
                    });
                    cursors.next_seq += 1;
                    rows.events.push(EventRow::new(ev.clone())?);
                    published.push(ev);
                }
            }
        }
        Ok(rows)
    }

    fn is_empty(&self) -> bool {
        self.tasks.is_empty()
            && self.agents.is_empty()
            && self.documents.is_empty()
            && self.forgotten.is_empty()
            && self.secret_names.is_empty()
            && self.settings.is_empty()
            && self.audit.is_empty()
            && self.events.is_empty()
    }

    async fn store(&self, conn: &mut sqlx::pool::PoolConnection<Sqlite>) -> Result<()> {
        let task_json = to_json(&self.tasks)?;
        let agent_json = to_json(&self.agents)?;
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("BEGIN IMMEDIATE; ");
        self.push_snapshots(&mut b, &task_json, &agent_json);
        self.push_documents_and_settings(&mut b);
        for chunk in self.audit.chunks(ROWS_PER_STATEMENT) {
            b.push(
                "INSERT INTO audit (id, time_us, actor, action, task_id, detail, prev_hash, hash) ",
            );
            b.push_values(chunk, |mut r, e| {
                r.push_bind(e.id as i64)
                    .push_bind(e.time_us)
                    .push_bind(&e.actor)
                    .push_bind(&e.action)
                    .push_bind(&e.task_id)
                    .push_bind(&e.detail)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            b.push("; ");
        }
        for chunk in self.events.chunks(ROWS_PER_STATEMENT) {
            push_events(&mut b, chunk);
        }
        b.push("COMMIT;");
        b.build().execute(&mut **conn).await?;
        Ok(())
    }

    /// Tasks and agents, each row its latest snapshot as JSON (`task_json`, `agent_json`: theirs,
    /// in the same order). A row already there is updated in place, not replaced: a replace is a
    /// delete and an insert, which rewrites every index of the table (for a task: its id's, its
    /// idempotency key's and its state's), where an update rewrites the state's only. Each page
    /// a commit touches is a 4 KiB frame written to the WAL. A task's type, idempotency key and
    /// creation time never change once stored.
    fn push_snapshots<'a>(
        &'a self,
        b: &mut QueryBuilder<'a, Sqlite>,
        task_json: &'a [String],
        agent_json: &'a [String],
    ) {
        for (chunk, json) in self
            .tasks
            .chunks(ROWS_PER_STATEMENT)
            .zip(task_json.chunks(ROWS_PER_STATEMENT))
        {
            b.push("INSERT INTO tasks (id, task_type, state, idempotency_key, created_us, data) ");
            b.push_values(chunk.iter().zip(json), |mut r, (t, json)| {
                r.push_bind(&t.id)
                    .push_bind(&t.task_type)
                    .push_bind(t.state.as_str())
                    .push_bind(&t.idempotency_key)
                    .push_bind(t.created_us)
                    .push_bind(json);
            });
            b.push(
                " ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data; ",
            );
        }
        for (chunk, json) in self
            .agents
            .chunks(ROWS_PER_STATEMENT)
            .zip(agent_json.chunks(ROWS_PER_STATEMENT))
        {
            b.push("INSERT INTO agents (id, data) ");
            b.push_values(chunk.iter().zip(json), |mut r, (a, json)| {
                r.push_bind(&a.id).push_bind(json);
            });
            b.push(" ON CONFLICT (id) DO UPDATE SET data = excluded.data; ");
        }
    }

    /// Rules, actions, plans, secret names and settings: few, one statement each.
    fn push_documents_and_settings<'a>(&'a self, b: &mut QueryBuilder<'a, Sqlite>) {
        for (sql, id, json) in &self.documents {
            b.push(*sql);
            b.push(" VALUES (")
                .push_bind(id)
                .push(", ")
                .push_bind(json)
                .push("); ");
        }
        for id in &self.forgotten {
            b.push("DELETE FROM conversations WHERE id = ")
                .push_bind(id)
                .push("; ");
        }
        for (name, present, time_us) in &self.secret_names {
            if *present {
                b.push("INSERT OR REPLACE INTO secrets (name, updated_us) VALUES (")
                    .push_bind(name)
                    .push(", ")
                    .push_bind(time_us)
                    .push("); ");
            } else {
                b.push("DELETE FROM secrets WHERE name = ")
                    .push_bind(name)
                    .push("; ");
            }
        }
        for (key, value, time_us) in &self.settings {
            match value {
                Some(v) => b
                    .push("INSERT OR REPLACE INTO settings (key, value, updated_us) VALUES (")
                    .push_bind(key)
                    .push(", ")
                    .push_bind(v)
                    .push(", ")
                    .push_bind(time_us)
                    .push("); "),
                None => b
                    .push("DELETE FROM settings WHERE key = ")
                    .push_bind(key)
                    .push("; "),
            };
        }
    }
}

/// Keeps only the latest of the rows with the same id, where the first one stood.
fn last_of<T>(rows: &mut Vec<T>, index: &mut HashMap<String, usize>, id: String, row: T) {
    match index.get(&id) {
        Some(&i) => rows[i] = row,
        None => {
            index.insert(id, rows.len());
            rows.push(row);
        }
    }
}

fn to_json<T: serde::Serialize>(rows: &[T]) -> Result<Vec<String>> {
    rows.iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(encode_err)
}

/// One `events` row. Log lines are stored in columns (message in `body`, `fields` as JSON when
/// there are any), everything else as the JSON of its body: logs are most rows, so they stay small.
struct EventRow {
    ev: Arc<Event>,
    json: Option<String>,
    fields: Option<String>,
}

impl EventRow {
    fn new(ev: Arc<Event>) -> Result<EventRow> {
        let (json, fields) = match &ev.body {
            EventBody::TaskLog { line, .. } => {
                let fields = if line.fields.is_empty() {
                    None
                } else {
                    Some(serde_json::to_string(&line.fields).map_err(encode_err)?)
                };
                (None, fields)
            }
            other => (
                Some(serde_json::to_string(other).map_err(encode_err)?),
                None,
            ),
        };
        Ok(EventRow { ev, json, fields })
    }
}

fn push_events<'a>(b: &mut QueryBuilder<'a, Sqlite>, rows: &'a [EventRow]) {
    b.push(
        "INSERT INTO events (seq, time_us, kind, task_id, log_seq, level, body, fields, attempt, attempt_seq) ",
    );
    b.push_values(rows, |mut r, row| {
        let ev = &row.ev;
        let (log_seq, level, body, attempt) = match &ev.body {
            EventBody::TaskLog { line, .. } => (
                Some(line.seq as i64),
                Some(line.level as i64),
                line.message.as_str(),
                Some((i64::from(line.attempt), line.attempt_seq as i64)),
            ),
            _ => (None, None, row.json.as_deref().unwrap_or_default(), None),
        };
        r.push_bind(ev.seq as i64)
            .push_bind(ev.time_us)
            .push_bind(ev.body.kind())
            .push_bind(ev.body.task_id())
            .push_bind(log_seq)
            .push_bind(level)
            .push_bind(body)
            .push_bind(row.fields.as_deref())
            .push_bind(attempt.map(|a| a.0))
            .push_bind(attempt.map(|a| a.1));
    });
    b.push("; ");
}

fn encode_err(e: serde_json::Error) -> Error {
    Error::Store(sqlx::Error::Encode(Box::new(e)))
}
