//! Snapshots taken before a destructive action, and their restoration.
//!
//! Before a task overwrites or deletes files that existed before it, it announces the paths
//! (`PrepareDestructive`); once the person (or a rule) agreed, the manager copies what exists at
//! those paths into `<data_dir>/snapshots/<action id>/` (which no agent can read) and records which
//! paths did not exist. `hyperagent rollback ACTION` puts every path back exactly as it was: the
//! files and folders that existed come back with their content, permissions and modification
//! times; what did not exist is removed.
//!
//! Written by hand rather than with a crate: a recursive copy that keeps modes, times and symlinks
//! is a few dozen lines of std, and the restore must be the exact inverse of the snapshot.
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

/// Copies what exists at each of `paths` into `dir` (`dir/<index>`), and says which existed.
pub fn snapshot(paths: &[PathBuf], dir: &Path) -> io::Result<(Vec<Entry>, Copied)> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    let mut copied = Copied::default();
    let mut entries = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let existed = p.symlink_metadata().is_ok();
        if existed {
            copy_tree(p, &dir.join(i.to_string()), &mut copied)?;
        }
        entries.push(Entry {
            path: p.clone(),
            existed,
        });
    }
    Ok((entries, copied))
}

/// Puts every entry back as the snapshot in `dir` has it, after checking every path is still
/// inside `roots` (nothing is touched when one is not).
pub fn restore(entries: &[Entry], dir: &Path, roots: &[PathBuf]) -> io::Result<()> {
    for e in entries {
        check_inside(&e.path, roots)?;
    }
    for (i, e) in entries.iter().enumerate() {
        remove_any(&e.path)?;
        if e.existed {
            if let Some(parent) = e.path.parent() {
                fs::create_dir_all(parent)?;
            }
            copy_tree(&dir.join(i.to_string()), &e.path, &mut Copied::default())?;
        }
    }
    Ok(())
}

fn remove_any(p: &Path) -> io::Result<()> {
    match p.symlink_metadata() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
    }
}

/// Copies a file, symlink or folder tree, keeping permissions and modification times.
fn copy_tree(from: &Path, to: &Path, copied: &mut Copied) -> io::Result<()> {
    let m = from.symlink_metadata()?;
    if m.file_type().is_symlink() {
        symlink(fs::read_link(from)?, to)?;
        copied.files += 1;
        return Ok(());
    }
    if m.is_dir() {
        fs::create_dir_all(to)?;
        for e in fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()), copied)?;
        }
    } else {
        copied.bytes += fs::copy(from, to)?;
        copied.files += 1;
    }
    fs::set_permissions(to, fs::Permissions::from_mode(m.mode() & 0o7777))?;
    let times = fs::FileTimes::new().set_modified(m.modified()?);
    fs::File::open(to)?.set_times(times)?;
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
        let (entries, copied) = snapshot(&paths, &root.path().join("snap")).unwrap();
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

        let roots = vec![w.canonicalize().unwrap()];
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
