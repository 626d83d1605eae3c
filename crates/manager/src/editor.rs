//! Opening a folder in the person's editor: the configured command (VS Code's `code`) when it is
//! on the manager's PATH, else the system's opener (the `open` crate: `xdg-open` and kin). Only
//! the manager does this, never an agent or the UI; whether a path may be opened is decided by the
//! caller ([`crate::manager::Manager::open_path`]).
use std::path::Path;
use std::process::Stdio;

use tokio::io::AsyncReadExt;

use crate::config;
use crate::error::{Error, Result};

/// Most bytes of an editor command's error output kept for the error message.
const STDERR_KEPT: usize = 2000;

/// Opens `path`; returns what opened it, in words (e.g. "code (/usr/bin/code)").
pub async fn open(cfg: &config::Editor, path: &Path) -> Result<String> {
    let Some((program, args)) = cfg.command.split_first() else {
        return Err(Error::InvalidInput("editor.command is empty".into()));
    };
    match crate::supervisor::which(Path::new(program)) {
        Some(found) => run(cfg, program, &found, args, path).await,
        None => {
            let p = path.to_path_buf();
            tokio::task::spawn_blocking(move || open::that_detached(&p))
                .await
                .map_err(|e| Error::io("running the system opener", std::io::Error::other(e)))?
                .map_err(|e| {
                    Error::FailedPrecondition(format!(
                        "`{program}` is not on the manager's PATH and the system opener failed: {e}; install VS Code's `code` command or set editor.command"
                    ))
                })?;
            Ok(format!("the system opener (`{program}` is not on PATH)"))
        }
    }
}

/// Runs the editor's command with the folder. It counts as opened when the command hands the
/// folder over and exits 0 (VS Code's `code` does), or is still running after
/// `editor.launch_timeout` (an editor that stays in the foreground); it keeps running either way.
async fn run(
    cfg: &config::Editor,
    program: &str,
    found: &Path,
    args: &[String],
    path: &Path,
) -> Result<String> {
    let mut child = tokio::process::Command::new(found)
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("starting the editor {}", found.display()), e))?;
    // Drained to the end even after we stop waiting, so the editor never writes to a closed pipe.
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all).await;
        let _ = tx.send(all);
    });
    let opener = format!("{program} ({})", found.display());
    let status = match tokio::time::timeout(cfg.launch_timeout, child.wait()).await {
        Err(_) => return Ok(opener), // still running: an editor in the foreground
        Ok(status) => status.map_err(|e| Error::io(format!("waiting for {opener}"), e))?,
    };
    if status.success() {
        return Ok(opener);
    }
    let err = rx.await.unwrap_or_default();
    let tail = String::from_utf8_lossy(&err[err.len().saturating_sub(STDERR_KEPT)..])
        .trim()
        .to_string();
    Err(Error::FailedPrecondition(format!(
        "the editor {opener} failed ({status}){}",
        if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor(dir: &Path, script: &str) -> config::Editor {
        let p = dir.join("editor");
        std::fs::write(&p, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        config::Editor {
            command: vec![p.display().to_string(), "--new-window".into()],
            ..config::Editor::default()
        }
    }

    #[tokio::test]
    async fn the_editor_gets_its_arguments_then_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("args");
        let cfg = editor(
            dir.path(),
            &format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n", log.display()),
        );
        let opener = open(&cfg, Path::new("/some/folder")).await.unwrap();
        assert!(opener.contains("editor"), "{opener}");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "--new-window\n/some/folder\n"
        );
    }

    #[tokio::test]
    async fn a_failing_editor_is_an_error_with_what_it_said() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = editor(dir.path(), "#!/bin/sh\necho 'no display' >&2\nexit 3\n");
        let e = open(&cfg, Path::new("/x")).await.unwrap_err().to_string();
        assert!(e.contains("failed") && e.contains("no display"), "{e}");
    }
}
