//! The template catalogue and opening a task's result (or a template) in the editor.
use super::*;

impl Manager {
    /// Watches the template folders, then scans them (in that order, so no change is missed),
    /// and keeps the catalogue current until shutdown.
    pub(super) async fn start_catalogue(&self) -> Result<()> {
        let cat = self.inner.catalogue.clone();
        let watcher = blocking(move || {
            let watcher = crate::catalogue::Watcher::start(cat.clone());
            cat.rescan_all();
            Ok(watcher)
        })
        .await?;
        match watcher {
            Ok(w) => {
                let m = self.clone();
                tokio::spawn(w.run(
                    self.inner.cfg.templates.debounce,
                    self.inner.shutdown.subscribe(),
                    move |names| {
                        let m = m.clone();
                        async move { m.templates_changed(names).await }
                    },
                ));
            }
            Err(e) => tracing::warn!(
                error = %e,
                "template folders are not watched; template changes show after a restart"
            ),
        }
        Ok(())
    }

    /// Publishes that these templates changed, so clients list them again.
    pub(super) async fn templates_changed(&self, names: Vec<String>) {
        tracing::info!(templates = ?names, "template catalogue changed");
        let changed = Write::Event {
            time_us: self.now_us(),
            body: EventBody::TemplatesChanged { names },
        };
        if let Err(e) = self.record(vec![changed]).await {
            tracing::error!(error = %e, "cannot record a template catalogue change");
        }
    }

    /// Every template in the catalogue, by name (broken ones too, with their errors).
    pub fn list_templates(&self) -> Vec<Template> {
        self.inner.catalogue.list()
    }

    /// The template folders, in search order: task processes may read them.
    pub fn template_dirs(&self) -> &[std::path::PathBuf] {
        self.inner.catalogue.dirs()
    }

    /// Opens a task's workspace, or a path, in the person's editor. A path must lie inside the
    /// workspace root or be allowed by an `open` rule; the opening and any refusal are audited.
    /// Returns the path opened (links resolved) and what opened it.
    pub async fn open_path(&self, target: OpenTarget, actor: &str) -> Result<Opened> {
        let (asked, task_id) = match target {
            OpenTarget::Task(id) => {
                let t = self.get_task(&id).await?;
                (t.workspace, Some(id))
            }
            OpenTarget::Path(p) => (p, None),
        };
        let refuse = |why: String| {
            self.audit(
                actor,
                "editor.refused",
                task_id.as_deref(),
                serde_json::json!({ "path": asked, "why": why }),
            );
            Error::PermissionDenied(why)
        };
        let lexical = match policy::parse("open", &asked) {
            Ok(policy::Permission::Open(p)) => p,
            Ok(_) => unreachable!("parse(\"open\") gives Open"),
            Err(e) => return Err(refuse(format!("cannot open `{asked}`: {e}"))),
        };
        let real = tokio::fs::canonicalize(&lexical)
            .await
            .map_err(|e| refuse(format!("cannot open {}: {e}", lexical.display())))?;
        let root = self.workspace_root();
        let real_root = tokio::fs::canonicalize(&root)
            .await
            .unwrap_or_else(|_| root.clone());
        let allowed_by = if real.starts_with(&real_root) {
            "inside the workspace root".to_string()
        } else {
            let decided = {
                let st = self.state();
                [&lexical, &real].into_iter().find_map(|p| {
                    let asked = policy::Permission::Open(p.clone());
                    policy::decide(&st.rules, &[], "", &asked)
                        .map(|(d, r)| (d, r.map(|r| r.id.clone())))
                })
            };
            match decided {
                Some((policy::Decision::Allow, rule)) => {
                    format!("rule {}", rule.unwrap_or_default())
                }
                Some((policy::Decision::Deny, rule)) => {
                    return Err(refuse(format!(
                        "opening {} is denied by rule {}",
                        lexical.display(),
                        rule.unwrap_or_default()
                    )))
                }
                None if real != lexical => {
                    // Name where the link leads, and suggest a rule for that place: a rule for
                    // the link itself would follow it wherever it is pointed later.
                    return Err(refuse(format!(
                        "{} is a link to {}, outside every workspace (the workspace root is {}); \
                         to allow opening what it leads to: hyperagent policy allow --open {}",
                        lexical.display(),
                        real.display(),
                        root.display(),
                        real.display()
                    )));
                }
                None => {
                    return Err(refuse(format!(
                        "{} is outside every workspace (the workspace root is {}); to allow opening it: hyperagent policy allow --open {}",
                        lexical.display(),
                        root.display(),
                        lexical.display()
                    )))
                }
            }
        };
        let scanned = real.clone();
        let warnings =
            tokio::task::spawn_blocking(move || crate::editor::code_that_runs_on_open(&scanned))
                .await
                .unwrap_or_default();
        let opener = match crate::editor::open(&self.inner.cfg.editor, &real).await {
            Ok(o) => o,
            Err(e) => return Err(refuse(e.to_string())),
        };
        self.record(vec![Write::audit(
            self.now_us(),
            actor,
            "editor.opened",
            task_id.as_deref(),
            serde_json::json!({
                "path": real, "opener": opener, "allowed_by": allowed_by, "warnings": warnings,
            }),
        )])
        .await?;
        Ok(Opened {
            path: real,
            opener,
            warnings,
        })
    }
}
