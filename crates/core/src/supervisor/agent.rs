//! One agent's process through its life: started with its environment and confinement, watched
//! until it exits or must be killed, and started again as its manifest's restart policy says,
//! after a backoff. While it runs, it starts and stops its task processes (`task_process.rs`).
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::manifest::{program, Manifest, Restart};
use super::output::capture;
use super::process_tree::{lock, reap_orphans, stop_tree, Ask, Live};
use super::task_process::TaskProcesses;
use super::{HostRef, Mode, SupervisedProcess};
use crate::cgroup::Cgroups;
use crate::config;
use crate::sandbox::Confinement;
use crate::scheduler::backoff;

/// Environment variables passed from the manager to agents; everything else is dropped.
/// The person's environment an agent keeps: where programs are, language and time zone, and the
/// trust store they chose (behind a company's TLS-inspecting proxy, the certificates without which
/// no download succeeds; the files they name are in the agent's read set).
pub(super) const PASSED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// One agent's process and everything it needs to start, confine, watch and restart it (and
/// its task processes).
pub(super) struct AgentRun {
    pub(super) manager: HostRef,
    pub(super) manifest: Manifest,
    /// `<data_dir>/agents/<name>`: the only folder the agent's own process may write.
    pub(super) state_dir: PathBuf,
    /// `<data_dir>/warm/<name>`: the stand-in workspaces of its warm task processes (out of
    /// reach of the agent's own process, which could otherwise swap one for a link).
    pub(super) warm_dir: PathBuf,
    /// What every process of the agent may read
    /// ([`agent_read_paths`](super::manifest::agent_read_paths)).
    pub(super) agent_read: Vec<PathBuf>,
    pub(super) socket: PathBuf,
    pub(super) egress_socket: PathBuf,
    pub(super) cfg: config::Supervisor,
    pub(super) sandbox: config::Sandbox,
    pub(super) mode: Mode,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) kill: mpsc::UnboundedReceiver<String>,
    pub(super) live: Live,
    /// Where task cgroups are made; `None` when this machine gives the manager none.
    pub(super) cgroups: Option<Arc<Cgroups>>,
}

/// Waits until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// How an agent process ended.
enum Ended {
    /// By itself, with this status.
    Exited(std::process::ExitStatus),
    /// Killed, or lost (waiting for it failed); why.
    Killed(String),
    /// The supervisor is stopping.
    Shutdown,
}

impl AgentRun {
    /// Runs the agent's process, again and again as its restart policy says (after a backoff
    /// that grows with quick failures), until it must not be restarted or the supervisor stops.
    #[tracing::instrument(name = "agent_process", skip_all, fields(agent = %self.manifest.name))]
    pub(super) async fn run(mut self) {
        if let Mode::Refused(why) = &self.mode {
            let _ = self.manager.agent_output(
                &self.manifest.name,
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
                    let name = &self.manifest.name;
                    tracing::error!(agent = %name, error = %e, "cannot start agent");
                    let _ = self.manager.agent_output(
                        name,
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
            let ended = self.supervise(&mut child, restarted).await;
            if !self.restarts_after(&ended) {
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

    /// Tells the manager a process started, starts and stops its task processes as the manager
    /// asks until the process ends (or must be killed, or the supervisor stops), then stops its
    /// task processes and whatever is left of its tree. Returns how it ended.
    async fn supervise(&mut self, child: &mut Child, restarted: bool) -> Ended {
        let name = self.manifest.name.clone();
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
        let readers = self.capture(child);
        let mut tasks = TaskProcesses::new();
        let ended = loop {
            let warm_deadline = self.warm_deadline(&tasks);
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
                _ = sleep_until_some(warm_deadline) => self.stop_idle_warm(&mut tasks),
                Some(()) = tasks.refill_due.recv() => self.refill_warm(&mut tasks),
            }
        };
        // Its task processes go with it, and its warm processes.
        for w in std::mem::take(&mut tasks.warm) {
            self.discard(w, &mut tasks);
        }
        tasks.stop_all("its agent process ended").await;
        if !matches!(ended, Ended::Exited(_)) {
            stop_tree(child, pid, self.cfg.stop_grace, Ask::Tree).await;
        }
        lock(&self.live).remove(&pid);
        for r in readers {
            let _ = r.await;
        }
        reap_orphans(&self.live).await;
        ended
    }

    /// Whether the process is started again after it ended so (as its manifest's restart policy
    /// says when it exited by itself; always when killed; never when the supervisor stops).
    fn restarts_after(&self, ended: &Ended) -> bool {
        let name = &self.manifest.name;
        match ended {
            Ended::Shutdown => false,
            Ended::Killed(reason) => {
                tracing::warn!(agent = %name, reason = %reason, "agent killed");
                true
            }
            Ended::Exited(s) => {
                tracing::warn!(agent = %name, status = %s, "agent exited");
                let _ = self.manager.agent_output(
                    name,
                    "stderr",
                    format!("hyperagent: agent process exited: {s}"),
                );
                match self.manifest.restart.policy {
                    Restart::Always => true,
                    Restart::OnFailure => !s.success(),
                    Restart::Never => false,
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
    pub(super) fn command(
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
        let nice = libc::c_int::from(m.limits.nice);
        // SAFETY: prctl, setpriority and the sandbox's syscalls are async-signal-safe and allocate nothing.
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
                // Lower priority only (a process may always raise its own niceness).
                if nice > 0 && libc::setpriority(libc::PRIO_PROCESS, 0, nice) != 0 {
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
