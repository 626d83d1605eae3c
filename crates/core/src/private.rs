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

/// The secret kept in `path` (made, 0600, the first time): the same across restarts. One that
/// others could read or replace (a link, another owner, group or world bits) or that is not a
/// secret as [`random_secret`](crate::token::random_secret) makes them is replaced by a new one.
pub fn kept_secret(path: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let trusted = std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file() && m.uid() == me && m.mode() & 0o077 == 0);
    if trusted {
        if let Ok(text) = std::fs::read_to_string(path) {
            let secret = text.trim();
            if secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Ok(secret.to_string());
            }
        }
    }
    let secret = crate::token::random_secret()?;
    write_private(path, format!("{secret}\n").as_bytes())?;
    Ok(secret)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_kept_secret_is_the_same_after_a_restart_unless_others_could_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web-token");
        let first = kept_secret(&path).unwrap();
        assert_eq!(
            kept_secret(&path).unwrap(),
            first,
            "the same across restarts"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Readable by others: it may be known, so it is replaced (and private again).
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let second = kept_secret(&path).unwrap();
        assert_ne!(second, first);
        assert_eq!(kept_secret(&path).unwrap(), second);
        // Not a secret as the manager makes them (empty, or chosen by hand): replaced.
        std::fs::write(&path, "hunter2\n").unwrap();
        let third = kept_secret(&path).unwrap();
        assert!(third != "hunter2" && third.len() == 48, "{third}");
        // A link, even to a good secret: replaced by a file of its own.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, format!("{third}\n")).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let fourth = kept_secret(&path).unwrap();
        assert_ne!(fourth, third);
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    }
}
