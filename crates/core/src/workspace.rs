//! Task workspaces: the folder a task's process may write, always beneath the workspace root.
//!
//! By default each task gets `<root>/<task id>`. A client may name the folder instead (a project
//! to make, `shop`): [`resolve`] accepts a path relative to the root, or an absolute one beneath
//! it, and refuses `..`, anything outside the root and any symbolic link on the way that leads out
//! of it, each with its own message. The manager makes the folders that do not exist yet
//! ([`create`]) and, once the task has ended, removes those it made if the task left them empty
//! ([`remove_made`]), so a cancelled or dry run leaves nothing behind.
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The folder `asked` names beneath `root` (lexically; nothing is created). Errors say what was
/// wrong and what is allowed.
pub fn resolve(root: &Path, asked: &str) -> Result<PathBuf> {
    let outside = |why: &str| {
        Error::InvalidInput(format!(
            "workspace `{asked}` must stay inside the workspace root {}: {why}",
            root.display()
        ))
    };
    if asked.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "workspace {asked:?} contains a control character; use a plain folder name"
        )));
    }
    let p = Path::new(asked);
    let relative = if p.is_absolute() {
        p.strip_prefix(root).map_err(|_| {
            outside("give a folder relative to it (e.g. `shop`) or an absolute path beneath it")
        })?
    } else {
        p
    };
    let mut rel = PathBuf::new();
    for c in relative.components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(outside("`..` is not allowed in it")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(outside("give a folder relative to it"))
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(Error::InvalidInput(format!(
            "workspace `{asked}` names the workspace root itself; give a folder inside it (e.g. `shop`)"
        )));
    }
    // Each part that exists must be a folder (or a link to one) that stays inside the root.
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&at) else {
            break; // the rest does not exist yet; the manager makes it
        };
        if meta.file_type().is_symlink() {
            let to = at.canonicalize().map_err(|e| {
                Error::InvalidInput(format!(
                    "workspace `{asked}`: {} is a link that cannot be followed ({e})",
                    at.display()
                ))
            })?;
            if !to.starts_with(&real_root) {
                return Err(Error::InvalidInput(format!(
                    "workspace `{asked}` leads outside the workspace root: {} is a link to {}",
                    at.display(),
                    to.display()
                )));
            }
        }
        if !at.is_dir() {
            return Err(Error::InvalidInput(format!(
                "workspace `{asked}`: {} exists and is not a folder",
                at.display()
            )));
        }
    }
    Ok(root.join(rel))
}

/// The topmost of `path` and the folders above it that are missing (`None` when `path` exists):
/// what making `path` makes, and removing it later may remove.
pub fn missing_top(path: &Path) -> Option<PathBuf> {
    let mut top = None;
    let mut at = Some(path);
    while let Some(p) = at {
        if p.exists() {
            break;
        }
        top = Some(p.to_path_buf());
        at = p.parent();
    }
    top
}

/// Makes `path` and the folders above it that are missing; returns the topmost folder it made
/// (`None` when `path` existed already).
pub fn create(path: &Path) -> std::io::Result<Option<PathBuf>> {
    let top = missing_top(path);
    std::fs::create_dir_all(path)?;
    Ok(top)
}

/// Removes `path` and its parents up to and including `made` (what [`create`] made), each only
/// if it is empty: what a task left in its folder stays.
pub fn remove_made(path: &Path, made: &Path) {
    let mut at = Some(path);
    while let Some(p) = at {
        if !p.starts_with(made) || std::fs::remove_dir(p).is_err() {
            return;
        }
        at = p.parent();
    }
}

/// Whether two paths overlap: one is, or holds, the other (task folders here, rules' paths in
/// `policy`).
pub fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn err(root: &Path, asked: &str) -> String {
        resolve(root, asked).unwrap_err().to_string()
    }

    #[test]
    fn a_relative_or_absolute_folder_beneath_the_root_is_taken() {
        let r = root();
        assert_eq!(resolve(r.path(), "shop").unwrap(), r.path().join("shop"));
        assert_eq!(
            resolve(r.path(), "./a/./b").unwrap(),
            r.path().join("a").join("b")
        );
        let abs = r.path().join("x");
        assert_eq!(resolve(r.path(), abs.to_str().unwrap()).unwrap(), abs);
    }

    #[test]
    fn parent_steps_absolute_paths_elsewhere_and_the_root_itself_are_refused() {
        let r = root();
        assert!(err(r.path(), "../outside").contains("`..` is not allowed"));
        assert!(err(r.path(), "a/../../b").contains("must stay inside the workspace root"));
        assert!(err(r.path(), "/etc").contains("must stay inside the workspace root"));
        assert!(err(r.path(), ".").contains("names the workspace root itself"));
        assert!(err(r.path(), "a\nb").contains("control character"));
    }

    #[test]
    fn a_link_out_of_the_root_is_refused_and_one_within_it_is_followed() {
        let r = root();
        let elsewhere = root();
        std::os::unix::fs::symlink(elsewhere.path(), r.path().join("escape")).unwrap();
        let e = err(r.path(), "escape/project");
        assert!(e.contains("leads outside the workspace root"), "{e}");
        assert!(e.contains("is a link to"), "{e}");
        std::fs::create_dir(r.path().join("real")).unwrap();
        std::os::unix::fs::symlink(r.path().join("real"), r.path().join("alias")).unwrap();
        assert!(resolve(r.path(), "alias/project").is_ok());
        std::fs::write(r.path().join("file"), "x").unwrap();
        assert!(err(r.path(), "file/sub").contains("exists and is not a folder"));
    }

    #[test]
    fn only_the_empty_folders_the_manager_made_are_removed() {
        let r = root();
        std::fs::create_dir(r.path().join("mine")).unwrap();
        let deep = r.path().join("mine").join("a").join("b");
        let made = create(&deep).unwrap().unwrap();
        assert_eq!(made, r.path().join("mine").join("a"));
        assert_eq!(create(&deep).unwrap(), None, "exists now");
        remove_made(&deep, &made);
        assert!(!made.exists());
        assert!(r.path().join("mine").is_dir(), "it existed before");

        let kept = r.path().join("kept");
        let made = create(&kept).unwrap().unwrap();
        std::fs::write(kept.join("work.txt"), "x").unwrap();
        remove_made(&kept, &made);
        assert!(kept.join("work.txt").is_file(), "what the task left stays");
    }
}
