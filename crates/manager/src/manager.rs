//! The manager: holds the registry and the active tasks behind one lock, applies every change through
//! the task state machine, persists it through the writer (in the order it was made), asks the
//! scheduler where work goes, and runs the housekeeping loop (liveness, timeouts, backoffs).
//!
//! Rule for every operation: change the in-memory state and queue the writes while holding the lock,
//! then release it and wait for the commit before acknowledging anything.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::catalogue::{Catalogue, Template};
use crate::config::{Config, ResolvedPaths, RestartPolicy};
use crate::consent::{Consent, Scope, Status};
use crate::error::{Error, Result};
use crate::feed::Feed;
use crate::model::{
    now_us, Attempt, EventBody, LogLevel, LogLine, Progress, ResultStatus, Task, TaskResult,
    TaskState, TaskType,
};
use crate::registry::{AgentRecord, Command, Registry, StartCommand};
use crate::scheduler::{self, TaskView};
use crate::store::{AgentRow, EventFilter, Pending, Store, Sweep, TaskQuery, Write, Writer};
use crate::token::{random_secret, Claims, TokenKey};
use crate::{policy, rollback, schema, tasks, workspace};

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

/// How far a task's log lines have got: the task-wide number the manager gives each line, and
/// the attempt that sent the last one with that line's own number (each attempt numbers from 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogCursor {
    /// The last line's number within the task.
    pub task_seq: u64,
    /// The attempt that sent it.
    pub attempt: u32,
    /// Its number within that attempt.
    pub attempt_seq: u64,
}

impl LogCursor {
    /// The highest line number of `attempt` accepted so far (0 when none).
    fn accepted(&self, attempt: u32) -> u64 {
        if self.attempt == attempt {
            self.attempt_seq
        } else {
            0
        }
    }
}

/// Log lines of one attempt dropped while the disk was nearly full.
#[derive(Clone, Copy, Debug)]
struct DiskDrop {
    attempt: u32,
    /// The first and last dropped line's number within the attempt.
    first: u64,
    last: u64,
    count: u64,
}

impl DiskDrop {
    /// The line that says how many went, numbered as the last one dropped.
    fn summary(&self, task_seq: u64, time_us: i64) -> LogLine {
        LogLine {
            seq: task_seq,
            attempt: self.attempt,
            attempt_seq: self.last,
            time_us,
            level: LogLevel::Warn,
            message: format!(
                "{} log lines of this attempt ({} to {}) were dropped while the disk was nearly \
                 full (store.min_free_bytes)",
                self.count, self.first, self.last
            ),
            fields: Default::default(),
        }
    }
}

fn task_log(task_id: &str, line: LogLine) -> Write {
    Write::Event {
        time_us: line.time_us,
        body: EventBody::TaskLog {
            task_id: task_id.to_string(),
            line,
        },
    }
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
    /// Bytes of log lines stored for it since the manager started (`agents.max_log_bytes_per_task`).
    log_bytes: u64,
    /// Lines dropped once it went over that.
    log_dropped: u64,
    /// Lines being dropped while the disk is nearly full.
    disk_drop: Option<DiskDrop>,
}

#[derive(Default)]
struct State {
    registry: Registry,
    tasks: HashMap<String, Active>,
    idempotency: HashMap<String, String>,
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
    paused: bool,
    /// The workspace root chosen in the app (`SetWorkspaceRoot`), over the config's.
    workspace_root: Option<PathBuf>,
}

/// A consent request waiting for an answer.
struct PendingConsent {
    consent: Consent,
    reply: oneshot::Sender<Consent>,
}

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

/// The process the supervisor started for an agent.
#[derive(Clone, Debug)]
pub struct SupervisedProcess {
    /// Its pid: only a registration from this process may use the agent's name.
    pub pid: u32,
    /// Where its task commands go when it is confined (its tasks run in task processes); `None`
    /// when it runs unconfined and gets its tasks on its Work stream.
    pub task_runner: Option<mpsc::UnboundedSender<Command>>,
    /// The secrets its manifest declares: the only ones its tasks may ask for.
    pub secrets: Vec<String>,
}

/// The task types agents' manifests declare, by agent: a supervised agent may offer only its
/// own, and an agent the manager did not start none of them.
pub type DeclaredTypes = HashMap<String, Vec<String>>;

/// A request from the manager to the supervisor.
#[derive(Clone, Debug, PartialEq)]
pub enum SupervisorRequest {
    /// Kill this agent's process tree (it is restarted per its policy).
    Kill {
        /// The agent.
        agent_id: String,
        /// Why.
        reason: String,
    },
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
}

/// The manager core. Cheap to clone.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

fn us(d: Duration) -> i64 {
    d.as_micros().min(i64::MAX as u128) as i64
}

impl Manager {
    /// Loads the stored state, applies the restart policy to tasks that were running, and starts the
    /// writer and the housekeeping loop.
    pub async fn start(cfg: Config, paths: ResolvedPaths, store: Store) -> Result<Manager> {
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
        );
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
        st.workspace_root = store.setting(WORKSPACE_ROOT).await?.map(PathBuf::from);
        let now = now_us();
        let mut writes = Vec::new();
        let active = store.load_active_tasks().await?;
        let (shutdown, _) = watch::channel(false);
        let catalogue = Arc::new(Catalogue::new(paths.template_dirs.clone()));
        let task_log_cap = cfg.agents.max_log_bytes_per_task;
        let disk = crate::diskspace::DiskSpace::new(
            paths.data_dir.clone(),
            cfg.store.min_free_bytes,
            cfg.store.free_space_check_interval,
        );
        let m = Manager {
            inner: Arc::new(Inner {
                started_us: now_us(),
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
            }),
        };
        for task in active {
            let log = store.last_log(&task.id).await?;
            // `agents.max_log_bytes_per_task` holds across restarts.
            let log_bytes = store.task_log_bytes(&task.id).await?;
            let log_dropped = u64::from(log_bytes > task_log_cap);
            if let Some(k) = &task.idempotency_key {
                st.idempotency.insert(k.clone(), task.id.clone());
            }
            let id = task.id.clone();
            st.tasks.insert(
                id.clone(),
                Active {
                    task,
                    log,
                    log_moved: Arc::default(),
                    answer_by_us: None,
                    deadline_us: None,
                    cancel_by_us: None,
                    task_grants: Vec::new(),
                    secrets: Vec::new(),
                    log_bytes,
                    log_dropped,
                    disk_drop: None,
                },
            );
            let a = st.tasks.get_mut(&id).expect("just inserted");
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
                m.after_interruption(
                    &mut st,
                    &id,
                    "the manager restarted while it ran",
                    now,
                    &mut writes,
                )?;
            }
        }
        *m.state() = st;
        m.inner.writer.submit(writes).wait().await?;
        m.forget_ended();
        tokio::spawn(m.clone().housekeeping());
        m.start_catalogue().await?;
        Ok(m)
    }

    /// Watches the template folders, then scans them (in that order, so no change is missed),
    /// and keeps the catalogue current until shutdown.
    async fn start_catalogue(&self) -> Result<()> {
        let cat = self.inner.catalogue.clone();
        let watcher = blocking(move || {
            let watcher = crate::catalogue::Watcher::start(cat.clone());
            cat.rescan_all();
            Ok(watcher)
        })
        .await?;
        match watcher {
            Ok(w) => {
                let m = self.clone();
                tokio::spawn(w.run(
                    self.inner.cfg.templates.debounce,
                    self.inner.shutdown.subscribe(),
                    move |names| {
                        let m = m.clone();
                        async move { m.templates_changed(names).await }
                    },
                ));
            }
            Err(e) => tracing::warn!(
                error = %e,
                "template folders are not watched; template changes show after a restart"
            ),
        }
        Ok(())
    }

    /// Publishes that these templates changed, so clients list them again.
    async fn templates_changed(&self, names: Vec<String>) {
        tracing::info!(templates = ?names, "template catalogue changed");
        let pending = self.inner.writer.submit(vec![Write::Event {
            time_us: now_us(),
            body: EventBody::TemplatesChanged { names },
        }]);
        if let Err(e) = pending.wait().await {
            tracing::error!(error = %e, "cannot record a template catalogue change");
        }
    }

    /// Every template in the catalogue, by name (broken ones too, with their errors).
    pub fn list_templates(&self) -> Vec<Template> {
        self.inner.catalogue.list()
    }

    /// The template folders, in search order: task processes may read them.
    pub fn template_dirs(&self) -> &[std::path::PathBuf] {
        self.inner.catalogue.dirs()
    }

    /// Opens a task's workspace, or a path, in the person's editor. A path must lie inside the
    /// workspace root or be allowed by an `open` rule; the opening and any refusal are audited.
    /// Returns the path opened (links resolved) and what opened it.
    pub async fn open_path(&self, target: OpenTarget, actor: &str) -> Result<Opened> {
        let (asked, task_id) = match target {
            OpenTarget::Task(id) => {
                let t = self.get_task(&id).await?;
                (t.workspace, Some(id))
            }
            OpenTarget::Path(p) => (p, None),
        };
        let refuse = |why: String| {
            self.audit(
                actor,
                "editor.refused",
                task_id.as_deref(),
                serde_json::json!({ "path": asked, "why": why }),
            );
            Error::PermissionDenied(why)
        };
        let lexical = match policy::parse("open", &asked) {
            Ok(policy::Permission::Open(p)) => p,
            Ok(_) => unreachable!("parse(\"open\") gives Open"),
            Err(e) => return Err(refuse(format!("cannot open `{asked}`: {e}"))),
        };
        let real = tokio::fs::canonicalize(&lexical)
            .await
            .map_err(|e| refuse(format!("cannot open {}: {e}", lexical.display())))?;
        let root = self.workspace_root();
        let real_root = tokio::fs::canonicalize(&root)
            .await
            .unwrap_or_else(|_| root.clone());
        let allowed_by = if real.starts_with(&real_root) {
            "inside the workspace root".to_string()
        } else {
            let decided = {
                let st = self.state();
                [&lexical, &real].into_iter().find_map(|p| {
                    let asked = policy::Permission::Open(p.clone());
                    policy::decide(&st.rules, &[], "", &asked)
                        .map(|(d, r)| (d, r.map(|r| r.id.clone())))
                })
            };
            match decided {
                Some((policy::Decision::Allow, rule)) => {
                    format!("rule {}", rule.unwrap_or_default())
                }
                Some((policy::Decision::Deny, rule)) => {
                    return Err(refuse(format!(
                        "opening {} is denied by rule {}",
                        lexical.display(),
                        rule.unwrap_or_default()
                    )))
                }
                None if real != lexical => {
                    // Name where the link leads, and suggest a rule for that place: a rule for
                    // the link itself would follow it wherever it is pointed later.
                    return Err(refuse(format!(
                        "{} is a link to {}, outside every workspace (the workspace root is {}); \
                         to allow opening what it leads to: hyperagent policy allow --open {}",
                        lexical.display(),
                        real.display(),
                        root.display(),
                        real.display()
                    )));
                }
                None => {
                    return Err(refuse(format!(
                        "{} is outside every workspace (the workspace root is {}); to allow opening it: hyperagent policy allow --open {}",
                        lexical.display(),
                        root.display(),
                        lexical.display()
                    )))
                }
            }
        };
        let scanned = real.clone();
        let warnings =
            tokio::task::spawn_blocking(move || crate::editor::code_that_runs_on_open(&scanned))
                .await
                .unwrap_or_default();
        let opener = match crate::editor::open(&self.inner.cfg.editor, &real).await {
            Ok(o) => o,
            Err(e) => return Err(refuse(e.to_string())),
        };
        let pending = self.inner.writer.submit(vec![Write::audit(
            now_us(),
            actor,
            "editor.opened",
            task_id.as_deref(),
            serde_json::json!({
                "path": real, "opener": opener, "allowed_by": allowed_by, "warnings": warnings,
            }),
        )]);
        pending.wait().await?;
        Ok(Opened {
            path: real,
            opener,
            warnings,
        })
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

    /// Pauses or resumes dispatching new work (audited when it changes).
    pub async fn set_paused(&self, paused: bool, actor: &str) -> Result<StatusInfo> {
        let pending = {
            let mut st = self.state();
            let changed = st.paused != paused;
            st.paused = paused;
            changed.then(|| {
                let action = if paused {
                    "scheduling.paused"
                } else {
                    "scheduling.resumed"
                };
                let time_us = now_us();
                self.inner.writer.submit(vec![
                    Write::audit(
                        time_us,
                        actor,
                        action,
                        None,
                        serde_json::json!({ "paused": paused }),
                    ),
                    Write::Event {
                        time_us,
                        body: EventBody::SchedulingChanged {
                            paused,
                            actor: actor.to_string(),
                        },
                    },
                ])
            })
        };
        if let Some(p) = pending {
            p.wait().await?;
        }
        self.inner.wake.notify_one();
        Ok(self.status())
    }

    /// The manager at a glance.
    pub fn status(&self) -> StatusInfo {
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
        }
    }

    /// The workspace root in force, and who chose it.
    fn root_of(&self, st: &State) -> (PathBuf, &'static str) {
        match &st.workspace_root {
            Some(p) => (p.clone(), "app"),
            None if self.inner.cfg.paths.workspace_root.is_some() => {
                (self.inner.paths.workspace_root.clone(), "config")
            }
            None => (self.inner.paths.workspace_root.clone(), "default"),
        }
    }

    /// Where new tasks' workspaces go now.
    pub fn workspace_root(&self) -> PathBuf {
        self.root_of(&self.state()).0
    }

    /// Chooses the folder new tasks' workspaces go under (made if missing), kept across restarts;
    /// an empty `path` goes back to the config's (or the default). Tasks already made keep their
    /// folders. Refused with what is wrong: a relative path, `..`, a file, a folder that contains
    /// the manager's own data (tasks could reach the database through a named workspace), one it
    /// cannot write. Audited.
    pub async fn set_workspace_root(&self, path: &str, actor: &str) -> Result<StatusInfo> {
        let chosen = if path.is_empty() {
            None
        } else {
            Some(self.check_workspace_root(path).await?)
        };
        let pending = {
            let mut st = self.state();
            let (before, _) = self.root_of(&st);
            st.workspace_root = chosen.clone();
            let (after, source) = self.root_of(&st);
            let time_us = now_us();
            self.inner.writer.submit(vec![
                Write::Setting {
                    key: WORKSPACE_ROOT.into(),
                    value: chosen.as_ref().map(|p| p.display().to_string()),
                    time_us,
                },
                Write::audit(
                    time_us,
                    actor,
                    "settings.workspace_root",
                    None,
                    serde_json::json!({
                        "from": before.display().to_string(),
                        "to": after.display().to_string(),
                        "source": source,
                    }),
                ),
            ])
        };
        pending.wait().await?;
        Ok(self.status())
    }

    async fn check_workspace_root(&self, path: &str) -> Result<PathBuf> {
        let bad = |why: String| Error::InvalidInput(format!("workspace root `{path}`: {why}"));
        if path.chars().any(char::is_control) {
            return Err(bad("contains a control character".into()));
        }
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err(bad(
                "must be an absolute path, e.g. /home/me/projects".into()
            ));
        }
        if p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(bad("must not contain `..`".into()));
        }
        if p.parent().is_none() {
            return Err(bad("cannot be the file system's root".into()));
        }
        match tokio::fs::metadata(p).await {
            Ok(m) if !m.is_dir() => return Err(bad("is a file, not a folder".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tokio::fs::create_dir_all(p)
                    .await
                    .map_err(|e| bad(format!("cannot be made: {e}")))?;
            }
            Err(e) => return Err(bad(format!("cannot be read: {e}"))),
        }
        let real = tokio::fs::canonicalize(p)
            .await
            .map_err(|e| bad(format!("cannot be resolved: {e}")))?;
        let data = tokio::fs::canonicalize(&self.inner.paths.data_dir)
            .await
            .unwrap_or_else(|_| self.inner.paths.data_dir.clone());
        if data.starts_with(&real) {
            return Err(bad(format!(
                "contains HyperAgent's own data folder {}; choose a folder beside it",
                data.display()
            )));
        }
        let probe = real.join(format!(".hyperagent-write-check-{}", std::process::id()));
        tokio::fs::write(&probe, b"")
            .await
            .map_err(|e| bad(format!("is not writable: {e}")))?;
        let _ = tokio::fs::remove_file(&probe).await;
        Ok(real)
    }

    // ----- supervisor-facing -------------------------------------------------------------------

    /// The supervisor started (or restarted) `agent_id`'s process.
    pub fn agent_process_started(
        &self,
        agent_id: &str,
        process: SupervisedProcess,
        restarted: bool,
    ) -> Pending {
        let mut st = self.state();
        st.supervised.insert(agent_id.to_string(), process);
        let mut writes = Vec::new();
        if restarted {
            if let Some(rec) = st.registry.get_mut(agent_id) {
                rec.row.restarts += 1;
                writes.push(Write::Agent(Box::new(rec.row.clone())));
            }
        }
        self.inner.writer.submit(writes)
    }

    /// The task types each manifest declares (the supervisor's manifests, at start).
    pub fn declare_types(&self, declared: DeclaredTypes) {
        self.state().declared = declared;
    }

    /// The supervisor started a task process for `task_id`.
    pub fn task_process_started(&self, task_id: &str) {
        *self
            .state()
            .task_processes
            .entry(task_id.to_string())
            .or_default() += 1;
    }

    /// A task process the supervisor started for `task_id` is gone, and every process in its
    /// pid namespace with it.
    pub fn task_process_gone(&self, task_id: &str) {
        let mut st = self.state();
        if let Some(n) = st.task_processes.get_mut(task_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.task_processes.remove(task_id);
            }
        }
        self.inner.process_gone.notify_waiters();
    }

    /// Waits until no process of `task_id` is left, for at most the supervisor's stop grace
    /// (a task that has ended stops within it, or is killed). False if some is still there.
    async fn task_processes_gone(&self, task_id: &str) -> bool {
        let deadline = tokio::time::Instant::now() + self.inner.cfg.supervisor.stop_grace;
        loop {
            let gone = self.inner.process_gone.notified();
            if !self.state().task_processes.contains_key(task_id) {
                return true;
            }
            if tokio::time::timeout_at(deadline, gone).await.is_err() {
                return false;
            }
        }
    }

    /// A task process the supervisor started for `agent_id` has exited. If the attempt it ran has
    /// not ended (no result was reported), it is lost: retried, or canceled when a cancel was asked.
    pub fn task_process_exited(&self, agent_id: &str, task_id: &str, attempt: u32, how: &str) {
        let now = now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            if st.stopping {
                return;
            }
            let current = st.tasks.get(task_id).is_some_and(|a| {
                a.task.agent_id.as_deref() == Some(agent_id)
                    && a.task.attempts.len() as u32 == attempt
                    && a.task.state.holds_slot()
            });
            if !current {
                return;
            }
            let err = format!("its task process exited ({how}) before reporting a result");
            if let Err(e) = self.lose_attempt(&mut st, task_id, &err, now, &mut writes) {
                tracing::error!(task = task_id, error = %e, "ending an attempt failed");
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing a lost attempt failed");
    }

    /// A task process's workspace outgrew the quota (the supervisor stops it next): the task
    /// fails (no retry: it would outgrow it again), and the audit log says so.
    pub fn task_over_quota(&self, agent_id: &str, task_id: &str, attempt: u32, used: u64) {
        let now = now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            let Some(a) = st.tasks.get_mut(task_id).filter(|a| {
                a.task.agent_id.as_deref() == Some(agent_id)
                    && a.task.attempts.len() as u32 == attempt
                    && matches!(
                        a.task.state,
                        TaskState::Running | TaskState::AwaitingConsent
                    )
            }) else {
                return;
            };
            let quota = self.inner.cfg.sandbox.workspace_quota_bytes;
            let why = format!("its workspace outgrew the quota ({used} bytes > {quota})");
            if let Some(att) = a.task.attempts.last_mut() {
                att.ended_us = Some(now);
                att.error = why.clone();
            }
            a.deadline_us = None;
            a.cancel_by_us = None;
            match tasks::transition(&mut a.task, TaskState::Failed, why, now) {
                Ok(ev) => push_task(&mut writes, &a.task, ev, now),
                Err(e) => tracing::error!(task = task_id, error = %e, "failing a task failed"),
            }
            writes.push(Write::audit(
                now,
                "manager",
                "sandbox.quota_exceeded",
                Some(task_id),
                serde_json::json!({ "agent": agent_id, "bytes": used, "quota": quota }),
            ));
            if let Some(rec) = st.registry.get_mut(agent_id) {
                rec.holding.remove(task_id);
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing a failed task failed");
    }

    /// Once `pending` is stored, forgets ended tasks and wakes the dispatcher, in the background
    /// (for changes nobody waits on); a failure to store is logged as `what`.
    fn settle_later(&self, pending: Pending, what: &'static str) {
        let m = self.clone();
        tokio::spawn(async move {
            if let Err(e) = pending.wait().await {
                tracing::error!(error = %e, "{what}");
            }
            m.forget_ended();
            m.inner.wake.notify_one();
        });
    }

    /// A line an agent process wrote to stdout or stderr.
    /// Dropped while the disk is nearly full (`store.min_free_bytes`).
    pub fn agent_output(&self, agent_id: &str, stream: &str, line: String) -> Pending {
        if self.inner.disk.low().is_some() {
            return self.inner.writer.submit(Vec::new());
        }
        self.inner.writer.submit(vec![Write::Event {
            time_us: now_us(),
            body: EventBody::AgentOutput {
                agent_id: agent_id.to_string(),
                stream: stream.to_string(),
                line,
            },
        }])
    }

    // ----- agent-facing ------------------------------------------------------------------------

    /// Registers an agent (or re-registers it, replacing its old session).
    pub async fn register(&self, reg: Registration) -> Result<Registered> {
        check_name("agent name", &reg.name, 64)?;
        if reg.max_concurrency == 0 || reg.max_concurrency > 1024 {
            return Err(Error::InvalidInput(format!(
                "max_concurrency must be between 1 and 1024 (got {})",
                reg.max_concurrency
            )));
        }
        if !reg.cost.is_finite() || reg.cost < 0.0 {
            return Err(Error::InvalidInput(format!(
                "cost must be a finite number >= 0 (got {})",
                reg.cost
            )));
        }
        if reg.capabilities.is_empty() {
            return Err(Error::InvalidInput(
                "an agent must offer at least one task type".into(),
            ));
        }
        let mut compiled = Vec::new();
        for c in &reg.capabilities {
            check_name("task type name", &c.name, 128)?;
            if compiled.iter().any(|(n, _): &(String, _)| *n == c.name) {
                return Err(Error::InvalidInput(format!(
                    "task type `{}` is listed twice",
                    c.name
                )));
            }
            let s = schema::Compiled::new(&c.payload_schema_json)
                .map_err(|e| Error::InvalidInput(format!("task type `{}`: {e}", c.name)))?;
            compiled.push((c.name.clone(), s));
        }
        let token = random_secret()?;
        let now = now_us();
        let mut writes = Vec::new();
        let mut stop = Vec::new();
        let pending = {
            let mut st = self.state();
            for (name, s) in &compiled {
                let clash = st.registry.iter().find(|a| {
                    a.online
                        && a.row.id != reg.name
                        && a.row
                            .capabilities
                            .iter()
                            .any(|c| c.name == *name && c.payload_schema_json != s.source)
                });
                if let Some(other) = clash {
                    return Err(Error::InvalidInput(format!(
                        "task type `{name}` is already offered by online agent `{}` with a different payload schema; \
                         give the type a new name or stop that agent first",
                        other.row.id
                    )));
                }
            }
            let task_runner = self.identify(&st, &reg)?;
            self.check_declared(&st, &reg)?;
            let existing = st
                .registry
                .get(&reg.name)
                .map(|r| (r.row.clone(), r.holding.clone(), r.online));
            let (mut row, holding, was_online) = match existing {
                Some(e) => e,
                None => (
                    AgentRow {
                        id: reg.name.clone(),
                        version: String::new(),
                        capabilities: Vec::new(),
                        max_concurrency: 1,
                        cost: 0.0,
                        registered_us: now,
                        last_seen_us: now,
                        restarts: 0,
                        successes: 0,
                        failures: 0,
                    },
                    Default::default(),
                    false,
                ),
            };
            row.version = reg.version.clone();
            row.capabilities = reg.capabilities.clone();
            row.max_concurrency = reg.max_concurrency;
            row.cost = reg.cost;
            row.last_seen_us = now;
            // Online once its Work stream opens (see `open_work`): only then can it get work.
            let reason = if was_online {
                "registered again; waiting for its command stream"
            } else {
                "registered; waiting for its command stream"
            };
            let mut rec = AgentRecord::from_row(row, reason);
            rec.pid = reg.pid;
            rec.task_runner = task_runner;
            rec.holding = holding.clone();
            rec.stopping = reg
                .running_task_ids
                .iter()
                .filter(|t| !holding.contains(*t))
                .cloned()
                .collect();
            // Replace the record (keeping the session map consistent), then open a fresh session.
            st.registry.close_session(&reg.name);
            st.registry.insert(rec);
            st.registry
                .open_session(&reg.name, token.clone(), Instant::now());
            for (name, s) in compiled {
                st.schemas.insert(name, s);
            }
            // Tasks it still runs that are no longer its own: stop them. Tasks it holds but did not
            // report: lost with the old process.
            for t in &reg.running_task_ids {
                if !holding.contains(t) {
                    stop.push(t.clone());
                }
            }
            for t in holding.iter().filter(|t| !reg.running_task_ids.contains(t)) {
                self.lose_attempt(
                    &mut st,
                    t,
                    &format!("agent `{}` restarted without it", reg.name),
                    now,
                    &mut writes,
                )?;
            }
            let rec = st.registry.get(&reg.name).expect("just inserted");
            writes.push(Write::Agent(Box::new(rec.row.clone())));
            self.inner.writer.submit(writes)
        };
        pending.wait().await?;
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(Registered {
            agent_id: reg.name,
            session_token: token,
            stop_task_ids: stop,
        })
    }

    /// Checks that an agent offers only the task types that are its own: a supervised agent those
    /// its manifest declares, an agent the manager did not start none that a manifest declares.
    /// So no agent can take another's tasks (and their payloads) by naming its types, or keep
    /// the owner offline by holding a type first. Refusals are audited.
    fn check_declared(&self, st: &State, reg: &Registration) -> Result<()> {
        let refused = match st
            .declared
            .get(&reg.name)
            .filter(|_| st.supervised.contains_key(&reg.name))
        {
            Some(own) => {
                reg.capabilities
                    .iter()
                    .find(|c| !own.contains(&c.name))
                    .map(|c| {
                        format!(
                        "agent `{}` offers task type `{}`, which its manifest does not declare \
                         (it declares: {}); add it to `capabilities` in its agent.toml",
                        reg.name,
                        c.name,
                        if own.is_empty() { "none".to_string() } else { own.join(", ") }
                    )
                    })
            }
            None => reg.capabilities.iter().find_map(|c| {
                st.declared
                    .iter()
                    .find(|(_, types)| types.contains(&c.name))
                    .map(|(owner, _)| {
                        format!(
                            "task type `{}` belongs to agent `{owner}` (its manifest declares it); \
                             agent `{}` cannot offer it",
                            c.name, reg.name
                        )
                    })
            }),
        };
        let Some(refused) = refused else {
            return Ok(());
        };
        self.audit(
            &format!("pid:{}", reg.peer.map_or(0, |p| p.pid)),
            "agent.refused",
            None,
            serde_json::json!({ "agent": reg.name, "reason": refused }),
        );
        Err(Error::PermissionDenied(refused))
    }

    /// Checks that a registering process may use its name, and returns where its task commands
    /// go when it is confined. A supervised agent's name is taken only by the process the
    /// supervisor started (the kernel's peer credentials say who called); other agents are
    /// accepted only when `sandbox.allow_unsupervised_agents` is set, since nothing confines them.
    /// Refusals are audited.
    fn identify(
        &self,
        st: &State,
        reg: &Registration,
    ) -> Result<Option<mpsc::UnboundedSender<Command>>> {
        let peer_pid = reg.peer.map(|p| p.pid);
        // A confined agent is the only child of the reaper the supervisor started.
        let started_by_us = |pid: u32| {
            reg.peer
                .is_some_and(|p| p.pid == pid || p.parent == Some(pid))
        };
        let refused = match st.supervised.get(&reg.name) {
            Some(p) if started_by_us(p.pid) => return Ok(p.task_runner.clone()),
            Some(p) => format!(
                "agent name `{}` belongs to the agent this manager started (pid {}); the caller ({}) \
                 is not that process",
                reg.name,
                p.pid,
                peer_pid.map_or("a TCP peer".to_string(), |pid| format!("pid {pid}"))
            ),
            None if self.inner.cfg.sandbox.allow_unsupervised_agents => return Ok(None),
            None => format!(
                "agent `{}` was not started by this manager, so nothing confines it; start it from \
                 a manifest in an agent folder (serve --agents-dir), or set \
                 sandbox.allow_unsupervised_agents = true to accept unconfined agents",
                reg.name
            ),
        };
        self.audit(
            &format!("pid:{}", peer_pid.unwrap_or(0)),
            "agent.refused",
            None,
            serde_json::json!({ "agent": reg.name, "reason": refused }),
        );
        Err(Error::PermissionDenied(refused))
    }

    fn session_agent(st: &State, token: &str) -> Result<String> {
        if token.is_empty() {
            return Err(Error::Unauthenticated(
                "missing session token: call Register first".into(),
            ));
        }
        st.registry.agent_of_session(token).map(str::to_string).ok_or_else(|| {
            Error::FailedPrecondition(
                "unknown or replaced session (the manager restarted or the agent registered again); register again".into(),
            )
        })
    }

    /// A heartbeat: returns the tasks the agent must stop.
    pub fn heartbeat(&self, token: &str, load: f64, running: &[String]) -> Result<Vec<String>> {
        let mut st = self.state();
        let id = Self::session_agent(&st, token)?;
        let rec = st.registry.get_mut(&id).expect("session maps to an agent");
        if let Some(s) = rec.session.as_mut() {
            s.last_seen = Instant::now();
        }
        rec.load = if load.is_finite() {
            load.clamp(0.0, 1.0)
        } else {
            0.0
        };
        rec.row.last_seen_us = now_us();
        let holding = rec.holding.clone();
        let mut stop: Vec<String> = running
            .iter()
            .filter(|t| !holding.contains(*t))
            .cloned()
            .collect();
        rec.stopping = stop.iter().cloned().collect();
        stop.extend(
            holding
                .iter()
                .filter(|t| st.tasks.get(*t).is_some_and(|a| a.task.cancel_requested))
                .cloned(),
        );
        Ok(stop)
    }

    /// Opens the agent's command stream. Dropping the returned guard (the agent hung up) takes the
    /// agent offline at once.
    pub fn open_work(&self, token: &str) -> Result<(mpsc::UnboundedReceiver<Command>, WorkGuard)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.state();
        let id = Self::session_agent(&st, token)?;
        let rec = st.registry.get_mut(&id).expect("session maps to an agent");
        let session = rec.session.as_mut().expect("a mapped session exists");
        session.work = Some(tx);
        let session_id = session.id;
        rec.online = true;
        rec.status_reason = "connected".into();
        // Nothing is acknowledged here, so the caller need not wait for this to be stored.
        let _ = self.inner.writer.submit(vec![
            Write::Agent(Box::new(rec.row.clone())),
            Write::Event {
                time_us: now_us(),
                body: EventBody::AgentStatus {
                    agent_id: id.clone(),
                    online: true,
                    reason: "connected".into(),
                },
            },
        ]);
        let guard = WorkGuard {
            manager: self.clone(),
            agent_id: id,
            session_id,
        };
        drop(st);
        self.inner.wake.notify_one();
        Ok((rx, guard))
    }

    fn work_closed(&self, agent_id: &str, session_id: u64) {
        let now = now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            let current = st
                .registry
                .get(agent_id)
                .and_then(|r| r.session.as_ref())
                .is_some_and(|s| s.id == session_id);
            if !current {
                return;
            }
            if let Err(e) =
                self.go_offline(&mut st, agent_id, "its connection closed", now, &mut writes)
            {
                tracing::error!(agent = agent_id, error = %e, "taking agent offline failed");
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing an agent going offline failed");
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
        let claims = self.inner.tokens.verify(token, now_us())?;
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

    /// The agent accepts or rejects a task it was sent.
    pub async fn answer(
        &self,
        task_id: &str,
        token: &str,
        accepted: bool,
        reason: &str,
    ) -> Result<()> {
        let now = now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let a = st.tasks.get_mut(task_id).expect("authorized");
            match (a.task.state, accepted) {
                (TaskState::Assigned, true) => {
                    a.answer_by_us = None;
                    a.deadline_us = Some(now + i64::from(a.task.timeout_secs) * 1_000_000);
                    let ev = tasks::transition(
                        &mut a.task,
                        TaskState::Running,
                        format!("accepted by agent `{}`", claims.agent_id),
                        now,
                    )?;
                    push_task(&mut writes, &a.task, ev, now);
                }
                (TaskState::Assigned, false) => {
                    let why = if reason.is_empty() {
                        "no reason given"
                    } else {
                        reason
                    };
                    self.lose_attempt(
                        &mut st,
                        task_id,
                        &format!("rejected by agent `{}`: {why}", claims.agent_id),
                        now,
                        &mut writes,
                    )?;
                }
                (_, true) => return Ok(()),
                (s, false) => {
                    return Err(Error::FailedPrecondition(format!(
                        "task {task_id} is {s}; only an assigned task can be rejected"
                    )))
                }
            }
            self.inner.writer.submit(writes)
        };
        pending.wait().await?;
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Stores a batch of a task's log lines; returns the highest seq stored.
    pub async fn push_logs(&self, task_id: &str, token: &str, lines: Vec<LogLine>) -> Result<u64> {
        let max_lines = self.inner.cfg.agents.max_log_batch_lines as usize;
        if lines.len() > max_lines {
            return Err(Error::InvalidInput(format!(
                "{} log lines in one batch; at most {max_lines} (agents.max_log_batch_lines) are allowed",
                lines.len()
            )));
        }
        let max_bytes = self.inner.cfg.agents.max_log_line_bytes as usize;
        let task_cap = self.inner.cfg.agents.max_log_bytes_per_task;
        // An agent may send a task's batches without waiting for each acknowledgement; keep them
        // in order by holding a batch that arrived before its predecessor until that one is in.
        if let Some(first) = lines.first().map(|l| l.seq) {
            self.wait_for_log_seq(task_id, token, first.saturating_sub(1))
                .await?;
        }
        let now = now_us();
        let disk_low = self.inner.disk.low();
        let (pending, before, after) = {
            let mut st = self.state();
            let attempt = self.authorize(&st, task_id, token)?.attempt;
            let a = st.tasks.get_mut(task_id).expect("authorized");
            let before = a.log;
            // Lines are numbered by the agent within the attempt (a retry's process starts from
            // 1 again) and by the manager within the task, across attempts.
            let mut last = LogCursor {
                attempt,
                attempt_seq: before.accepted(attempt),
                ..before
            };
            let mut writes = Vec::with_capacity(lines.len());
            for mut line in lines {
                if line.seq <= last.attempt_seq {
                    if line.seq == 0 {
                        return Err(Error::InvalidInput("log line seq must start at 1".into()));
                    }
                    continue; // already stored: a resent batch
                }
                last.attempt_seq = line.seq;
                line.attempt = attempt;
                line.attempt_seq = line.seq;
                if a.log_dropped > 0 {
                    a.log_dropped += 1;
                    continue;
                }
                if line.time_us <= 0 {
                    line.time_us = now;
                }
                // A nearly full disk: the first line dropped says so, the rest are counted, and
                // when there is room again one more line says how many went.
                let dropping = disk_low.is_some();
                if let Some(d) = a.disk_drop.take_if(|d| !dropping || d.attempt != attempt) {
                    if d.count > 1 {
                        last.task_seq += 1;
                        writes.push(task_log(task_id, d.summary(last.task_seq, line.time_us)));
                    }
                }
                if let Some(free) = disk_low {
                    if let Some(d) = &mut a.disk_drop {
                        d.count += 1;
                        d.last = line.attempt_seq;
                        continue;
                    }
                    a.disk_drop = Some(DiskDrop {
                        attempt,
                        first: line.attempt_seq,
                        last: line.attempt_seq,
                        count: 1,
                    });
                    line.level = LogLevel::Warn;
                    line.message = format!(
                        "the disk holding the data directory has {free} bytes free, less than \
                         the {} (store.min_free_bytes) kept for HyperAgent's records: this \
                         task's log lines are dropped until there is room; the task goes on",
                        self.inner.disk.min_free()
                    );
                    line.fields.clear();
                }
                redact_in(&mut line.message, &a.secrets);
                truncate(&mut line.message, max_bytes);
                for v in line.fields.values_mut() {
                    redact_in(v, &a.secrets);
                    truncate(v, max_bytes);
                }
                let size = line.message.len()
                    + line
                        .fields
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                a.log_bytes += size as u64;
                if a.log_bytes > task_cap {
                    // One line in its place says what happened; the rest are counted, not kept.
                    a.log_dropped = 1;
                    line = LogLine {
                        seq: line.seq,
                        attempt,
                        attempt_seq: line.attempt_seq,
                        time_us: line.time_us,
                        level: LogLevel::Warn,
                        message: format!(
                            "log limit reached: this task's lines past {task_cap} bytes \
                             (agents.max_log_bytes_per_task) are dropped; the task goes on"
                        ),
                        fields: Default::default(),
                    };
                }
                last.task_seq += 1;
                line.seq = last.task_seq;
                writes.push(task_log(task_id, line));
            }
            a.log = last;
            a.log_moved.notify_waiters();
            (self.inner.writer.submit(writes), before, last)
        };
        if let Err(e) = pending.wait().await {
            // Let the agent's retry store these lines instead of skipping them as duplicates.
            if let Some(a) = self.state().tasks.get_mut(task_id) {
                if a.log == after {
                    a.log = before;
                }
            }
            return Err(e);
        }
        Ok(after.attempt_seq)
    }

    /// Waits (at most `agents.log_order_wait`) until a task's accepted log lines reach `seq`.
    async fn wait_for_log_seq(&self, task_id: &str, token: &str, seq: u64) -> Result<()> {
        let give_up = tokio::time::Instant::now() + self.inner.cfg.agents.log_order_wait;
        loop {
            let moved = {
                let st = self.state();
                // In order already (the usual case), or not a task we know: push_logs itself
                // authorizes and decides. Only a rightful caller may be held waiting.
                match st.tasks.get(task_id) {
                    Some(a) if a.log.accepted(a.task.attempts.len() as u32) < seq => {
                        self.authorize(&st, task_id, token)?;
                        a.log_moved.clone()
                    }
                    _ => return Ok(()),
                }
            };
            let notified = moved.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Checked again now that a wake-up cannot be missed.
            if self
                .state()
                .tasks
                .get(task_id)
                .is_none_or(|a| a.log.accepted(a.task.attempts.len() as u32) >= seq)
            {
                return Ok(());
            }
            if tokio::time::timeout_at(give_up, notified).await.is_err() {
                // The earlier lines never came: store these anyway; the gap is the agent's loss.
                return Ok(());
            }
        }
    }

    /// Records a task's progress.
    pub async fn report_progress(
        &self,
        task_id: &str,
        token: &str,
        mut progress: Progress,
    ) -> Result<()> {
        if !progress.fraction.is_finite() || progress.fraction > 1.0 {
            return Err(Error::InvalidInput(format!(
                "progress fraction must be between 0 and 1 (or negative for unknown), got {}",
                progress.fraction
            )));
        }
        let now = now_us();
        let pending = {
            let mut st = self.state();
            self.authorize(&st, task_id, token)?;
            let a = st.tasks.get_mut(task_id).expect("authorized");
            redact_in(&mut progress.step, &a.secrets);
            truncate(
                &mut progress.step,
                self.inner.cfg.agents.max_text_bytes as usize,
            );
            a.task.progress = Some(progress.clone());
            self.inner.writer.submit(vec![Write::Event {
                time_us: now,
                body: EventBody::TaskProgress {
                    task_id: task_id.to_string(),
                    progress,
                },
            }])
        };
        pending.wait().await
    }

    /// The agent's final result; returns the state the task ended in.
    pub async fn finish(
        &self,
        task_id: &str,
        token: &str,
        mut result: TaskResult,
    ) -> Result<TaskState> {
        let now = now_us();
        let mut writes = Vec::new();
        let (pending, end) = {
            let mut st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let stopping = st.stopping;
            let a = st.tasks.get_mut(task_id).expect("authorized");
            if stopping && result.status == ResultStatus::Canceled && !a.task.cancel_requested {
                // Stopped because the manager is stopping: not an end. The restart policy
                // decides at the next start.
                return Ok(a.task.state);
            }
            let max_text = self.inner.cfg.agents.max_text_bytes as usize;
            truncate(&mut result.summary, max_text);
            truncate(&mut result.error, max_text);
            for s in [
                &mut result.summary,
                &mut result.error,
                &mut result.output_json,
            ] {
                redact_in(s, &a.secrets);
            }
            if a.task.state == TaskState::Assigned {
                let ev = tasks::transition(
                    &mut a.task,
                    TaskState::Running,
                    "accepted (implicitly, by finishing)",
                    now,
                )?;
                writes.push(Write::Event {
                    time_us: now,
                    body: ev,
                });
            }
            let (end, reason) = match result.status {
                ResultStatus::Succeeded => (
                    TaskState::Completed,
                    format!("completed by agent `{}`", claims.agent_id),
                ),
                ResultStatus::Failed => (
                    TaskState::Failed,
                    format!("failed on agent `{}`: {}", claims.agent_id, result.error),
                ),
                ResultStatus::Canceled if a.task.cancel_requested => {
                    (TaskState::Canceled, a.task.status_reason.clone())
                }
                ResultStatus::Canceled => (
                    TaskState::Failed,
                    format!(
                        "agent `{}` stopped it without being asked: {}",
                        claims.agent_id, result.error
                    ),
                ),
            };
            if let Some(att) = a.task.attempts.last_mut() {
                att.ended_us = Some(now);
                if end != TaskState::Completed {
                    att.error = reason.clone();
                }
            }
            a.task.result = Some(result);
            let ev = tasks::transition(&mut a.task, end, reason, now)?;
            push_task(&mut writes, &a.task, ev, now);
            if let Some(rec) = st.registry.get_mut(&claims.agent_id) {
                rec.holding.remove(task_id);
                match end {
                    TaskState::Completed => rec.row.successes += 1,
                    TaskState::Failed => rec.row.failures += 1,
                    _ => {}
                }
                writes.push(Write::Agent(Box::new(rec.row.clone())));
            }
            (self.inner.writer.submit(writes), end)
        };
        pending.wait().await?;
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(end)
    }

    // ----- client-facing -----------------------------------------------------------------------

    /// Queues a task; returns it and whether it was created (false: an idempotent repeat).
    pub async fn submit(&self, sub: Submission) -> Result<(Task, bool)> {
        if let Some(free) = self.inner.disk.low() {
            return Err(self.inner.disk.refusal(free));
        }
        let cfg = &self.inner.cfg.tasks;
        if sub.payload_json.len() > cfg.max_payload_bytes as usize {
            return Err(Error::InvalidInput(format!(
                "payload is {} bytes; at most {} (tasks.max_payload_bytes) are allowed",
                sub.payload_json.len(),
                cfg.max_payload_bytes
            )));
        }
        let payload = schema::parse_payload(&sub.payload_json)?;
        let max_attempts = match sub.max_attempts {
            0 => cfg.default_max_attempts,
            n if n > cfg.max_attempts_limit => {
                return Err(Error::InvalidInput(format!(
                    "max_attempts {n} is more than the allowed {} (tasks.max_attempts_limit)",
                    cfg.max_attempts_limit
                )))
            }
            n => n,
        };
        let timeout_secs = match sub.timeout_secs {
            0 => cfg.default_timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32,
            n => n,
        };
        let root = self.workspace_root();
        let asked_workspace = match &sub.workspace {
            Some(w) => Some(workspace::resolve(&root, w)?),
            None => None,
        };
        if let Some(k) = &sub.idempotency_key {
            if k.is_empty() || k.len() > 256 {
                return Err(Error::InvalidInput(
                    "idempotency key must be 1 to 256 bytes".into(),
                ));
            }
            if let Some(t) = self.inner.store.task_by_idempotency_key(k).await? {
                return same_request(&t, &sub, asked_workspace.as_deref(), k).map(|()| (t, false));
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        let workspace = asked_workspace.clone().unwrap_or_else(|| root.join(&id));
        let now = now_us();
        let pending;
        let task;
        {
            let mut st = self.state();
            let known: Vec<&String> = {
                let mut v: Vec<&String> = st.schemas.keys().collect();
                v.sort();
                v
            };
            let compiled = st.schemas.get(&sub.task_type).ok_or_else(|| {
                Error::InvalidInput(if known.is_empty() {
                    format!(
                        "unknown task type `{}`: no agent has offered any task type yet",
                        sub.task_type
                    )
                } else {
                    format!(
                        "unknown task type `{}`; known task types: {}",
                        sub.task_type,
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })?;
            compiled.validate(&sub.task_type, &payload)?;
            if let Some(p) = &sub.pin_agent {
                let rec = st
                    .registry
                    .get(p)
                    .ok_or_else(|| Error::AgentNotFound(p.clone()))?;
                if !rec.offers(&sub.task_type) {
                    return Err(Error::InvalidInput(format!(
                        "pinned agent `{p}` does not offer task type `{}`",
                        sub.task_type
                    )));
                }
            }
            if let Some(k) = &sub.idempotency_key {
                if let Some(tid) = st.idempotency.get(k) {
                    let t = st
                        .tasks
                        .get(tid)
                        .map(|a| a.task.clone())
                        .expect("index points at active task");
                    return same_request(&t, &sub, asked_workspace.as_deref(), k)
                        .map(|()| (t, false));
                }
            }
            if let Some(other) = st.tasks.values().find(|a| {
                !a.task.state.is_terminal()
                    && workspace::overlaps(Path::new(&a.task.workspace), &workspace)
            }) {
                return Err(Error::FailedPrecondition(format!(
                    "workspace {} is in use by task {} ({}); choose another folder or wait until that task ends",
                    workspace.display(),
                    other.task.id,
                    other.task.state
                )));
            }
            // Once the input is valid and before the task exists, so no task lacks its folder
            // and no refused one leaves one behind. A few syscalls: cheaper inline than a hop to
            // the blocking pool.
            let made = workspace::create(&workspace)
                .map_err(|e| Error::io(format!("creating workspace {}", workspace.display()), e))?;
            if let Some(k) = &sub.idempotency_key {
                st.idempotency.insert(k.clone(), id.clone());
            }
            let t = Task {
                id: id.clone(),
                task_type: sub.task_type.clone(),
                payload_json: sub.payload_json.clone(),
                state: TaskState::Queued,
                agent_id: None,
                pin_agent: sub.pin_agent.clone(),
                idempotency_key: sub.idempotency_key.clone(),
                attempts: Vec::new(),
                max_attempts,
                timeout_secs,
                progress: None,
                result: None,
                status_reason: "submitted".into(),
                workspace: workspace.display().to_string(),
                workspace_made: made.map(|p| p.display().to_string()),
                created_us: now,
                updated_us: now,
                not_before_us: None,
                cancel_requested: false,
            };
            let mut writes = Vec::new();
            push_task(&mut writes, &t, tasks::submitted(&t), now);
            st.tasks.insert(
                id.clone(),
                Active {
                    task: t.clone(),
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
                },
            );
            task = t;
            pending = self.inner.writer.submit(writes);
        }
        pending.wait().await?;
        self.inner.wake.notify_one();
        Ok((task, true))
    }

    /// One task, active or historic.
    pub async fn get_task(&self, id: &str) -> Result<Task> {
        if let Some(a) = self.state().tasks.get(id) {
            return Ok(a.task.clone());
        }
        self.inner
            .store
            .get_task(id)
            .await?
            .ok_or_else(|| Error::TaskNotFound(id.to_string()))
    }

    /// Tasks, newest first; returns them and the next page token.
    pub async fn list_tasks(&self, mut q: TaskQuery) -> Result<(Vec<Task>, Option<String>)> {
        let max = self.inner.cfg.tasks.list_page_size;
        q.limit = if q.limit == 0 { max } else { q.limit.min(max) };
        let mut tasks = self.inner.store.list_tasks(&q).await?;
        // Active tasks change in memory before their rows are rewritten: show the live version.
        {
            let st = self.state();
            for t in &mut tasks {
                if let Some(a) = st.tasks.get(&t.id) {
                    *t = a.task.clone();
                }
            }
        }
        let next = (tasks.len() as u32 == q.limit)
            .then(|| tasks.last().map(|t| t.id.clone()))
            .flatten();
        Ok((tasks, next))
    }

    /// Cancels a task: at once when it is not running, else by telling its agent to stop.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<Task> {
        let now = now_us();
        let reason = if reason.is_empty() {
            "canceled by request".to_string()
        } else {
            format!("canceled: {reason}")
        };
        let mut writes = Vec::new();
        let active = self.state().tasks.contains_key(id);
        if !active {
            let t = self.get_task(id).await?;
            return Err(Error::FailedPrecondition(format!(
                "task {id} already ended ({}); there is nothing to cancel",
                t.state
            )));
        }
        let (pending, task) = {
            let mut st = self.state();
            let Some(a) = st.tasks.get_mut(id) else {
                return Err(Error::FailedPrecondition(format!(
                    "task {id} ended meanwhile; there is nothing to cancel"
                )));
            };
            if a.task.cancel_requested {
                return Ok(a.task.clone());
            }
            a.task.cancel_requested = true;
            match a.task.state {
                TaskState::Running | TaskState::AwaitingConsent => {
                    a.cancel_by_us = Some(now + us(self.inner.cfg.tasks.cancel_grace));
                    a.task.status_reason = reason.clone();
                    a.task.updated_us = now;
                    writes.push(Write::Task(Box::new(a.task.clone())));
                    writes.push(Write::audit(
                        now,
                        "client",
                        "task.cancel_requested",
                        Some(id),
                        serde_json::json!({ "reason": reason }),
                    ));
                    let agent = a.task.agent_id.clone().unwrap_or_default();
                    if let Some(rec) = st.registry.get(&agent) {
                        rec.send(Command::Stop {
                            task_id: id.to_string(),
                            reason: reason.clone(),
                        });
                    }
                }
                TaskState::Assigned => {
                    let agent = a.task.agent_id.clone().unwrap_or_default();
                    if let Some(att) = a.task.attempts.last_mut() {
                        att.ended_us = Some(now);
                        att.error = reason.clone();
                    }
                    let ev =
                        tasks::transition(&mut a.task, TaskState::Canceled, reason.clone(), now)?;
                    push_task(&mut writes, &a.task, ev, now);
                    if let Some(rec) = st.registry.get_mut(&agent) {
                        rec.holding.remove(id);
                        rec.send(Command::Stop {
                            task_id: id.to_string(),
                            reason: reason.clone(),
                        });
                    }
                }
                _ => {
                    let ev =
                        tasks::transition(&mut a.task, TaskState::Canceled, reason.clone(), now)?;
                    push_task(&mut writes, &a.task, ev, now);
                }
            }
            let task = st.tasks.get(id).expect("present").task.clone();
            (self.inner.writer.submit(writes), task)
        };
        pending.wait().await?;
        self.forget_ended();
        Ok(task)
    }

    /// Adds a permission rule (audited). Tasks assigned from now on get what it grants.
    pub async fn add_rule(
        &self,
        agent: Option<String>,
        kind: &str,
        target: &str,
        decision: policy::Decision,
        origin: &str,
    ) -> Result<policy::Rule> {
        if let Some(a) = &agent {
            check_name("agent name", a, 64)?;
        }
        let permission = policy::parse(kind, target)?;
        let rule = new_rule(agent, permission, decision, origin.to_string(), now_us());
        let pending = {
            let mut writes = Vec::new();
            put_rule(&mut self.state(), rule.clone(), origin, None, &mut writes);
            self.inner.writer.submit(writes)
        };
        pending.wait().await?;
        Ok(rule)
    }

    /// Revokes a rule (audited); it stays listed as revoked.
    pub async fn revoke_rule(&self, id: &str, actor: &str) -> Result<policy::Rule> {
        let now = now_us();
        let (pending, rule) = {
            let mut st = self.state();
            let rule = st.rules.iter_mut().find(|r| r.id == id).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no permission rule with id `{id}`; `hyperagent policy list` shows them"
                ))
            })?;
            if rule.revoked_us.is_some() {
                return Err(Error::FailedPrecondition(format!(
                    "rule {id} is already revoked"
                )));
            }
            rule.revoked_us = Some(now);
            let rule = rule.clone();
            let pending = self.inner.writer.submit(vec![
                Write::Rule(Box::new(rule.clone())),
                Write::audit(now, actor, "policy.rule_revoked", None, &rule),
            ]);
            (pending, rule)
        };
        pending.wait().await?;
        Ok(rule)
    }

    /// Every rule, oldest first; revoked ones only when asked.
    pub fn list_rules(&self, include_revoked: bool) -> Vec<policy::Rule> {
        self.state()
            .rules
            .iter()
            .filter(|r| include_revoked || r.revoked_us.is_none())
            .cloned()
            .collect()
    }

    /// An agent asks for a permission its task lacks. Decided at once by the rules or the task's
    /// earlier grants when they cover it; otherwise the task awaits consent until the person
    /// answers or `consent.timeout` passes (a denial). Everything is audited.
    pub async fn request_consent(
        &self,
        task_id: &str,
        token: &str,
        kind: &str,
        target: &str,
        reason: &str,
    ) -> Result<Consent> {
        let permission = policy::parse(kind, target)?;
        let claims = self.authorize(&self.state(), task_id, token)?;
        self.consent_for(
            task_id,
            &claims.agent_id,
            permission,
            reason,
            &claims.agent_id,
        )
        .await
    }

    /// The egress proxy asks whether a task may connect to `host:port` (asking the person on the
    /// task's behalf when no rule or grant decides). Returns the agent when it may.
    pub async fn egress_check(
        &self,
        task_id: &str,
        token: &str,
        host: &str,
        port: u16,
    ) -> Result<String> {
        let permission = policy::parse("connect", &format!("{host}:{port}"))?;
        let claims = self.authorize(&self.state(), task_id, token)?;
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &format!("a connection to {host}:{port} through the egress proxy"),
                "manager",
            )
            .await?;
        c.granted(&format!("connection to {host}:{port}"))?;
        Ok(claims.agent_id)
    }

    /// Appends an audit entry that nothing waits on (it commits with the writer's next group).
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        task_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        let _ =
            self.inner
                .writer
                .submit(vec![Write::audit(now_us(), actor, action, task_id, detail)]);
    }

    /// Decides a permission for a task by the rules and its grants, or asks the person.
    async fn consent_for(
        &self,
        task_id: &str,
        agent_id: &str,
        permission: policy::Permission,
        reason: &str,
        asker: &str,
    ) -> Result<Consent> {
        let mut reason = reason.trim().to_string();
        truncate(&mut reason, 2000);
        let now = now_us();
        enum Outcome {
            Decided(Consent),
            Asked(oneshot::Receiver<Consent>),
        }
        let (pending, outcome) = {
            let mut st = self.state();
            let a = st
                .tasks
                .get(task_id)
                .filter(|a| a.task.state.holds_slot())
                .ok_or_else(|| {
                    Error::FailedPrecondition(format!("task {task_id} is not running any more"))
                })?;
            // A task cannot bury the person in requests (or the manager in memory).
            let limits = &self.inner.cfg.consent;
            let waiting = st
                .consents
                .values()
                .filter(|p| p.consent.task_id == task_id)
                .count();
            if waiting >= limits.max_pending_per_task as usize
                || st.consents.len() >= limits.max_pending as usize
            {
                return Err(Error::FailedPrecondition(format!(
                    "too many permission requests waiting ({waiting} of this task's, {} in all; \
                     consent.max_pending_per_task = {}, consent.max_pending = {}): wait for an \
                     answer before asking again",
                    st.consents.len(),
                    limits.max_pending_per_task,
                    limits.max_pending
                )));
            }
            let mut c = Consent {
                id: uuid::Uuid::now_v7().to_string(),
                task_id: task_id.to_string(),
                agent_id: agent_id.to_string(),
                permission,
                reason,
                created_us: now,
                expires_us: now + us(self.inner.cfg.consent.timeout),
                status: Status::Pending,
                scope: None,
                answered_by: String::new(),
                answer_reason: String::new(),
            };
            let mut writes = Vec::new();
            match policy::decide(&st.rules, &a.task_grants, agent_id, &c.permission) {
                Some((decision, rule)) => {
                    c.answered_by = rule.map_or("an earlier grant to this task".into(), |r| {
                        format!("rule {}", r.id)
                    });
                    if decision == policy::Decision::Allow {
                        c.status = Status::Granted;
                    } else {
                        c.status = Status::Denied;
                        c.answer_reason = "a deny rule refuses it".into();
                    }
                    consent_writes(&mut writes, &c, "consent.decided", "policy", now);
                    (self.inner.writer.submit(writes), Outcome::Decided(c))
                }
                None => {
                    consent_writes(&mut writes, &c, "consent.requested", asker, now);
                    let a = st.tasks.get_mut(task_id).expect("present");
                    if a.task.state == TaskState::Running {
                        let ev = tasks::transition(
                            &mut a.task,
                            TaskState::AwaitingConsent,
                            format!(
                                "waiting for consent: {} {}",
                                c.permission.kind(),
                                c.permission.target()
                            ),
                            now,
                        )?;
                        push_task(&mut writes, &a.task, ev, now);
                    }
                    let (reply, answer) = oneshot::channel();
                    st.consents
                        .insert(c.id.clone(), PendingConsent { consent: c, reply });
                    (self.inner.writer.submit(writes), Outcome::Asked(answer))
                }
            }
        };
        pending.wait().await?;
        match outcome {
            Outcome::Decided(c) => Ok(c),
            Outcome::Asked(answer) => answer.await.map_err(|_| Error::ShuttingDown),
        }
    }

    /// The person answers a pending request: `Some(scope)` grants it that far, `None` denies it.
    pub async fn answer_consent(
        &self,
        id: &str,
        scope: Option<Scope>,
        actor: &str,
    ) -> Result<Consent> {
        let now = now_us();
        let (pending, reply, c) = {
            let mut st = self.state();
            let Some(p) = st.consents.remove(id) else {
                return Err(Error::FailedPrecondition(format!(
                    "no pending consent request `{id}`: it was answered, timed out, or its task \
                     ended (`hyperagent consent list` shows the pending ones)"
                )));
            };
            let mut writes = Vec::new();
            let reason = if scope.is_none() {
                "denied by the person"
            } else {
                ""
            };
            let c =
                self.resolve_consent(&mut st, p.consent, scope, actor, reason, now, &mut writes)?;
            (self.inner.writer.submit(writes), p.reply, c)
        };
        pending.wait().await?;
        let _ = reply.send(c.clone());
        Ok(c)
    }

    /// A task announces a destructive action on `paths` (overwrite or delete). The paths must be
    /// where the task may write; the person (or a rule) must agree; then what exists at them is
    /// snapshotted so `rollback` can restore it. Returns the action (its id is the rollback handle).
    pub async fn prepare_destructive(
        &self,
        task_id: &str,
        token: &str,
        description: &str,
        paths: &[String],
    ) -> Result<rollback::Action> {
        let permission = policy::parse("destructive", description)?;
        if paths.is_empty() || paths.len() > 1000 {
            return Err(Error::InvalidInput(format!(
                "a destructive action names 1 to 1000 paths (got {})",
                paths.len()
            )));
        }
        let (claims, workspace, grants) = {
            let st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let a = st.tasks.get(task_id).expect("authorized tasks are active");
            let grants = policy::grants(&st.rules, &a.task_grants, &claims.agent_id);
            (claims, std::path::PathBuf::from(&a.task.workspace), grants)
        };
        // Each path, where it really is: beneath the same folder (the workspace or a write grant)
        // with that folder's links resolved. A path through a link leading out is refused here,
        // before the person is asked.
        let may_write: Vec<&std::path::Path> = std::iter::once(workspace.as_path())
            .chain(grants.write.iter().map(|g| g.as_path()))
            .collect();
        let mut clean = Vec::with_capacity(paths.len());
        let mut roots: Vec<std::path::PathBuf> = Vec::new();
        for p in paths {
            let policy::Permission::Write(c) = policy::parse("write", p)? else {
                unreachable!("parse(\"write\") gives a write permission")
            };
            let Some(folder) = may_write
                .iter()
                .filter(|r| c.starts_with(r) && c != **r)
                .max_by_key(|r| r.as_os_str().len())
            else {
                return Err(Error::PermissionDenied(format!(
                    "{} is outside what task {task_id} may write (inside its workspace {} or its \
                     write grants; not the folders themselves)",
                    c.display(),
                    workspace.display()
                )));
            };
            let real = folder
                .canonicalize()
                .map_err(|e| Error::io(format!("resolving {}", folder.display()), e))?;
            let placed = real.join(c.strip_prefix(folder).unwrap_or(&c));
            rollback::check_inside(&placed, std::slice::from_ref(&real))
                .map_err(|e| Error::PermissionDenied(e.to_string()))?;
            if !roots.contains(&real) {
                roots.push(real);
            }
            clean.push(placed);
        }
        const LISTED: usize = 20;
        let mut listed: Vec<String> = clean
            .iter()
            .take(LISTED)
            .map(|p| p.display().to_string())
            .collect();
        if clean.len() > LISTED {
            listed.push(format!("and {} more", clean.len() - LISTED));
        }
        let reason = format!(
            "{description}: {} ({} path(s); what exists there now is snapshotted first, so it can \
             be rolled back)",
            listed.join(", "),
            clean.len()
        );
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &reason,
                &claims.agent_id,
            )
            .await?;
        c.granted(&format!("destructive action \"{description}\""))?;
        let id = uuid::Uuid::now_v7().to_string();
        let dir = self.snapshot_dir(&id);
        let to_copy = clean.clone();
        let snapshot_roots = roots.clone();
        let what = id.clone();
        let (entries, copied) = blocking(move || {
            rollback::snapshot(&to_copy, &snapshot_roots, &dir).map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Error::PermissionDenied(format!("snapshot for action {what} refused: {e}"))
                }
                _ => Error::io(format!("snapshotting for action {what}"), e),
            })
        })
        .await?;
        let now = now_us();
        let action = rollback::Action {
            id,
            task_id: task_id.to_string(),
            agent_id: claims.agent_id.clone(),
            description: description.to_string(),
            entries,
            roots,
            files: copied.files,
            bytes: copied.bytes,
            created_us: now,
            rolled_back_us: None,
        };
        self.inner
            .writer
            .submit(vec![
                Write::Action(Box::new(action.clone())),
                Write::audit(
                    now,
                    claims.agent_id,
                    "action.snapshotted",
                    Some(task_id),
                    serde_json::json!({
                        "action": action.id, "description": description, "consent": c.id,
                        "paths": action.entries, "files": copied.files, "bytes": copied.bytes,
                    }),
                ),
            ])
            .wait()
            .await?;
        Ok(action)
    }

    /// Restores the files of a destructive action exactly as they were before it (audited).
    pub async fn rollback(&self, id: &str, actor: &str) -> Result<rollback::Action> {
        let mut action = self.inner.store.get_action(id).await?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "no destructive action `{id}`; `hyperagent rollback --list` shows them"
            ))
        })?;
        if action.rolled_back_us.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "action {id} was already rolled back"
            )));
        }
        if self.state().tasks.contains_key(&action.task_id) {
            return Err(Error::FailedPrecondition(format!(
                "task {} that took action {id} is still running; cancel it or let it end first",
                action.task_id
            )));
        }
        // Ended, but nothing of it may run while the files are put back: wait for its process
        // (and with it everything in its pid namespace) to be gone.
        if !self.task_processes_gone(&action.task_id).await {
            return Err(Error::FailedPrecondition(format!(
                "task {} that took action {id} has ended but its processes are still stopping; \
                 try again in a moment",
                action.task_id
            )));
        }
        let dir = self.snapshot_dir(id);
        let entries = action.entries.clone();
        let roots = action.roots.clone();
        let what = id.to_string();
        blocking(move || {
            rollback::restore(&entries, &dir, &roots).map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Error::PermissionDenied(format!("rollback of action {what} refused: {e}"))
                }
                _ => Error::io(format!("rolling back action {what}"), e),
            })
        })
        .await?;
        let now = now_us();
        action.rolled_back_us = Some(now);
        self.inner
            .writer
            .submit(vec![
                Write::Action(Box::new(action.clone())),
                Write::audit(
                    now,
                    actor,
                    "action.rolled_back",
                    Some(&action.task_id),
                    serde_json::json!({
                        "action": id, "description": action.description, "paths": action.entries,
                    }),
                ),
            ])
            .wait()
            .await?;
        Ok(action)
    }

    /// Destructive actions, newest first.
    pub async fn list_actions(&self) -> Result<Vec<rollback::Action>> {
        self.inner
            .store
            .list_actions(self.inner.cfg.tasks.list_page_size)
            .await
    }

    fn snapshot_dir(&self, id: &str) -> std::path::PathBuf {
        self.inner.paths.data_dir.join("snapshots").join(id)
    }

    /// Stores a secret in the keychain (audited by name; the value goes nowhere else).
    pub async fn set_secret(&self, name: &str, value: &str, actor: &str) -> Result<()> {
        let (n, v) = (name.to_string(), value.to_string());
        blocking(move || crate::secrets::store(&n, &v)).await?;
        self.record_secret(name, true, actor).await
    }

    /// Deletes a secret from the keychain (audited).
    pub async fn delete_secret(&self, name: &str, actor: &str) -> Result<()> {
        let n = name.to_string();
        blocking(move || crate::secrets::delete(&n)).await?;
        self.record_secret(name, false, actor).await
    }

    /// Stores that a secret of this name is (or is no longer) in the keychain, and audits it.
    async fn record_secret(&self, name: &str, present: bool, actor: &str) -> Result<()> {
        let now = now_us();
        let action = if present {
            "secret.set"
        } else {
            "secret.deleted"
        };
        self.inner
            .writer
            .submit(vec![
                Write::SecretName {
                    name: name.to_string(),
                    present,
                    time_us: now,
                },
                Write::audit(
                    now,
                    actor,
                    action,
                    None,
                    serde_json::json!({ "name": name }),
                ),
            ])
            .wait()
            .await
    }

    /// The names of the stored secrets, with when each was last set (µs).
    pub async fn list_secrets(&self) -> Result<Vec<(String, i64)>> {
        self.inner.store.secret_names().await
    }

    /// A task asks for a secret: its agent's manifest must declare it, and the person (or a
    /// rule) must grant it. The value is handed over once, kept in memory to redact it from
    /// what the task reports, and its reading is audited (by name).
    pub async fn secret_for_task(&self, task_id: &str, token: &str, name: &str) -> Result<String> {
        let permission = policy::parse("secret", name)?;
        let claims = {
            let st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let declared = st
                .supervised
                .get(&claims.agent_id)
                .is_some_and(|p| p.secrets.iter().any(|s| s == name));
            if !declared {
                return Err(Error::PermissionDenied(format!(
                    "agent `{}` does not declare secret `{name}` in its manifest \
                     (secrets = [\"{name}\"] in agent.toml); it cannot ask for it",
                    claims.agent_id
                )));
            }
            claims
        };
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &format!("the task asks for secret `{name}`"),
                &claims.agent_id,
            )
            .await?;
        c.granted(&format!("secret `{name}`"))?;
        let n = name.to_string();
        let value = blocking(move || crate::secrets::load(&n)).await?;
        let pending = {
            let mut st = self.state();
            let a = st.tasks.get_mut(task_id).ok_or_else(|| {
                Error::FailedPrecondition(format!("task {task_id} ended meanwhile"))
            })?;
            a.secrets.push((name.to_string(), value.clone()));
            self.inner.writer.submit(vec![Write::audit(
                now_us(),
                claims.agent_id.clone(),
                "secret.read",
                Some(task_id),
                serde_json::json!({ "name": name, "consent": c.id }),
            )])
        };
        pending.wait().await?;
        Ok(value)
    }

    /// A line a task process wrote to stdout or stderr, with its task's secrets redacted.
    pub fn task_output(
        &self,
        agent_id: &str,
        task_id: &str,
        stream: &str,
        mut line: String,
        max_bytes: usize,
    ) {
        if let Some(a) = self.state().tasks.get(task_id) {
            redact_in(&mut line, &a.secrets);
        }
        truncate(&mut line, max_bytes);
        let _ = self.agent_output(agent_id, stream, format!("task {task_id}: {line}"));
    }

    /// Pending consent requests, oldest first.
    pub fn list_consents(&self) -> Vec<Consent> {
        let mut v: Vec<Consent> = self
            .state()
            .consents
            .values()
            .map(|p| p.consent.clone())
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Records an answer: applies a grant's scope (a task grant, or a persisted rule), audits it,
    /// and puts the task back to running once nothing else is pending for it.
    #[allow(clippy::too_many_arguments)]
    fn resolve_consent(
        &self,
        st: &mut State,
        mut c: Consent,
        scope: Option<Scope>,
        actor: &str,
        reason: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<Consent> {
        c.status = if scope.is_some() {
            Status::Granted
        } else {
            Status::Denied
        };
        c.scope = scope;
        c.answered_by = actor.to_string();
        c.answer_reason = reason.to_string();
        consent_writes(writes, &c, "consent.answered", actor, now);
        match scope {
            Some(Scope::Task) => {
                if let Some(a) = st.tasks.get_mut(&c.task_id) {
                    a.task_grants.push(c.permission.clone());
                }
            }
            Some(s @ (Scope::Agent | Scope::Always)) => {
                let rule = new_rule(
                    (s == Scope::Agent).then(|| c.agent_id.clone()),
                    c.permission.clone(),
                    policy::Decision::Allow,
                    format!("consent {}", c.id),
                    now,
                );
                put_rule(st, rule, actor, Some(&c.task_id), writes);
            }
            Some(Scope::Once) | None => {}
        }
        let still_waiting = st.consents.values().any(|p| p.consent.task_id == c.task_id);
        if let Some(a) = st.tasks.get_mut(&c.task_id) {
            if a.task.state == TaskState::AwaitingConsent
                && !still_waiting
                && !a.task.cancel_requested
            {
                let ev = tasks::transition(
                    &mut a.task,
                    TaskState::Running,
                    format!(
                        "consent {}: {} {}",
                        if scope.is_some() { "granted" } else { "denied" },
                        c.permission.kind(),
                        c.permission.target()
                    ),
                    now,
                )?;
                push_task(writes, &a.task, ev, now);
            }
        }
        Ok(c)
    }

    /// Denies the pending requests that timed out, or whose task ended or is being canceled; their
    /// askers hear the answer once it is stored.
    fn expire_consents(&self, st: &mut State, now: i64) {
        let due: Vec<(String, String)> = st
            .consents
            .values()
            .filter_map(|p| {
                let c = &p.consent;
                let task = st.tasks.get(&c.task_id);
                let why = if task.is_none_or(|a| !a.task.state.holds_slot()) {
                    "its task ended"
                } else if task.is_some_and(|a| a.task.cancel_requested) {
                    "its task is being canceled"
                } else if c.expires_us <= now {
                    "timeout"
                } else {
                    return None;
                };
                Some((c.id.clone(), why.to_string()))
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let mut writes = Vec::new();
        let mut replies = Vec::new();
        for (id, why) in due {
            let p = st.consents.remove(&id).expect("listed above");
            let reason = if why == "timeout" {
                format!(
                    "no answer within {}",
                    humantime::format_duration(self.inner.cfg.consent.timeout)
                )
            } else {
                why.clone()
            };
            match self.resolve_consent(st, p.consent, None, &why, &reason, now, &mut writes) {
                Ok(c) => replies.push((p.reply, c)),
                Err(e) => {
                    tracing::error!(consent = %id, error = %e, "expiring a consent request failed")
                }
            }
        }
        let pending = self.inner.writer.submit(writes);
        tokio::spawn(async move {
            if let Err(e) = pending.wait().await {
                tracing::error!(error = %e, "storing expired consent requests failed");
                return;
            }
            for (reply, c) in replies {
                let _ = reply.send(c);
            }
        });
    }

    /// Every known agent.
    pub fn list_agents(&self) -> Vec<AgentInfo> {
        let st = self.state();
        st.registry
            .iter()
            .map(|r| AgentInfo {
                row: r.row.clone(),
                online: r.online,
                status_reason: r.status_reason.clone(),
                running_task_ids: r.holding.iter().cloned().collect(),
                load: r.load,
                pid: if r.online { r.pid } else { 0 },
                supervised: st.supervised.contains_key(&r.row.id),
                confined: r.task_runner.is_some(),
            })
            .collect()
    }

    /// Every task type some agent has offered.
    pub fn list_task_types(&self) -> Vec<TaskTypeInfo> {
        let st = self.state();
        let mut out: BTreeMap<String, TaskTypeInfo> = BTreeMap::new();
        for r in st.registry.iter() {
            for c in &r.row.capabilities {
                let e = out.entry(c.name.clone()).or_insert_with(|| TaskTypeInfo {
                    task_type: c.clone(),
                    agent_ids: Vec::new(),
                    available: false,
                });
                // The schema in force is the one the manager validates with (the latest registered).
                if let Some(s) = st.schemas.get(&c.name) {
                    e.task_type.payload_schema_json = s.source.clone();
                }
                e.agent_ids.push(r.row.id.clone());
                e.available |= r.online;
            }
        }
        out.into_values().collect()
    }

    /// A page of a task's stored log lines and whether it is the last.
    pub async fn get_logs(
        &self,
        task_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<LogLine>, bool)> {
        let task = self.get_task(task_id).await?;
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        let lines = self.inner.store.task_logs(task_id, after, limit).await?;
        let complete = task.state.is_terminal() && (lines.len() as u32) < limit;
        Ok((lines, complete))
    }

    /// A page of the audit log (only `task_id`'s entries when given).
    pub async fn list_audit(
        &self,
        task_id: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crate::model::AuditEntry>> {
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        self.inner.store.audit_entries(task_id, after, limit).await
    }

    /// Checks the audit chain: entries read and the problems found.
    pub async fn verify_audit(&self) -> Result<(u64, Vec<String>)> {
        let head = crate::store::audit::Head::read(&self.inner.paths.audit_head);
        self.inner.store.verify_audit(head.as_ref()).await
    }

    /// Subscribes to the event feed (see [`Feed::subscribe`]). Checks that a filtered task exists.
    pub async fn subscribe(
        &self,
        after: Option<u64>,
        filter: EventFilter,
    ) -> Result<mpsc::Receiver<Result<Arc<crate::model::Event>>>> {
        if let Some(t) = &filter.task_id {
            self.get_task(t).await?;
        }
        Ok(self.inner.feed.subscribe(after, filter))
    }

    // ----- internals ---------------------------------------------------------------------------

    /// Ends the current attempt of `task_id` with `error`, frees its agent's slot, and re-queues the
    /// task with backoff or dead-letters it (or cancels it, when a cancel was pending).
    fn lose_attempt(
        &self,
        st: &mut State,
        task_id: &str,
        error: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let Some(a) = st.tasks.get_mut(task_id) else {
            return Ok(());
        };
        if let Some(att) = a.task.attempts.last_mut() {
            if att.ended_us.is_none() {
                att.ended_us = Some(now);
                att.error = error.to_string();
            }
        }
        a.answer_by_us = None;
        a.deadline_us = None;
        a.cancel_by_us = None;
        let agent = a.task.agent_id.clone().unwrap_or_default();
        if let Some(rec) = st.registry.get_mut(&agent) {
            rec.holding.remove(task_id);
            rec.row.failures += 1;
            writes.push(Write::Agent(Box::new(rec.row.clone())));
        }
        let a = st.tasks.get_mut(task_id).expect("present");
        let cfg = &self.inner.cfg.tasks;
        let tried = a.task.attempts.len() as u32;
        let (to, reason) = if a.task.cancel_requested {
            (
                TaskState::Canceled,
                format!("canceled; its attempt ended: {error}"),
            )
        } else if tried < a.task.max_attempts {
            let wait = scheduler::backoff(tried, cfg.retry_backoff_base, cfg.retry_backoff_max);
            a.task.not_before_us = Some(now + us(wait));
            (
                TaskState::Queued,
                format!(
                    "attempt {tried} of {} failed ({error}); retrying in {}",
                    a.task.max_attempts,
                    humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                ),
            )
        } else {
            let all: Vec<String> = a
                .task
                .attempts
                .iter()
                .map(|x| format!("{}) on `{}`: {}", x.number, x.agent_id, x.error))
                .collect();
            (
                TaskState::DeadLettered,
                format!("gave up after {tried} attempts: {}", all.join("; ")),
            )
        };
        let nb = a.task.not_before_us;
        let ev = tasks::transition(&mut a.task, to, reason, now)?;
        if to == TaskState::Queued {
            a.task.not_before_us = nb;
        }
        push_task(writes, &a.task, ev, now);
        Ok(())
    }

    /// A task just became interrupted: apply the restart policy or retry.
    fn after_interruption(
        &self,
        st: &mut State,
        task_id: &str,
        why: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        if self.inner.cfg.tasks.on_manager_restart == RestartPolicy::Fail
            && why.contains("manager restarted")
        {
            let a = st.tasks.get_mut(task_id).expect("present");
            if let Some(att) = a.task.attempts.last_mut() {
                att.ended_us.get_or_insert(now);
                att.error = why.to_string();
            }
            let ev = tasks::transition(
                &mut a.task,
                TaskState::Failed,
                format!("{why} (tasks.on_manager_restart = \"fail\")"),
                now,
            )?;
            push_task(writes, &a.task, ev, now);
            return Ok(());
        }
        self.lose_attempt(st, task_id, why, now, writes)
    }

    /// Takes an agent offline and re-queues what it held.
    fn go_offline(
        &self,
        st: &mut State,
        agent_id: &str,
        why: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let stopping = st.stopping;
        let (held, was_online): (Vec<String>, bool) = match st.registry.get_mut(agent_id) {
            Some(rec) if rec.online || rec.session.is_some() => {
                let was = rec.online;
                rec.online = false;
                rec.status_reason = why.to_string();
                rec.load = 0.0;
                (rec.holding.iter().cloned().collect(), was)
            }
            _ => return Ok(()),
        };
        st.registry.close_session(agent_id);
        let reason = format!("agent `{agent_id}` went offline: {why}");
        // Stopping: its tasks stay as they are for the restart policy.
        for t in held.into_iter().filter(|_| !stopping) {
            if let Some(a) = st.tasks.get_mut(&t) {
                let ev =
                    tasks::transition(&mut a.task, TaskState::Interrupted, reason.clone(), now)?;
                push_task(writes, &a.task, ev, now);
                self.lose_attempt(st, &t, &reason, now, writes)?;
            }
        }
        let rec = st.registry.get(agent_id).expect("present");
        writes.push(Write::Agent(Box::new(rec.row.clone())));
        if was_online {
            writes.push(Write::Event {
                time_us: now,
                body: EventBody::AgentStatus {
                    agent_id: agent_id.to_string(),
                    online: false,
                    reason: why.to_string(),
                },
            });
        }
        Ok(())
    }

    /// Drops ended tasks from memory once their final state is committed, and the folders the
    /// manager made for them that they left empty.
    fn forget_ended(&self) {
        let mut made = Vec::new();
        {
            let mut st = self.state();
            // After a failed write, memory may say a task ended that the database still has
            // running: its folder stays for the run after the restart.
            if self.inner.writer.failed().borrow().is_some() {
                return;
            }
            let ended: Vec<String> = st
                .tasks
                .iter()
                .filter(|(_, a)| a.task.state.is_terminal())
                .map(|(id, _)| id.clone())
                .collect();
            for id in ended {
                if let Some(a) = st.tasks.remove(&id) {
                    if let Some(k) = a.task.idempotency_key {
                        st.idempotency.remove(&k);
                    }
                    if let Some(top) = a.task.workspace_made {
                        made.push((a.task.workspace, top));
                    }
                }
            }
        }
        for (folder, top) in made {
            workspace::remove_made(Path::new(&folder), Path::new(&top));
        }
    }

    /// Assigns queued tasks to agents as the scheduler decides.
    fn dispatch(&self) -> Option<Pending> {
        let now = now_us();
        let mut st = self.state();
        if st.paused || st.stopping {
            return None;
        }
        let mut queue: Vec<&Active> = st
            .tasks
            .values()
            .filter(|a| a.task.state == TaskState::Queued)
            .collect();
        if queue.is_empty() {
            return None;
        }
        queue.sort_by(|x, y| x.task.id.cmp(&y.task.id));
        // Agents still stopping an old run of a task (usually none), by task.
        let mut stopping: HashMap<&str, Vec<String>> = HashMap::new();
        for r in st.registry.iter() {
            for t in &r.stopping {
                stopping
                    .entry(t.as_str())
                    .or_default()
                    .push(r.row.id.clone());
            }
        }
        let views: Vec<TaskView> = queue
            .iter()
            .map(|a| TaskView {
                id: a.task.id.clone(),
                task_type: a.task.task_type.clone(),
                pin_agent: a.task.pin_agent.clone(),
                not_before_us: a.task.not_before_us,
                tried: a.task.attempts.iter().map(|x| x.agent_id.clone()).collect(),
                excluded: stopping
                    .get(a.task.id.as_str())
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        let agents = st.registry.views();
        let (assigned, waiting) = scheduler::plan(&views, &agents, now);
        for (i, w) in waiting {
            let reason = w.describe(&views[i]);
            if let Some(a) = st.tasks.get_mut(&views[i].id) {
                if !matches!(w, scheduler::Wait::Backoff { .. }) {
                    a.task.status_reason = reason;
                }
            }
        }
        let mut writes = Vec::new();
        for asg in assigned {
            let task_id = &views[asg.task].id;
            let agent_id = &agents[asg.agent].id;
            if let Err(e) = self.assign(&mut st, task_id, agent_id, now, &mut writes) {
                tracing::error!(task = %task_id, agent = %agent_id, error = %e, "assignment failed");
            }
        }
        Some(self.inner.writer.submit(writes))
    }

    fn assign(
        &self,
        st: &mut State,
        task_id: &str,
        agent_id: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let answer_timeout = us(self.inner.cfg.agents.answer_timeout);
        let a = st.tasks.get_mut(task_id).expect("queued task exists");
        let number = a.task.attempts.len() as u32 + 1;
        let deadline_us = now + answer_timeout + i64::from(a.task.timeout_secs) * 1_000_000;
        a.task.agent_id = Some(agent_id.to_string());
        a.task.attempts.push(Attempt {
            number,
            agent_id: agent_id.to_string(),
            started_us: now,
            ended_us: None,
            error: String::new(),
        });
        a.answer_by_us = Some(now + answer_timeout);
        let ev = tasks::transition(
            &mut a.task,
            TaskState::Assigned,
            format!("sent to agent `{agent_id}` (attempt {number})"),
            now,
        )?;
        push_task(writes, &a.task, ev, now);
        let token = self.inner.tokens.sign(&Claims {
            task_id: task_id.to_string(),
            agent_id: agent_id.to_string(),
            attempt: number,
            expires_us: deadline_us + us(self.inner.cfg.tasks.cancel_grace),
        });
        let task_grants = st
            .tasks
            .get(task_id)
            .map(|a| a.task_grants.clone())
            .unwrap_or_default();
        let grants = policy::grants(&st.rules, &task_grants, agent_id);
        let a = st.tasks.get_mut(task_id).expect("queued task exists");
        if a.task.workspace_made.is_some() {
            // The folder the manager made for it may have gone as an empty one does when its
            // task ends: an end that was never stored (a crash, a failed write) leaves the task
            // to run again. It was empty then; it is made again, empty.
            if let Err(e) = std::fs::create_dir_all(&a.task.workspace) {
                tracing::warn!(error = %e, workspace = %a.task.workspace, "cannot make the task's folder again");
            }
        }
        let cmd = Command::Start(Box::new(StartCommand {
            task_id: task_id.to_string(),
            task_type: a.task.task_type.clone(),
            payload_json: a.task.payload_json.clone(),
            workspace: a.task.workspace.clone(),
            capability_token: token,
            deadline_us,
            attempt: number,
            grants: grants.clone(),
        }));
        let rec = st
            .registry
            .get_mut(agent_id)
            .expect("scheduler picked a known agent");
        // What the task process may touch, so the audit log alone tells what it could have done.
        writes.push(Write::audit(now, "manager", "task.confined", Some(task_id), serde_json::json!({
                "agent": agent_id,
                "attempt": number,
                "confined": rec.task_runner.is_some(),
                "workspace": a.task.workspace,
                "read": grants.read,
                "templates": self.inner.catalogue.dirs(),
                "write": grants.write,
                "connect": grants.connect.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>(),
            })));
        rec.holding.insert(task_id.to_string());
        if !rec.send(cmd) {
            self.lose_attempt(
                st,
                task_id,
                &format!("agent `{agent_id}` has no open command stream"),
                now,
                writes,
            )?;
        }
        Ok(())
    }

    /// Liveness, answer timeouts, run deadlines and cancel grace periods.
    fn tick(&self) -> Option<Pending> {
        let now = now_us();
        let timeout = self.inner.cfg.agents.heartbeat_timeout;
        let mut writes = Vec::new();
        let mut kill = Vec::new();
        let mut st = self.state();
        self.expire_consents(&mut st, now);
        let silent: Vec<String> = st
            .registry
            .iter()
            .filter(|r| {
                r.session
                    .as_ref()
                    .is_some_and(|s| s.last_seen.elapsed() > timeout)
            })
            .map(|r| r.row.id.clone())
            .collect();
        for id in silent {
            let why = format!("no heartbeat for {}", humantime::format_duration(timeout));
            if let Err(e) = self.go_offline(&mut st, &id, &why, now, &mut writes) {
                tracing::error!(agent = %id, error = %e, "taking agent offline failed");
            }
        }
        enum Due {
            Answer,
            Deadline,
            Cancel,
        }
        let due: Vec<(String, Due)> = st
            .tasks
            .values()
            .filter_map(|a| {
                let id = a.task.id.clone();
                if a.task.state == TaskState::Assigned && a.answer_by_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Answer))
                } else if a.task.cancel_requested && a.cancel_by_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Cancel))
                } else if a.task.state.holds_slot() && a.deadline_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Deadline))
                } else {
                    None
                }
            })
            .collect();
        for (id, due) in due {
            let a = st.tasks.get(&id).expect("present");
            let agent = a.task.agent_id.clone().unwrap_or_default();
            let timeout_secs = a.task.timeout_secs;
            let err = match due {
                Due::Answer => format!(
                    "agent `{agent}` did not answer within {}",
                    humantime::format_duration(self.inner.cfg.agents.answer_timeout)
                ),
                Due::Deadline => format!("timed out after {timeout_secs}s on agent `{agent}`"),
                Due::Cancel => {
                    kill.push(agent.clone());
                    format!(
                        "agent `{agent}` did not stop within {} of the cancel",
                        humantime::format_duration(self.inner.cfg.tasks.cancel_grace)
                    )
                }
            };
            if let Some(rec) = st.registry.get(&agent) {
                rec.send(Command::Stop {
                    task_id: id.clone(),
                    reason: err.clone(),
                });
            }
            if let Err(e) = self.lose_attempt(&mut st, &id, &err, now, &mut writes) {
                tracing::error!(task = %id, error = %e, "ending an attempt failed");
            }
        }
        let supervised: Vec<String> = kill
            .into_iter()
            .filter(|a| st.supervised.contains_key(a))
            .collect();
        drop(st);
        if !supervised.is_empty() {
            if let Some(tx) = self
                .inner
                .supervisor
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                for agent_id in supervised {
                    let _ = tx.send(SupervisorRequest::Kill {
                        agent_id,
                        reason: "it did not stop a canceled task in time".into(),
                    });
                }
            }
        }
        (!writes.is_empty()).then(|| self.inner.writer.submit(writes))
    }

    async fn housekeeping(self) {
        let mut shutdown = self.inner.shutdown.subscribe();
        let mut tick = tokio::time::interval(self.inner.cfg.tasks.tick_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let sweep_every = self.inner.cfg.store.retention_sweep_interval;
        let mut last_sweep: Option<Instant> = None;
        {
            let store = self.inner.store.clone();
            let every = self.inner.cfg.store.checkpoint_interval;
            let wal_limit = self.inner.cfg.store.wal_size_limit_bytes;
            let wal = {
                let mut p = self.inner.paths.database.clone().into_os_string();
                p.push("-wal");
                PathBuf::from(p)
            };
            let mut stop = self.inner.shutdown.subscribe();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            // A log that grew past its limit under load is cut back now (this
                            // waits for readers), not only when a checkpoint finds it idle.
                            let truncate = std::fs::metadata(&wal)
                                .is_ok_and(|m| m.len() > wal_limit);
                            if let Err(e) = store.checkpoint(truncate).await {
                                tracing::warn!(error = %e, "checkpoint failed");
                            }
                        }
                        _ = stop.changed() => return,
                    }
                }
            });
        }
        loop {
            let ticked = tokio::select! {
                _ = self.inner.wake.notified() => false,
                _ = tick.tick() => true,
                _ = shutdown.changed() => return,
            };
            let mut pendings = Vec::new();
            if ticked {
                pendings.extend(self.tick());
                if last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
                    last_sweep = Some(Instant::now());
                    let m = self.clone();
                    tokio::spawn(async move { m.sweep().await });
                }
            }
            pendings.extend(self.dispatch());
            for p in pendings {
                if let Err(e) = p.wait().await {
                    tracing::error!(error = %e, "storing a scheduling decision failed");
                }
            }
            self.forget_ended();
        }
    }
}

impl Manager {
    /// Retention: log lines past `store.log_retention`, the oldest ended tasks' lines while the
    /// database is over `store.max_database_bytes`, ended tasks past `store.task_retention`.
    pub async fn sweep(&self) {
        let cfg = &self.inner.cfg.store;
        let store = &self.inner.store;
        let now = now_us();
        let active: std::collections::HashSet<String> =
            self.state().tasks.keys().cloned().collect();
        let sweeps = [
            Sweep::OlderThan(now - us(cfg.log_retention)),
            Sweep::WhileOver(cfg.max_database_bytes),
        ];
        for sweep in sweeps {
            match store
                .sweep_logs(sweep, &active, now, cfg.write_batch_rows)
                .await
            {
                Ok(s) if s.lines > 0 => {
                    tracing::info!(
                        lines = s.lines,
                        tasks = s.tasks,
                        ?sweep,
                        "deleted log lines"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, ?sweep, "log retention sweep failed"),
            }
        }
        match store
            .delete_tasks_before(now - us(cfg.task_retention))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "deleted ended tasks past store.task_retention"),
            Err(e) => tracing::error!(error = %e, "task retention sweep failed"),
        }
        if let Err(e) = store.reclaim().await {
            tracing::warn!(error = %e, "giving free database pages back failed");
        }
    }
}

/// Held by an agent's open Work stream; dropping it takes the agent offline.
pub struct WorkGuard {
    manager: Manager,
    agent_id: String,
    session_id: u64,
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        self.manager.work_closed(&self.agent_id, self.session_id);
    }
}

/// Runs blocking work (keychain calls, copying a snapshot) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("a blocking task", std::io::Error::other(e)))?
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

/// A new rule in force from `now_us`, with a fresh id.
fn new_rule(
    agent: Option<String>,
    permission: policy::Permission,
    decision: policy::Decision,
    origin: String,
    now_us: i64,
) -> policy::Rule {
    policy::Rule {
        id: uuid::Uuid::now_v7().to_string(),
        created_us: now_us,
        agent,
        permission,
        decision,
        origin,
        revoked_us: None,
    }
}

/// Puts a new rule in force and queues its row and its audit entry.
fn put_rule(
    st: &mut State,
    rule: policy::Rule,
    actor: &str,
    task_id: Option<&str>,
    writes: &mut Vec<Write>,
) {
    writes.push(Write::Rule(Box::new(rule.clone())));
    writes.push(Write::audit(
        rule.created_us,
        actor,
        "policy.rule_added",
        task_id,
        &rule,
    ));
    st.rules.push(rule);
}

/// The feed event and the audit entry of a consent request as it now stands.
fn consent_writes(writes: &mut Vec<Write>, c: &Consent, action: &str, actor: &str, now: i64) {
    writes.push(Write::Event {
        time_us: now,
        body: EventBody::Consent { consent: c.clone() },
    });
    writes.push(Write::audit(now, actor, action, Some(&c.task_id), c));
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
        (None, _) => ("task.submitted", "client".to_string()),
        (_, TaskState::Running) => ("task.started", agent.clone()),
        (_, TaskState::Completed) => ("task.completed", agent.clone()),
        (_, TaskState::Failed) if task.result.is_some() => ("task.failed", agent.clone()),
        (_, TaskState::Failed) => ("task.failed", "manager".to_string()),
        (_, TaskState::Canceled) => ("task.canceled", "client".to_string()),
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

fn same_request(t: &Task, sub: &Submission, workspace: Option<&Path>, key: &str) -> Result<()> {
    let same_payload = serde_json::from_str::<serde_json::Value>(&t.payload_json).ok()
        == serde_json::from_str::<serde_json::Value>(&sub.payload_json).ok();
    let same_workspace = workspace.is_none_or(|w| Path::new(&t.workspace) == w);
    if t.task_type == sub.task_type
        && same_payload
        && t.pin_agent == sub.pin_agent
        && same_workspace
    {
        Ok(())
    } else {
        Err(Error::IdempotencyConflict {
            key: key.to_string(),
            task_id: t.id.clone(),
        })
    }
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

/// Cuts `s` to at most `max` bytes at a character boundary, marking the cut.
fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let total = s.len();
    let marker = format!(" … [truncated, {total} bytes]");
    let mut cut = max.saturating_sub(marker.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
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
