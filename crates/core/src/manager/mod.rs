//! The manager: holds the registry and the active tasks behind one lock, applies every change through
//! the task state machine, persists it through the writer (in the order it was made), asks the
//! scheduler where work goes, and runs the housekeeping loop (liveness, timeouts, backoffs).
//!
//! Rule for every operation: change the in-memory state and queue the writes while holding the lock,
//! then release it and wait for the commit before acknowledging anything.
//!
//! This file holds the state (`State`, `Active`, `Inner`), start-up (loading the database and
//! applying the restart policy), the token checks and the helpers every concept shares. Each
//! concept is an `impl Manager` of its own:
//! - `agents` — registration and identity, heartbeats, the Work stream, going offline, listings;
//! - `lifecycle` — a task's life: submit, answer, progress, finish, cancel, a lost attempt;
//! - `logs` — task log lines (numbered per attempt and per task), the feed;
//! - `dispatch` — assigning queued tasks as the scheduler decides, forgetting ended ones;
//! - `housekeeping` — the loop: liveness, timeouts, backoffs, checkpoints, retention;
//! - `processes` — what the supervisor reports about agent and task processes;
//! - `rules`, `consents` — permission rules, and asking the person;
//! - `actions` — destructive actions: the snapshot first, then putting files back;
//! - `secrets` — keychain values handed to the tasks allowed them;
//! - `settings` — pausing dispatch, the workspace root;
//! - `templates` — the template catalogue and opening results in the editor;
//! - `route`, `plans` — plain words into steps; plans proposed, accepted and run as tasks;
//! - `audit` — reading and verifying the audit log.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::catalogue::{Catalogue, Template};
use crate::clock::Clock;
use crate::config::{Config, ResolvedPaths, RestartPolicy};
use crate::consent::{Consent, Scope, Status};
use crate::error::{Error, Result};
use crate::feed::Feed;
use crate::model::{
    Attempt, EventBody, LogLevel, LogLine, Progress, ResultStatus, Task, TaskResult, TaskState,
    TaskType,
};
use crate::registry::{AgentRecord, Command, Registry, StartCommand};
use crate::scheduler::{self, TaskView};
use crate::store::{AgentRow, EventFilter, Pending, Store, Sweep, TaskQuery, Write, Writer};
use crate::token::{random_secret, Claims, TokenKey};
use crate::{policy, rollback, schema, tasks, workspace};

mod actions;
mod agents;
mod audit;
mod consents;
mod conversations;
mod dispatch;
mod handoff;
mod housekeeping;
mod lifecycle;
mod logs;
mod messages;
mod model;
mod open;
mod plans;
mod processes;
mod questions;
mod route;
mod rules;
#[cfg(test)]
mod scenarios;
mod secrets;
mod settings;
mod templates;
mod traces;
mod usage;

pub use crate::supervisor::{DeclaredTypes, SupervisedProcess, SupervisorRequest};
pub use agents::WorkGuard;
pub use handoff::HandOff;
pub use logs::LogCursor;
use logs::{stored_len, DiskDrop};
use rules::{new_rule, put_rule};

/// What an agent declares when it registers.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    /// Unique name (becomes its id).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Task types with payload schemas.
    pub capabilities: Vec<TaskType>,
    /// Tasks at once.
    pub max_concurrency: u32,
    /// Tasks it is still running.
    pub running_task_ids: Vec<String>,
    /// Relative cost.
    pub cost: f64,
    /// Its process id.
    pub pid: u32,
    /// The caller, as the kernel described it when its connection was accepted (none over TCP).
    /// What identifies a supervised agent: its name alone proves nothing.
    pub peer: Option<crate::peer::Peer>,
}

/// The answer to a registration.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The agent id.
    pub agent_id: String,
    /// The session token for later calls.
    pub session_token: String,
    /// Tasks it reported that it must stop.
    pub stop_task_ids: Vec<String>,
}

/// A task submission.
#[derive(Clone, Debug, Default)]
pub struct Submission {
    /// Task type.
    pub task_type: String,
    /// JSON payload.
    pub payload_json: String,
    /// Optional idempotency key.
    pub idempotency_key: Option<String>,
    /// Optional pinned agent.
    pub pin_agent: Option<String>,
    /// 0 = default.
    pub timeout_secs: u32,
    /// 0 = default.
    pub max_attempts: u32,
    /// The folder to work in, beneath the workspace root (relative to it, or absolute); default:
    /// a new folder named after the task.
    pub workspace: Option<String>,
}

/// What a plan may spend: wall time once accepted, and what its language-model calls may cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Budget {
    /// Seconds; 0 takes `planner.budget_secs`.
    pub secs: u32,
    /// In the currency of `router.model`'s prices; 0 takes `planner.money_budget`.
    pub money: f64,
}

/// The manager at a glance ([`Manager::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusInfo {
    /// When this manager started (µs).
    pub started_us: i64,
    /// New work is not handed out.
    pub paused: bool,
    /// Agents online now.
    pub agents_online: u32,
    /// Agents the registry knows.
    pub agents_known: u32,
    /// Tasks waiting for an agent.
    pub tasks_queued: u32,
    /// Tasks assigned or running.
    pub tasks_running: u32,
    /// Tasks waiting for the person's answer.
    pub tasks_awaiting_consent: u32,
    /// Where new tasks' workspaces go.
    pub workspace_root: PathBuf,
    /// Who chose it: "app", "config" or "default".
    pub workspace_root_source: &'static str,
    /// The editor OpenPath uses, in words, when it is on the PATH (else the system's opener).
    pub editor: Option<String>,
}

/// The settings key of the workspace root chosen in the app.
const WORKSPACE_ROOT: &str = "workspace_root";

/// What to open in the editor.
#[derive(Clone, Debug)]
pub enum OpenTarget {
    /// A task's workspace.
    Task(String),
    /// An absolute path.
    Path(String),
}

/// An agent as clients see it.
#[derive(Clone, Debug)]
pub struct AgentInfo {
    /// Stored facts.
    pub row: AgentRow,
    /// Online now.
    pub online: bool,
    /// Why offline / how online.
    pub status_reason: String,
    /// Tasks it holds.
    pub running_task_ids: Vec<String>,
    /// Reported load.
    pub load: f64,
    /// Declared pid.
    pub pid: u32,
    /// Started by the supervisor.
    pub supervised: bool,
    /// Runs confined by the kernel (its tasks in confined task processes).
    pub confined: bool,
}

/// A task type as clients see it.
#[derive(Clone, Debug)]
pub struct TaskTypeInfo {
    /// The type and schema.
    pub task_type: TaskType,
    /// Agents offering it.
    pub agent_ids: Vec<String>,
    /// One of them is online.
    pub available: bool,
}

/// A task the manager is working on, with its timers.
struct Active {
    task: Task,
    /// Where its log lines are (accepted: stored, or queued to be stored).
    log: LogCursor,
    /// Woken whenever `log` moves, for batches that arrived ahead of their predecessor.
    log_moved: Arc<Notify>,
    /// Assigned: the agent must answer by then.
    answer_by_us: Option<i64>,
    /// Running: the attempt must end by then.
    deadline_us: Option<i64>,
    /// Cancel requested: the agent must stop by then.
    cancel_by_us: Option<i64>,
    /// Permissions the person granted for this task only (consent answered "task").
    task_grants: Vec<policy::Permission>,
    /// Secrets this task was given (name, value): redacted from what it reports.
    secrets: Vec<(String, String)>,
    /// Bytes of its log lines, progress reports and model-call reports stored
    /// (`agents.max_log_bytes_per_task`).
    log_bytes: u64,
    /// Lines dropped once it went over that.
    log_dropped: u64,
    /// Lines being dropped while the disk is nearly full.
    disk_drop: Option<DiskDrop>,
    /// Submitted, its row not committed yet: no agent hears of it until it is (a crash then
    /// would leave an agent running a task that never existed, and whose client was never told).
    unstored: bool,
    /// After a restart of the manager: the agent its interrupted run was on, and until when
    /// (`agents.heartbeat_timeout` later) no other agent gets it unless that one has come back
    /// (an agent the manager does not start may still be running it, in its folder; come back,
    /// it says so and is told to stop, and the task waits for that).
    earlier_run: Option<(String, i64)>,
    /// When it last did anything, and the line it keeps logging (drift detection).
    watch: crate::drift::Watch,
    /// Permission requests and questions it made (`consent.max_requests_per_task`; counted from
    /// 0 again after a restart of the manager).
    requests: u32,
    /// The ids of its last model calls counted (`usage::REMEMBERED_CALLS`): a report sent again
    /// is not counted twice.
    model_calls: std::collections::VecDeque<String>,
}

impl Active {
    /// A task with no log, timer or grant yet.
    fn new(task: Task) -> Active {
        Active {
            task,
            log: LogCursor::default(),
            log_moved: Arc::default(),
            answer_by_us: None,
            deadline_us: None,
            cancel_by_us: None,
            task_grants: Vec::new(),
            secrets: Vec::new(),
            log_bytes: 0,
            log_dropped: 0,
            disk_drop: None,
            unstored: false,
            earlier_run: None,
            watch: crate::drift::Watch::default(),
            requests: 0,
            model_calls: std::collections::VecDeque::new(),
        }
    }
}

#[derive(Default)]
struct State {
    registry: Registry,
    tasks: HashMap<String, Active>,
    idempotency: HashMap<String, String>,
    /// Messages each agent sent in its current minute (`messages.max_per_minute_per_sender`).
    messages_sent: HashMap<String, audit::PerMinute>,
    /// How many keyed tasks have been dropped from `idempotency` so far: a submission that looked
    /// its key up in the store before one was dropped looks again (the task it would have found
    /// in memory may have been stored after that look).
    keys_forgotten: u64,
    schemas: HashMap<String, schema::Compiled>,
    /// Agents started by the supervisor, by name.
    supervised: HashMap<String, SupervisedProcess>,
    /// Task types by the manifest agent that declares them.
    declared: DeclaredTypes,
    /// Tasks whose task process (and so possibly processes it started) is still alive.
    task_processes: HashMap<String, u32>,
    /// The manager is stopping: agents going away now change no task (the restart policy
    /// decides at the next start, as after a crash), and nothing new is dispatched.
    stopping: bool,
    /// Every permission rule, revoked ones too, oldest first.
    rules: Vec<policy::Rule>,
    /// Consent requests waiting for the person, by id, with the channel their asker waits on.
    consents: BTreeMap<String, PendingConsent>,
    /// Questions waiting for the person, by id, with the channel their asker waits on.
    questions: BTreeMap<String, PendingQuestion>,
    paused: bool,
    /// The workspace root chosen in the app (`SetWorkspaceRoot`), over the config's.
    workspace_root: Option<PathBuf>,
    /// Plans proposed or running, by id.
    plans: HashMap<String, crate::plan::Plan>,
    /// Messages between agents not yet acknowledged or dead-lettered, by id.
    messages: HashMap<String, crate::message::Message>,
}

/// A consent request waiting for an answer, with everyone waiting for it: the request, and the
/// same request made again by its task (a call retried after its connection dropped) which
/// waits for the same answer instead of asking the person twice.
struct PendingConsent {
    consent: Consent,
    waiters: Vec<oneshot::Sender<Consent>>,
}

/// A question waiting for the person, with everyone waiting for it (see `PendingConsent`).
struct PendingQuestion {
    question: crate::question::Question,
    waiters: Vec<oneshot::Sender<crate::question::Question>>,
}

pub use conversations::{ConversationChange, ConversationView};
pub use messages::{Outgoing, Sender};
pub use open::FileAt;
pub use plans::AskAnswer;
pub use route::RouteAnswer;

/// A folder opened in the editor.
#[derive(Clone, Debug)]
pub struct Opened {
    /// What was opened (links resolved).
    pub path: std::path::PathBuf,
    /// What opened it, in words.
    pub opener: String,
    /// What in it can run code when an editor or git works there.
    pub warnings: Vec<String>,
}

struct Inner {
    cfg: Config,
    paths: ResolvedPaths,
    state: Mutex<State>,
    store: Store,
    writer: Writer,
    feed: Feed,
    tokens: TokenKey,
    wake: Notify,
    /// Woken when a task process is gone (see `task_processes`).
    process_gone: Notify,
    shutdown: watch::Sender<bool>,
    supervisor: Mutex<Option<mpsc::UnboundedSender<SupervisorRequest>>>,
    catalogue: Arc<Catalogue>,
    started_us: i64,
    /// The data directory's disk (`store.min_free_bytes`).
    disk: crate::diskspace::DiskSpace,
    /// Where the time is read.
    clock: Arc<dyn Clock>,
    /// Held while a plan moves (`plans::advance`): one at a time.
    plan_engine: tokio::sync::Mutex<()>,
    /// Held while a conversation is read, changed and stored: one at a time.
    conversations: tokio::sync::Mutex<()>,
    /// The router (it keeps what it made of the catalogue until the catalogue changes).
    router: crate::router::Offline,
    /// Refusals audited in the current minute, by action (see `store.audit_refusals_per_minute`).
    refusals: std::sync::Mutex<HashMap<String, audit::PerMinute>>,
    /// Where tests hold the manager between two steps (see `Manager::pause_point`).
    #[cfg(test)]
    pauses: tokio::sync::Mutex<HashMap<&'static str, scenarios::Pause>>,
}

/// The manager core. Cheap to clone.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

/// The agents (offline until they connect, their task types known), rules and settings as stored.
async fn stored_state(store: &Store) -> Result<State> {
    let mut st = State::default();
    for row in store.load_agents().await? {
        for c in &row.capabilities {
            if let Ok(compiled) = schema::Compiled::new(&c.payload_schema_json) {
                st.schemas.insert(c.name.clone(), compiled);
            }
        }
        st.registry.insert(AgentRecord::from_row(
            row,
            "not connected since the manager started",
        ));
    }
    st.rules = store.load_rules().await?;
    for m in store.load_active_messages().await? {
        st.messages.insert(m.id.clone(), m);
    }
    st.workspace_root = store.setting(WORKSPACE_ROOT).await?.map(PathBuf::from);
    Ok(st)
}

fn us(d: Duration) -> i64 {
    d.as_micros().min(i64::MAX as u128) as i64
}

impl Manager {
    /// Loads the stored state, applies the restart policy to tasks that were running, and starts the
    /// writer and the housekeeping loop.
    pub async fn start(cfg: Config, paths: ResolvedPaths, store: Store) -> Result<Manager> {
        Manager::start_with_clock(cfg, paths, store, Arc::new(crate::clock::SystemClock)).await
    }

    /// [`Manager::start`] reading the time from `clock` (tests drive a manual one).
    pub async fn start_with_clock(
        cfg: Config,
        paths: ResolvedPaths,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Manager> {
        let cursors = store.cursors().await?;
        let feed = Feed::new(
            store.clone(),
            cursors.next_seq - 1,
            cfg.feed.live_buffer as usize,
            cfg.feed.replay_page,
            cfg.feed.subscriber_buffer as usize,
        );
        let (writer, _writer_task) = Writer::spawn(
            store.clone(),
            cursors,
            feed.clone(),
            cfg.store.write_batch_rows as usize,
            Some(paths.audit_head.clone()),
            cfg.store.write_lock_patience,
        );
        let mut st = stored_state(&store).await?;
        let now = clock.now_us();
        let (shutdown, _) = watch::channel(false);
        let catalogue = Arc::new(Catalogue::new(paths.template_dirs.clone()));
        let disk = crate::diskspace::DiskSpace::new(
            paths.data_dir.clone(),
            cfg.store.min_free_bytes,
            cfg.store.free_space_check_interval,
        );
        let router = crate::router::Offline::new(cfg.router.clone());
        let m = Manager {
            inner: Arc::new(Inner {
                router,
                started_us: now,
                clock,
                catalogue,
                cfg,
                paths,
                state: Mutex::new(State::default()),
                store: store.clone(),
                writer,
                feed,
                tokens: TokenKey::random()?,
                wake: Notify::new(),
                process_gone: Notify::new(),
                shutdown,
                supervisor: Mutex::new(None),
                disk,
                plan_engine: tokio::sync::Mutex::new(()),
                conversations: tokio::sync::Mutex::new(()),
                refusals: Default::default(),
                #[cfg(test)]
                pauses: Default::default(),
            }),
        };
        let writes = m.resume_tasks(&mut st, now).await?;
        *m.state() = st;
        m.inner.writer.submit(writes).wait().await?;
        m.forget_ended();
        tokio::spawn(m.clone().housekeeping());
        // Subscribed before the plans are taken back, so no task's end falls between.
        let task_ends = m.inner.feed.subscribe(
            None,
            EventFilter {
                task_id: None,
                exclude_logs: true,
            },
        );
        tokio::spawn(m.clone().plan_loop(task_ends));
        m.resume_plans().await?;
        m.start_catalogue().await?;
        Ok(m)
    }

    /// Takes back the tasks that had not ended, applying `tasks.on_manager_restart` to those that
    /// were running; returns the rows that records.
    async fn resume_tasks(&self, st: &mut State, now: i64) -> Result<Vec<Write>> {
        let store = &self.inner.store;
        let task_log_cap = self.inner.cfg.agents.max_log_bytes_per_task;
        let mut writes = Vec::new();
        for task in store.load_active_tasks().await? {
            let log = store.last_log(&task.id).await?;
            // `agents.max_log_bytes_per_task` holds across restarts.
            let log_bytes = store.task_record_bytes(&task.id).await?;
            let log_dropped = u64::from(log_bytes > task_log_cap);
            // Granted for the rest of the task: a restart does not take it back.
            let task_grants = store.task_grants(&task.id).await?;
            if let Some(k) = &task.idempotency_key {
                st.idempotency.insert(k.clone(), task.id.clone());
            }
            let id = task.id.clone();
            st.tasks.insert(
                id.clone(),
                Active {
                    log,
                    log_bytes,
                    log_dropped,
                    task_grants,
                    ..Active::new(task)
                },
            );
            let a = st.tasks.get_mut(&id).expect("just inserted");
            if let (true, Some(agent)) = (a.task.state.holds_slot(), a.task.agent_id.clone()) {
                let until = now + us(self.inner.cfg.agents.heartbeat_timeout);
                a.earlier_run = Some((agent, until));
            }
            if a.task.state.holds_slot() {
                let ev = tasks::transition(
                    &mut a.task,
                    TaskState::Interrupted,
                    "the manager restarted while it ran",
                    now,
                )?;
                push_task(&mut writes, &a.task, ev, now);
            }
            if a.task.state == TaskState::Interrupted {
                self.after_interruption(
                    st,
                    &id,
                    "the manager restarted while it ran",
                    now,
                    &mut writes,
                )?;
            }
        }
        Ok(writes)
    }

    /// The first invariant in one place: `change` changes the state under the lock and says
    /// which rows (with their audit entries) to store and what to answer; the lock is released,
    /// the rows committed, and only then is the answer given. A refused change (`Err`) stores
    /// nothing and must have changed nothing.
    async fn commit<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<(Vec<Write>, T)>,
    ) -> Result<T> {
        let (pending, answer) = {
            let mut st = self.state();
            let (writes, answer) = change(&mut st)?;
            (self.inner.writer.submit(writes), answer)
        };
        pending.wait().await?;
        Ok(answer)
    }

    /// Runs `work` on a task of its own, so that it goes on to its end when its caller stops
    /// waiting (a client's deadline passed, its connection dropped: the server drops the
    /// caller's future at its next `.await`). For work that commits and then acts on what it
    /// committed (dispatching a stored task, starting an accepted plan's steps, stopping a
    /// cancelled plan's tasks): stopped between the two, the change would be stored and never
    /// carried out.
    async fn to_the_end<T, F>(&self, work: impl FnOnce(Manager) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        match tokio::spawn(work(self.clone())).await {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::ShuttingDown),
        }
    }

    /// How many of a page's items, of these wire sizes, go in one answer: past half the largest
    /// message (`server.max_message_bytes`) the rest are the next page's; at least one (one item
    /// is within the largest message by the bounds on what it carries).
    fn page_cut(&self, sizes: impl Iterator<Item = usize>) -> usize {
        let budget = self.inner.cfg.server.max_message_bytes as usize / 2;
        let mut used = 0usize;
        let mut n = 0;
        for size in sizes {
            used = used.saturating_add(size);
            if n > 0 && used > budget {
                break;
            }
            n += 1;
        }
        n
    }

    /// Stores rows that change nothing held in memory (an audit entry, an event, a record kept
    /// only in the database) and waits for the commit.
    async fn record(&self, writes: Vec<Write>) -> Result<()> {
        self.inner.writer.submit(writes).wait().await
    }

    /// Wall-clock time from the manager's clock.
    fn now_us(&self) -> i64 {
        self.inner.clock.now_us()
    }

    /// Monotonic time from the manager's clock.
    fn instant(&self) -> Instant {
        self.inner.clock.instant()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug; keep serving rather than poisoning every call.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// The resolved paths.
    pub fn paths(&self) -> &ResolvedPaths {
        &self.inner.paths
    }

    /// The event feed.
    pub fn feed(&self) -> &Feed {
        &self.inner.feed
    }

    /// Connects the supervisor, which then receives kill requests for stuck agents.
    pub fn attach_supervisor(&self, tx: mpsc::UnboundedSender<SupervisorRequest>) {
        *self
            .inner
            .supervisor
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// The manager is about to stop its agents: from now on what they do as they go (a task
    /// ended as "stopped", a process gone, a stream closed) leaves their tasks as they are, so a
    /// graceful stop re-queues running work at the next start exactly as a crash does
    /// (`tasks.on_manager_restart`), and nothing new is dispatched.
    pub fn begin_stop(&self) {
        self.state().stopping = true;
    }

    /// Ends every agent's Work stream, so that while the manager stops, an agent that keeps its
    /// stream open (beating on it) does not keep the servers alive; agents see the stream end and
    /// try to register again.
    pub fn end_work_streams(&self) {
        self.state().registry.end_work_streams();
    }

    /// Set once a database write has failed (see [`crate::store::Writer::failed`]).
    pub fn store_failed(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.inner.writer.failed()
    }

    /// Stops dispatching, lets queued writes commit, and stops the background loops.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let pending = self.inner.writer.submit(Vec::new());
        self.inner.writer.stop();
        let _ = pending.wait().await;
    }

    /// The manager at a glance.
    pub fn status(&self) -> StatusInfo {
        // A PATH lookup (file system calls): before the lock, not under it.
        let editor = crate::editor::found(&self.inner.cfg.editor);
        let st = self.state();
        let count = |f: &dyn Fn(TaskState) -> bool| {
            st.tasks.values().filter(|a| f(a.task.state)).count() as u32
        };
        let (workspace_root, workspace_root_source) = self.root_of(&st);
        StatusInfo {
            started_us: self.inner.started_us,
            paused: st.paused,
            agents_online: st.registry.iter().filter(|r| r.online).count() as u32,
            agents_known: st.registry.iter().count() as u32,
            tasks_queued: count(&|s| s == TaskState::Queued),
            tasks_running: count(&|s| matches!(s, TaskState::Assigned | TaskState::Running)),
            tasks_awaiting_consent: count(&|s| s == TaskState::AwaitingConsent),
            workspace_root,
            workspace_root_source,
            editor,
        }
    }

    /// Once `pending` is stored, forgets ended tasks and wakes the dispatcher, in the background
    /// (for changes nobody waits on); a failure to store is logged as `what`.
    fn settle_later(&self, pending: Pending, what: &'static str) {
        let m = self.clone();
        tokio::spawn(async move {
            match pending.wait().await {
                Ok(_) => {}
                // Expected while stopping: the next start begins from what was stored.
                Err(Error::ShuttingDown) => tracing::debug!("{what}: the manager is stopping"),
                Err(e) => tracing::error!(error = %e, "{what}"),
            }
            m.forget_ended();
            m.inner.wake.notify_one();
        });
    }

    /// [`Manager::authorize`], handing back the task it found with the claims.
    fn authorized<'s>(
        &self,
        st: &'s mut State,
        task_id: &str,
        token: &str,
    ) -> Result<(Claims, &'s mut Active)> {
        let claims = self.authorize(st, task_id, token)?;
        let a = st
            .tasks
            .get_mut(task_id)
            .ok_or_else(|| Error::TaskNotFound(task_id.to_string()))?;
        Ok((claims, a))
    }

    /// [`Manager::check_token`], auditing every refused or forged token.
    fn authorize(&self, st: &State, task_id: &str, token: &str) -> Result<Claims> {
        let checked = self.check_token(st, task_id, token);
        if let Err(e @ (Error::Unauthenticated(_) | Error::PermissionDenied(_))) = &checked {
            // Nothing waits on this entry; it commits with whatever the writer does next.
            self.audit(
                "unknown",
                "token.refused",
                Some(task_id),
                serde_json::json!({ "reason": e.to_string() }),
            );
        }
        checked
    }

    /// Checks a capability token for a call about `task_id` and returns its claims.
    fn check_token(&self, st: &State, task_id: &str, token: &str) -> Result<Claims> {
        let claims = self.inner.tokens.verify(token, self.now_us())?;
        if claims.task_id != task_id {
            return Err(Error::PermissionDenied(format!(
                "the capability token is for task {}, not task {task_id}",
                claims.task_id
            )));
        }
        let a = st.tasks.get(task_id).ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "task {task_id} has ended or is not known; stop working on it"
            ))
        })?;
        if a.task.agent_id.as_deref() != Some(claims.agent_id.as_str())
            || a.task.attempts.len() as u32 != claims.attempt
            || !a.task.state.holds_slot()
        {
            return Err(Error::FailedPrecondition(format!(
                "task {task_id} is no longer assigned to agent `{}` (attempt {}); stop working on it",
                claims.agent_id, claims.attempt
            )));
        }
        Ok(claims)
    }

    /// Appends an audit entry that nothing waits on (it commits with the writer's next group).
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        task_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        let now = self.now_us();
        // A task id an agent or caller gave may be anything: ids are UUIDs (36 bytes).
        let task_id = task_id.map(|t| clip(t, audit::MAX_TASK_ID_BYTES));
        let (record, suppressed) = self.count_refusal(action, now);
        let writes: Vec<Write> = suppressed
            .into_iter()
            .chain(record.then(|| Write::audit(now, actor, action, task_id, detail)))
            .collect();
        if !writes.is_empty() {
            let _ = self.inner.writer.submit(writes);
        }
    }
}

/// Runs blocking work (keychain calls, copying a snapshot) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("a blocking task", std::io::Error::other(e)))?
}

/// About the bytes `v` takes on the wire: its JSON form's (its proto form is no larger).
fn wire_bytes(v: &impl serde::Serialize) -> usize {
    serde_json::to_vec(v).map_or(0, |j| j.len())
}

/// Replaces any of `secrets`' values in `s`.
fn redact_in(s: &mut String, secrets: &[(String, String)]) {
    if secrets.is_empty() {
        return;
    }
    if let Some(r) = crate::secrets::redact(s, secrets) {
        *s = r;
    }
}

fn push_task(writes: &mut Vec<Write>, task: &Task, ev: EventBody, now: i64) {
    writes.push(Write::Task(Box::new(task.clone())));
    if let Some(a) = audit_of(task, &ev, now) {
        writes.push(a);
    }
    writes.push(Write::Event {
        time_us: now,
        body: ev,
    });
}

/// The audit entry a task transition leaves: submission, start and every way a task ends or is
/// interrupted (queueing and assignment are in the event feed only). In the same commit as the
/// change it records.
fn audit_of(task: &Task, ev: &EventBody, now: i64) -> Option<Write> {
    let EventBody::TaskState {
        from,
        to,
        reason,
        agent_id,
        attempt,
        ..
    } = ev
    else {
        return None;
    };
    let agent = agent_id.clone().unwrap_or_default();
    let (action, actor) = match (from, to) {
        // Handed on by another task's agent (its `task.handoff` entry names the agent), not
        // asked for by the person.
        (None, _) => match &task.handed_off {
            Some(h) => ("task.submitted", format!("task:{}", h.from_task)),
            None => ("task.submitted", "client".to_string()),
        },
        (_, TaskState::Running) => ("task.started", agent.clone()),
        (_, TaskState::Completed) => ("task.completed", agent.clone()),
        (_, TaskState::Failed) if task.result.is_some() => ("task.failed", agent.clone()),
        (_, TaskState::Failed) => ("task.failed", "manager".to_string()),
        (_, TaskState::Canceled) => (
            "task.canceled",
            task.cancelled_by
                .clone()
                .unwrap_or_else(|| "client".to_string()),
        ),
        (_, TaskState::Interrupted) => ("task.interrupted", "manager".to_string()),
        (_, TaskState::DeadLettered) => ("task.dead_lettered", "manager".to_string()),
        _ => return None,
    };
    let detail = serde_json::json!({
        "task_type": task.task_type,
        "agent_id": agent,
        "attempt": attempt,
        "reason": reason,
    });
    Some(Write::Audit {
        time_us: now,
        actor,
        action: action.to_string(),
        task_id: Some(task.id.clone()),
        detail: detail.to_string(),
    })
}

/// Names: a lowercase letter, then lowercase letters, digits, `.`, `_` or `-`.
fn check_name(what: &str, name: &str, max: usize) -> Result<()> {
    let mut chars = name.chars();
    let ok = name.len() <= max
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what} `{name}` is not allowed: use a lowercase letter, then lowercase letters, digits, '.', '_' or '-', at most {max} characters"
        )))
    }
}

/// `s` cut to at most `max` bytes, at a character's boundary (unmarked: an id stays an id).
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Cuts `s` to at most `max` bytes at a character boundary, marking the cut.
fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let total = s.len();
    let marker = format!(" … [truncated, {total} bytes]");
    let cut = clip(s, max.saturating_sub(marker.len())).len();
    s.truncate(cut);
    s.push_str(&marker);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rule() {
        assert!(check_name("agent name", "echo-1.a_b", 64).is_ok());
        for bad in ["", "Echo", "1echo", "echo agent", "échо", &"a".repeat(65)] {
            let err = check_name("agent name", bad, 64).unwrap_err().to_string();
            assert!(err.contains("is not allowed"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_clipped_id_ends_on_a_characters_boundary() {
        assert_eq!(clip("abc", 64), "abc");
        assert_eq!(clip(&"x".repeat(100), 64).len(), 64);
        assert_eq!(clip("ééé", 3), "é");
    }

    #[test]
    fn truncation_keeps_utf8_valid_and_says_so() {
        let mut s = "é".repeat(100);
        truncate(&mut s, 64);
        assert!(s.len() <= 64, "{}", s.len());
        assert!(s.ends_with("[truncated, 200 bytes]"), "{s}");
        let mut short = "ok".to_string();
        truncate(&mut short, 64);
        assert_eq!(short, "ok");
    }
}
