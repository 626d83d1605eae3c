//! Opening a task's folder, or a path, in the person's editor (optionally at a file's line).
use super::*;
use crate::editor::Goto;

/// A file to show in the opened folder: its path relative to the folder, a line and a column
/// (1-based; 0 means the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileAt {
    /// Relative to the folder opened; never absolute, never through `..`.
    pub file: String,
    /// 1-based; 0 = 1.
    pub line: u32,
    /// 1-based; 0 = 1.
    pub column: u32,
}

/// Longest `file` accepted, in bytes (a path, not a document).
const MAX_FILE_BYTES: usize = 4096;

/// Where `at` is inside `folder` (links resolved), or why not: it must be a relative path without
/// `..`, name a file that exists, and stay inside the folder after links are followed.
async fn file_inside(folder: &std::path::Path, at: &FileAt) -> std::result::Result<Goto, String> {
    use std::path::Component;
    let rel = std::path::Path::new(&at.file);
    if at.file.is_empty() || at.file.len() > MAX_FILE_BYTES || at.file.contains('\0') {
        return Err(format!(
            "file `{}` must be a path of 1 to {MAX_FILE_BYTES} bytes inside the folder",
            at.file
        ));
    }
    if !rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "file `{}` must be relative to the folder {} and stay inside it (no `/` at the start, no `..`)",
            at.file,
            folder.display()
        ));
    }
    let joined = folder.join(rel);
    let real = tokio::fs::canonicalize(&joined)
        .await
        .map_err(|e| format!("cannot show {}: {e}", joined.display()))?;
    if !real.starts_with(folder) {
        return Err(format!(
            "{} is a link to {}, outside the folder {}",
            joined.display(),
            real.display(),
            folder.display()
        ));
    }
    if !tokio::fs::metadata(&real).await.is_ok_and(|m| m.is_file()) {
        return Err(format!("{} is not a file", joined.display()));
    }
    Ok(Goto {
        file: real,
        line: at.line.max(1),
        column: at.column.max(1),
    })
}

/// Where an opening leads once every rule is checked.
struct Resolved {
    /// The folder (or file), links resolved.
    real: std::path::PathBuf,
    /// The file to show in it, if one was asked for.
    goto: Option<Goto>,
    /// Why it may be opened, in words (for the audit).
    allowed_by: String,
}

impl Manager {
    /// Opens a task's workspace, or a path, in the person's editor; with `at`, shows a file in it
    /// at a line (a finding's `file:line`). A path must lie inside the workspace root or be
    /// allowed by an `open` rule, and the file inside what is opened; the opening and any
    /// refusal are audited. Returns the path opened (links resolved) and what opened it.
    /// Carried out to the end when the caller stops waiting (an opening is audited).
    pub async fn open_path(
        &self,
        target: OpenTarget,
        at: Option<FileAt>,
        actor: &str,
    ) -> Result<Opened> {
        let actor = actor.to_string();
        self.to_the_end(move |m| async move { m.open_path_now(target, at, &actor).await })
            .await
    }

    async fn open_path_now(
        &self,
        target: OpenTarget,
        at: Option<FileAt>,
        actor: &str,
    ) -> Result<Opened> {
        let (asked, task_id) = self.open_target(target).await?;
        let refuse = |e: Error| {
            self.audit(
                actor,
                "editor.refused",
                task_id.as_deref(),
                serde_json::json!({ "path": asked, "file": at.as_ref().map(|a| &a.file), "why": e.to_string() }),
            );
            e
        };
        let Resolved {
            real,
            goto,
            allowed_by,
        } = self
            .resolve_open(&asked, task_id.is_some(), at.as_ref())
            .await
            .map_err(refuse)?;
        let warnings = warnings_of(&real).await;
        let opener = crate::editor::open(&self.inner.cfg.editor, &real, goto.as_ref())
            .await
            .map_err(refuse)?;
        self.record(vec![Write::audit(
            self.now_us(),
            actor,
            "editor.opened",
            task_id.as_deref(),
            serde_json::json!({
                "path": real, "opener": opener, "allowed_by": allowed_by, "warnings": warnings,
                "file": goto.as_ref().map(|g| &g.file), "line": goto.as_ref().map(|g| g.line),
            }),
        )])
        .await?;
        Ok(Opened {
            path: real,
            opener,
            warnings,
        })
    }

    /// What [`Self::open_path`] would do for a task's folder, opening nothing and auditing
    /// nothing: the same answer (the path, what would open it, the warnings) or the same error.
    /// The UI asks this before it offers an Open button, so a folder deleted since its task ran
    /// is said to be gone instead of offered, and one the manager made says that the manager
    /// removes such a folder when its task leaves it empty.
    pub async fn check_open(&self, task_id: &str) -> Result<Opened> {
        let task = self.get_task(task_id).await?;
        let Resolved { real, .. } = match self.resolve_open(&task.workspace, true, None).await {
            Err(Error::FailedPrecondition(_))
                if task.workspace_made.is_some() && task.state.is_terminal() =>
            {
                return Err(Error::FailedPrecondition(format!(
                    "the task's folder {} does not exist: the manager removes a folder it made \
                     when its task ends leaving it empty, or it was moved or deleted since",
                    task.workspace
                )));
            }
            resolved => resolved?,
        };
        Ok(Opened {
            warnings: warnings_of(&real).await,
            opener: crate::editor::would_open(&self.inner.cfg.editor),
            path: real,
        })
    }

    /// The path asked for, and the task it is the folder of.
    async fn open_target(&self, target: OpenTarget) -> Result<(String, Option<String>)> {
        Ok(match target {
            OpenTarget::Task(id) => (self.get_task(&id).await?.workspace, Some(id)),
            OpenTarget::Path(p) => (p, None),
        })
    }

    /// Checks an opening: the path parses as an `open` permission, exists, lies inside the
    /// workspace root or is allowed by a rule (and not denied by one), and `at` lies inside it.
    async fn resolve_open(
        &self,
        asked: &str,
        is_task_folder: bool,
        at: Option<&FileAt>,
    ) -> Result<Resolved> {
        let lexical = match policy::parse("open", asked) {
            Ok(policy::Permission::Open(p)) => p,
            Ok(_) => unreachable!("parse(\"open\") gives Open"),
            Err(e) => {
                return Err(Error::PermissionDenied(format!(
                    "cannot open `{asked}`: {e}"
                )))
            }
        };
        let real = match tokio::fs::canonicalize(&lexical).await {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let what = if is_task_folder {
                    "the task's folder"
                } else {
                    "the path"
                };
                return Err(Error::FailedPrecondition(format!(
                    "{what} {} does not exist (moved or deleted?)",
                    lexical.display()
                )));
            }
            Err(e) => {
                return Err(Error::PermissionDenied(format!(
                    "cannot open {}: {e}",
                    lexical.display()
                )))
            }
        };
        let allowed_by = self.open_allowed_by(&lexical, &real).await?;
        let goto = match at {
            None => None,
            Some(a) => Some(
                file_inside(&real, a)
                    .await
                    .map_err(Error::PermissionDenied)?,
            ),
        };
        Ok(Resolved {
            real,
            goto,
            allowed_by,
        })
    }

    /// Why `real` (reached through `lexical`) may be opened: inside the workspace root, or an
    /// `open` rule's id; or why not, with the rule that would allow it.
    async fn open_allowed_by(
        &self,
        lexical: &std::path::Path,
        real: &std::path::Path,
    ) -> Result<String> {
        let root = self.workspace_root();
        let real_root = tokio::fs::canonicalize(&root)
            .await
            .unwrap_or_else(|_| root.clone());
        if real.starts_with(&real_root) {
            return Ok("inside the workspace root".to_string());
        }
        let decided = {
            let st = self.state();
            [lexical, real].into_iter().find_map(|p| {
                let asked = policy::Permission::Open(p.to_path_buf());
                policy::decide(&st.rules, &[], "", &asked)
                    .map(|(d, r)| (d, r.map(|r| r.id.clone())))
            })
        };
        let why = match decided {
            Some((policy::Decision::Allow, rule)) => {
                return Ok(format!("rule {}", rule.unwrap_or_default()))
            }
            Some((policy::Decision::Deny, rule)) => format!(
                "opening {} is denied by rule {}",
                lexical.display(),
                rule.unwrap_or_default()
            ),
            // Name where the link leads, and suggest a rule for that place: a rule for the link
            // itself would follow it wherever it is pointed later.
            None if real != lexical => format!(
                "{} is a link to {}, outside every workspace (the workspace root is {}); \
                 to allow opening what it leads to: hyperagent policy allow --open {}",
                lexical.display(),
                real.display(),
                root.display(),
                real.display()
            ),
            None => format!(
                "{} is outside every workspace (the workspace root is {}); to allow opening it: hyperagent policy allow --open {}",
                lexical.display(),
                root.display(),
                lexical.display()
            ),
        };
        Err(Error::PermissionDenied(why))
    }
}

/// What in `folder` can run code when an editor or git works there (read off the runtime's
/// worker threads: it walks files).
async fn warnings_of(folder: &std::path::Path) -> Vec<String> {
    let scanned = folder.to_path_buf();
    tokio::task::spawn_blocking(move || crate::editor::code_that_runs_on_open(&scanned))
        .await
        .unwrap_or_default()
}
