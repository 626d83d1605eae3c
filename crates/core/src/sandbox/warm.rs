//! Giving a warm task process its workspace.
//!
//! A warm process is started, and confined, before its task is known: Landlock can only narrow
//! what a process may do, so it is confined from the start exactly as its task will be, with an
//! empty folder made for it standing in for the workspace. Landlock's rules hold on to folders,
//! not to their names, so when a task comes that folder is renamed onto the task's (empty)
//! workspace on the host, and its mount in the process's view is moved to the workspace's path
//! ([`move_workspace`]): the process then sees and may write its workspace at the same path as
//! everyone else, and nothing more than a process confined afresh for the task would.
//!
//! Moving a mount needs the mount namespace's privileges. The confined process has none (its
//! capabilities are dropped), so a short-lived child of the manager joins the process's user and
//! mount namespaces (the manager owns them) and moves it: the same thing `nsenter` does, done
//! here with a fork and a handful of syscalls because nothing else is needed.
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What the child was doing when a syscall failed (reported through a pipe with the errno).
const STEPS: [&str; 4] = [
    "joining its user namespace",
    "joining its mount namespace",
    "making the workspace's folders in its view",
    "moving the mount",
];

/// In the view of the confined process whose reaper (the process the supervisor started) is
/// `reaper`, makes `to` with its missing parents and moves the mount at `from` there.
///
/// `to` must be absolute and spelled without links (as the host resolves it), so that it is the
/// same path inside the view as outside. Blocks for the life of a forked child (well under a
/// millisecond of work); call it off the async runtime's threads.
pub fn move_workspace(reaper: u32, from: &Path, to: &Path) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        Error::Sandbox(format!(
            "cannot move the warm process's workspace to {}: {what}: {e}",
            to.display()
        ))
    };
    let user = File::open(format!("/proc/{reaper}/ns/user"))
        .map_err(|e| fail("opening its user namespace", e))?;
    let mnt = File::open(format!("/proc/{reaper}/ns/mnt"))
        .map_err(|e| fail("opening its mount namespace", e))?;
    let from_c = c_path(from)?;
    let to_c = c_path(to)?;
    // Every folder from the top down to `to` itself (mkdir one by one: nothing may allocate in
    // the forked child).
    let mut dirs: Vec<CString> = to
        .ancestors()
        .filter(|p| p.parent().is_some())
        .map(c_path)
        .collect::<Result<_>>()?;
    dirs.reverse();
    let mut pipe = [0; 2];
    // SAFETY: pipe2 on a local array.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(fail("making a pipe", std::io::Error::last_os_error()));
    }
    // SAFETY: the child makes only syscalls on buffers made above and ends with `_exit`; nothing
    // in it allocates or touches a lock another thread may hold.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(pipe[0]);
            libc::close(pipe[1]);
        }
        return Err(fail("forking", e));
    }
    if pid == 0 {
        // SAFETY: in the forked child, as above.
        unsafe {
            libc::close(pipe[0]);
            child(
                pipe[1],
                user.as_raw_fd(),
                mnt.as_raw_fd(),
                &dirs,
                &from_c,
                &to_c,
            )
        }
    }
    // SAFETY: our own descriptors and child.
    let (report, status) = unsafe {
        libc::close(pipe[1]);
        let mut report = [0u8; 5];
        let n = libc::read(pipe[0], report.as_mut_ptr().cast(), report.len());
        libc::close(pipe[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        ((n == 5).then_some(report), status)
    };
    match report {
        Some([step, e @ ..]) => Err(fail(
            STEPS.get(usize::from(step)).copied().unwrap_or("?"),
            std::io::Error::from_raw_os_error(i32::from_ne_bytes(e)),
        )),
        None if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => Ok(()),
        None => Err(fail(
            "its helper ended abnormally",
            std::io::Error::other(format!("wait status {status}")),
        )),
    }
}

/// The forked child: joins the namespaces, makes the folders and moves the mount; on failure
/// writes the step and errno to `report` and exits 1.
///
/// # Safety
/// Only in a freshly forked, single-threaded child; never returns.
unsafe fn child(
    report: libc::c_int,
    user: libc::c_int,
    mnt: libc::c_int,
    dirs: &[CString],
    from: &CString,
    to: &CString,
) -> ! {
    let die = |step: u8| -> ! {
        let errno = *libc::__errno_location();
        let mut buf = [0u8; 5];
        buf[0] = step;
        buf[1..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(report, buf.as_ptr().cast(), buf.len());
        libc::_exit(1)
    };
    if libc::setns(user, libc::CLONE_NEWUSER) != 0 {
        die(0);
    }
    // Also makes the view's root this process's root and working folder.
    if libc::setns(mnt, libc::CLONE_NEWNS) != 0 {
        die(1);
    }
    for d in dirs {
        if libc::mkdir(d.as_ptr(), 0o755) != 0 && *libc::__errno_location() != libc::EEXIST {
            die(2);
        }
    }
    if libc::mount(
        from.as_ptr(),
        to.as_ptr(),
        std::ptr::null(),
        libc::MS_MOVE,
        std::ptr::null(),
    ) != 0
    {
        die(3);
    }
    libc::_exit(0)
}

fn c_path(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::Sandbox(format!("path {} holds a NUL byte", p.display())))
}

/// Whether `p` is spelled as the host resolves it (absolute, no links, no `.` or `..`): only
/// then is it the same path inside a view as outside.
pub fn is_resolved(p: &Path) -> bool {
    p.is_absolute() && std::fs::canonicalize(p).is_ok_and(|c| c == p)
}

/// A fresh, empty folder for one warm process beneath `dir` (made with its parents, private to
/// the manager's user).
pub fn stand_in(dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let p = dir.join(name);
    std::fs::DirBuilder::new().mode(0o755).create(&p)?;
    Ok(p)
}
