//! Warm task processes: per confined agent, a few task processes started before their task, so
//! a task starts without a fresh interpreter importing everything (most of a confined task's
//! start-up). Each is confined from the start exactly as its task will be — its own workspace
//! (an empty stand-in folder under `<data_dir>/warm/<agent>`), the agent's read set, the template
//! folders, what the permission rules let every task of the agent read (a wheelhouse, say), no
//! network but the egress relay — because Landlock can narrow a process but never widen it. When
//! a task comes whose confinement is exactly that (a workspace that is empty and named without
//! links, no write grants, read grants that are the rules' and no more), the stand-in is renamed
//! onto the workspace and its
//! mount moved in the process's view ([`crate::sandbox::move_workspace`]); the process then reads
//! its task on stdin like any task process. Every other task (grants, a folder that holds files,
//! a workspace on another filesystem than the manager's data) gets a process started for it.
//!
//! A warm process serves one task and is gone; the pool fills again when a task takes one (or
//! an eligible task had to start afresh), and a process that waited `sandbox.warm_pool_idle`
//! is stopped, so an agent nobody uses holds no memory.
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::process::Child;

use super::agent::AgentRun;
use super::process_tree::{lock, stop_tree, Ask};
use super::task_process::TaskProcesses;
use super::Mode;
use crate::cgroup::TaskCgroup;
use crate::registry::StartCommand;
use crate::sandbox::{existing, is_resolved, move_workspace, stand_in};

/// One warm task process, waiting for its task.
pub(super) struct Warm {
    pub(super) child: Child,
    pub(super) cgroup: Option<TaskCgroup>,
    /// Its private TMPDIR, removed when it exits.
    pub(super) tmp: PathBuf,
    /// The folder it was given as its workspace.
    stand_in: PathBuf,
    /// The template folders it may read: those that existed when it was confined (a folder
    /// made since is readable only by a process started after it).
    templates: Vec<PathBuf>,
    /// The folders the agent's permission rules let it read, those that existed when it was
    /// confined: a task whose read grants are exactly these may have it.
    reads: Vec<PathBuf>,
    since: Instant,
}

impl AgentRun {
    /// Whether a warm process may run this task: the agent is confined, keeps warm processes,
    /// and the task may write nothing a warm process was not confined to (no write grants
    /// beyond its workspace, a workspace spelled as the host resolves it). Its read grants are
    /// matched against each warm process's in [`AgentRun::take_warm`].
    pub(super) fn warm_eligible(&self, start: &StartCommand) -> bool {
        let workspace = Path::new(&start.workspace);
        matches!(self.mode, Mode::Confined)
            && self.sandbox.warm_pool_size > 0
            && start.grants.write.is_empty()
            && is_resolved(workspace)
            && same_filesystem(workspace, &self.state_dir)
    }

    /// A warm process given `start`'s workspace, when one is ready, the workspace is empty and
    /// the task's read grants are exactly what the process was confined to read (else the task
    /// gets a process of its own).
    pub(super) fn take_warm(
        &self,
        start: &StartCommand,
        tasks: &mut TaskProcesses,
    ) -> Option<Warm> {
        let workspace = Path::new(&start.workspace);
        let wanted = readable(&start.grants.read);
        while let Some(mut w) = tasks.warm.pop_front() {
            if w.templates != self.readable_templates() {
                tracing::debug!(agent = %self.manifest.name, "warm process dropped: a template folder was made or removed since it started");
                self.discard(w, tasks);
                continue;
            }
            if w.reads != self.standing_reads() {
                tracing::debug!(agent = %self.manifest.name, "warm process dropped: the agent's read rules changed since it started");
                self.discard(w, tasks);
                continue;
            }
            if w.reads != wanted {
                // A task with grants of its own: the process stays for the next task like most.
                tracing::debug!(task = %start.task_id, "no warm process confined to this task's reads");
                tasks.warm.push_front(w);
                return None;
            }
            let ended = match w.child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(format!("waiting for it failed: {e}")),
            };
            if let Some(how) = ended {
                tracing::warn!(agent = %self.manifest.name, how, "warm process ended before its task");
                self.discard(w, tasks);
                continue;
            }
            // Replaces the workspace only when it is empty (a retry's folder holds the earlier
            // attempt's files; those need a process confined to that folder).
            if let Err(e) = std::fs::rename(&w.stand_in, workspace) {
                tracing::debug!(task = %start.task_id, error = %e, "no warm process for this workspace");
                tasks.warm.push_front(w);
                return None;
            }
            let reaper = w.child.id().unwrap_or(0);
            match move_workspace(reaper, &w.stand_in, workspace) {
                Ok(()) => return Some(w),
                Err(e) => {
                    tracing::warn!(task = %start.task_id, error = %e, "warm process not used");
                    // The workspace as it was: empty, the stand-in (and whatever the process
                    // wrote in it) going with the process.
                    if std::fs::rename(workspace, &w.stand_in).is_ok() {
                        let _ = std::fs::create_dir(workspace);
                    }
                    self.discard(w, tasks);
                    return None;
                }
            }
        }
        None
    }

    /// Starts warm processes until the pool is full again.
    pub(super) fn refill_warm(&self, tasks: &mut TaskProcesses) {
        while tasks.warm.len() < self.sandbox.warm_pool_size as usize {
            match self.spawn_warm() {
                Ok(w) => tasks.warm.push_back(w),
                Err(e) => {
                    tracing::warn!(agent = %self.manifest.name, error = %e, "cannot start a warm task process");
                    return;
                }
            }
        }
    }

    /// When the longest-waiting warm process has waited `sandbox.warm_pool_idle`.
    pub(super) fn warm_deadline(&self, tasks: &TaskProcesses) -> Option<tokio::time::Instant> {
        let first = tasks.warm.front()?;
        Some((first.since + self.sandbox.warm_pool_idle).into())
    }

    /// Stops the warm processes that waited `sandbox.warm_pool_idle` for a task.
    pub(super) fn stop_idle_warm(&self, tasks: &mut TaskProcesses) {
        while let Some(w) = tasks.warm.front() {
            if w.since.elapsed() < self.sandbox.warm_pool_idle {
                return;
            }
            let w = tasks.warm.pop_front().expect("front exists");
            self.discard(w, tasks);
        }
    }

    /// Stops a warm process that will serve no task, and removes what it was given.
    pub(super) fn discard(&self, w: Warm, tasks: &mut TaskProcesses) {
        let grace = self.cfg.stop_grace;
        let live = self.live.clone();
        tasks.running.spawn(async move {
            let Warm {
                mut child,
                cgroup,
                tmp,
                stand_in,
                ..
            } = w;
            let pid = child.id().unwrap_or(0);
            // End of its stdin: the SDK ends quietly when no task comes.
            drop(child.stdin.take());
            stop_tree(&mut child, pid, grace, Ask::Leader).await;
            lock(&live).remove(&pid);
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(cg) = cgroup {
                    cg.kill_and_remove();
                }
                let _ = std::fs::remove_dir_all(&tmp);
                let _ = std::fs::remove_dir_all(&stand_in);
            })
            .await;
            // Not a task: nothing to forget in `TaskProcesses::stops`.
            String::new()
        });
    }

    /// The template folders a process confined now may read (the configured ones that exist).
    fn readable_templates(&self) -> Vec<PathBuf> {
        readable(self.manager.template_dirs())
    }

    /// What the agent's permission rules let every task of it read now (the folders that exist).
    fn standing_reads(&self) -> Vec<PathBuf> {
        readable(&self.manager.standing_reads(&self.manifest.name))
    }

    /// Starts one warm process, confined to a fresh stand-in workspace.
    fn spawn_warm(&self) -> std::io::Result<Warm> {
        let id = uuid::Uuid::now_v7().to_string();
        let stand_in = stand_in(&self.warm_dir, &id)?;
        let tmp = self.state_dir.join("tmp").join(format!("warm-{id}"));
        let templates = self.readable_templates();
        let reads = self.standing_reads();
        match self.spawn_confined(
            &stand_in,
            &tmp,
            &reads,
            std::slice::from_ref(&stand_in),
            &format!("warm-{id}"),
        ) {
            Ok((child, cgroup)) => Ok(Warm {
                child,
                cgroup,
                tmp,
                stand_in,
                templates,
                reads,
                since: Instant::now(),
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&stand_in);
                let _ = std::fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }
}

/// Whether `a` and `b` are on one filesystem (a stand-in beside `b` can be renamed onto `a`).
fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

/// The folders of `paths` that exist (a confinement skips the others), sorted and without
/// repeats, so two sets given in any order compare equal.
fn readable(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = existing(paths).into_iter().map(Path::to_path_buf).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_on_another_filesystem_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(same_filesystem(&sub, dir.path()));
        // procfs is a filesystem of its own on every Linux machine.
        assert!(!same_filesystem(Path::new("/proc/self"), dir.path()));
        assert!(!same_filesystem(&dir.path().join("missing"), dir.path()));
    }
}
