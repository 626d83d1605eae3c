//! The filesystem a confined process sees: its own mount namespace whose root is an empty tmpfs
//! holding only what it was given, bind-mounted at the same paths as outside (so every path in
//! its environment means the same thing): the system's read-only parts, its Python environment,
//! its workspace and state folder, the one or two sockets it may use (the manager's, the egress
//! proxy's), a fresh `/proc` of its own process namespace, a few device files, and a private,
//! size-capped tmpfs as `/tmp`. Nothing else exists for it: not `$XDG_RUNTIME_DIR` (the D-Bus
//! session bus, systemd's user manager, ssh-agent, Wayland), not `/tmp/.X11-unix`, not `/run`.
//!
//! This is what bubblewrap and Flatpak do, for the same reason: Landlock (ABI <= 7) does not
//! cover `connect()` to a path Unix socket, so a socket must be out of sight to be out of reach.
//! Written here rather than run through `bwrap` because the manager applies Landlock after the
//! view is built, in the same process, between fork and exec; the steps follow bubblewrap's
//! (a tmpfs base, a first `pivot_root` that keeps the old root beneath it as the bind source,
//! a second one into the new root, the old root detached).
//!
//! As in [`super::Prepared`], everything that allocates (paths, flags) is worked out in the
//! parent by [`View::plan`]; [`View::build`] only makes syscalls.
use std::collections::{BTreeMap, HashSet};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Where the base tmpfs is mounted in the new mount namespace (bubblewrap uses `/tmp` too); it
/// becomes the root, so nothing of the host's `/tmp` is seen through it.
const BASE_CANDIDATES: [&str; 3] = ["/tmp", "/mnt", "/run"];
/// Where the new root is built, in the base tmpfs (the host's root is beneath it at `/oldroot`).
const NEW_ROOT: &str = "/newroot";

/// How a path is put into the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Bind-mounted read-only.
    Read,
    /// Bind-mounted read-write (Landlock still decides what may be written).
    Write,
    /// A path socket: bind-mounted onto an empty file.
    Socket,
    /// A fresh, size-capped tmpfs (the private `/tmp`).
    Tmpfs,
}

/// One syscall-level step of building the view, with its paths already spelled out.
enum Step {
    /// `mkdir`; an existing folder is fine.
    Dir(CString),
    /// An empty file to mount a non-folder onto; an existing one is fine.
    File(CString),
    /// A symbolic link, as the host has it (`/bin -> usr/bin`); an existing entry is fine.
    Symlink { target: CString, link: CString },
    /// `mount --rbind src dst`, then, for read-only paths, a remount with these flags (the
    /// source mount's locked flags kept: a user namespace may not clear nosuid/nodev/noexec).
    Bind {
        src: CString,
        dst: CString,
        read_only: Option<libc::c_ulong>,
    },
    /// A fresh procfs for the process's own pid namespace.
    Proc(CString),
    /// A fresh tmpfs with these options.
    Tmpfs { dst: CString, data: CString },
}

/// A view ready to be built in a forked child.
pub(super) struct View {
    base: CString,
    new_root: CString,
    old_root: CString,
    steps: Vec<Step>,
    /// The working directory, entered again inside the view.
    cwd: CString,
    /// The new root's `/proc`, once mounted (for its Landlock rule: a fresh procfs has inodes of
    /// its own, which the rules made in the parent do not cover).
    pub(super) proc_dir: Option<CString>,
    /// The new root's `/tmp`, a fresh tmpfs (for its Landlock rule, likewise).
    pub(super) tmp_dir: CString,
}

/// What to put in the view.
pub(super) struct Contents<'a> {
    pub read: &'a [PathBuf],
    pub write: &'a [PathBuf],
    pub sockets: &'a [PathBuf],
    /// Size of the private `/tmp`, in bytes.
    pub tmp_bytes: u64,
    pub cwd: &'a Path,
}

impl View {
    /// Works out the steps in the parent. Missing paths are skipped (as Landlock's rules skip
    /// them); a path that is a symbolic link is recreated as one and its target put in too.
    pub(super) fn plan(c: &Contents<'_>) -> std::io::Result<View> {
        let base = BASE_CANDIDATES
            .iter()
            .map(Path::new)
            .find(|p| p.is_dir())
            .ok_or_else(|| std::io::Error::other("no folder to build the sandbox's view on"))?;
        let mut wanted = Wanted::default();
        for p in c.read {
            wanted.add(p, Kind::Read);
        }
        for p in c.write {
            wanted.add(p, Kind::Write);
        }
        for p in c.sockets {
            wanted.add(p, Kind::Socket);
        }
        // A private /tmp, mounted before anything beneath it (the mounts go by depth).
        let tmp = PathBuf::from("/tmp");
        wanted.entries.insert(tmp.clone(), Kind::Tmpfs);
        let mut steps = Steps::default();
        steps.mounts(wanted.entries, c.tmp_bytes)?;
        steps.links(wanted.links)?;
        steps.device_links()?;
        let proc_dir = if wanted.proc {
            Some(steps.proc()?)
        } else {
            None
        };
        Ok(View {
            base: cstring(base.as_os_str().as_bytes())?,
            new_root: cstring(NEW_ROOT.as_bytes())?,
            old_root: cstring(b"oldroot")?,
            steps: steps.list,
            cwd: cstring(c.cwd.as_os_str().as_bytes())?,
            proc_dir,
            tmp_dir: inside(Path::new(NEW_ROOT), &tmp)?,
        })
    }

    /// Builds the view and enters it; it makes syscalls on the parent's buffers and allocates
    /// nothing.
    ///
    /// `before_leaving_old_root` runs once everything is mounted, while the new root is still at
    /// `/newroot` (the Landlock rule for the fresh `/proc` is added there).
    ///
    /// # Safety
    /// Only in a forked, single-threaded child that has its own user and mount namespaces (and,
    /// for `/proc`, is the first process of its own pid namespace): it mounts, changes root and
    /// unmounts the old one.
    pub(super) unsafe fn build(
        &self,
        before_leaving_old_root: impl FnOnce(&View) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.enter_base()?;
        for step in &self.steps {
            step.perform()?;
        }
        before_leaving_old_root(self)?;
        self.leave_old_root()
    }

    /// Mounts the base tmpfs, makes it the root with the host's root beneath it at `/oldroot`,
    /// and makes `/newroot` in it a mount point of its own.
    ///
    /// # Safety
    /// As [`View::build`]'s.
    unsafe fn enter_base(&self) -> std::io::Result<()> {
        let null = std::ptr::null::<libc::c_char>();
        // Nothing mounted here propagates back to the host.
        check(libc::mount(
            null,
            c"/".as_ptr(),
            null,
            libc::MS_SLAVE | libc::MS_REC,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            c"tmpfs".as_ptr(),
            self.base.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NODEV | libc::MS_NOSUID,
            c"mode=0755".as_ptr().cast(),
        ))?;
        check(libc::chdir(self.base.as_ptr()))?;
        check(libc::mkdir(c"newroot".as_ptr(), 0o755))?;
        check(libc::mkdir(self.old_root.as_ptr(), 0o755))?;
        // The tmpfs becomes the root; the host's root stays reachable at /oldroot, whole (its /tmp
        // included), as the source of the binds below.
        check(pivot_root(c".", self.old_root.as_ref()))?;
        check(libc::chdir(c"/".as_ptr()))?;
        // The new root must be a mount point of its own for the second pivot.
        check(libc::mount(
            self.new_root.as_ptr(),
            self.new_root.as_ptr(),
            null,
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        ))
    }

    /// Detaches the host's root and moves into the new root, dropping the base tmpfs beneath it;
    /// then enters the working directory again, inside the view.
    ///
    /// # Safety
    /// As [`View::build`]'s, once the steps are taken.
    unsafe fn leave_old_root(&self) -> std::io::Result<()> {
        // Detach the host's root (privately first, so the unmount is not sent to the host).
        check(libc::mount(
            self.old_root.as_ptr(),
            self.old_root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::umount2(self.old_root.as_ptr(), libc::MNT_DETACH))?;
        // Into the new root: pivot onto itself, then drop the tmpfs beneath it.
        let old = libc::open(
            c"/".as_ptr(),
            libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
        );
        check(old)?;
        check(libc::chdir(self.new_root.as_ptr()))?;
        check(pivot_root(c".", c"."))?;
        check(libc::fchdir(old))?;
        libc::close(old);
        check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
        check(libc::chdir(c"/".as_ptr()))?;
        // The working directory again, now inside the view: the one inherited from the parent
        // would keep a way into the host's filesystem.
        check(libc::chdir(self.cwd.as_ptr()))
    }
}

impl Step {
    /// Makes the folder, file or link, or mounts.
    ///
    /// # Safety
    /// As [`View::build`]'s, between [`View::enter_base`] and [`View::leave_old_root`].
    unsafe fn perform(&self) -> std::io::Result<()> {
        let null = std::ptr::null::<libc::c_char>();
        match self {
            Step::Dir(p) => exists_ok(libc::mkdir(p.as_ptr(), 0o755)),
            Step::File(p) => exists_ok(libc::mknod(p.as_ptr(), libc::S_IFREG | 0o644, 0)),
            Step::Symlink { target, link } => {
                exists_ok(libc::symlink(target.as_ptr(), link.as_ptr()))
            }
            Step::Bind {
                src,
                dst,
                read_only,
            } => {
                check(libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    null,
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ))?;
                if let Some(flags) = read_only {
                    check(libc::mount(
                        null,
                        dst.as_ptr(),
                        null,
                        *flags,
                        std::ptr::null(),
                    ))?;
                }
                Ok(())
            }
            Step::Tmpfs { dst, data } => check(libc::mount(
                c"tmpfs".as_ptr(),
                dst.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NODEV | libc::MS_NOSUID,
                data.as_ptr().cast(),
            )),
            Step::Proc(p) => check(libc::mount(
                c"proc".as_ptr(),
                p.as_ptr(),
                c"proc".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            )),
        }
    }
}

/// What the view must hold, sorted out from what the process was given.
#[derive(Default)]
struct Wanted {
    /// Paths and how each is put in (the widest way asked for, when asked several times).
    entries: BTreeMap<PathBuf, Kind>,
    /// Symbolic links to recreate, and their targets as the host has them.
    links: BTreeMap<PathBuf, PathBuf>,
    /// Whether a fresh `/proc` was asked for.
    proc: bool,
}

impl Wanted {
    /// Adds `p` (skipped when relative or missing): a link as a link plus its target, a path
    /// spelled through a linked folder also where it really is.
    fn add(&mut self, p: &Path, kind: Kind) {
        if !p.is_absolute() {
            return;
        }
        if p == Path::new("/proc") {
            self.proc = true;
            return;
        }
        let Ok(meta) = p.symlink_metadata() else {
            return;
        };
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::read_link(p) {
                self.links.insert(p.to_path_buf(), target);
            }
            // The link's target, wherever it leads (Landlock's rule follows it too).
            if let Ok(real) = p.canonicalize() {
                self.put(real, kind);
            }
        } else {
            self.put(p.to_path_buf(), kind);
            // Spelled through a linked folder (`/home -> /data/home`): also where it really is.
            if let Ok(real) = p.canonicalize() {
                if real != p {
                    self.put(real, kind);
                }
            }
        }
    }

    fn put(&mut self, p: PathBuf, kind: Kind) {
        let k = self.entries.entry(p).or_insert(kind);
        *k = (*k).max(kind);
    }
}

/// The steps worked out so far, and the folders they make (each made once).
#[derive(Default)]
struct Steps {
    list: Vec<Step>,
    made: HashSet<PathBuf>,
}

impl Steps {
    /// A mount for each entry, parents before children (a path beneath another is mounted on
    /// top of it), skipping those already in view through a folder bound above them.
    fn mounts(&mut self, entries: BTreeMap<PathBuf, Kind>, tmp_bytes: u64) -> std::io::Result<()> {
        let new_root = Path::new(NEW_ROOT);
        let old_root = Path::new("/oldroot");
        let mut ordered: Vec<(PathBuf, Kind)> = entries.into_iter().collect();
        ordered.sort_by_key(|(p, _)| p.components().count());
        let mut bound: Vec<(PathBuf, Kind)> = Vec::new();
        for (path, kind) in ordered {
            // Already in view, as it is, through a folder bound above it.
            let covered = bound
                .iter()
                .any(|(b, k)| path.starts_with(b) && *k != Kind::Tmpfs && kind <= *k);
            if covered && kind != Kind::Socket {
                continue;
            }
            bound.push((path.clone(), kind));
            self.folders_to(&path)?;
            let dst = inside(new_root, &path)?;
            if kind == Kind::Tmpfs {
                self.made.insert(path.clone());
                self.list.push(Step::Dir(dst.clone()));
                self.list.push(Step::Tmpfs {
                    dst,
                    data: cstring(format!("mode=1777,size={tmp_bytes}").as_bytes())?,
                });
                continue;
            }
            if path.is_dir() && kind != Kind::Socket {
                if self.made.insert(path.clone()) {
                    self.list.push(Step::Dir(dst.clone()));
                }
            } else {
                self.list.push(Step::File(dst.clone()));
            }
            self.list.push(Step::Bind {
                src: inside(old_root, &path)?,
                dst,
                read_only: (kind == Kind::Read).then(|| remount_flags(&path)),
            });
        }
        Ok(())
    }

    /// The symbolic links, as the host has them.
    fn links(&mut self, links: BTreeMap<PathBuf, PathBuf>) -> std::io::Result<()> {
        for (link, target) in links {
            self.folders_to(&link)?;
            self.list.push(Step::Symlink {
                target: cstring(target.as_os_str().as_bytes())?,
                link: inside(Path::new(NEW_ROOT), &link)?,
            });
        }
        Ok(())
    }

    /// Devices' conventional links.
    fn device_links(&mut self) -> std::io::Result<()> {
        self.folders_to(Path::new("/dev/x"))?;
        for (link, target) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            self.list.push(Step::Symlink {
                target: cstring(target.as_bytes())?,
                link: inside(Path::new(NEW_ROOT), Path::new(link))?,
            });
        }
        Ok(())
    }

    /// A fresh `/proc`; returns where it is mounted.
    fn proc(&mut self) -> std::io::Result<CString> {
        let dir = inside(Path::new(NEW_ROOT), Path::new("/proc"))?;
        self.list.push(Step::Dir(dir.clone()));
        self.list.push(Step::Proc(dir.clone()));
        Ok(dir)
    }

    /// Steps making every folder above `p` inside the new root (each once).
    fn folders_to(&mut self, p: &Path) -> std::io::Result<()> {
        let mut at = PathBuf::from("/");
        for comp in p.parent().unwrap_or(Path::new("/")).components() {
            if let Component::Normal(n) = comp {
                at.push(n);
                if self.made.insert(at.clone()) {
                    self.list.push(Step::Dir(inside(Path::new(NEW_ROOT), &at)?));
                }
            }
        }
        Ok(())
    }
}

/// Flags to remount a bind read-only, keeping the flags a user namespace may not clear.
fn remount_flags(p: &Path) -> libc::c_ulong {
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    let Ok(c) = cstring(p.as_os_str().as_bytes()) else {
        return flags;
    };
    // SAFETY: statvfs fills the struct it is given.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 {
        for (st_flag, ms_flag) in [
            (libc::ST_NOSUID, libc::MS_NOSUID),
            (libc::ST_NODEV, libc::MS_NODEV),
            (libc::ST_NOEXEC, libc::MS_NOEXEC),
        ] {
            if st.f_flag & st_flag != 0 {
                flags |= ms_flag;
            }
        }
    }
    flags
}

/// `root` + the absolute path `p`.
fn inside(root: &Path, p: &Path) -> std::io::Result<CString> {
    let rel = p.strip_prefix("/").unwrap_or(p);
    cstring(root.join(rel).as_os_str().as_bytes())
}

fn cstring(b: &[u8]) -> std::io::Result<CString> {
    CString::new(b).map_err(|_| std::io::Error::other("a path with a NUL byte"))
}

/// `pivot_root(2)`, which libc does not wrap.
///
/// # Safety
/// Changes the root of the calling process's mount namespace: only in the confined child, in a
/// mount namespace of its own.
unsafe fn pivot_root(new: &CStr, old: &CStr) -> libc::c_int {
    libc::syscall(libc::SYS_pivot_root, new.as_ptr(), old.as_ptr()) as libc::c_int
}

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn exists_ok(rc: libc::c_int) -> std::io::Result<()> {
    match check(rc) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other,
    }
}
