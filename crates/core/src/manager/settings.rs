//! Manager-wide settings a person changes: pausing dispatch, the workspace root.
use super::*;

impl Manager {
    /// Pauses or resumes dispatching new work (audited when it changes).
    pub async fn set_paused(&self, paused: bool, actor: &str) -> Result<StatusInfo> {
        let time_us = self.now_us();
        self.commit(|st| {
            let changed = st.paused != paused;
            st.paused = paused;
            let action = if paused {
                "scheduling.paused"
            } else {
                "scheduling.resumed"
            };
            let writes = if changed {
                vec![
                    Write::audit(
                        time_us,
                        actor,
                        action,
                        None,
                        serde_json::json!({ "paused": paused }),
                    ),
                    Write::Event {
                        time_us,
                        body: EventBody::SchedulingChanged {
                            paused,
                            actor: actor.to_string(),
                        },
                    },
                ]
            } else {
                Vec::new()
            };
            Ok((writes, ()))
        })
        .await?;
        self.inner.wake.notify_one();
        Ok(self.status())
    }

    /// The workspace root in force, and who chose it.
    pub(super) fn root_of(&self, st: &State) -> (PathBuf, &'static str) {
        match &st.workspace_root {
            Some(p) => (p.clone(), "app"),
            None if self.inner.cfg.paths.workspace_root.is_some() => {
                (self.inner.paths.workspace_root.clone(), "config")
            }
            None => (self.inner.paths.workspace_root.clone(), "default"),
        }
    }

    /// Where new tasks' workspaces go now.
    pub fn workspace_root(&self) -> PathBuf {
        self.root_of(&self.state()).0
    }

    /// Chooses the folder new tasks' workspaces go under (made if missing), kept across restarts;
    /// an empty `path` goes back to the config's (or the default). Tasks already made keep their
    /// folders. Refused with what is wrong: a relative path, `..`, a file, a folder that contains
    /// the manager's own data (tasks could reach the database through a named workspace), one it
    /// cannot write. Audited.
    pub async fn set_workspace_root(&self, path: &str, actor: &str) -> Result<StatusInfo> {
        let chosen = if path.is_empty() {
            None
        } else {
            Some(self.check_workspace_root(path).await?)
        };
        let time_us = self.now_us();
        self.commit(|st| {
            let (before, _) = self.root_of(st);
            st.workspace_root = chosen.clone();
            let (after, source) = self.root_of(st);
            let writes = vec![
                Write::Setting {
                    key: WORKSPACE_ROOT.into(),
                    value: chosen.as_ref().map(|p| p.display().to_string()),
                    time_us,
                },
                Write::audit(
                    time_us,
                    actor,
                    "settings.workspace_root",
                    None,
                    serde_json::json!({
                        "from": before.display().to_string(),
                        "to": after.display().to_string(),
                        "source": source,
                    }),
                ),
            ];
            Ok((writes, ()))
        })
        .await?;
        Ok(self.status())
    }

    pub(super) async fn check_workspace_root(&self, path: &str) -> Result<PathBuf> {
        let bad = |why: String| Error::InvalidInput(format!("workspace root `{path}`: {why}"));
        if path.chars().any(char::is_control) {
            return Err(bad("contains a control character".into()));
        }
        let p = Path::new(path);
        if !p.is_absolute() {
            return Err(bad(
                "must be an absolute path, e.g. /home/me/projects".into()
            ));
        }
        if p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(bad("must not contain `..`".into()));
        }
        if p.parent().is_none() {
            return Err(bad("cannot be the file system's root".into()));
        }
        match tokio::fs::metadata(p).await {
            Ok(m) if !m.is_dir() => return Err(bad("is a file, not a folder".into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tokio::fs::create_dir_all(p)
                    .await
                    .map_err(|e| bad(format!("cannot be made: {e}")))?;
            }
            Err(e) => return Err(bad(format!("cannot be read: {e}"))),
        }
        let real = tokio::fs::canonicalize(p)
            .await
            .map_err(|e| bad(format!("cannot be resolved: {e}")))?;
        let data = tokio::fs::canonicalize(&self.inner.paths.data_dir)
            .await
            .unwrap_or_else(|_| self.inner.paths.data_dir.clone());
        if data.starts_with(&real) {
            return Err(bad(format!(
                "contains HyperAgent's own data folder {}; choose a folder beside it",
                data.display()
            )));
        }
        let probe = real.join(format!(".hyperagent-write-check-{}", std::process::id()));
        tokio::fs::write(&probe, b"")
            .await
            .map_err(|e| bad(format!("is not writable: {e}")))?;
        let _ = tokio::fs::remove_file(&probe).await;
        Ok(real)
    }
}
