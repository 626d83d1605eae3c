//! The confined task processes: one per task of a confined agent, the agent's command told by
//! `HYPERAGENT_TASK_STDIN=1` to read its task as JSON on stdin. Each is confined afresh (what the
//! agent may read, the template folders read-only, the task's workspace and grants), with the
//! egress proxy as its only way out and a cgroup of its own when the machine gives the manager
//! cgroups. Started when the manager assigns the task, stopped when it is canceled or outgrows
//! its workspace quota, and reported to the manager when gone.
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::agent::AgentRun;
use super::output::capture;
use super::process_tree::{lock, stop_tree, Ask, Live};
use super::warm_pool::Warm;
use super::HostRef;
use crate::cgroup::TaskCgroup;
use crate::config;
use crate::registry::{Command as AgentCommand, StartCommand};

/// The task processes of one agent process, by task id.
pub(super) struct TaskProcesses {
    /// Tells a running task process to stop, with the reason.
    pub(super) stops: HashMap<String, oneshot::Sender<String>>,
    /// Each ends, giving its task id, once its process is gone (a warm process stopped
    /// without a task gives an empty one).
    pub(super) running: JoinSet<String>,
    /// Warm processes waiting for a task, longest-waiting first (`warm_pool.rs`).
    pub(super) warm: VecDeque<Warm>,
    /// Told once a task that may take a warm process has its task on its stdin: the pool fills
    /// again then, not before (starting a process blocks for the time its sandbox takes to build,
    /// which the task would otherwise wait through).
    pub(super) refill: mpsc::UnboundedSender<()>,
    pub(super) refill_due: mpsc::UnboundedReceiver<()>,
}

impl TaskProcesses {
    pub(super) fn new() -> TaskProcesses {
        let (refill, refill_due) = mpsc::unbounded_channel();
        TaskProcesses {
            stops: HashMap::new(),
            running: JoinSet::new(),
            warm: VecDeque::new(),
            refill,
            refill_due,
        }
    }

    /// Stops them all for `reason` and waits until every one is gone.
    pub(super) async fn stop_all(&mut self, reason: &str) {
        for (_, stop) in self.stops.drain() {
            let _ = stop.send(reason.into());
        }
        while self.running.join_next().await.is_some() {}
    }
}

impl AgentRun {
    /// Starts or stops a task process.
    pub(super) fn task_command(&self, cmd: AgentCommand, tasks: &mut TaskProcesses) {
        match cmd {
            AgentCommand::Start(start) => {
                let task_id = start.task_id.clone();
                let (stop, stopped) = oneshot::channel();
                let eligible = self.warm_eligible(&start);
                let warm = if eligible {
                    self.take_warm(&start, tasks)
                } else {
                    None
                };
                let started = match warm {
                    Some(w) => Ok((w.child, w.cgroup, w.tmp)),
                    None => self
                        .spawn_task(&start)
                        .map(|(child, cgroup)| (child, cgroup, self.task_tmp(&start))),
                };
                match started {
                    Ok((child, cgroup, tmp)) => {
                        self.manager.task_process_started(&task_id);
                        tasks.stops.insert(task_id, stop);
                        // The agent is in use: once this task has its task, the next one like it
                        // finds a process waiting.
                        let refill = eligible.then(|| tasks.refill.clone());
                        tasks.running.spawn(run_task(TaskProcess {
                            refill,
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
            // Messages go to the agent's own Work stream (`AgentRecord::deliver`), never here.
            AgentCommand::Message(m, _) => {
                tracing::warn!(message = %m.id, "a message reached the task runner; dropped (it is delivered again)");
            }
        }
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
        let mut write = vec![workspace.clone()];
        write.extend(start.grants.write.iter().cloned());
        let name = format!("{}-{}", start.task_id, start.attempt);
        self.spawn_confined(
            &workspace,
            &self.task_tmp(start),
            &start.grants.read,
            &write,
            &name,
        )
    }

    /// Starts a task process working in `cwd`, confined to write beneath `write` and read the
    /// agent's read set plus `read` and the template folders, in a cgroup named `name` when the
    /// machine gives the manager cgroups. Its stdin is a pipe the task will be written to.
    pub(super) fn spawn_confined(
        &self,
        cwd: &Path,
        tmp: &Path,
        read: &[PathBuf],
        write: &[PathBuf],
        name: &str,
    ) -> std::io::Result<(Child, Option<TaskCgroup>)> {
        // Project templates are read by the task that renders one (read-only; missing folders
        // are skipped, and a folder created later is in the read set of the next task).
        let mut read = read.to_vec();
        read.extend(self.manager.template_dirs().iter().cloned());
        let mut cgroup = match &self.cgroups {
            Some(c) => Some(c.create_with(name, self.manifest.limits.tighten(c.limits()))?),
            None => None,
        };
        let join = cgroup
            .as_mut()
            .map(TaskCgroup::take_join)
            .unwrap_or_default();
        let mut cmd = self.command(
            cwd,
            tmp,
            &read,
            write,
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
    /// Told once the task is on its stdin, when the agent's warm pool should fill again.
    refill: Option<mpsc::UnboundedSender<()>>,
}

/// Feeds a task process its task, relays its output, stops it when asked, and tells the manager
/// when it has exited. Returns the task id.
#[tracing::instrument(name = "task_process", skip_all, fields(agent = %p.agent, task = %p.start.task_id, attempt = p.start.attempt))]
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
        refill,
    } = p;
    let pid = child.id().unwrap_or(0);
    hand_over(&mut child, &start, manager.config()).await;
    if let Some(refill) = refill {
        let _ = refill.send(());
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
                stop_tree(&mut child, pid, cfg.stop_grace, Ask::Leader).await;
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
                    stop_tree(&mut child, pid, cfg.stop_grace, Ask::Leader).await;
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

/// Writes the task (with its capability token) to the process's stdin as JSON, and closes it;
/// with it the limits a registration answers with (a task process does not register), so its SDK
/// cuts lines and sizes requests as the manager will take them.
async fn hand_over(child: &mut Child, start: &StartCommand, cfg: &config::Config) {
    let task = serde_json::json!({
        "task_id": start.task_id,
        "task_type": start.task_type,
        "payload_json": start.payload_json,
        "workspace": start.workspace,
        "capability_token": start.capability_token,
        "deadline_unix_ms": start.deadline_us / 1000,
        "attempt": start.attempt,
        "max_log_line_bytes": cfg.agents.max_log_line_bytes,
        "max_message_bytes": cfg.server.max_message_bytes,
        "max_log_batch_lines": cfg.agents.max_log_batch_lines,
        "log_columns": true,
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A process that dies before reading its task shows up in `run_task` as an exit.
        let _ = stdin.write_all(task.to_string().as_bytes()).await;
    }
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
