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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{self, WhenUnconfinable};
use crate::error::{Error, Result};
use crate::registry::{Command as AgentCommand, StartCommand};
use std::sync::Arc;

use crate::cgroup::{Cgroups, TaskCgroup};
use crate::peer::{stat_field, STAT_PGRP, STAT_PPID};
use crate::sandbox::Confinement;
use crate::scheduler::backoff;

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
    );
}

/// The manager as the supervisor holds it.
pub type HostRef = Arc<dyn Host>;

/// Environment variables passed from the manager to agents; everything else is dropped.
const PASSED_ENV: &[&str] = &["PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ"];

/// When a stopped agent process is started again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// After every exit.
    Always,
    /// After an exit with a non-zero status or a signal.
    #[default]
    OnFailure,
    /// Never.
    Never,
}

/// `[restart]` of a manifest.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartSection {
    /// The policy.
    #[serde(default)]
    pub policy: Restart,
}

/// `[sandbox]` of a manifest: what the agent needs beyond the defaults.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSandbox {
    /// Extra read-only paths (relative ones are relative to the manifest's folder).
    #[serde(default)]
    pub read: Vec<PathBuf>,
}

/// An agent manifest (`agent.toml`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The agent's name (its id once registered).
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Program and arguments; a program with a `/` is relative to the manifest's folder.
    pub command: Vec<String>,
    /// Task types it declares (it registers their schemas itself).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Restart policy.
    #[serde(default)]
    pub restart: RestartSection,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Extra confinement settings.
    #[serde(default)]
    pub sandbox: ManifestSandbox,
    /// Secrets its tasks may ask for (each still needs the person's consent).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The folder it was read from (set by the loader).
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Manifest {
    /// Reads and checks one manifest.
    pub fn load(path: &Path) -> Result<Manifest> {
        let err = |message: String| Error::Manifest {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut m: Manifest =
            toml::from_str(&text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        if m.command.is_empty() || m.command[0].is_empty() {
            return Err(err(
                "`command` must name a program, e.g. command = [\"python3\", \"-m\", \"my_agent\"]"
                    .into(),
            ));
        }
        if m.name.is_empty() {
            return Err(err("`name` must not be empty".into()));
        }
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for extra in &m.sandbox.read {
            check_manifest_read(&m.dir, extra).map_err(|why| {
                err(format!(
                    "[sandbox] read: `{}` {why}; a manifest may only name paths inside its agent's \
                     folder (relative, without `..`). To let agent `{}` read it, add a rule you \
                     can see and revoke: hyperagent policy allow --read {} --agent {}",
                    extra.display(),
                    m.name,
                    extra.display(),
                    m.name
                ))
            })?;
        }
        Ok(m)
    }

    /// Every manifest under `dirs` (`<dir>/*/agent.toml`), sorted by name, with the errors of those
    /// that could not be read.
    pub fn discover(dirs: &[PathBuf]) -> (Vec<Manifest>, Vec<Error>) {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for d in dirs {
            let entries = match std::fs::read_dir(d) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(Error::io(
                        format!("reading agent folder {}", d.display()),
                        e,
                    ));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("agent.toml"))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for p in paths {
                match Manifest::load(&p) {
                    Ok(m) => found.push(m),
                    Err(e) => errors.push(e),
                }
            }
        }
        found.sort_by(|a: &Manifest, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        (found, errors)
    }
}

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
        let probed = if sandbox.enabled {
            crate::sandbox::probe()
        } else {
            Err("sandbox.enabled = false".to_string())
        };
        let mode = match probed {
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
        };
        let cgroups = match (&mode, sandbox.task_limits()) {
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
        };
        let (shutdown, _) = watch::channel(false);
        let mut kills: HashMap<String, mpsc::UnboundedSender<String>> = HashMap::new();
        let mut runs = Vec::new();
        let live = Live::default();
        let data_dir = manager.paths().data_dir.clone();
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
        let (rtx, mut rrx) = mpsc::unbounded_channel();
        manager.attach_supervisor(rtx);
        let router = tokio::spawn(async move {
            while let Some(SupervisorRequest::Kill { agent_id, reason }) = rrx.recv().await {
                if let Some(k) = kills.get(&agent_id) {
                    let _ = k.send(reason);
                }
            }
        });
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

struct AgentRun {
    manager: HostRef,
    manifest: Manifest,
    /// `<data_dir>/agents/<name>`: the only folder the agent's own process may write.
    state_dir: PathBuf,
    /// What every process of the agent may read ([`agent_read_paths`]).
    agent_read: Vec<PathBuf>,
    socket: PathBuf,
    egress_socket: PathBuf,
    cfg: config::Supervisor,
    sandbox: config::Sandbox,
    mode: Mode,
    shutdown: watch::Receiver<bool>,
    kill: mpsc::UnboundedReceiver<String>,
    live: Live,
    /// Where task cgroups are made; `None` when this machine gives the manager none.
    cgroups: Option<Arc<Cgroups>>,
}

/// The task processes of one agent process, by task id.
#[derive(Default)]
struct TaskProcesses {
    stops: HashMap<String, oneshot::Sender<String>>,
    running: JoinSet<String>,
}

enum Ended {
    Exited(std::process::ExitStatus),
    Killed(String),
    Shutdown,
}

impl AgentRun {
    async fn run(mut self) {
        let name = self.manifest.name.clone();
        if let Mode::Refused(why) = &self.mode {
            let _ = self.manager.agent_output(
                &name,
                "stderr",
                format!(
                    "hyperagent: not started: this machine cannot confine agents ({why}) and \
                     sandbox.when_unavailable is \"refuse\""
                ),
            );
            return;
        }
        let mut failures: u32 = 0;
        let mut restarted = false;
        loop {
            let started = Instant::now();
            let mut child = match self.spawn() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(agent = %name, error = %e, "cannot start agent");
                    let _ = self.manager.agent_output(
                        &name,
                        "stderr",
                        format!("hyperagent: cannot start agent: {e}"),
                    );
                    failures += 1;
                    if !self.wait_backoff(failures).await {
                        return;
                    }
                    continue;
                }
            };
            let pid = child.id().unwrap_or(0);
            let (runner, mut commands) = mpsc::unbounded_channel();
            let process = SupervisedProcess {
                pid,
                task_runner: matches!(self.mode, Mode::Confined).then_some(runner),
                secrets: self.manifest.secrets.clone(),
            };
            let _ = self
                .manager
                .agent_process_started(&name, process, restarted);
            tracing::info!(agent = %name, pid, "agent started");
            let readers = self.capture(&mut child);
            let mut tasks = TaskProcesses::default();
            let ended = loop {
                tokio::select! {
                    s = child.wait() => break match s {
                        Ok(s) => Ended::Exited(s),
                        Err(e) => Ended::Killed(format!("waiting for it failed: {e}")),
                    },
                    Some(reason) = self.kill.recv() => break Ended::Killed(reason),
                    _ = self.shutdown.changed() => break Ended::Shutdown,
                    Some(cmd) = commands.recv() => self.task_command(cmd, &mut tasks),
                    Some(Ok(done)) = tasks.running.join_next() => {
                        tasks.stops.remove(&done);
                    }
                }
            };
            // Its task processes go with it.
            for (_, stop) in tasks.stops.drain() {
                let _ = stop.send("its agent process ended".into());
            }
            while tasks.running.join_next().await.is_some() {}
            if !matches!(ended, Ended::Exited(_)) {
                stop_tree(&mut child, pid, self.cfg.stop_grace).await;
            }
            lock(&self.live).remove(&pid);
            for r in readers {
                let _ = r.await;
            }
            reap_orphans(&self.live).await;
            let again = match &ended {
                Ended::Shutdown => return,
                Ended::Killed(reason) => {
                    tracing::warn!(agent = %name, reason = %reason, "agent killed");
                    true
                }
                Ended::Exited(s) => {
                    tracing::warn!(agent = %name, status = %s, "agent exited");
                    let _ = self.manager.agent_output(
                        &name,
                        "stderr",
                        format!("hyperagent: agent process exited: {s}"),
                    );
                    match self.manifest.restart.policy {
                        Restart::Always => true,
                        Restart::OnFailure => !s.success(),
                        Restart::Never => false,
                    }
                }
            };
            if !again {
                return;
            }
            failures = if started.elapsed() >= self.cfg.stable_after {
                1
            } else {
                failures + 1
            };
            restarted = true;
            if !self.wait_backoff(failures).await {
                return;
            }
        }
    }

    /// Starts or stops a task process.
    fn task_command(&self, cmd: AgentCommand, tasks: &mut TaskProcesses) {
        match cmd {
            AgentCommand::Start(start) => {
                let task_id = start.task_id.clone();
                let (stop, stopped) = oneshot::channel();
                let tmp = self.task_tmp(&start);
                match self.spawn_task(&start) {
                    Ok((child, cgroup)) => {
                        self.manager.task_process_started(&task_id);
                        tasks.stops.insert(task_id, stop);
                        tasks.running.spawn(run_task(TaskProcess {
                            manager: self.manager.clone(),
                            agent: self.manifest.name.clone(),
                            start: *start,
                            child,
                            cgroup,
                            tmp,
                            stopped,
                            cfg: self.cfg.clone(),
                            sandbox: self.sandbox.clone(),
                            live: self.live.clone(),
                        }));
                    }
                    Err(e) => {
                        tracing::error!(task = %task_id, error = %e, "cannot start task process");
                        self.manager.task_process_exited(
                            &self.manifest.name,
                            &task_id,
                            start.attempt,
                            &format!("it could not be started: {e}"),
                        );
                    }
                }
            }
            AgentCommand::Stop { task_id, reason } => {
                if let Some(stop) = tasks.stops.remove(&task_id) {
                    let _ = stop.send(reason);
                }
            }
        }
    }

    /// Waits the restart backoff; false when shutting down meanwhile.
    async fn wait_backoff(&mut self, failures: u32) -> bool {
        let wait = backoff(
            failures,
            self.cfg.restart_backoff_base,
            self.cfg.restart_backoff_max,
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => true,
            _ = self.shutdown.changed() => false,
        }
    }

    /// What a process of this agent may touch; the extras add a task's workspace and grants (and
    /// the egress proxy's socket).
    fn confinement(
        &self,
        cwd: &Path,
        extra_read: &[PathBuf],
        extra_write: &[PathBuf],
        extra_sockets: &[PathBuf],
    ) -> Confinement {
        let mut read = self.agent_read.clone();
        read.extend(extra_read.iter().cloned());
        let mut write = self.sandbox.device_paths.clone();
        write.push(self.state_dir.clone());
        write.extend(extra_write.iter().cloned());
        let first = self.sandbox.local_port_first;
        let mut local_ports: Vec<u16> =
            (first..first.saturating_add(self.sandbox.local_port_count)).collect();
        local_ports.push(self.sandbox.proxy_port);
        let mut sockets = vec![self.socket.clone()];
        sockets.extend(extra_sockets.iter().cloned());
        Confinement {
            read,
            write,
            max_file_bytes: self.sandbox.max_file_bytes,
            local_ports,
            sockets,
            tmp_bytes: self.sandbox.tmp_bytes,
            cwd: cwd.to_path_buf(),
            orphan_grace: self.cfg.stop_grace,
        }
    }

    /// The agent's command with its environment, output pipes, process group and confinement.
    fn command(
        &self,
        cwd: &Path,
        tmp: &Path,
        extra_read: &[PathBuf],
        extra_write: &[PathBuf],
        extra_sockets: &[PathBuf],
        cgroups: Vec<std::os::fd::OwnedFd>,
    ) -> std::io::Result<Command> {
        let m = &self.manifest;
        for d in [&self.state_dir, tmp] {
            std::fs::create_dir_all(d)?;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
        }
        let mut cmd = Command::new(program(&self.manifest));
        cmd.args(&m.command[1..])
            .current_dir(cwd)
            .env_clear()
            .envs(
                PASSED_ENV
                    .iter()
                    .filter_map(|k| Some((*k, std::env::var_os(k)?))),
            )
            .env("HOME", &self.state_dir)
            .env("TMPDIR", tmp)
            .env("XDG_CACHE_HOME", self.state_dir.join("cache"))
            .envs(&m.env)
            .env("HYPERAGENT_SOCKET", &self.socket)
            .env("HYPERAGENT_AGENT_NAME", &m.name)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // The manager's template folders are the agent's catalogue too (the same names resolve to
        // the same templates), and the only ones its task processes may read.
        if let Ok(dirs) = std::env::join_paths(self.manager.template_dirs()) {
            cmd.env("HYPERAGENT_TEMPLATE_DIRS", dirs);
        }
        let mut confined = match self.mode {
            Mode::Confined => Some(
                self.confinement(cwd, extra_read, extra_write, extra_sockets)
                    .prepare()
                    .map_err(|e| std::io::Error::other(e.to_string()))?,
            ),
            _ => None,
        };
        if let Some(c) = confined.as_mut() {
            c.join_cgroups(cgroups);
        }
        // SAFETY: prctl and the sandbox's syscalls are async-signal-safe and allocate nothing.
        // The process gets SIGTERM if the manager dies (even by SIGKILL), so a restarted manager
        // never finds stale agents.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Descriptors the manager inherited without close-on-exec (a shell's open file)
                // must not reach an agent: everything past stdio closes at exec.
                if libc::syscall(
                    libc::SYS_close_range,
                    3u32,
                    u32::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(c) = confined.as_mut() {
                    // In the forked child before exec, as `apply` requires.
                    c.apply()?;
                }
                Ok(())
            });
        }
        Ok(cmd)
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = self.command(
            &self.manifest.dir,
            &self.state_dir.join("tmp"),
            &[],
            &[],
            &[],
            Vec::new(),
        )?;
        cmd.stdin(Stdio::null());
        let mut live = lock(&self.live);
        let child = cmd.spawn()?;
        live.insert(child.id().unwrap_or(0));
        Ok(child)
    }

    /// A task process's private TMPDIR, removed when it exits.
    fn task_tmp(&self, start: &StartCommand) -> PathBuf {
        self.state_dir
            .join("tmp")
            .join(format!("task-{}", start.task_id))
    }

    /// Starts the process for one task, confined to its workspace, with the task on its stdin,
    /// in a cgroup of its own when the machine gives the manager cgroups.
    fn spawn_task(&self, start: &StartCommand) -> std::io::Result<(Child, Option<TaskCgroup>)> {
        let workspace = PathBuf::from(&start.workspace);
        let tmp = self.task_tmp(start);
        let mut write = vec![workspace.clone()];
        write.extend(start.grants.write.iter().cloned());
        // Project templates are read by the task that renders one (read-only; missing folders
        // are skipped, and a folder created later is in the read set of the next task).
        let mut read = start.grants.read.clone();
        read.extend(self.manager.template_dirs().iter().cloned());
        let mut cgroup = match &self.cgroups {
            Some(c) => Some(c.create(&format!("{}-{}", start.task_id, start.attempt))?),
            None => None,
        };
        let join = cgroup
            .as_mut()
            .map(TaskCgroup::take_join)
            .unwrap_or_default();
        let mut cmd = self.command(
            &workspace,
            &tmp,
            &read,
            &write,
            std::slice::from_ref(&self.egress_socket),
            join,
        )?;
        cmd.stdin(Stdio::piped()).env("HYPERAGENT_TASK_STDIN", "1");
        // Its only way out: the SDK's relay on this port, to the manager's egress proxy.
        let proxy = format!("http://127.0.0.1:{}", self.sandbox.proxy_port);
        cmd.env("HYPERAGENT_EGRESS_SOCKET", &self.egress_socket)
            .env("HYPERAGENT_PROXY_PORT", self.sandbox.proxy_port.to_string());
        for k in [
            "https_proxy",
            "HTTPS_PROXY",
            "http_proxy",
            "HTTP_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            cmd.env(k, &proxy);
        }
        cmd.env("no_proxy", "localhost,127.0.0.1,::1")
            .env("NO_PROXY", "localhost,127.0.0.1,::1");
        let mut live = lock(&self.live);
        match cmd.spawn() {
            Ok(child) => {
                live.insert(child.id().unwrap_or(0));
                Ok((child, cgroup))
            }
            Err(e) => {
                if let Some(c) = cgroup {
                    c.kill_and_remove();
                }
                Err(e)
            }
        }
    }

    fn capture(&self, child: &mut Child) -> Vec<JoinHandle<()>> {
        capture(
            &self.manager,
            &self.manifest.name,
            None,
            child,
            self.cfg.max_output_line_bytes as usize,
        )
    }
}

/// Why a manifest's extra read path is not one it may grant itself: it must stay inside the
/// agent's folder, also once its links are followed (an agent's author writes the manifest; only
/// the person grants more).
fn check_manifest_read(dir: &Path, extra: &Path) -> std::result::Result<(), &'static str> {
    use std::path::Component;
    if extra.is_absolute() {
        return Err("is absolute");
    }
    if extra
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("climbs out with `..`");
    }
    match (dir.canonicalize(), dir.join(extra).canonicalize()) {
        (Ok(d), Ok(p)) if !p.starts_with(&d) => Err("is a link leading outside the agent's folder"),
        _ => Ok(()),
    }
}

/// The agent's program: a path with a `/` is relative to the manifest's folder, else it is
/// looked up in PATH.
fn program(m: &Manifest) -> PathBuf {
    if m.command[0].contains('/') {
        m.dir.join(&m.command[0])
    } else {
        PathBuf::from(&m.command[0])
    }
}

/// What every process of an agent may read: the system paths, its code and the folder of agents
/// (for code they share, the SDK), its Python environment with the folders its `.pth` files name
/// (packages installed in development mode), and its manifest's extras. Worked out once per
/// agent: it reads files, and task processes start often.
fn agent_read_paths(m: &Manifest, sandbox: &config::Sandbox) -> Vec<PathBuf> {
    let mut read = sandbox.read_paths.clone();
    read.push(m.dir.clone());
    read.extend(m.dir.parent().map(Path::to_path_buf));
    if let Some(venv) = virtualenv_of(&program(m)) {
        read.extend(pth_paths(&venv));
        read.push(venv);
    }
    // Checked at load: inside the agent's folder.
    read.extend(m.sandbox.read.iter().map(|p| m.dir.join(p)));
    read
}

/// Relays a child's stdout and stderr line by line to the feed: as the agent's output, or, for a
/// task process, as its task's output (redacted). The handles end when the pipes close.
fn capture(
    manager: &HostRef,
    agent: &str,
    task: Option<&str>,
    child: &mut Child,
    max: usize,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    if let Some(s) = child.stdout.take() {
        out.push(tokio::spawn(pump(
            manager.clone(),
            agent.to_string(),
            "stdout",
            task.map(str::to_string),
            s,
            max,
        )));
    }
    if let Some(s) = child.stderr.take() {
        out.push(tokio::spawn(pump(
            manager.clone(),
            agent.to_string(),
            "stderr",
            task.map(str::to_string),
            s,
            max,
        )));
    }
    out
}

/// One running task process and what it needs to be fed, watched and stopped.
struct TaskProcess {
    manager: HostRef,
    agent: String,
    start: StartCommand,
    child: Child,
    /// Its cgroup, killed and removed when it exits.
    cgroup: Option<TaskCgroup>,
    /// Its private TMPDIR, removed when it exits.
    tmp: PathBuf,
    /// Fires (with the reason) when it must stop.
    stopped: oneshot::Receiver<String>,
    cfg: config::Supervisor,
    sandbox: config::Sandbox,
    live: Live,
}

/// Feeds a task process its task, relays its output, stops it when asked, and tells the manager
/// when it has exited. Returns the task id.
async fn run_task(p: TaskProcess) -> String {
    let TaskProcess {
        manager,
        agent,
        start,
        mut child,
        cgroup,
        tmp,
        stopped,
        cfg,
        sandbox,
        live,
    } = p;
    let pid = child.id().unwrap_or(0);
    let task = serde_json::json!({
        "task_id": start.task_id,
        "task_type": start.task_type,
        "payload_json": start.payload_json,
        "workspace": start.workspace,
        "capability_token": start.capability_token,
        "deadline_unix_ms": start.deadline_us / 1000,
        "attempt": start.attempt,
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A process that dies before reading its task shows up below as an exit.
        let _ = stdin.write_all(task.to_string().as_bytes()).await;
    }
    let readers = capture(
        &manager,
        &agent,
        Some(&start.task_id),
        &mut child,
        cfg.max_output_line_bytes as usize,
    );
    let workspace = PathBuf::from(&start.workspace);
    let mut check = tokio::time::interval(sandbox.quota_check_interval);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut over_quota = None;
    tokio::pin!(stopped);
    let how = loop {
        tokio::select! {
            s = child.wait() => break match s {
                Ok(s) => s.to_string(),
                Err(e) => format!("waiting for it failed: {e}"),
            },
            reason = &mut stopped => {
                let reason = reason.unwrap_or_else(|_| "its agent stopped".into());
                stop_tree(&mut child, pid, cfg.stop_grace).await;
                break format!("stopped: {reason}");
            }
            _ = check.tick(), if sandbox.workspace_quota_bytes > 0 => {
                let dir = workspace.clone();
                let used = tokio::task::spawn_blocking(move || disk_usage(&dir))
                    .await
                    .unwrap_or(0);
                if used > sandbox.workspace_quota_bytes {
                    // Fail the task first, so nothing the process reports while it stops counts.
                    manager.task_over_quota(&agent, &start.task_id, start.attempt, used);
                    over_quota = Some(used);
                    stop_tree(&mut child, pid, cfg.stop_grace).await;
                    break format!("stopped: its workspace outgrew the quota ({used} bytes)");
                }
            }
        }
    };
    lock(&live).remove(&pid);
    let mut how = how;
    if let Some(cg) = cgroup {
        if cg.ran_out_of_memory() {
            how = format!(
                "killed: it went over its memory limit ({} bytes, sandbox.task_memory_bytes)",
                sandbox.task_memory_bytes
            );
        }
        // Whatever it left (nothing, with its own pid namespace) goes with it.
        let _ = tokio::task::spawn_blocking(move || cg.kill_and_remove()).await;
    }
    for r in readers {
        let _ = r.await;
    }
    // Its private temporary folder goes with it.
    let _ = std::fs::remove_dir_all(&tmp);
    manager.task_process_gone(&start.task_id);
    if over_quota.is_none() {
        manager.task_process_exited(&agent, &start.task_id, start.attempt, &how);
    }
    start.task_id
}

/// `<venv>` when `program` (looked up in PATH when it has no `/`), or the interpreter its `#!`
/// line names, lives in `<venv>/bin` of a Python virtual environment, whose packages the agent
/// must be able to read.
fn virtualenv_of(program: &Path) -> Option<PathBuf> {
    let found = which(program)?;
    let venv = |p: &Path| {
        let root = p.parent()?.parent()?;
        root.join("pyvenv.cfg")
            .is_file()
            .then(|| root.to_path_buf())
    };
    venv(&found).or_else(|| venv(&which(&interpreter_of(&found)?)?))
}

/// Bytes a folder takes on disk (allocated blocks, so sparse files count as what they use),
/// without following symbolic links. Written by hand: a recursive walk with `symlink_metadata` is
/// all `du` does, and no crate would make it shorter.
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            total += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

/// The folders that a virtual environment's `.pth` files add to Python's path (where packages
/// installed in development mode live). Lines that run code (`import ...`) are not paths.
fn pth_paths(venv: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(libs) = std::fs::read_dir(venv.join("lib")) else {
        return out;
    };
    for lib in libs.flatten() {
        let Ok(files) = std::fs::read_dir(lib.path().join("site-packages")) else {
            continue;
        };
        for f in files.flatten() {
            if f.path().extension().is_none_or(|e| e != "pth") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with('/'))
                    .map(PathBuf::from),
            );
        }
    }
    out
}

/// `program` itself when it has a `/`, else the first match in PATH.
pub(crate) fn which(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| executable(p))
    })
}

/// The interpreter of a script's `#!` line (`#!/usr/bin/env python3` gives `python3`).
fn interpreter_of(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.lines().next()?;
    let mut words = line.strip_prefix("#!")?.split_whitespace();
    let first = words.next()?;
    let interp = if first.ends_with("/env") {
        words.find(|w| !w.starts_with('-'))?
    } else {
        first
    };
    Some(PathBuf::from(interp))
}

async fn pump(
    manager: HostRef,
    agent: String,
    stream: &'static str,
    task: Option<String>,
    src: impl AsyncRead + Unpin,
    max: usize,
) {
    let mut reader = BufReader::new(src);
    let mut buf = Vec::new();
    // A task's line is kept to twice the limit before it is redacted and cut to the limit, so a
    // secret cut by the bound (and shorter than the limit) lies past the final cut.
    let bound = if task.is_some() {
        max.saturating_mul(2)
    } else {
        max
    };
    loop {
        buf.clear();
        match read_bounded_line(&mut reader, &mut buf, bound).await {
            Ok(false) | Err(_) => return,
            Ok(true) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                match &task {
                    // Redacted before it is cut, so no part of a secret survives the cut.
                    Some(t) => manager.task_output(
                        &agent,
                        t,
                        stream,
                        String::from_utf8_lossy(&buf).into_owned(),
                        max,
                    ),
                    None => {
                        buf.truncate(max);
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        let _ = manager.agent_output(&agent, stream, line);
                    }
                }
            }
        }
    }
}

/// Reads one line into `buf`, keeping at most `bound` bytes of it and skipping the rest up to the
/// newline, so a process writing without newlines cannot make the manager hold more than `bound`
/// (tokio's `read_until` has no bound). False at end of input.
async fn read_bounded_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    bound: usize,
) -> std::io::Result<bool> {
    let mut any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let (line, used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..=i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = bound.saturating_sub(buf.len());
        buf.extend_from_slice(&line[..line.len().min(room)]);
        reader.consume(used);
        if done {
            return Ok(true);
        }
    }
}

/// SIGTERM to the agent's process group and every descendant, then SIGKILL to whatever is left
/// after `grace`.
async fn stop_tree(child: &mut Child, pid: u32, grace: Duration) {
    if pid == 0 {
        return;
    }
    let mut tree = descendants(pid);
    signal_all(pid, &tree, libc::SIGTERM);
    let exited = tokio::time::timeout(grace, child.wait()).await.is_ok();
    tree.extend(descendants(pid));
    if !exited {
        tracing::warn!(
            pid,
            "agent did not stop within the grace period; killing it"
        );
    }
    signal_all(pid, &tree, libc::SIGKILL);
    let _ = child.wait().await;
}

fn signal_all(pgid: u32, pids: &HashSet<u32>, sig: i32) {
    // SAFETY: plain signal sends; stale pids at worst fail with ESRCH.
    unsafe {
        libc::killpg(pgid as i32, sig);
        for p in pids {
            libc::kill(*p as i32, sig);
        }
    }
}

/// Every live process whose ancestry includes `root`.
fn descendants(root: u32) -> HashSet<u32> {
    let parents = parent_map();
    let mut out = HashSet::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&child, &parent) in &parents {
            if parent == p && out.insert(child) {
                frontier.push(child);
            }
        }
    }
    out
}

/// pid -> parent pid for every process, from /proc. (No crate reads this more simply.)
fn parent_map() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return map;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(ppid) = stat_field(pid, STAT_PPID) {
            map.insert(pid, ppid);
        }
    }
    map
}

fn become_subreaper() {
    // SAFETY: a process-wide flag; no memory is touched.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::warn!("cannot become a child subreaper; orphaned agent descendants may survive");
    }
}

/// Pids of the agent processes alive now: our direct children that are not orphans. Held while
/// spawning and while looking for orphans, so a new agent is never mistaken for one.
type Live = std::sync::Arc<std::sync::Mutex<HashSet<u32>>>;

fn lock(live: &Live) -> std::sync::MutexGuard<'_, HashSet<u32>> {
    live.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills and reaps processes re-parented to the manager (orphaned descendants of agents that
/// already exited). Agents (listed in `live`) and task processes run in process groups of their
/// own, and their descendants in those; a child in the manager's own group is one the host
/// process started itself (the desktop app's WebKit processes) and is none of ours to kill.
async fn reap_orphans(live: &Live) {
    let me = std::process::id();
    // SAFETY: getpgrp cannot fail.
    let own_group = unsafe { libc::getpgrp() };
    let orphans: Vec<u32> = {
        let live = lock(live);
        let orphans: Vec<u32> = parent_map()
            .into_iter()
            .filter(|(pid, ppid)| *ppid == me && !live.contains(pid))
            .filter(|(pid, _)| stat_field::<i32>(*pid, STAT_PGRP).is_some_and(|g| g != own_group))
            .map(|(pid, _)| pid)
            .collect();
        for pid in &orphans {
            // SAFETY: a signal to a process we are the parent of.
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
        orphans
    };
    for pid in orphans {
        // SAFETY: a targeted wait for a child of ours that tokio does not track.
        let _ = tokio::task::spawn_blocking(move || unsafe {
            libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_with_read(dir: &Path, read: &str) -> Result<Manifest> {
        let path = dir.join("agent.toml");
        std::fs::write(
            &path,
            format!("name = \"greedy\"\ncommand = [\"./a.py\"]\n[sandbox]\nread = [{read:?}]\n"),
        )
        .unwrap();
        Manifest::load(&path)
    }

    #[test]
    fn a_manifest_cannot_grant_itself_reads_outside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("models")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).unwrap();
        assert!(manifest_with_read(dir.path(), "models").is_ok());
        for (read, why) in [
            ("/root/.ssh", "is absolute"),
            ("../other", "climbs out with `..`"),
            ("etc-link", "is a link leading outside"),
        ] {
            let e = manifest_with_read(dir.path(), read)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{read}: {e}");
            assert!(e.contains("policy allow --read"), "{e}");
            assert!(e.contains("agent.toml"), "names the file: {e}");
        }
    }

    #[tokio::test]
    async fn a_line_longer_than_the_bound_is_cut_and_the_next_line_read_whole() {
        // 1 MiB without a newline, then a short line; read through a small buffer.
        let mut input = vec![b'x'; 1 << 20];
        input.extend_from_slice(b"\nnext\n");
        let mut reader = BufReader::with_capacity(4096, &input[..]);
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, vec![b'x'; 100]);
        assert!(buf.capacity() < 8192, "held {} bytes", buf.capacity());
        buf.clear();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"next\n");
        buf.clear();
        assert!(!read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
    }

    #[tokio::test]
    async fn a_last_line_without_a_newline_is_kept() {
        let mut reader = BufReader::new(&b"tail"[..]);
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"tail");
    }
}
