//! Starts the agents described by manifests (`<agent_dir>/<name>/agent.toml`) as child processes,
//! each in its own process group; captures their stdout/stderr into the event feed; restarts crashed
//! ones with backoff; and stops them (SIGTERM, then SIGKILL after a grace period) leaving no process
//! behind. The manager is a child subreaper, so descendants that outlive their agent (e.g. a task's
//! `setsid` children) are re-parented to it and killed too.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config;
use crate::error::{Error, Result};
use crate::manager::{Manager, SupervisorRequest};
use crate::scheduler::backoff;

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
}

impl Supervisor {
    /// Starts every manifest's agent, pointing it at `socket`.
    pub fn start(manager: Manager, manifests: Vec<Manifest>, socket: PathBuf) -> Supervisor {
        become_subreaper();
        let cfg = manager.config().supervisor.clone();
        let (shutdown, _) = watch::channel(false);
        let mut kills: HashMap<String, mpsc::UnboundedSender<String>> = HashMap::new();
        let mut runs = Vec::new();
        let live = Live::default();
        for m in manifests {
            let (ktx, krx) = mpsc::unbounded_channel();
            kills.insert(m.name.clone(), ktx);
            let run = AgentRun {
                manager: manager.clone(),
                manifest: m,
                socket: socket.clone(),
                cfg: cfg.clone(),
                shutdown: shutdown.subscribe(),
                kill: krx,
                live: live.clone(),
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
    }
}

struct AgentRun {
    manager: Manager,
    manifest: Manifest,
    socket: PathBuf,
    cfg: config::Supervisor,
    shutdown: watch::Receiver<bool>,
    kill: mpsc::UnboundedReceiver<String>,
    live: Live,
}

enum Ended {
    Exited(std::process::ExitStatus),
    Killed(String),
    Shutdown,
}

impl AgentRun {
    async fn run(mut self) {
        let name = self.manifest.name.clone();
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
            let _ = self.manager.agent_process_started(&name, pid, restarted);
            tracing::info!(agent = %name, pid, "agent started");
            let readers = self.capture(&mut child);
            let ended = tokio::select! {
                s = child.wait() => match s {
                    Ok(s) => Ended::Exited(s),
                    Err(e) => Ended::Killed(format!("waiting for it failed: {e}")),
                },
                Some(reason) = self.kill.recv() => Ended::Killed(reason),
                _ = self.shutdown.changed() => Ended::Shutdown,
            };
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

    fn spawn(&self) -> std::io::Result<Child> {
        let m = &self.manifest;
        let program = if m.command[0].contains('/') {
            m.dir.join(&m.command[0])
        } else {
            PathBuf::from(&m.command[0])
        };
        let mut cmd = Command::new(program);
        cmd.args(&m.command[1..])
            .current_dir(&m.dir)
            .envs(&m.env)
            .env("HYPERAGENT_SOCKET", &self.socket)
            .env("HYPERAGENT_AGENT_NAME", &m.name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe and allocates nothing. The agent gets SIGTERM if the
        // manager dies (even by SIGKILL), so a restarted manager never finds stale agents.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut live = lock(&self.live);
        let child = cmd.spawn()?;
        live.insert(child.id().unwrap_or(0));
        Ok(child)
    }

    fn capture(&self, child: &mut Child) -> Vec<JoinHandle<()>> {
        let max = self.cfg.max_output_line_bytes as usize;
        let mut out = Vec::new();
        if let Some(s) = child.stdout.take() {
            out.push(tokio::spawn(pump(
                self.manager.clone(),
                self.manifest.name.clone(),
                "stdout",
                s,
                max,
            )));
        }
        if let Some(s) = child.stderr.take() {
            out.push(tokio::spawn(pump(
                self.manager.clone(),
                self.manifest.name.clone(),
                "stderr",
                s,
                max,
            )));
        }
        out
    }
}

async fn pump(
    manager: Manager,
    agent: String,
    stream: &'static str,
    src: impl AsyncRead + Unpin,
    max: usize,
) {
    let mut reader = BufReader::new(src);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                buf.truncate(max);
                let line = String::from_utf8_lossy(&buf).into_owned();
                let _ = manager.agent_output(&agent, stream, line);
            }
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
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
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
/// already exited). Our only other children are the live agents, listed in `live`.
async fn reap_orphans(live: &Live) {
    let me = std::process::id();
    let orphans: Vec<u32> = {
        let live = lock(live);
        let orphans: Vec<u32> = parent_map()
            .into_iter()
            .filter(|(pid, ppid)| *ppid == me && !live.contains(pid))
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
