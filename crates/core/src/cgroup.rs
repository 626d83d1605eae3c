//! A cgroup for every task process: memory, CPU and process-count limits from config, and one
//! place to kill it whole at its end.
//!
//! Two layouts are supported, found at start:
//! - **cgroup v2 only** (a person's Debian desktop under systemd): the manager's own cgroup must
//!   be delegated to it (`Delegate=yes` in the user unit, as `installers/systemd` has it). The
//!   manager moves itself into a `manager` leaf (v2 allows processes only in leaves of a subtree
//!   with controllers), enables `memory`, `cpu` and `pids` for `tasks/`, and makes
//!   `tasks/<task>-<attempt>` per task process (`memory.max`, `cpu.max`, `pids.max`,
//!   `cgroup.kill`).
//! - **hybrid** (v1 controllers beside a v2 hierarchy without them, as on machines without
//!   systemd): `hyperagent-<pid>/<task>-<attempt>` beneath the manager's own cgroup in the v1
//!   `memory`, `cpu` and `pids` hierarchies, and in the v2 one for `cgroup.kill`.
//!
//! Where neither is writable (no delegation), tasks run without these limits and the manager
//! says so once at start; the pid namespace still ends every process of a task with it.
//! The task process joins its cgroups itself, first thing after fork (writing `0` to each
//! `cgroup.procs`, opened by the parent), so everything it starts is inside from the start.
use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The limits of one task process (0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Memory, in bytes.
    pub memory_bytes: u64,
    /// CPU, in percent of one core (100: one core).
    pub cpu_percent: u32,
    /// Processes and threads.
    pub max_processes: u32,
}

#[derive(Debug)]
enum Layout {
    /// The folder beneath which task cgroups are made (v2, controllers enabled).
    V2 { tasks: PathBuf },
    /// Per controller (`memory`, `cpu`, `pids`), and the v2 hierarchy without controllers.
    Hybrid {
        v1: Vec<(&'static str, PathBuf)>,
        unified: Option<PathBuf>,
    },
}

/// Where task cgroups are made on this machine.
#[derive(Debug)]
pub struct Cgroups {
    layout: Layout,
    limits: Limits,
}

const V1_CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];
const V2_PERIOD_US: u64 = 100_000;

impl Cgroups {
    /// Finds a layout this manager may make cgroups in; `Err` says why not.
    pub fn detect(limits: Limits) -> Result<Cgroups, String> {
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let mut v2_path = None;
        let mut v1_paths = Vec::new();
        for line in own.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            if ctrls.is_empty() {
                v2_path = Some(rel.to_string());
            }
            for c in ctrls.split(',') {
                if let Some(name) = V1_CONTROLLERS.iter().find(|n| **n == c) {
                    v1_paths.push((*name, rel.to_string()));
                }
            }
        }
        let root = Path::new("/sys/fs/cgroup");
        let layout = if root.join("cgroup.controllers").is_file() {
            let own = root.join(v2_path.ok_or("no cgroup v2 entry in /proc/self/cgroup")?);
            Layout::V2 {
                tasks: delegate_v2(&own)?,
            }
        } else {
            let parent = format!("hyperagent-{}", std::process::id());
            let mut v1 = Vec::new();
            for (name, rel) in v1_paths {
                remove_stale(&root.join(name).join(&rel));
                let dir = root.join(name).join(&rel).join(&parent);
                fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                v1.push((name, dir));
            }
            if v1.is_empty() {
                return Err("no cgroup v1 memory, cpu or pids hierarchy".into());
            }
            let unified = v2_path.and_then(|rel| {
                remove_stale(&root.join("unified").join(&rel));
                let dir = root.join("unified").join(rel).join(&parent);
                fs::create_dir_all(&dir).ok().map(|_| dir)
            });
            Layout::Hybrid { v1, unified }
        };
        Ok(Cgroups { layout, limits })
    }

    /// The limits every task process gets (from config).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Makes the cgroups of one task process, with the configured limits.
    pub fn create(&self, name: &str) -> io::Result<TaskCgroup> {
        self.create_with(name, self.limits)
    }

    /// Makes the cgroups of one task process, with the limits given.
    pub fn create_with(&self, name: &str, l: Limits) -> io::Result<TaskCgroup> {
        let mut cg = TaskCgroup {
            dirs: Vec::new(),
            kill: None,
            memory_events: None,
            join: Vec::new(),
        };
        match &self.layout {
            Layout::V2 { tasks } => {
                let dir = tasks.join(name);
                make(&dir)?;
                cg.dirs.push(dir.clone());
                if l.memory_bytes > 0 {
                    put(&dir, "memory.max", &l.memory_bytes.to_string())?;
                    // No swapping past the limit: it would only make it slower to hit.
                    let _ = put(&dir, "memory.swap.max", "0");
                }
                if l.cpu_percent > 0 {
                    let quota = V2_PERIOD_US * u64::from(l.cpu_percent) / 100;
                    put(&dir, "cpu.max", &format!("{quota} {V2_PERIOD_US}"))?;
                }
                if l.max_processes > 0 {
                    put(&dir, "pids.max", &l.max_processes.to_string())?;
                }
                cg.join.push(open_procs(&dir)?);
                cg.kill = Some(dir.join("cgroup.kill"));
                cg.memory_events = Some(dir.join("memory.events"));
            }
            Layout::Hybrid { v1, unified } => {
                for (ctrl, parent) in v1 {
                    let dir = parent.join(name);
                    make(&dir)?;
                    cg.dirs.push(dir.clone());
                    match *ctrl {
                        "memory" if l.memory_bytes > 0 => {
                            put(&dir, "memory.limit_in_bytes", &l.memory_bytes.to_string())?;
                            let _ = put(
                                &dir,
                                "memory.memsw.limit_in_bytes",
                                &l.memory_bytes.to_string(),
                            );
                            cg.memory_events = Some(dir.join("memory.oom_control"));
                        }
                        "cpu" if l.cpu_percent > 0 => {
                            let period: u64 = fs::read_to_string(dir.join("cpu.cfs_period_us"))
                                .ok()
                                .and_then(|s| s.trim().parse().ok())
                                .unwrap_or(V2_PERIOD_US);
                            let quota = period * u64::from(l.cpu_percent) / 100;
                            put(&dir, "cpu.cfs_quota_us", &quota.to_string())?;
                        }
                        "pids" if l.max_processes > 0 => {
                            put(&dir, "pids.max", &l.max_processes.to_string())?;
                        }
                        _ => {}
                    }
                    cg.join.push(open_procs(&dir)?);
                }
                if let Some(u) = unified {
                    let dir = u.join(name);
                    make(&dir)?;
                    cg.dirs.push(dir.clone());
                    cg.join.push(open_procs(&dir)?);
                    cg.kill = Some(dir.join("cgroup.kill"));
                }
            }
        }
        Ok(cg)
    }

    /// Removes the folders this manager made for its task cgroups (at shutdown).
    pub fn remove(&self) {
        match &self.layout {
            Layout::V2 { .. } => {}
            Layout::Hybrid { v1, unified } => {
                for dir in v1.iter().map(|(_, d)| d).chain(unified) {
                    let _ = fs::remove_dir(dir);
                }
            }
        }
    }
}

/// Makes the manager's own (delegated) v2 cgroup a subtree it can put tasks in: itself into
/// `manager/`, the controllers on for `tasks/`. Returns `tasks/`.
fn delegate_v2(own: &Path) -> Result<PathBuf, String> {
    // Already moved into `manager/` (by this process, started again in the same service).
    let root = if own.file_name().is_some_and(|n| n == "manager") {
        own.parent().unwrap_or(own)
    } else {
        own
    };
    let fail = |what: &str, e: io::Error| {
        format!(
            "cannot {what} in {} ({e}); the manager's cgroup is not delegated to it \
             (run it as the HyperAgent user service, whose unit has Delegate=yes)",
            root.display()
        )
    };
    let leaf = root.join("manager");
    if own != leaf {
        make(&leaf).map_err(|e| fail("make a cgroup", e))?;
        put(&leaf, "cgroup.procs", "0").map_err(|e| fail("move the manager", e))?;
    }
    put(root, "cgroup.subtree_control", "+memory +cpu +pids")
        .map_err(|e| fail("enable the memory, cpu and pids controllers", e))?;
    let tasks = root.join("tasks");
    make(&tasks).map_err(|e| fail("make a cgroup", e))?;
    put(&tasks, "cgroup.subtree_control", "+memory +cpu +pids")
        .map_err(|e| fail("enable the controllers for tasks", e))?;
    Ok(tasks)
}

/// The cgroups of one task process.
#[derive(Debug)]
pub struct TaskCgroup {
    dirs: Vec<PathBuf>,
    kill: Option<PathBuf>,
    /// Where the kernel counts its out-of-memory kills (`oom_kill N`): `memory.events` (v2) or
    /// `memory.oom_control` (v1).
    memory_events: Option<PathBuf>,
    join: Vec<OwnedFd>,
}

impl TaskCgroup {
    /// The open `cgroup.procs` files the task process writes `0` to, to join.
    pub fn take_join(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.join)
    }

    /// Whether the kernel killed a process of it for going over its memory limit.
    pub fn ran_out_of_memory(&self) -> bool {
        self.memory_events
            .as_ref()
            .and_then(|p| fs::read_to_string(p).ok())
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }

    /// Kills whatever is still in it and removes its folders (blocking; a few syscalls).
    pub fn kill_and_remove(self) {
        if let Some(k) = &self.kill {
            let _ = fs::write(k, "1");
        }
        for dir in &self.dirs {
            // Without cgroup.kill (an old kernel), one by one.
            if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    // SAFETY: a signal to a process in the task's own cgroup.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        for dir in &self.dirs {
            // A killed process leaves its cgroup as it exits: try a few times.
            for _ in 0..100 {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        }
    }
}

/// Removes the `hyperagent-<pid>` folders that managers no longer running left in `parent` (one
/// killed with SIGKILL cannot remove its own). Only empty cgroups can be removed, so a cgroup that
/// still holds a process stays.
fn remove_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("hyperagent-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(tasks) = fs::read_dir(e.path()) {
            for t in tasks.flatten().filter(|t| t.path().is_dir()) {
                let _ = fs::remove_dir(t.path());
            }
        }
        let _ = fs::remove_dir(e.path());
    }
}

fn make(dir: &Path) -> io::Result<()> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

fn put(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).open(dir.join(file))?;
    f.write_all(value.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.join(file).display())))
}

fn open_procs(dir: &Path) -> io::Result<OwnedFd> {
    Ok(fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))?
        .into())
}
