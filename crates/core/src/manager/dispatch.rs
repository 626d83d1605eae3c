//! Dispatch: assigning queued tasks as the scheduler decides, forgetting ended ones.
use super::audit::AheadEntry;
use super::*;

impl Manager {
    /// Drops ended tasks from memory once their final state is committed, and the folders the
    /// manager made for them that they left empty — or, for a cancelled task, whatever its folder
    /// still holds ("its folder is put back as it was": a folder made for the task was not there).
    pub(super) fn forget_ended(&self) {
        let mut made = Vec::new();
        let mut cancelled = Vec::new();
        {
            let mut st = self.state();
            // After a failed write, memory may say a task ended that the database still has
            // running: its folder stays for the run after the restart.
            if self.inner.writer.has_failed() {
                return;
            }
            let ended: Vec<String> = st
                .tasks
                .iter()
                .filter(|(_, a)| a.task.state.is_terminal())
                .map(|(id, _)| id.clone())
                .collect();
            for id in ended {
                if let Some(a) = st.tasks.remove(&id) {
                    if let Some(k) = a.task.idempotency_key {
                        st.idempotency.remove(&k);
                        st.keys_forgotten += 1;
                    }
                    if let Some(top) = a.task.workspace_made {
                        if a.task.state == TaskState::Canceled {
                            cancelled.push((id.clone(), a.task.workspace, top));
                        } else {
                            made.push((a.task.workspace, top));
                        }
                    }
                }
            }
        }
        for (folder, top) in made {
            workspace::remove_made(Path::new(&folder), Path::new(&top));
        }
        for (id, folder, top) in cancelled {
            // Empty (it never ran, or undid its work): gone now, as any empty one. Else once its
            // processes are gone.
            let empty = std::fs::read_dir(&folder).is_ok_and(|mut d| d.next().is_none());
            if empty {
                workspace::remove_made(Path::new(&folder), Path::new(&top));
            } else {
                tokio::spawn(self.clone().remove_cancelled_folder(id, folder, top));
            }
        }
    }

    /// Removes the folder the manager made for a task that was cancelled, with what it still
    /// holds (a task stopped mid-undo — killed at the end of its cancel grace — leaves part of
    /// its work), once no process of the task is left to write there. Audited.
    async fn remove_cancelled_folder(self, task_id: String, folder: String, top: String) {
        tracing::debug!(task = %task_id, folder = %folder, "a cancelled task's folder goes once its processes are gone");
        if !self.task_processes_gone(&task_id).await {
            tracing::warn!(task = %task_id, folder = %folder, "a cancelled task's processes are still stopping: its folder is left");
            return;
        }
        let path = PathBuf::from(&folder);
        let counted = path.clone();
        let held =
            blocking(move || Ok(std::fs::read_dir(&counted).map(|d| d.count()).unwrap_or(0)))
                .await
                .unwrap_or(0);
        if held > 0 {
            let entry = AheadEntry {
                actor: "manager",
                started: "workspace.remove_started",
                failed: "workspace.remove_failed",
                task: Some(&task_id),
                detail: serde_json::json!({
                    "folder": folder, "entries": held,
                    "why": "the task was cancelled, and the manager had made this folder for it",
                }),
            };
            let remove = blocking(move || {
                // remove_dir_all never follows a link out of the folder.
                std::fs::remove_dir_all(&path)
                    .map_err(|e| Error::io(format!("removing {}", path.display()), e))
            });
            if let Err(e) = self.audited_ahead(entry, remove).await {
                tracing::error!(task = %task_id, error = %e, "removing a cancelled task's folder failed");
                return;
            }
            let removed = Write::audit(
                self.now_us(),
                "manager",
                "workspace.removed",
                Some(&task_id),
                serde_json::json!({ "folder": folder, "entries": held }),
            );
            if let Err(e) = self.record(vec![removed]).await {
                tracing::error!(task = %task_id, error = %e, "a removed folder's audit entry was not stored");
            }
        }
        workspace::remove_made(Path::new(&folder), Path::new(&top));
    }

    /// Assigns queued tasks to agents as the scheduler decides.
    pub(super) fn dispatch(&self) -> Option<Pending> {
        let now = self.now_us();
        let mut st = self.state();
        if st.paused || st.stopping {
            return None;
        }
        let mut queue: Vec<&Active> = st
            .tasks
            .values()
            .filter(|a| a.task.state == TaskState::Queued && !a.unstored)
            .collect();
        if queue.is_empty() {
            return None;
        }
        queue.sort_by(|x, y| x.task.id.cmp(&y.task.id));
        // Agents still stopping an old run of a task (usually none), by task.
        let mut stopping: HashMap<&str, Vec<String>> = HashMap::new();
        for r in st.registry.iter() {
            for t in &r.stopping {
                stopping
                    .entry(t.as_str())
                    .or_default()
                    .push(r.row.id.clone());
            }
        }
        // An interrupted run's agent that has not come back since the restart (see `earlier_run`).
        let not_back = |a: &Active| {
            let (agent, until) = a.earlier_run.as_ref()?;
            let back = st.registry.get(agent).is_some_and(|r| r.session.is_some());
            (*until > now && !back).then(|| agent.clone())
        };
        let views: Vec<TaskView> = queue
            .iter()
            .map(|a| TaskView {
                id: a.task.id.clone(),
                task_type: a.task.task_type.clone(),
                pin_agent: a.task.pin_agent.clone(),
                not_before_us: a.task.not_before_us,
                tried: a.task.attempts.iter().map(|x| x.agent_id.clone()).collect(),
                earlier_run_on: stopping
                    .get(a.task.id.as_str())
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .chain(not_back(a))
                    .collect(),
            })
            .collect();
        let agents = st.registry.views();
        let (assigned, waiting) = scheduler::plan(&views, &agents, now);
        for (i, w) in waiting {
            let reason = w.describe(&views[i]);
            if let Some(a) = st.tasks.get_mut(&views[i].id) {
                if !matches!(w, scheduler::Wait::Backoff { .. }) {
                    a.task.status_reason = reason;
                }
            }
        }
        let mut writes = Vec::new();
        for asg in assigned {
            let task_id = &views[asg.task].id;
            let agent_id = &agents[asg.agent].id;
            if let Err(e) = self.assign(&mut st, task_id, agent_id, now, &mut writes) {
                tracing::error!(task = %task_id, agent = %agent_id, error = %e, "assignment failed");
            }
        }
        Some(self.inner.writer.submit(writes))
    }

    /// Hands a queued task to an agent with a free slot: a new attempt, a capability token, the
    /// Start command.
    #[tracing::instrument(level = "debug", skip_all, fields(task = %task_id, agent = %agent_id))]
    pub(super) fn assign(
        &self,
        st: &mut State,
        task_id: &str,
        agent_id: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let answer_timeout = us(self.inner.cfg.agents.answer_timeout);
        let a = st.tasks.get_mut(task_id).expect("queued task exists");
        let number = a.task.attempts.len() as u32 + 1;
        let deadline_us = now + answer_timeout + i64::from(a.task.timeout_secs) * 1_000_000;
        a.task.agent_id = Some(agent_id.to_string());
        a.task.attempts.push(Attempt {
            number,
            agent_id: agent_id.to_string(),
            started_us: now,
            ended_us: None,
            error: String::new(),
        });
        a.answer_by_us = Some(now + answer_timeout);
        let ev = tasks::transition(
            &mut a.task,
            TaskState::Assigned,
            format!("sent to agent `{agent_id}` (attempt {number})"),
            now,
        )?;
        push_task(writes, &a.task, ev, now);
        let token = self.inner.tokens.sign(&Claims {
            task_id: task_id.to_string(),
            agent_id: agent_id.to_string(),
            attempt: number,
            expires_us: deadline_us + us(self.inner.cfg.tasks.cancel_grace),
        });
        let task_grants = st
            .tasks
            .get(task_id)
            .map(|a| a.task_grants.clone())
            .unwrap_or_default();
        let grants = policy::grants(&st.rules, &task_grants, agent_id);
        let a = st.tasks.get_mut(task_id).expect("queued task exists");
        if a.task.workspace_made.is_some() {
            // The folder the manager made for it may have gone as an empty one does when its
            // task ends: an end that was never stored (a crash, a failed write) leaves the task
            // to run again. It was empty then; it is made again, empty.
            if let Err(e) = std::fs::create_dir_all(&a.task.workspace) {
                tracing::warn!(error = %e, workspace = %a.task.workspace, "cannot make the task's folder again");
            }
        }
        let cmd = Command::Start(Box::new(StartCommand {
            task_id: task_id.to_string(),
            task_type: a.task.task_type.clone(),
            payload_json: a.task.payload_json.clone(),
            workspace: a.task.workspace.clone(),
            capability_token: token,
            deadline_us,
            attempt: number,
            grants: grants.clone(),
        }));
        let rec = st
            .registry
            .get_mut(agent_id)
            .expect("scheduler picked a known agent");
        // What the task process may touch, so the audit log alone tells what it could have done.
        writes.push(Write::audit(now, "manager", "task.confined", Some(task_id), serde_json::json!({
                "agent": agent_id,
                "attempt": number,
                "confined": rec.task_runner.is_some(),
                "workspace": a.task.workspace,
                "read": grants.read,
                "templates": self.inner.catalogue.dirs(),
                "write": grants.write,
                "connect": grants.connect.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>(),
            })));
        rec.holding.insert(task_id.to_string());
        if !rec.send(cmd) {
            self.lose_attempt(
                st,
                task_id,
                &format!("agent `{agent_id}` has no open command stream"),
                now,
                writes,
            )?;
        }
        Ok(())
    }
}
