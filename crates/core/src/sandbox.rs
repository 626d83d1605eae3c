//! Kernel-enforced confinement of the processes the manager starts (agents and their task
//! processes). Nothing here relies on the confined program's good will:
//!
//! - a **user namespace** (the process keeps its own uid, mapped onto itself) owning a fresh
//!   **network namespace** with only a loopback interface: there is no route out at all, UDP and
//!   DNS included. The manager's Unix socket is a file, so it stays reachable.
//! - **Landlock** (the newest ABI the kernel has; ABI 6 for everything below): read-only access beneath the system paths it needs, full access
//!   beneath the few folders it may write (its workspace, its own state folder), nothing else; TCP
//!   bind/connect allowed only on a small range of local ports (a dev server), a second wall
//!   should the namespace ever be missing;
//!   signals and abstract Unix sockets scoped to its own domain, so it cannot signal or reach the
//!   manager or another agent. Landlock also forbids ptrace of processes outside the domain and
//!   any mount change, and sets `no_new_privs`, so setuid programs cannot elevate inside.
//! - its own **mount namespace** with a constructed view of the filesystem ([`view`]): only what
//!   it was given exists for it (no `$XDG_RUNTIME_DIR`, no session bus, no ssh-agent, no X11 or
//!   Wayland socket, a private `/tmp`), because Landlock (ABI <= 7) does not cover `connect()` to
//!   a path Unix socket;
//! - its own **pid namespace**: it sees only its own processes, and when its first process ends
//!   the kernel kills every process left in it (a task cannot leave anything behind, whatever
//!   process group or session its children move to). A small reaper outside the namespace
//!   ([`Prepared::apply`]) is the process the supervisor knows: it relays signals to the task and
//!   exits with the task's status;
//! - no capabilities left in its user namespace once the view is built;
//! - `RLIMIT_FSIZE`: no file it writes grows past the workspace quota.
//!
//! Everything that allocates (opening the allowed paths, building the ruleset, formatting the uid
//! maps) happens in the parent, in [`Confinement::prepare`]; the child only makes syscalls between
//! fork and exec ([`Prepared::apply`]). Children inherit all of it, so a grandchild is as confined
//! as its parent, and a confined process can only narrow, never widen, what its children get.
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};

use crate::error::{Error, Result};

mod view;
mod warm;
use view::{Contents, View};
pub use warm::{is_resolved, move_workspace, stand_in};

/// The Landlock ABI with every feature the sandbox uses (scoped signals and abstract sockets).
const FULL_ABI: ABI = ABI::V6;

/// What one confined process may touch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Confinement {
    /// Read and execute beneath these (missing ones are skipped).
    pub read: Vec<PathBuf>,
    /// Full access beneath these (missing ones are skipped).
    pub write: Vec<PathBuf>,
    /// Largest file the process may write, in bytes.
    pub max_file_bytes: u64,
    /// TCP ports it may bind and connect to (inside its own network namespace, where only its
    /// loopback exists): a dev server, and the egress relay.
    pub local_ports: Vec<u16>,
    /// The path Unix sockets it may connect to (the manager's, the egress proxy's): the only
    /// ones in its view.
    pub sockets: Vec<PathBuf>,
    /// Size of its private `/tmp` (a tmpfs), in bytes.
    pub tmp_bytes: u64,
    /// Its working directory, entered again inside its view.
    pub cwd: PathBuf,
    /// How long its reaper waits for it to stop after relaying a signal when the manager is gone,
    /// before killing it.
    pub orphan_grace: std::time::Duration,
}

/// What this machine's kernel lets the sandbox enforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Support {
    /// The Landlock ABI in use (1 or more).
    pub abi: i32,
    /// What is not enforced on this kernel, in words (empty with ABI 6 or later).
    pub missing: Vec<&'static str>,
}

/// Whether this machine can confine processes, and how fully; `Err` (why) when not at all.
pub fn probe() -> std::result::Result<Support, String> {
    let abi = best_abi().ok_or_else(|| {
        "Landlock is not available (kernel without it, or not enabled at boot)".to_string()
    })?;
    userns_probe()?;
    let mut missing = Vec::new();
    if abi < ABI::V2 {
        missing.push("moving files between folders (ABI 2)");
    }
    if abi < ABI::V3 {
        missing.push("truncating files (ABI 3)");
    }
    if abi < ABI::V4 {
        missing.push("TCP port rules (ABI 4; the network namespace still cuts the network)");
    }
    if abi < ABI::V6 {
        missing.push(
            "scoping signals and abstract sockets (ABI 6): an agent could signal the manager",
        );
    }
    Ok(Support {
        abi: abi as i32,
        missing,
    })
}

/// The newest Landlock ABI this kernel supports, once.
fn best_abi() -> Option<ABI> {
    static BEST: std::sync::OnceLock<Option<ABI>> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| {
        [ABI::V6, ABI::V5, ABI::V4, ABI::V3, ABI::V2, ABI::V1]
            .into_iter()
            .find(|abi| ruleset(*abi).is_ok())
    })
}

/// A ruleset handling everything `abi` knows of, refusing to pretend on an older kernel.
fn ruleset(abi: ABI) -> std::result::Result<RulesetCreated, landlock::RulesetError> {
    let mut r = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))?;
    if abi >= ABI::V4 {
        r = r.handle_access(AccessNet::from_all(abi))?;
    }
    if abi >= FULL_ABI {
        r = r.scope(Scope::from_all(abi))?;
    }
    r.create()
}

/// Forks a throwaway child that creates the namespaces, so a missing feature shows at start-up
/// with a reason instead of as agents that never start.
fn userns_probe() -> std::result::Result<(), String> {
    // SAFETY: the child only calls unshare and _exit, both async-signal-safe.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return Err(format!("fork failed: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            let rc = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET);
            libc::_exit(if rc == 0 { 0 } else { 1 });
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(())
        } else {
            Err(
                "cannot create a user and network namespace (are unprivileged user namespaces \
                 disabled? see sysctl kernel.unprivileged_userns_clone)"
                    .into(),
            )
        }
    }
}

impl Confinement {
    /// Opens the allowed paths and builds the ruleset, in the parent.
    pub fn prepare(&self) -> Result<Prepared> {
        let fail = |e: landlock::RulesetError| Error::Sandbox(e.to_string());
        let abi = best_abi().ok_or_else(|| Error::Sandbox("Landlock is not available".into()))?;
        let read = existing(&self.read);
        let write = existing(&self.write);
        let mut ruleset = ruleset(abi)
            .map_err(fail)?
            .add_rules(path_beneath_rules(&read, AccessFs::from_read(abi)))
            .map_err(fail)?
            .add_rules(path_beneath_rules(&write, AccessFs::from_all(abi)))
            .map_err(fail)?;
        if abi >= ABI::V4 {
            ruleset = ruleset
                .add_rules(
                    self.local_ports
                        .iter()
                        .map(|p| Ok(NetPort::new(*p, AccessNet::from_all(abi)))),
                )
                .map_err(fail)?;
        }
        // A second handle on the same ruleset, for the rules of the view's fresh mounts (made in
        // the child, after the rules above were made from the parent's paths).
        let extra_rules: Option<OwnedFd> = ruleset
            .try_clone()
            .map_err(|e| Error::Sandbox(format!("cannot duplicate the Landlock ruleset: {e}")))?
            .into();
        let view = View::plan(&Contents {
            read: &self.read,
            write: &self.write,
            sockets: &self.sockets,
            tmp_bytes: self.tmp_bytes,
            cwd: &self.cwd,
        })
        .map_err(|e| Error::Sandbox(format!("cannot plan the sandbox's view: {e}")))?;
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Ok(Prepared {
            cgroups: Vec::new(),
            ruleset: Some(ruleset),
            extra_rules,
            read_access: AccessFs::from_read(abi).bits(),
            full_access: AccessFs::from_all(abi).bits(),
            view,
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            max_file_bytes: self.max_file_bytes,
            orphan_grace: libc::timespec {
                tv_sec: self.orphan_grace.as_secs() as libc::time_t,
                tv_nsec: self.orphan_grace.subsec_nanos() as libc::c_long,
            },
            paths: [
                c"/proc/self/setgroups".into(),
                c"/proc/self/uid_map".into(),
                c"/proc/self/gid_map".into(),
            ],
        })
    }
}

/// Paths that exist; a rule for a missing path would fail the whole ruleset (so a process is
/// confined to what existed when it started).
pub(crate) fn existing(paths: &[PathBuf]) -> Vec<&Path> {
    paths
        .iter()
        .map(PathBuf::as_path)
        .filter(|p| p.exists())
        .collect()
}

/// A confinement ready to be applied in a forked child.
pub struct Prepared {
    /// Open `cgroup.procs` files to join (the task's cgroups), first thing in the child.
    cgroups: Vec<OwnedFd>,
    ruleset: Option<RulesetCreated>,
    /// The same ruleset, to add the rules of the view's fresh `/proc` and `/tmp`.
    extra_rules: Option<OwnedFd>,
    read_access: u64,
    full_access: u64,
    view: View,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    max_file_bytes: u64,
    orphan_grace: libc::timespec,
    paths: [CString; 3],
}

/// Signals the reaper relays to the task (and SIGCHLD, which tells it the task ended).
const RELAYED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

impl Prepared {
    /// Puts the process in these cgroups (open `cgroup.procs` files) before anything else.
    pub fn join_cgroups(&mut self, procs: Vec<OwnedFd>) {
        self.cgroups = procs;
    }

    /// Confines the calling process.
    ///
    /// It forks once more: the namespaces are entered here, and the child is the first process
    /// of the new pid namespace, which builds the view, confines itself and returns to exec the
    /// program. This process stays outside as the task's reaper: it never returns, relays
    /// signals, and exits as the task did.
    ///
    /// # Safety
    /// Only in a freshly forked child before exec (a `pre_exec` hook), where one thread exists:
    /// it forks, unshares namespaces, mounts, changes root and never returns in the reaper, none
    /// of which is sound in a process with other threads or whose state anything still uses. It
    /// makes syscalls on buffers the parent prepared and allocates nothing.
    pub unsafe fn apply(&mut self) -> std::io::Result<()> {
        // SAFETY: plain syscalls on buffers prepared by the parent (see this function's contract).
        unsafe {
            self.enter_namespaces()?;
            self.fork_task()?;
            self.build_view_and_limit()?;
        }
        let ruleset = self
            .ruleset
            .take()
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        ruleset
            .restrict_self()
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))?;
        Ok(())
    }

    /// Joins the task's cgroups, then enters new user, network, mount and pid namespaces (the
    /// user and group mapped to themselves) and brings their loopback up.
    ///
    /// # Safety
    /// As [`Prepared::apply`]'s.
    unsafe fn enter_namespaces(&self) -> std::io::Result<()> {
        // Into the task's cgroups while still in the manager's namespaces (`0`: this process);
        // every process of the task is then born inside them.
        for procs in &self.cgroups {
            if libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if libc::unshare(
            libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWPID,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        write_file(&self.paths[0], b"deny\n")?;
        write_file(&self.paths[1], &self.uid_map)?;
        write_file(&self.paths[2], &self.gid_map)?;
        loopback_up()
    }

    /// Forks the task, the first process of the new pid namespace, and returns in it. This
    /// process stays outside as its reaper ([`reap`]) and never returns; the task dies with it.
    ///
    /// # Safety
    /// As [`Prepared::apply`]'s, once in the new namespaces.
    unsafe fn fork_task(&self) -> std::io::Result<()> {
        // Blocked before the fork, so no signal is lost between it and the reaper's wait.
        let mut relayed: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut relayed);
        for sig in RELAYED.iter().chain([&libc::SIGCHLD]) {
            libc::sigaddset(&mut relayed, *sig);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &relayed, &mut before);
        // The reaper holds the write end: the task sees end-of-file once the reaper is gone.
        let mut lifeline = [0; 2];
        if libc::pipe2(lifeline.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let parent = libc::getppid();
        let task = libc::fork();
        if task < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if task > 0 {
            reap(task, &relayed, parent, lifeline[1], &self.orphan_grace);
        }
        libc::sigprocmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        // Dies with its reaper (which dies with the manager).
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::close(lifeline[1]);
        let mut byte = 0u8;
        if libc::read(lifeline[0], (&mut byte as *mut u8).cast(), 1) == 0 {
            // The reaper died before the line above took effect.
            libc::_exit(1);
        }
        libc::close(lifeline[0]);
        Ok(())
    }

    /// In the task: builds the view (adding the Landlock rules of its fresh `/proc` and `/tmp`),
    /// drops every capability and caps the size of files it writes.
    ///
    /// # Safety
    /// As [`Prepared::apply`]'s, in the forked task.
    unsafe fn build_view_and_limit(&self) -> std::io::Result<()> {
        let (rules, read, full) = (&self.extra_rules, self.read_access, self.full_access);
        self.view.build(|v| {
            if let Some(fd) = rules {
                if let Some(proc) = &v.proc_dir {
                    add_rule(fd, proc, read)?;
                }
                add_rule(fd, &v.tmp_dir, full)?;
            }
            Ok(())
        })?;
        drop_capabilities()?;
        let lim = libc::rlimit {
            rlim_cur: self.max_file_bytes,
            rlim_max: self.max_file_bytes,
        };
        if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The reaper: waits for the task (the first process of its pid namespace), relays the signals
/// the supervisor sends, and exits with the task's status. When the manager is gone (a relayed
/// signal is then the parent-death signal) it gives the task `grace` to stop, then kills it: the
/// kernel then kills whatever else the task left in its namespace.
///
/// # Safety
/// Only in the reaper process [`Prepared::apply`] forked (single-threaded, about to end): it
/// changes signal dispositions and never returns.
unsafe fn reap(
    task: libc::pid_t,
    relayed: &libc::sigset_t,
    parent: libc::pid_t,
    lifeline: libc::c_int,
    grace: &libc::timespec,
) -> ! {
    // Keep nothing open but the lifeline: not the task's output pipes, not the spawner's error
    // pipe (its end of the exec handshake must close when the task execs, not when the reaper
    // exits).
    let keep = lifeline as u32;
    if keep > 0 {
        libc::syscall(libc::SYS_close_range, 0u32, keep - 1, 0u32);
    }
    libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32);
    let mut deadline = false;
    loop {
        let sig = if deadline {
            libc::sigtimedwait(relayed, std::ptr::null_mut(), grace)
        } else {
            libc::sigwaitinfo(relayed, std::ptr::null_mut())
        };
        if sig == libc::SIGCHLD {
            let mut status = 0;
            if libc::waitpid(task, &mut status, libc::WNOHANG) == task {
                exit_as(status);
            }
        } else if sig > 0 {
            libc::kill(task, sig);
            deadline = deadline || libc::getppid() != parent;
        } else if deadline && *libc::__errno_location() == libc::EAGAIN {
            libc::kill(task, libc::SIGKILL);
        }
    }
}

/// Ends this process as the task ended: the same exit code, or death by the same signal.
///
/// # Safety
/// Only in the reaper: it resets a signal's disposition and raises it, ending the process
/// without running destructors.
unsafe fn exit_as(status: libc::c_int) -> ! {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), sig);
        libc::_exit(128 + sig);
    }
    libc::_exit(libc::WEXITSTATUS(status));
}

/// Adds a Landlock rule for a folder made in the child (a fresh mount) to the ruleset.
///
/// # Safety
/// `ruleset` must be a Landlock ruleset descriptor; the call passes raw pointers to the kernel.
unsafe fn add_rule(ruleset: &OwnedFd, dir: &CString, access: u64) -> std::io::Result<()> {
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_long = 1;
    let fd = libc::open(
        dir.as_ptr(),
        libc::O_PATH | libc::O_CLOEXEC | libc::O_DIRECTORY,
    );
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let attr = PathBeneath {
        allowed_access: access,
        parent_fd: fd,
    };
    let rc = libc::syscall(
        libc::SYS_landlock_add_rule,
        ruleset.as_raw_fd(),
        LANDLOCK_RULE_PATH_BENEATH,
        &attr as *const PathBeneath,
        0u32,
    );
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if rc != 0 {
        return Err(err);
    }
    Ok(())
}

/// Empties the capability bounding and ambient sets: whatever uid the process has inside its
/// user namespace, the program it execs starts with no capabilities there.
///
/// # Safety
/// Only in the confined child before exec: it changes the calling thread's capabilities.
unsafe fn drop_capabilities() -> std::io::Result<()> {
    libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL,
        0,
        0,
        0,
    );
    for cap in 0..=63 {
        if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
            // EINVAL: no such capability on this kernel; the set is empty from here on.
            if *libc::__errno_location() == libc::EINVAL {
                break;
            }
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Writes `data` to the file at `path` with raw syscalls (no allocation: safe after fork).
///
/// # Safety
/// Only where allocating is not allowed (a forked child before exec); plain `open`/`write`/
/// `close` on the caller's buffers.
unsafe fn write_file(path: &CString, data: &[u8]) -> std::io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if n != data.len() as isize {
        return Err(err);
    }
    Ok(())
}

/// Brings up `lo` in the new network namespace, so a task can run and probe a local server.
///
/// # Safety
/// Only in the confined child, inside its own network namespace (it changes an interface's
/// flags through an ioctl on a raw buffer).
unsafe fn loopback_up() -> std::io::Result<()> {
    let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut req: libc::ifreq = std::mem::zeroed();
    for (i, b) in b"lo\0".iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char;
    }
    let mut rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
    if rc == 0 {
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
    }
    let err = std::io::Error::last_os_error();
    libc::close(fd);
    if rc != 0 {
        return Err(err);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn run_confined(c: &Confinement, script: &str) -> std::process::Output {
        let mut prepared = c.prepare().expect("prepare");
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        // SAFETY: `apply` runs in the forked child before exec, as its contract asks.
        unsafe {
            cmd.pre_exec(move || prepared.apply());
        }
        cmd.output().expect("spawn")
    }

    /// The defaults of a test's confinement, working in `cwd`.
    fn confinement(cwd: &Path) -> Confinement {
        Confinement {
            read: system(),
            write: vec![cwd.to_path_buf()],
            max_file_bytes: 1 << 20,
            local_ports: Vec::new(),
            sockets: Vec::new(),
            tmp_bytes: 1 << 20,
            cwd: cwd.to_path_buf(),
            orphan_grace: std::time::Duration::from_secs(1),
        }
    }

    fn system() -> Vec<PathBuf> {
        ["/usr", "/bin", "/lib", "/lib64", "/etc", "/dev", "/proc"]
            .iter()
            .map(PathBuf::from)
            .collect()
    }

    #[test]
    fn writes_only_beneath_allowed_folders() {
        probe().expect("this machine must confine: the sandbox is required");
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        let other = dir.path().join("other");
        std::fs::create_dir_all(&ok).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let c = Confinement {
            read: system(),
            write: vec![ok.clone()],
            max_file_bytes: 1 << 20,
            ..confinement(dir.path())
        };
        let out = run_confined(
            &c,
            &format!(
                "echo a > {0}/f && echo done-ok; echo b > {1}/f || echo denied-other",
                ok.display(),
                other.display()
            ),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("done-ok"), "{text}");
        assert!(text.contains("denied-other"), "{text}");
        assert!(ok.join("f").exists());
        assert!(!other.join("f").exists());
    }

    #[test]
    fn the_network_namespace_has_only_loopback_and_files_are_capped() {
        probe().expect("this machine must confine: the sandbox is required");
        let dir = tempfile::tempdir().unwrap();
        let c = Confinement {
            read: system(),
            write: vec![dir.path().to_path_buf()],
            max_file_bytes: 4096,
            ..confinement(dir.path())
        };
        let out = run_confined(
            &c,
            &format!(
                "ls /sys/class/net 2>/dev/null; cat /proc/net/dev | tail -n +3 | cut -d: -f1; \
                 head -c 8192 /dev/zero > {0}/big; echo size=$(stat -c %s {0}/big)",
                dir.path().display()
            ),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let ifaces: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("size="))
            .collect();
        assert_eq!(ifaces, vec!["lo"], "{text}");
        assert!(text.contains("size=4096"), "{text}");
    }

    #[test]
    fn a_warm_process_gets_its_workspace_at_the_workspace_path_and_nothing_more() {
        use std::io::Write;
        probe().expect("this machine must confine: the sandbox is required");
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let stand_in = stand_in(&root.join("pool"), "one").unwrap();
        let workspace = root.join("workspaces").join("task-1");
        std::fs::create_dir_all(&workspace).unwrap();
        let sibling = root.join("workspaces").join("task-2");
        std::fs::create_dir_all(&sibling).unwrap();
        let c = Confinement {
            write: vec![stand_in.clone()],
            ..confinement(&stand_in)
        };
        let mut prepared = c.prepare().expect("prepare");
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(format!(
            "read go; /bin/pwd -P; echo hi > {0}/f && echo wrote; echo x > {1}/g || echo denied; \
             echo y > {2}/h 2>/dev/null || echo no-pool",
            workspace.display(),
            sibling.display(),
            stand_in.display(),
        ));
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        // SAFETY: `apply` runs in the forked child before exec, as its contract asks.
        unsafe {
            cmd.pre_exec(move || prepared.apply());
        }
        let mut child = cmd.spawn().expect("spawn");
        // The task comes: its (empty) workspace is replaced by the stand-in, whose mount moves.
        std::fs::rename(&stand_in, &workspace).unwrap();
        move_workspace(child.id(), &stand_in, &workspace).expect("move");
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![workspace.to_str().unwrap(), "wrote", "denied", "no-pool"],
            "{text}"
        );
        assert_eq!(
            std::fs::read_to_string(workspace.join("f")).unwrap(),
            "hi\n"
        );
        assert!(!sibling.join("g").exists());
    }

    #[test]
    fn moving_a_workspace_into_a_process_that_is_gone_fails_saying_so() {
        let err = move_workspace(u32::MAX - 1, Path::new("/a"), Path::new("/b")).unwrap_err();
        assert!(
            err.to_string().contains("opening its user namespace"),
            "{err}"
        );
    }
}
