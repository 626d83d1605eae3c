//! Starts the agents described by manifests (`<agent_dir>/<name>/agent.toml`) as child processes,
//! each in its own process group; captures their stdout/stderr into the event feed; restarts crashed
//! ones with backoff; and stops them (SIGTERM, then SIGKILL after a grace period) leaving no process
//! behind. The manager is a child subreaper, so descendants that outlive their agent (e.g. a task's
//! `setsid` children) are re-parented to it and killed too (those outside the manager's own process
//! group: the desktop app's own children, its WebKit processes, are left alone).
//!
//! Every process it starts is confined by the kernel ([`crate::sandbox`]): an agent's own process
//! reads the system, its code and its folder, and writes only its state folder
//! (`<data_dir>/agents/<name>`, also its HOME and TMPDIR). Its tasks do not run in it: each task
//! runs in a fresh **task process** (the same command, told by `HYPERAGENT_TASK_STDIN=1` to read one
//! task as JSON on stdin) confined to that task's workspace plus the agent's state folder, started
//! here when the manager assigns the task and stopped here when it is canceled. The environment is
//! not inherited beyond a short list (PATH, locale), so secrets in the manager's environment do not
//! leak into agents.
//!
//! A confined agent in use keeps a few **warm** task processes ready (`warm_pool`): started and
//! confined as a task of its will be, waiting on stdin for one.
//!
//! This file holds what the manager sees (the [`Host`] trait, the types the two exchange,
//! [`Supervisor`]) and how the processes are started (confined or not). The rest, one concept
//! per file: `manifest` (manifests and what an agent may read), `agent` (one agent process's
//! life: start, watch, restart), `task_process` (the confined task processes), `warm_pool`
//! (those started before their task), `output` (their output, line by line, to the feed),
//! `process_tree` (stopping process trees, reaping orphans).
mod agent;
mod manifest;
mod output;
mod process_tree;
mod task_process;
mod warm_pool;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cgroup::Cgroups;
use crate::config::{self, WhenUnconfinable};
use crate::registry::Command as AgentCommand;

use agent::AgentRun;
use manifest::agent_read_paths;
pub(crate) use manifest::which;
pub use manifest::{Manifest, ManifestSandbox, Restart, RestartSection};
use process_tree::{become_subreaper, reap_orphans, Live};

/// The process the supervisor started for an agent.
#[derive(Clone, Debug)]
pub struct SupervisedProcess {
    /// Its pid: only a registration from this process may use the agent's name.
    pub pid: u32,
    /// Where its task commands go when it is confined (its tasks run in task processes); `None`
    /// when it runs unconfined and gets its tasks on its Work stream.
    pub task_runner: Option<mpsc::UnboundedSender<AgentCommand>>,
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

/// What the supervisor needs from the manager, and nothing more: the manager implements it (the
/// supervisor never sees the manager's state), and a test may stand in for it.
pub trait Host: Send + Sync + 'static {
    /// The configuration in force.
    fn config(&self) -> &config::Config;
    /// The resolved paths.
    fn paths(&self) -> &config::ResolvedPaths;
    /// The template folders task processes may read.
    fn template_dirs(&self) -> &[PathBuf];
    /// The folders the permission rules in force let every task of `agent` read (what a warm
    /// task process is confined to read beyond the agent's own read set).
    fn standing_reads(&self, agent: &str) -> Vec<PathBuf>;
    /// The task types the manifests declare, by agent.
    fn declare_types(&self, declared: DeclaredTypes);
    /// Where the manager's requests to the supervisor go.
    fn attach_supervisor(&self, tx: mpsc::UnboundedSender<SupervisorRequest>);
    /// An agent process started (or restarted).
    fn agent_process_started(
        &self,
        agent_id: &str,
        process: SupervisedProcess,
        restarted: bool,
    ) -> crate::store::Pending;
    /// A line an agent process wrote.
    fn agent_output(&self, agent_id: &str, stream: &str, line: String) -> crate::store::Pending;
    /// A task process started for `task_id`.
    fn task_process_started(&self, task_id: &str);
    /// A task process of `task_id` is gone (its whole process tree).
    fn task_process_gone(&self, task_id: &str);
    /// A task process exited; `how` says how.
    fn task_process_exited(&self, agent_id: &str, task_id: &str, attempt: u32, how: &str);
    /// A task's workspace went over its quota.
    fn task_over_quota(&self, agent_id: &str, task_id: &str, attempt: u32, used: u64);
    /// A line a task process wrote outside the SDK's log.
    fn task_output(
        &self,
        agent_id: &str,
        task_id: &str,
        stream: &str,
        line: String,
        max_bytes: usize,
    ) -> crate::store::Pending;
}

/// The manager as the supervisor holds it.
pub type HostRef = Arc<dyn Host>;

/// The running supervisor.
pub struct Supervisor {
    shutdown: watch::Sender<bool>,
    runs: Vec<JoinHandle<()>>,
    router: JoinHandle<()>,
    live: Live,
    cgroups: Option<Arc<Cgroups>>,
}

impl Supervisor {
    /// Starts every manifest's agent, pointing it at `socket`; confined when the kernel can
    /// confine, else as `sandbox.when_unavailable` says.
    pub fn start(manager: HostRef, manifests: Vec<Manifest>, socket: PathBuf) -> Supervisor {
        become_subreaper();
        let cfg = manager.config().supervisor.clone();
        let sandbox = manager.config().sandbox.clone();
        let mode = Mode::decide(&sandbox);
        let cgroups = task_cgroups(&mode, &sandbox);
        let (shutdown, _) = watch::channel(false);
        let mut kills: HashMap<String, mpsc::UnboundedSender<String>> = HashMap::new();
        let mut runs = Vec::new();
        let live = Live::default();
        let data_dir = manager.paths().data_dir.clone();
        // Stand-in workspaces of warm processes a stopped manager left (their processes died
        // with it).
        let warm_root = data_dir.join("warm");
        let _ = std::fs::remove_dir_all(&warm_root);
        manager.declare_types(
            manifests
                .iter()
                .map(|m| (m.name.clone(), m.capabilities.clone()))
                .collect(),
        );
        for m in manifests {
            let (ktx, krx) = mpsc::unbounded_channel();
            kills.insert(m.name.clone(), ktx);
            let run = AgentRun {
                manager: manager.clone(),
                state_dir: data_dir.join("agents").join(&m.name),
                warm_dir: warm_root.join(&m.name),
                agent_read: agent_read_paths(&m, &sandbox),
                manifest: m,
                socket: socket.clone(),
                egress_socket: manager.paths().egress_socket.clone(),
                cfg: cfg.clone(),
                sandbox: sandbox.clone(),
                mode: mode.clone(),
                shutdown: shutdown.subscribe(),
                kill: krx,
                live: live.clone(),
                cgroups: cgroups.clone(),
            };
            runs.push(tokio::spawn(run.run()));
        }
        let (rtx, rrx) = mpsc::unbounded_channel();
        manager.attach_supervisor(rtx);
        let router = tokio::spawn(route(rrx, kills));
        Supervisor {
            shutdown,
            runs,
            router,
            live,
            cgroups,
        }
    }

    /// Stops every agent (SIGTERM, grace, SIGKILL) and waits until none is left.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.router.abort();
        for run in self.runs {
            // Each run ends once its process tree is gone.
            let _ = run.await;
        }
        reap_orphans(&self.live).await;
        if let Some(c) = &self.cgroups {
            c.remove();
        }
    }
}

/// Whether the processes started here are confined.
#[derive(Clone, Debug)]
enum Mode {
    Confined,
    Unconfined,
    /// The kernel cannot confine and the policy says not to run agents; why.
    Refused(String),
}

impl Mode {
    /// Probes the kernel (unless the sandbox is switched off) and applies
    /// `sandbox.when_unavailable`, saying loudly in the log when agents run unconfined or not at
    /// all.
    fn decide(sandbox: &config::Sandbox) -> Mode {
        let probed = if sandbox.enabled {
            crate::sandbox::probe()
        } else {
            Err("sandbox.enabled = false".to_string())
        };
        match probed {
            Ok(support) => {
                if support.missing.is_empty() {
                    tracing::info!(landlock_abi = support.abi, "agents run confined");
                } else {
                    tracing::warn!(
                        landlock_abi = support.abi,
                        "agents run confined, but this kernel cannot enforce: {}",
                        support.missing.join("; ")
                    );
                }
                Mode::Confined
            }
            Err(why) if !sandbox.enabled => {
                tracing::warn!(reason = %why, "AGENTS RUN UNCONFINED: the sandbox is switched off");
                Mode::Unconfined
            }
            Err(why) => match sandbox.when_unavailable {
                WhenUnconfinable::Refuse => {
                    tracing::error!(
                        reason = %why,
                        "THIS MACHINE CANNOT CONFINE AGENTS; none is started \
                         (sandbox.when_unavailable = \"refuse\")"
                    );
                    Mode::Refused(why)
                }
                WhenUnconfinable::RunUnconfined => {
                    tracing::warn!(
                        reason = %why,
                        "THIS MACHINE CANNOT CONFINE AGENTS; they run UNCONFINED \
                         (sandbox.when_unavailable = \"run_unconfined\")"
                    );
                    Mode::Unconfined
                }
            },
        }
    }
}

/// Where task cgroups are made: only for confined processes with limits configured, and only
/// when this machine gives the manager cgroups (else tasks run without those limits, logged).
fn task_cgroups(mode: &Mode, sandbox: &config::Sandbox) -> Option<Arc<Cgroups>> {
    match (mode, sandbox.task_limits()) {
        (Mode::Confined, Some(limits)) => match Cgroups::detect(limits) {
            Ok(c) => Some(Arc::new(c)),
            Err(why) => {
                tracing::warn!(
                    reason = %why,
                    "tasks run without memory, CPU and process limits (no cgroup for them)"
                );
                None
            }
        },
        _ => None,
    }
}

/// Hands the manager's requests to the agent runs they are about, until the manager drops its
/// sender.
async fn route(
    mut requests: mpsc::UnboundedReceiver<SupervisorRequest>,
    kills: HashMap<String, mpsc::UnboundedSender<String>>,
) {
    while let Some(SupervisorRequest::Kill { agent_id, reason }) = requests.recv().await {
        if let Some(k) = kills.get(&agent_id) {
            let _ = k.send(reason);
        }
    }
}
