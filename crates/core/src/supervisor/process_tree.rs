//! Process trees: stopping one (SIGTERM to its process group and every descendant, SIGKILL after
//! the grace period), and reaping the orphans re-parented to the manager, which is a child
//! subreaper.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::process::Child;

use crate::peer::{stat_field, STAT_PGRP, STAT_PPID};

/// Who gets the first signal (SIGTERM) when a process tree is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ask {
    /// The process group and every descendant at once (an agent's process).
    Tree,
    /// The process alone: a task's reaper, which relays it to the task, which cancels its work
    /// and ends the commands it started itself, in that order. So the handler knows it was
    /// cancelled before its commands die, and puts back what it changed. (SIGTERM to the whole
    /// tree at once killed a task's commands first, and the handler took their deaths for
    /// failures and kept its changes.)
    Leader,
}

/// SIGTERM as `ask` says, then SIGKILL to whatever is left of the tree after `grace`.
pub(super) async fn stop_tree(child: &mut Child, pid: u32, grace: Duration, ask: Ask) {
    if pid == 0 {
        return;
    }
    let mut tree = descendants(pid);
    match ask {
        Ask::Tree => signal_all(pid, &tree, libc::SIGTERM),
        // SAFETY: a plain signal send; a stale pid at worst fails with ESRCH.
        Ask::Leader => unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        },
    }
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

pub(super) fn become_subreaper() {
    // SAFETY: a process-wide flag; no memory is touched.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::warn!("cannot become a child subreaper; orphaned agent descendants may survive");
    }
}

/// Pids of the agent processes alive now: our direct children that are not orphans. Held while
/// spawning and while looking for orphans, so a new agent is never mistaken for one.
pub(super) type Live = std::sync::Arc<std::sync::Mutex<HashSet<u32>>>;

pub(super) fn lock(live: &Live) -> std::sync::MutexGuard<'_, HashSet<u32>> {
    live.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills and reaps processes re-parented to the manager (orphaned descendants of agents that
/// already exited). Agents (listed in `live`) and task processes run in process groups of their
/// own, and their descendants in those; a child in the manager's own group is one the host
/// process started itself (the desktop app's WebKit processes) and is none of ours to kill.
pub(super) async fn reap_orphans(live: &Live) {
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
