//! Destructive actions: the snapshot taken first, and putting files back.
use super::audit::AheadEntry;
use super::*;

impl Manager {
    /// A task announces a destructive action on `paths` (overwrite or delete). The paths must be
    /// where the task may write; the person (or a rule) must agree; then what exists at them is
    /// snapshotted so `rollback` can restore it. Returns the action (its id is the rollback handle).
    #[tracing::instrument(skip_all, fields(task = %task_id, paths = paths.len()))]
    pub async fn prepare_destructive(
        &self,
        task_id: &str,
        token: &str,
        description: &str,
        paths: &[String],
    ) -> Result<rollback::Action> {
        let permission = policy::parse("destructive", description)?;
        if paths.is_empty() || paths.len() > 1000 {
            return Err(Error::InvalidInput(format!(
                "a destructive action names 1 to 1000 paths (got {})",
                paths.len()
            )));
        }
        // They are listed in its audit entry: at most as many bytes as a task's payload.
        let named: usize = paths.iter().map(String::len).sum();
        let max = self.inner.cfg.tasks.max_payload_bytes as usize;
        if named > max {
            return Err(Error::InvalidInput(format!(
                "a destructive action's paths are {named} bytes together; at most {max} \
                 (tasks.max_payload_bytes)"
            )));
        }
        let (claims, workspace, grants) = {
            let st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let a = st.tasks.get(task_id).expect("authorized tasks are active");
            let grants = policy::grants(&st.rules, &a.task_grants, &claims.agent_id);
            (claims, std::path::PathBuf::from(&a.task.workspace), grants)
        };
        let (clean, roots) = placed_paths(paths, task_id, &workspace, &grants)?;
        let reason = consent_reason(description, &clean);
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &reason,
                &claims.agent_id,
            )
            .await?;
        c.granted(&format!("destructive action \"{description}\""))?;
        // The snapshot shares the database's disk: it may take only the room above the reserve,
        // so a task snapshotting again and again cannot fill it.
        let room = self.inner.disk.room();
        if room == 0 {
            return Err(self.inner.disk.refusal(self.inner.disk.min_free()));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let dir = self.snapshot_dir(&id);
        let to_copy = clean.clone();
        let snapshot_roots = roots.clone();
        let what = id.clone();
        let (entries, copied) = blocking(move || {
            rollback::snapshot(&to_copy, &snapshot_roots, &dir, room).map_err(|e| {
                // What was copied before it stopped is no snapshot.
                let _ = std::fs::remove_dir_all(&dir);
                match e.kind() {
                    std::io::ErrorKind::StorageFull => {
                        Error::Exhausted(format!("snapshot for action {what}: {e}"))
                    }
                    _ => file_error(
                        e,
                        &format!("snapshot for action {what}"),
                        &format!("snapshotting for action {what}"),
                    ),
                }
            })
        })
        .await?;
        let now = self.now_us();
        let action = rollback::Action {
            id,
            task_id: task_id.to_string(),
            agent_id: claims.agent_id.clone(),
            description: description.to_string(),
            entries,
            roots,
            files: copied.files,
            bytes: copied.bytes,
            created_us: now,
            rolled_back_us: None,
        };
        self.record(vec![
            Write::Action(Box::new(action.clone())),
            Write::audit(
                now,
                claims.agent_id,
                "action.snapshotted",
                Some(task_id),
                serde_json::json!({
                    "action": action.id, "description": description, "consent": c.id,
                    "paths": action.entries, "files": copied.files, "bytes": copied.bytes,
                }),
            ),
        ])
        .await?;
        Ok(action)
    }

    /// Restores the files of a destructive action exactly as they were before it (audited).
    #[tracing::instrument(skip_all, fields(action = %id, by = %actor))]
    pub async fn rollback(&self, id: &str, actor: &str) -> Result<rollback::Action> {
        let mut action = self.inner.store.get_action(id).await?.ok_or_else(|| {
            Error::InvalidInput(format!(
                "no destructive action `{id}`; `hyperagent rollback --list` shows them"
            ))
        })?;
        if action.rolled_back_us.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "action {id} was already rolled back"
            )));
        }
        if self.state().tasks.contains_key(&action.task_id) {
            return Err(Error::FailedPrecondition(format!(
                "task {} that took action {id} is still running; cancel it or let it end first",
                action.task_id
            )));
        }
        // Ended, but nothing of it may run while the files are put back: wait for its process
        // (and with it everything in its pid namespace) to be gone.
        if !self.task_processes_gone(&action.task_id).await {
            return Err(Error::FailedPrecondition(format!(
                "task {} that took action {id} has ended but its processes are still stopping; \
                 try again in a moment",
                action.task_id
            )));
        }
        let dir = self.snapshot_dir(id);
        let entries = action.entries.clone();
        let roots = action.roots.clone();
        let what = id.to_string();
        let entry = AheadEntry {
            actor,
            started: "action.rollback_started",
            failed: "action.rollback_failed",
            task: Some(&action.task_id),
            detail: serde_json::json!({
                "action": id, "description": action.description, "paths": action.entries,
            }),
        };
        let restore = blocking(move || {
            rollback::restore(&entries, &dir, &roots).map_err(|e| {
                file_error(
                    e,
                    &format!("rollback of action {what}"),
                    &format!("rolling back action {what}"),
                )
            })
        });
        self.audited_ahead(entry, restore).await?;
        let now = self.now_us();
        action.rolled_back_us = Some(now);
        self.record(vec![
            Write::Action(Box::new(action.clone())),
            Write::audit(
                now,
                actor,
                "action.rolled_back",
                Some(&action.task_id),
                serde_json::json!({
                    "action": id, "description": action.description, "paths": action.entries,
                }),
            ),
        ])
        .await?;
        Ok(action)
    }

    /// Destructive actions, newest first.
    pub async fn list_actions(&self) -> Result<Vec<rollback::Action>> {
        self.inner
            .store
            .list_actions(self.inner.cfg.tasks.list_page_size)
            .await
    }

    pub(super) fn snapshot_dir(&self, id: &str) -> std::path::PathBuf {
        self.inner.paths.data_dir.join("snapshots").join(id)
    }
}

/// Each path of a destructive action where it really is: beneath the folder it may be written in
/// (the workspace or a write grant, the innermost), with that folder's links resolved; and those
/// folders. A path through a link leading out is refused here, before the person is asked.
fn placed_paths(
    paths: &[String],
    task_id: &str,
    workspace: &Path,
    grants: &policy::Grants,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let may_write: Vec<&Path> = std::iter::once(workspace)
        .chain(grants.write.iter().map(|g| g.as_path()))
        .collect();
    let mut clean = Vec::with_capacity(paths.len());
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in paths {
        let policy::Permission::Write(c) = policy::parse("write", p)? else {
            unreachable!("parse(\"write\") gives a write permission")
        };
        let Some(folder) = may_write
            .iter()
            .filter(|r| c.starts_with(r) && c != **r)
            .max_by_key(|r| r.as_os_str().len())
        else {
            return Err(Error::PermissionDenied(format!(
                "{} is outside what task {task_id} may write (inside its workspace {} or its \
                 write grants; not the folders themselves)",
                c.display(),
                workspace.display()
            )));
        };
        let real = folder
            .canonicalize()
            .map_err(|e| Error::io(format!("resolving {}", folder.display()), e))?;
        let placed = real.join(c.strip_prefix(folder).unwrap_or(&c));
        rollback::check_inside(&placed, std::slice::from_ref(&real))
            .map_err(|e| Error::PermissionDenied(e.to_string()))?;
        if !roots.contains(&real) {
            roots.push(real);
        }
        // Named twice, it would be copied twice: a task could fill the disk with copies.
        if !clean.contains(&placed) {
            clean.push(placed);
        }
    }
    // Inside another one named, it is in that one's copy already.
    let all = clean.clone();
    clean.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    Ok((clean, roots))
}

/// What the person is asked: the action, its first paths and how many there are.
fn consent_reason(description: &str, paths: &[PathBuf]) -> String {
    const LISTED: usize = 20;
    let mut listed: Vec<String> = paths
        .iter()
        .take(LISTED)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > LISTED {
        listed.push(format!("and {} more", paths.len() - LISTED));
    }
    format!(
        "{description}: {} ({} path(s); what exists there now is snapshotted first, so it can \
         be rolled back)",
        listed.join(", "),
        paths.len()
    )
}

/// A snapshot's or a restore's failure: refused (a link, a permission) or an I/O error.
fn file_error(e: std::io::Error, what: &str, doing: &str) -> Error {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            Error::PermissionDenied(format!("{what} refused: {e}"))
        }
        _ => Error::io(doing.to_string(), e),
    }
}
