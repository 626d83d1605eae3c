//! Files and folders only the user can read: the manager's runtime folder, its discovery file and
//! the audit anchor.
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates a directory (and parents) readable only by the user.
pub fn private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// Whether `dir` can be trusted with the manager's socket and discovery file: it must belong to
/// this user and let no one else write in it (else another local user could replace the socket
/// or point clients at their own). `Err` says what is wrong and what to do.
pub fn check_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::io(format!("checking {}", dir.display()), e))?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let problem = if !m.is_dir() {
        Some("is not a folder (a link, or a file)".to_string())
    } else if m.uid() != me {
        Some(format!("belongs to uid {}, not to you (uid {me})", m.uid()))
    } else if m.mode() & 0o022 != 0 {
        Some(format!(
            "can be written by others (mode {:o})",
            m.mode() & 0o777
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::PermissionDenied(format!(
            "not using {}: it {p}; another local user could replace the manager's socket or \
             discovery file there. Use a folder of your own with mode 0700 (paths.runtime_dir, \
             or XDG_RUNTIME_DIR)",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        Error::io(
            format!("renaming {} to {}", tmp.display(), path.display()),
            e,
        )
    })
}
