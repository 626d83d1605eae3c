//! The manager's decisions in-process: a real SQLite file in a temporary folder, no socket, no
//! agent process, and time from a [`ManualClock`] the test moves, so timeouts and retries are
//! proven in milliseconds without waiting.
//!
//! The helpers are here; the scenarios are by topic: `tasks` (a task's life), `agents` (sessions,
//! going offline, coming back), `retries` (lost attempts, backoff, dead letters, restarts),
//! `permissions` (consent, rules, destructive actions, secrets), `logs`, `plans`, `model_router`
//! (the language model asked through its task, and the offline router when it cannot be taken).
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::store::AuditQuery;

mod agents;
mod conversations;
mod drift;
mod handoff;
mod logs;
mod messages;
mod model_router;
mod permissions;
mod plans;
mod questions;
mod retries;
mod tasks;
mod usage;

/// Holds a step of the manager until the test lets it go: `reached` is told when the manager
/// gets there, and it goes on when `go` is told.
pub(super) struct Pause {
    reached: tokio::sync::oneshot::Sender<()>,
    go: tokio::sync::oneshot::Receiver<()>,
}

impl Pause {
    /// A pause, the test's side of it: (told when reached, to tell to go on).
    fn new() -> (
        Pause,
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (reached, reached_rx) = tokio::sync::oneshot::channel();
        let (go_tx, go) = tokio::sync::oneshot::channel();
        (Pause { reached, go }, reached_rx, go_tx)
    }
}

impl Manager {
    /// Waits here when a test set a pause at `point` (once).
    pub(super) async fn pause_point(&self, point: &'static str) {
        let pause = self.inner.pauses.lock().await.remove(point);
        if let Some(p) = pause {
            let _ = p.reached.send(());
            let _ = p.go.await;
        }
    }

    /// Sets a pause at `point`: (told when reached, to tell to go on).
    async fn pause_at(
        &self,
        point: &'static str,
    ) -> (
        tokio::sync::oneshot::Receiver<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (pause, reached, go) = Pause::new();
        self.inner.pauses.lock().await.insert(point, pause);
        (reached, go)
    }
}

/// Holds the database's write lock from a second connection (as a retention step or a
/// person's `sqlite3` shell would) until the connection is dropped or rolled back.
async fn hold_write_lock(w: &World) -> sqlx::SqliteConnection {
    use sqlx::Connection;
    let mut other =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", w.m.paths().database.display()))
            .await
            .expect("a second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("the write lock");
    other
}

struct World {
    m: Manager,
    clock: Arc<ManualClock>,
    /// The folder it keeps its data in, when the world made it.
    _dir: Option<tempfile::TempDir>,
}

/// A manager in a temporary folder of its own.
async fn world(tune: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = world_at(dir.path(), tune).await;
    w._dir = Some(dir);
    w
}

/// A manager keeping its data under `root` (another one may start there after it).
async fn world_at(root: &std::path::Path, tune: impl FnOnce(&mut Config)) -> World {
    let mut cfg = Config::default();
    cfg.paths.data_dir = Some(root.join("data"));
    cfg.paths.runtime_dir = Some(root.join("run"));
    cfg.sandbox.allow_unsupervised_agents = true;
    tune(&mut cfg);
    let paths = cfg.resolve().expect("paths");
    std::fs::create_dir_all(&paths.data_dir).expect("data dir");
    let store = Store::open(&paths.database, cfg.store.busy_timeout, 1 << 20)
        .await
        .expect("store");
    let clock = Arc::new(ManualClock::new(1_800_000_000_000_000));
    let m = Manager::start_with_clock(cfg, paths, store, clock.clone())
        .await
        .expect("manager");
    World {
        m,
        clock,
        _dir: None,
    }
}

const ECHO: &str = r#"{"type": "object"}"#;

/// What an agent offering `echo.echo` with one slot declares.
fn registration(name: &str) -> Registration {
    Registration {
        name: name.into(),
        version: "1".into(),
        capabilities: vec![TaskType {
            name: "echo.echo".into(),
            description: "echoes".into(),
            payload_schema_json: ECHO.into(),
            examples: Vec::new(),
            folder: Default::default(),
        }],
        max_concurrency: 1,
        pid: 1,
        ..Default::default()
    }
}

async fn agent(
    m: &Manager,
    name: &str,
) -> (Registered, mpsc::UnboundedReceiver<Command>, WorkGuard) {
    let reg = m.register(registration(name)).await.expect("register");
    let (rx, guard) = m.open_work(&reg.session_token).expect("work");
    (reg, rx, guard)
}

async fn started(rx: &mut mpsc::UnboundedReceiver<Command>) -> StartCommand {
    loop {
        match rx.recv().await.expect("the work stream stays open") {
            Command::Start(s) => return *s,
            Command::Stop { .. } | Command::Message(..) => continue,
        }
    }
}

/// The start a dispatch (already awaited) sent to this agent, stops skipped; a missing one fails
/// the scenario at once rather than leaving it waiting.
fn start_sent(rx: &mut mpsc::UnboundedReceiver<Command>) -> StartCommand {
    loop {
        match rx.try_recv() {
            Ok(Command::Start(s)) => return *s,
            Ok(Command::Stop { .. } | Command::Message(..)) => continue,
            Err(e) => panic!("no start was sent to this agent ({e})"),
        }
    }
}

/// The next command must be a stop: the task it names.
async fn stopped(rx: &mut mpsc::UnboundedReceiver<Command>) -> String {
    match rx.recv().await.expect("the work stream stays open") {
        Command::Stop { task_id, .. } => task_id,
        Command::Start(s) => panic!("expected a stop, got the start of {}", s.task_id),
        Command::Message(m, _) => panic!("expected a stop, got message {}", m.id),
    }
}

/// The task's first attempt ended with an error that says `what`.
async fn first_error_says(w: &World, id: &str, what: &str) {
    let t = w.m.get_task(id).await.unwrap();
    assert!(
        t.attempts[0].error.contains(what),
        "{}",
        t.attempts[0].error
    );
}

fn echo() -> Submission {
    Submission {
        task_type: "echo.echo".into(),
        payload_json: "{}".into(),
        ..Default::default()
    }
}

fn succeeded() -> TaskResult {
    TaskResult {
        status: ResultStatus::Succeeded,
        exit_code: 0,
        summary: "done".into(),
        artifacts: Vec::new(),
        output_json: String::new(),
        error: String::new(),
    }
}

/// Submits and starts one task on a fresh agent `a`; returns its id and start command.
async fn running(
    w: &World,
    sub: Submission,
) -> (
    String,
    StartCommand,
    mpsc::UnboundedReceiver<Command>,
    WorkGuard,
) {
    let (_reg, mut rx, guard) = agent(&w.m, "a").await;
    let (task, _) = w.m.submit(sub).await.expect("submit");
    let start = started(&mut rx).await;
    w.m.answer(&task.id, &start.capability_token, true, "")
        .await
        .expect("accept");
    (task.id, start, rx, guard)
}

async fn tick(w: &World) {
    if let Some(p) = w.m.tick() {
        p.wait().await.expect("tick stored");
    }
}

async fn dispatch(w: &World) {
    if let Some(p) = w.m.dispatch() {
        p.wait().await.expect("dispatch stored");
    }
}

fn line(seq: u64, message: &str) -> LogLine {
    LogLine {
        seq,
        attempt: 0,
        attempt_seq: 0,
        time_us: 0,
        level: LogLevel::Info,
        message: message.into(),
        fields: Default::default(),
    }
}

/// Asks for `read` of `target` on the task's behalf, in the background.
fn ask(w: &World, id: &str, token: &str, target: &str) -> tokio::task::JoinHandle<Result<Consent>> {
    let (m, id, token, target) = (
        w.m.clone(),
        id.to_string(),
        token.to_string(),
        target.to_string(),
    );
    tokio::spawn(async move {
        m.request_consent(&id, &token, "read", &target, "to read it")
            .await
    })
}

/// The first pending consent request, once there is one.
async fn pending_consent(w: &World) -> Consent {
    loop {
        if let Some(c) = w.m.list_consents().into_iter().next() {
            return c;
        }
        tokio::task::yield_now().await;
    }
}

/// Heartbeats from each of these agents (running nothing): they stay online however far the
/// clock has just moved.
fn beat(w: &World, agents: &[&Registered]) {
    for a in agents {
        w.m.heartbeat(&a.session_token, 0.0, &[])
            .expect("heartbeat");
    }
}

/// The task as the manager has it now.
async fn task(w: &World, id: &str) -> Task {
    w.m.get_task(id).await.expect("task")
}

/// The `task.drift` audit entries of a task, oldest first (the tick or the push that found them
/// is awaited before, so they are stored).
async fn drift_entries(w: &World, id: &str) -> Vec<serde_json::Value> {
    w.m.list_audit(&AuditQuery {
        task_id: Some(id.to_string()),
        action: Some("task.drift".into()),
        ..AuditQuery::all(100)
    })
    .await
    .unwrap()
    .iter()
    .map(|e| serde_json::from_str(&e.detail).unwrap())
    .collect()
}

/// The plan, from the feed, once `done` holds for it (the feed from its start: nothing missed).
async fn plan_when(
    w: &World,
    id: &str,
    done: impl Fn(&crate::plan::Plan) -> bool,
) -> crate::plan::Plan {
    let mut feed = w.m.feed().subscribe(Some(0), EventFilter::default());
    loop {
        let ev = feed
            .recv()
            .await
            .expect("the feed stays open")
            .expect("an event");
        if let EventBody::PlanChanged { plan } = &ev.body {
            if plan.id == id && done(plan) {
                return (**plan).clone();
            }
        }
    }
}
