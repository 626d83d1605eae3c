//! Snapshots taken before a destructive action, and their restoration.
//!
//! Before a task overwrites or deletes files that existed before it, it announces the paths
//! (`PrepareDestructive`); once the person (or a rule) agreed, the manager copies what exists at
//! those paths into `<data_dir>/snapshots/<action id>/` (which no agent can read) and records which
//! paths did not exist. `hyperagent rollback ACTION` puts every path back exactly as it was: the
//! files and folders that existed come back with their content, permissions and modification
//! times; what did not exist is removed.
//!
//! The paths were chosen by a task, so the manager (which is not confined) reaches every one of
//! them from a descriptor of the folder it must be in (the task's workspace or a write grant),
//! one component at a time with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, and creates
//! and removes only relative to such descriptors: a link swapped in between a check and a use
//! is refused, never followed.
//!
//! Written by hand rather than with a crate: a recursive copy that keeps modes, times and
//! symlinks is a few dozen lines, it must be the exact inverse of the snapshot, and the copying
//! crates follow paths rather than descriptors.
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use rustix::fs::{
    mkdirat, openat2, readlinkat, statat, symlinkat, unlinkat, AtFlags, Dir, FileType, Mode,
    OFlags, ResolveFlags,
};

use serde::{Deserialize, Serialize};

/// One path of an action, as it was before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path the task touches.
    pub path: PathBuf,
    /// It existed before the action (and was copied into the snapshot).
    pub existed: bool,
}

/// A destructive action and its snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Its id.
    pub id: String,
    /// The task that took it.
    pub task_id: String,
    /// Its agent.
    pub agent_id: String,
    /// What it does, in the agent's words.
    pub description: String,
    /// The paths, as they were before.
    pub entries: Vec<Entry>,
    /// The folders (symlinks resolved) every path had to be in: the task's workspace and write
    /// grants. Checked again before a rollback touches anything.
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    /// Files copied into the snapshot.
    pub files: u64,
    /// Bytes copied into the snapshot.
    pub bytes: u64,
    /// When it was snapshotted (µs).
    pub created_us: i64,
    /// When it was rolled back (µs), if it was.
    pub rolled_back_us: Option<i64>,
}

/// What a snapshot copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Files (and symlinks).
    pub files: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Refuses a path whose folder, with every symlink resolved, is not inside one of `roots`
/// (canonical paths). The manager is not confined, so without this a task could point a
/// snapshot or a rollback through a symlink it planted at files it may not touch.
pub fn check_inside(path: &Path, roots: &[PathBuf]) -> io::Result<()> {
    // The nearest folder that exists (a path to be created may have missing parents).
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d.exists() {
            break;
        }
        dir = d.parent();
    }
    let real = dir.unwrap_or(Path::new("/")).canonicalize()?;
    if roots.iter().any(|r| real.starts_with(r)) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} leads outside the task's workspace and write grants (to {})",
                path.display(),
                real.display()
            ),
        ))
    }
}

/// Copies what exists at each of `paths` into `dir` (`dir/<index>`), and says which existed. Each
/// path is read from a descriptor of the root it is in (one of `roots`, canonical), one component
/// at a time, never following a link: a task that swaps a folder for a link to `~/.ssh` while the
/// copy runs gets an error, not the person's files in the snapshot.
///
/// At most `max_bytes` are copied (the room the disk has above the manager's reserve): past it
/// the copy stops with an error, and the caller removes what was made.
pub fn snapshot(
    paths: &[PathBuf],
    roots: &[PathBuf],
    dir: &Path,
    max_bytes: u64,
) -> io::Result<(Vec<Entry>, Copied)> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let mut copied = Copied::default();
    let mut entries = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let (root, rel) = beneath(p, roots)?;
        let root = open_root(root)?;
        let (parent, name) = split(rel)?;
        let existed = match walk(&root, parent, false)? {
            Some(parent) => match statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(_) => {
                    copy_out(
                        &parent,
                        name,
                        &dir.join(i.to_string()),
                        &mut copied,
                        max_bytes,
                    )?;
                    true
                }
                Err(rustix::io::Errno::NOENT) => false,
                Err(e) => return Err(e.into()),
            },
            None => false,
        };
        entries.push(Entry {
            path: p.clone(),
            existed,
        });
    }
    // On disk before the action is recorded and the agent told to go ahead: after a power cut,
    // a recorded action must not restore files the cache never wrote out.
    rustix::fs::syncfs(fs::File::open(dir)?)?;
    Ok((entries, copied))
}

/// Puts every entry back as the snapshot in `dir` has it, after checking every path is still
/// inside `roots` (nothing is touched when one is not). Like [`snapshot`], it reaches each path
/// from its root's descriptor without following links, creating missing folders as it goes, so
/// a link swapped in while it runs stops it (an error naming the path) instead of leading it out.
pub fn restore(entries: &[Entry], dir: &Path, roots: &[PathBuf]) -> io::Result<()> {
    for e in entries {
        check_inside(&e.path, roots)?;
        beneath(&e.path, roots)?;
    }
    for (i, e) in entries.iter().enumerate() {
        let (root, rel) = beneath(&e.path, roots)?;
        let root = open_root(root)?;
        let (parent, name) = split(rel)?;
        let parent = walk(&root, parent, true)?
            .ok_or_else(|| io::Error::other("a folder could not be made"))?;
        remove_at(&parent, name).map_err(|err| in_path(err, &e.path))?;
        if e.existed {
            copy_in(&dir.join(i.to_string()), &parent, name)
                .map_err(|err| in_path(err, &e.path))?;
        }
    }
    Ok(())
}

/// The root `p` is in, and `p` relative to it (a path the manager checked: absolute, clean).
fn beneath<'a>(p: &'a Path, roots: &'a [PathBuf]) -> io::Result<(&'a Path, &'a Path)> {
    roots
        .iter()
        .filter_map(|r| Some((r.as_path(), p.strip_prefix(r).ok()?)))
        .filter(|(_, rel)| !rel.as_os_str().is_empty())
        .max_by_key(|(r, _)| r.as_os_str().len())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is not beneath the task's workspace or write grants (as they are, links \
                     resolved)",
                    p.display()
                ),
            )
        })
}

fn split(rel: &Path) -> io::Result<(&Path, &OsStr)> {
    match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(io::Error::other(format!("{} names no file", rel.display()))),
    }
}

/// A root (canonical, so it has no links): opened from `/` refusing any link on the way, in
/// case a folder of it was swapped since.
fn open_root(root: &Path) -> io::Result<OwnedFd> {
    let slash = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = root.strip_prefix("/").unwrap_or(root);
    if rel.as_os_str().is_empty() {
        return Ok(slash);
    }
    openat2(
        &slash,
        rel,
        OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        NO_LINKS,
    )
    .map_err(|e| link_error(e, root))
}

/// Refuses every link, and anything (`..`, an absolute link) that would leave the folder.
const NO_LINKS: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Opens each folder of `rel` beneath `root` in turn; with `create`, makes the missing ones.
/// `None` when one is missing and `create` is false.
fn walk(root: &OwnedFd, rel: &Path, create: bool) -> io::Result<Option<OwnedFd>> {
    let mut at = rustix::fs::openat(
        root,
        ".",
        OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for comp in rel.components() {
        let name = match comp {
            Component::Normal(n) => n,
            Component::CurDir => continue,
            _ => {
                return Err(io::Error::other(format!(
                    "{} is not a plain path",
                    rel.display()
                )))
            }
        };
        let open = |at: &OwnedFd| {
            openat2(
                at,
                name,
                OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                NO_LINKS,
            )
        };
        at = match open(&at) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) if create => {
                match mkdirat(&at, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                open(&at).map_err(|e| link_error(e, Path::new(name)))?
            }
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(link_error(e, Path::new(name))),
        };
    }
    Ok(Some(at))
}

/// Opens `name` in `dir` without following any link (one component: no `..`, no link).
fn open_in(dir: &OwnedFd, name: &OsStr, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    openat2(dir, name, flags | OFlags::CLOEXEC, mode, NO_LINKS)
        .map_err(|e| link_error(e, Path::new(name)))
}

/// ELOOP from a walk that refuses links, in words.
fn link_error(e: rustix::io::Errno, at: &Path) -> io::Error {
    if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::XDEV {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is a symbolic link (or leads out); nothing is read or written through it",
                at.display()
            ),
        )
    } else {
        e.into()
    }
}

fn in_path(e: io::Error, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// Removes `name` in `dir` (a folder with all it holds), never following a link.
fn remove_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let st = match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        let sub = open_in(dir, name, OFlags::DIRECTORY, Mode::empty())?;
        for child in children(&sub)? {
            remove_at(&sub, &child)?;
        }
        unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    } else {
        unlinkat(dir, name, AtFlags::empty())?;
    }
    Ok(())
}

/// The names in a folder, without `.` and `..`.
fn children(dir: &OwnedFd) -> io::Result<Vec<std::ffi::OsString>> {
    let mut out = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            out.push(name.to_os_string());
        }
    }
    Ok(out)
}

/// Copies `name` in `dir` (a file, link or folder tree, read without following links) to `to`,
/// keeping permissions and modification times. Other kinds (sockets, devices) are skipped.
fn copy_out(
    dir: &OwnedFd,
    name: &OsStr,
    to: &Path,
    copied: &mut Copied,
    max_bytes: u64,
) -> io::Result<()> {
    let st = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let keep = |to: &Path| -> io::Result<()> {
        fs::set_permissions(to, fs::Permissions::from_mode(st.st_mode & 0o7777))?;
        let modified = UNIX_EPOCH + Duration::new(st.st_mtime as u64, st.st_mtime_nsec as u32);
        fs::File::open(to)?.set_times(fs::FileTimes::new().set_modified(modified))
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Symlink => {
            symlink(
                OsStr::from_bytes(readlinkat(dir, name, Vec::new())?.as_bytes()),
                to,
            )?;
            copied.files += 1;
        }
        FileType::Directory => {
            let sub = open_in(dir, name, OFlags::DIRECTORY, Mode::empty())?;
            fs::create_dir_all(to)?;
            for child in children(&sub)? {
                copy_out(&sub, &child, &to.join(&child), copied, max_bytes)?;
            }
            keep(to)?;
        }
        FileType::RegularFile => {
            let fd = open_in(dir, name, OFlags::RDONLY, Mode::empty())?;
            let mut from = fs::File::from(fd);
            let mut out = fs::File::create(to)?;
            // One byte past the room left tells a file too big for it (it may grow while read).
            let left = max_bytes.saturating_sub(copied.bytes);
            copied.bytes += io::copy(
                &mut io::Read::take(&mut from, left.saturating_add(1)),
                &mut out,
            )?;
            copied.files += 1;
            if copied.bytes > max_bytes {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!(
                        "the snapshot would take more than the {max_bytes} bytes the disk has \
                         above the manager's reserve (store.min_free_bytes)"
                    ),
                ));
            }
            drop(out);
            keep(to)?;
        }
        _ => {}
    }
    Ok(())
}

/// Copies the snapshot's `from` (the manager's own folder) to `name` in `dir`, creating it
/// anew (never opening what is there: the caller removed it), with its permissions and times.
fn copy_in(from: &Path, dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let m = from.symlink_metadata()?;
    let mode = Mode::from_raw_mode(m.mode() & 0o7777);
    let times = |fd: &OwnedFd| -> io::Result<()> {
        let t = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: m.mtime(),
                tv_nsec: m.mtime_nsec(),
            },
        };
        rustix::fs::futimens(fd, &t)?;
        Ok(())
    };
    if m.file_type().is_symlink() {
        symlinkat(fs::read_link(from)?.as_os_str(), dir, name)?;
    } else if m.is_dir() {
        mkdirat(dir, name, Mode::from_raw_mode(0o700))?;
        let sub = open_in(dir, name, OFlags::DIRECTORY, Mode::empty())?;
        for e in fs::read_dir(from)? {
            let e = e?;
            copy_in(&e.path(), &sub, &e.file_name())?;
        }
        rustix::fs::fchmod(&sub, mode)?;
        times(&sub)?;
    } else {
        let fd = open_in(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(0o600),
        )?;
        let mut out = fs::File::from(fd);
        io::copy(&mut fs::File::open(from)?, &mut out)?;
        let fd = OwnedFd::from(out);
        rustix::fs::fchmod(&fd, mode)?;
        times(&fd)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_is_the_exact_inverse_of_snapshot() {
        let root = tempfile::tempdir().unwrap();
        let w = root.path().join("w");
        fs::create_dir_all(w.join("src/pkg")).unwrap();
        fs::write(w.join("README.md"), "original readme").unwrap();
        fs::write(w.join("src/pkg/a.py"), "a = 1").unwrap();
        fs::set_permissions(w.join("src/pkg/a.py"), fs::Permissions::from_mode(0o751)).unwrap();
        symlink("a.py", w.join("src/pkg/link")).unwrap();
        let before = fs::metadata(w.join("README.md"))
            .unwrap()
            .modified()
            .unwrap();
        let paths = vec![w.join("README.md"), w.join("src"), w.join("new.txt")];
        let roots = vec![w.canonicalize().unwrap()];
        let (entries, copied) =
            snapshot(&paths, &roots, &root.path().join("snap"), u64::MAX).unwrap();
        assert_eq!(
            entries.iter().map(|e| e.existed).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(copied.files, 3);
        assert_eq!(
            copied.bytes,
            ("original readme".len() + "a = 1".len()) as u64
        );

        // The destructive action: overwrite, delete, create.
        fs::write(w.join("README.md"), "overwritten").unwrap();
        fs::remove_dir_all(w.join("src")).unwrap();
        fs::write(w.join("new.txt"), "created").unwrap();

        restore(&entries, &root.path().join("snap"), &roots).unwrap();
        assert_eq!(
            fs::read_to_string(w.join("README.md")).unwrap(),
            "original readme"
        );
        assert_eq!(
            fs::metadata(w.join("README.md"))
                .unwrap()
                .modified()
                .unwrap(),
            before
        );
        assert_eq!(fs::read_to_string(w.join("src/pkg/a.py")).unwrap(), "a = 1");
        let mode = fs::metadata(w.join("src/pkg/a.py")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o751);
        assert_eq!(
            fs::read_link(w.join("src/pkg/link")).unwrap(),
            Path::new("a.py")
        );
        assert!(!w.join("new.txt").exists());
    }

    #[test]
    fn a_walk_never_follows_a_link_even_one_swapped_in_after_the_checks() {
        let root = tempfile::tempdir().unwrap();
        let w = root.path().join("w");
        let outside = root.path().join("outside");
        fs::create_dir_all(w.join("sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let fd = open_root(&w.canonicalize().unwrap()).unwrap();
        assert!(walk(&fd, Path::new("sub"), false).unwrap().is_some());
        // What a leftover process of the task would do once the checks have passed.
        fs::remove_dir(w.join("sub")).unwrap();
        symlink(&outside, w.join("sub")).unwrap();
        for create in [false, true] {
            let e = walk(&fd, Path::new("sub/deeper"), create).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
            assert!(e.to_string().contains("symbolic link"), "{e}");
        }
        assert!(
            fs::read_dir(&outside).unwrap().next().is_none(),
            "nothing made outside"
        );
        let copied = snapshot(
            &[w.join("sub/secret")],
            &[w.canonicalize().unwrap()],
            &root.path().join("snap"),
            u64::MAX,
        );
        assert!(
            copied.is_err(),
            "a snapshot does not read through the link either"
        );
    }

    #[test]
    fn a_snapshot_stops_past_the_room_it_is_given() {
        let root = tempfile::tempdir().unwrap();
        let w = root.path().join("w");
        fs::create_dir_all(&w).unwrap();
        fs::write(w.join("big"), vec![7u8; 4096]).unwrap();
        let roots = [w.canonicalize().unwrap()];
        let e = snapshot(&[w.join("big")], &roots, &root.path().join("s1"), 1000).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{e}");
        assert!(e.to_string().contains("1000 bytes"), "{e}");
        let (_, copied) =
            snapshot(&[w.join("big")], &roots, &root.path().join("s2"), 4096).unwrap();
        assert_eq!(copied.bytes, 4096);
    }

    #[test]
    fn a_planted_symlink_cannot_lead_a_rollback_outside() {
        let root = tempfile::tempdir().unwrap();
        let w = root.path().join("w");
        let outside = root.path().join("outside");
        fs::create_dir_all(&w).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("precious"), "keep me").unwrap();
        let roots = vec![w.canonicalize().unwrap()];
        assert!(check_inside(&w.join("a/b/new.txt"), &roots).is_ok());
        symlink(&outside, w.join("link")).unwrap();
        let e = check_inside(&w.join("link/precious"), &roots).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let entries = vec![Entry {
            path: w.join("link/precious"),
            existed: false,
        }];
        assert!(restore(&entries, &root.path().join("snap"), &roots).is_err());
        assert_eq!(
            fs::read_to_string(outside.join("precious")).unwrap(),
            "keep me"
        );
    }
}
