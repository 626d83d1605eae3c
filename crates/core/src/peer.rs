//! Who is at the other end of a Unix-socket connection, decided once, from the kernel, when the
//! connection is accepted, and kept with the connection.
//!
//! Deciding later from the pid the kernel reported at connect would trust a number that can name
//! another process by then: a confined task can fork children that connect and exit, keep their
//! connections, and walk the pid counter until an unconfined process holds a child's pid. So at
//! accept time the manager takes a pidfd of the connecting process (`SO_PEERPIDFD`, Linux 6.5;
//! on older kernels `pidfd_open` of the reported pid, which leaves the window between connect and
//! accept open), reads what it needs of that process from `/proc` (its user namespace and its
//! parent), and then checks through the pidfd that the process is still alive: a live process's
//! pid cannot have been reused, so what was read was that process's. A peer that is gone by then
//! counts as confined (fail closed).
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use tokio::net::UnixStream;

/// `SO_PEERPIDFD` (Linux 6.5), not in every libc release.
const SO_PEERPIDFD: libc::c_int = 77;

/// What the kernel said about a connection's peer when it was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The pid of the process that connected, in the manager's pid namespace.
    pub pid: u32,
    /// Its parent's pid, when it could be read for certain.
    pub parent: Option<u32>,
    /// True unless it was certainly in the manager's user namespace: every confined process has
    /// one of its own, so this tells a sandboxed caller from a client of the person's.
    pub confined: bool,
}

impl Peer {
    /// The peer of an accepted connection; `None` when the kernel reports no pid.
    pub fn of(stream: &UnixStream) -> Option<Peer> {
        let pid = u32::try_from(stream.peer_cred().ok()?.pid()?).ok()?;
        let pidfd = match peer_pidfd(stream.as_raw_fd()) {
            Ok(fd) => Some(fd),
            // An older kernel: the next best thing.
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => pidfd_open(pid),
            // The peer is gone already (its pid may be another process's now).
            Err(_) => None,
        };
        let user_ns = std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
        let parent = parent_of(pid);
        // Only now: if the process is still alive, its pid was not reused while we read.
        let same_process = pidfd.as_ref().is_some_and(alive);
        let ours = same_process && user_ns.is_some() && user_ns == *own_user_namespace();
        Some(Peer {
            pid,
            parent: parent.filter(|_| same_process),
            confined: !ours,
        })
    }
}

/// This process's user namespace, once.
fn own_user_namespace() -> &'static Option<PathBuf> {
    static MINE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    MINE.get_or_init(|| std::fs::read_link("/proc/self/ns/user").ok())
}

fn peer_pidfd(socket: RawFd) -> io::Result<OwnedFd> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `fd`.
    let rc = unsafe {
        libc::getsockopt(
            socket,
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just gave us, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: a plain syscall returning a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: as above.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Whether the process a pidfd refers to is still running (signal 0 checks, sends nothing).
fn alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: a plain syscall on a descriptor we own.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// The parent pid of `pid`, from `/proc/<pid>/stat`.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    stat_field(pid, STAT_PPID)
}

/// `/proc/<pid>/stat` fields, counted from the one after the command name (the state is 0).
pub(crate) const STAT_PPID: usize = 1;
/// The process group.
pub(crate) const STAT_PGRP: usize = 2;

/// One field of `/proc/<pid>/stat`.
pub(crate) fn stat_field<T: std::str::FromStr>(pid: u32, field: usize) -> Option<T> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(field)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_of_this_process_is_known_and_not_confined() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let _client = UnixStream::connect(&path).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let peer = Peer::of(&server).expect("a Unix peer has a pid");
        assert_eq!(peer.pid, std::process::id());
        assert_eq!(peer.parent, parent_of(std::process::id()));
        assert!(!peer.confined);
    }

    #[tokio::test]
    async fn a_peer_gone_before_accept_counts_as_confined() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        // A child process connects and exits; its connection stays queued.
        let status = std::process::Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import socket,os; s=socket.socket(socket.AF_UNIX); s.connect({:?}); os._exit(0)",
                path.to_str().unwrap()
            ))
            .status()
            .unwrap();
        assert!(status.success());
        let (server, _) = listener.accept().await.unwrap();
        let peer = Peer::of(&server).expect("the kernel still reports the pid");
        assert!(peer.confined, "{peer:?}");
        assert_eq!(peer.parent, None);
    }
}
