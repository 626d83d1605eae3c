//! A task's life: submit, answer, progress, finish, cancel, a lost attempt, and reading tasks.
use super::*;

impl Manager {
    /// The agent accepts or rejects a task it was sent.
    #[tracing::instrument(skip_all, fields(task = %task_id, accepted = accepted))]
    pub async fn answer(
        &self,
        task_id: &str,
        token: &str,
        accepted: bool,
        reason: &str,
    ) -> Result<()> {
        let now = self.now_us();
        self.commit(|st| {
            let mut writes = Vec::new();
            let (claims, a) = self.authorized(st, task_id, token)?;
            match (a.task.state, accepted) {
                (TaskState::Assigned, true) => {
                    a.answer_by_us = None;
                    a.deadline_us = Some(now + i64::from(a.task.timeout_secs) * 1_000_000);
                    a.watch.activity(now);
                    let ev = tasks::transition(
                        &mut a.task,
                        TaskState::Running,
                        format!("accepted by agent `{}`", claims.agent_id),
                        now,
                    )?;
                    push_task(&mut writes, &a.task, ev, now);
                }
                (TaskState::Assigned, false) => {
                    let mut why = if reason.is_empty() {
                        "no reason given".to_string()
                    } else {
                        reason.to_string()
                    };
                    truncate(&mut why, self.inner.cfg.agents.max_text_bytes as usize);
                    self.lose_attempt(
                        st,
                        task_id,
                        &format!("rejected by agent `{}`: {why}", claims.agent_id),
                        now,
                        &mut writes,
                    )?;
                }
                (_, true) => return Ok((writes, ())),
                (s, false) => {
                    return Err(Error::FailedPrecondition(format!(
                        "task {task_id} is {s}; only an assigned task can be rejected"
                    )))
                }
            }
            Ok((writes, ()))
        })
        .await?;
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Records a task's progress.
    #[tracing::instrument(level = "debug", skip_all, fields(task = %task_id))]
    pub async fn report_progress(
        &self,
        task_id: &str,
        token: &str,
        mut progress: Progress,
    ) -> Result<()> {
        if !progress.fraction.is_finite() || progress.fraction > 1.0 {
            return Err(Error::InvalidInput(format!(
                "progress fraction must be between 0 and 1 (or negative for unknown), got {}",
                progress.fraction
            )));
        }
        let now = self.now_us();
        let cap = self.inner.cfg.agents.max_log_bytes_per_task;
        let disk_low = self.inner.disk.low().is_some();
        self.commit(|st| {
            let (_, a) = self.authorized(st, task_id, token)?;
            redact_in(&mut progress.step, &a.secrets);
            truncate(
                &mut progress.step,
                self.inner.cfg.agents.max_text_bytes as usize,
            );
            a.task.progress = Some(progress.clone());
            a.watch.activity(now);
            let body = EventBody::TaskProgress {
                task_id: task_id.to_string(),
                progress,
            };
            let mut writes = Vec::new();
            if a.keeps_report(stored_len(&body), cap, disk_low) {
                writes.push(Write::Event { time_us: now, body });
            }
            Ok((writes, ()))
        })
        .await
    }

    /// The agent's final result; returns the state the task ended in.
    #[tracing::instrument(skip_all, fields(task = %task_id, status = ?result.status))]
    pub async fn finish(
        &self,
        task_id: &str,
        token: &str,
        mut result: TaskResult,
    ) -> Result<TaskState> {
        let now = self.now_us();
        let retried = result.clone();
        let end = self
            .commit(|st| {
                let mut writes = Vec::new();
                let stopping = st.stopping;
                let (claims, a) = self.authorized(st, task_id, token)?;
                if stopping && result.status == ResultStatus::Canceled && !a.task.cancel_requested {
                    // Stopped because the manager is stopping: not an end. The restart policy
                    // decides at the next start.
                    return Ok((writes, a.task.state));
                }
                bound_result(&mut result, &self.inner.cfg.agents, &a.secrets);
                if a.task.state == TaskState::Assigned {
                    let ev = tasks::transition(
                        &mut a.task,
                        TaskState::Running,
                        "accepted (implicitly, by finishing)",
                        now,
                    )?;
                    writes.push(Write::Event {
                        time_us: now,
                        body: ev,
                    });
                }
                let (end, reason) = ending(&a.task, &claims.agent_id, &result);
                let error = if end == TaskState::Completed {
                    ""
                } else {
                    &reason
                };
                end_attempt(a, now, error);
                a.task.result = Some(result);
                let ev = tasks::transition(&mut a.task, end, reason, now)?;
                push_task(&mut writes, &a.task, ev, now);
                if let Some(rec) = st.registry.get_mut(&claims.agent_id) {
                    rec.holding.remove(task_id);
                    match end {
                        TaskState::Completed => rec.row.successes += 1,
                        TaskState::Failed => rec.row.failures += 1,
                        _ => {}
                    }
                    writes.push(Write::Agent(Box::new(rec.row.clone())));
                }
                Ok((writes, end))
            })
            .await;
        let end = match end {
            // The agent's answer to a finish that was taken got lost, and it finished again.
            Err(Error::FailedPrecondition(why)) => {
                match self.already_finished(task_id, token, &retried).await {
                    Some(state) => return Ok(state),
                    None => return Err(Error::FailedPrecondition(why)),
                }
            }
            other => other?,
        };
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(end)
    }

    /// The state a task ended in when `result` repeats how the same attempt already finished
    /// (same token's agent and attempt, same status and exit code): a retried FinishTask is
    /// answered as the first was, and counted once. None when it is anything else.
    async fn already_finished(
        &self,
        task_id: &str,
        token: &str,
        result: &TaskResult,
    ) -> Option<TaskState> {
        let t = self.ended_by(task_id, token).await?;
        let same_end = t
            .result
            .as_ref()
            .is_some_and(|r| r.status == result.status && r.exit_code == result.exit_code);
        same_end.then_some(t.state)
    }

    /// The task, when it has ended and `token` is the one its last attempt ran with (a call
    /// repeated after its answer was lost is answered as the first was).
    pub(super) async fn ended_by(&self, task_id: &str, token: &str) -> Option<Task> {
        let claims = self.inner.tokens.verify(token, self.now_us()).ok()?;
        if claims.task_id != task_id {
            return None;
        }
        // Memory may hold an end whose rows are still being written (the first call's, when
        // this one is its retry): answered once they are stored, never before.
        self.record(Vec::new()).await.ok()?;
        let t = self.get_task(task_id).await.ok()?;
        let same_attempt = t.agent_id.as_deref() == Some(claims.agent_id.as_str())
            && t.attempts.len() as u32 == claims.attempt;
        (t.state.is_terminal() && same_attempt).then_some(t)
    }

    /// Queues a task; returns it and whether it was created (false: an idempotent repeat).
    /// Carried out to the end when the caller stops waiting: a task stored is a task dispatched.
    pub async fn submit(&self, sub: Submission) -> Result<(Task, bool)> {
        self.to_the_end(move |m| async move { m.submit_now(sub).await })
            .await
    }

    #[tracing::instrument(skip_all, fields(task_type = %sub.task_type))]
    async fn submit_now(&self, sub: Submission) -> Result<(Task, bool)> {
        if let Some(free) = self.inner.disk.low() {
            return Err(self.inner.disk.refusal(free));
        }
        let limits = self.limits(&sub)?;
        let root = self.workspace_root();
        let asked_workspace = match &sub.workspace {
            Some(w) => Some(workspace::resolve(&root, w)?),
            None => None,
        };
        if let Some(k) = &sub.idempotency_key {
            if k.is_empty() || k.len() > 256 {
                return Err(Error::InvalidInput(
                    "idempotency key must be 1 to 256 bytes".into(),
                ));
            }
        }
        let checked = validated(self, &sub.task_type, &limits.payload)?;
        let id = uuid::Uuid::now_v7().to_string();
        let workspace = asked_workspace.clone().unwrap_or_else(|| root.join(&id));
        let now = self.now_us();
        // A keyed task is in memory from its submission until it is forgotten after its end, and
        // in the store from its first commit on. The store is read without the lock, so a task
        // stored and forgotten between the two looks would be in neither: the look is repeated
        // then (two tasks with one key would break the store's UNIQUE index and stop the writer).
        let (pending, answer) = loop {
            // Read only for a keyed submission: an unkeyed one takes the lock once.
            let mut seen = 0;
            if let Some(k) = &sub.idempotency_key {
                seen = self.state().keys_forgotten;
                if let Some(t) = self.inner.store.task_by_idempotency_key(k).await? {
                    return same_request(&t, &sub, asked_workspace.as_deref(), k)
                        .map(|()| (t, false));
                }
                #[cfg(test)]
                self.pause_point("after the key's look-up in the store")
                    .await;
            }
            let mut st = self.state();
            let looked = (|| {
                let st = &mut *st;
                check_type(st, &sub, &limits.payload, checked.as_ref())?;
                if let Some(k) = &sub.idempotency_key {
                    if let Some(tid) = st.idempotency.get(k) {
                        let t = st
                            .tasks
                            .get(tid)
                            .map(|a| a.task.clone())
                            .expect("index points at active task");
                        same_request(&t, &sub, asked_workspace.as_deref(), k)?;
                        return Ok(Some((Vec::new(), (t, false))));
                    }
                    if st.keys_forgotten != seen {
                        return Ok(None);
                    }
                }
                if let Some(other) = st.tasks.values().find(|a| {
                    !a.task.state.is_terminal()
                        && workspace::overlaps(Path::new(&a.task.workspace), &workspace)
                }) {
                    return Err(Error::FailedPrecondition(format!(
                        "workspace {} is in use by task {} ({}); choose another folder or wait until that task ends",
                        workspace.display(),
                        other.task.id,
                        other.task.state
                    )));
                }
                // The folders to make, known under the lock (a few `stat`s); made once the lock
                // is released, while the task's rows are being committed.
                let made = workspace::missing_top(&workspace);
                if let Some(k) = &sub.idempotency_key {
                    st.idempotency.insert(k.clone(), id.clone());
                }
                let mut t = new_task(id.clone(), &sub, &limits, &workspace, now);
                t.workspace_made = made.map(|p| p.display().to_string());
                let mut writes = Vec::new();
                push_task(&mut writes, &t, tasks::submitted(&t), now);
                let active = Active {
                    unstored: true,
                    ..Active::new(t.clone())
                };
                st.tasks.insert(id.clone(), active);
                Ok(Some((writes, (t, true))))
            })()?;
            if let Some((writes, answer)) = looked {
                break (self.inner.writer.submit(writes), answer);
            }
        };
        if !answer.1 {
            pending.wait().await?;
            return Ok(answer);
        }
        // The task's folder is made while its submission is committed (a mkdir here costs as
        // much as a commit); no agent hears of the task before both are done.
        let made = std::fs::create_dir_all(&workspace);
        pending.wait().await?;
        if let Err(e) = made {
            let why = format!("its folder {} could not be made: {e}", workspace.display());
            self.fail_unstarted(&id, &why).await?;
            return Err(Error::io(
                format!("creating workspace {}", workspace.display()),
                e,
            ));
        }
        if let Some(a) = self.state().tasks.get_mut(&answer.0.id) {
            a.unstored = false;
        }
        self.inner.wake.notify_one();
        Ok(answer)
    }

    /// Ends a task that was stored but can never start (its folder could not be made).
    async fn fail_unstarted(&self, id: &str, why: &str) -> Result<()> {
        let now = self.now_us();
        self.commit(|st| {
            let mut writes = Vec::new();
            if let Some(a) = st.tasks.get_mut(id) {
                let ev = tasks::transition(&mut a.task, TaskState::Failed, why, now)?;
                push_task(&mut writes, &a.task, ev, now);
            }
            Ok((writes, ()))
        })
        .await?;
        self.forget_ended();
        Ok(())
    }

    /// A submission's payload and limits, checked against `tasks.*`.
    pub(super) fn limits(&self, sub: &Submission) -> Result<Limits> {
        let cfg = &self.inner.cfg.tasks;
        if sub.payload_json.len() > cfg.max_payload_bytes as usize {
            return Err(Error::InvalidInput(format!(
                "payload is {} bytes; at most {} (tasks.max_payload_bytes) are allowed",
                sub.payload_json.len(),
                cfg.max_payload_bytes
            )));
        }
        let payload = schema::parse_payload(&sub.payload_json)?;
        let max_attempts = match sub.max_attempts {
            0 => cfg.default_max_attempts,
            n if n > cfg.max_attempts_limit => {
                return Err(Error::InvalidInput(format!(
                    "max_attempts {n} is more than the allowed {} (tasks.max_attempts_limit)",
                    cfg.max_attempts_limit
                )))
            }
            n => n,
        };
        let timeout_secs = match sub.timeout_secs {
            0 => cfg.default_timeout.as_secs().clamp(1, u64::from(u32::MAX)) as u32,
            n => n,
        };
        Ok(Limits {
            payload,
            max_attempts,
            timeout_secs,
        })
    }

    /// One task, active or historic.
    pub async fn get_task(&self, id: &str) -> Result<Task> {
        if let Some(a) = self.state().tasks.get(id) {
            return Ok(a.task.clone());
        }
        self.inner
            .store
            .get_task(id)
            .await?
            .ok_or_else(|| Error::TaskNotFound(id.to_string()))
    }

    /// Tasks, newest first; returns them and the next page token.
    pub async fn list_tasks(&self, mut q: TaskQuery) -> Result<(Vec<Task>, Option<String>)> {
        let max = self.inner.cfg.tasks.list_page_size;
        q.limit = if q.limit == 0 { max } else { q.limit.min(max) };
        let mut tasks = self.inner.store.list_tasks(&q).await?;
        // Active tasks change in memory before their rows are rewritten: show the live version.
        {
            let st = self.state();
            for t in &mut tasks {
                if let Some(a) = st.tasks.get(&t.id) {
                    *t = a.task.clone();
                }
            }
        }
        let full = tasks.len() as u32 == q.limit;
        // A page fits one message whatever its tasks carry (results of up to
        // `agents.max_result_bytes` each): past half the largest, the rest are the next page's.
        let cut = self.page_cut(tasks.iter().map(Task::wire_bytes));
        let more = full || cut < tasks.len();
        tasks.truncate(cut);
        let next = more.then(|| tasks.last().map(|t| t.id.clone())).flatten();
        Ok((tasks, next))
    }

    /// Cancels a task for the person: at once when it is not running, else by telling its agent
    /// to stop.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<Task> {
        self.cancel_as(id, reason, "client").await
    }

    /// [`Manager::cancel`] for `actor` ("client", or "manager" when the manager decided it), who
    /// the task's audit entries name.
    #[tracing::instrument(skip_all, fields(task = %id, by = %actor))]
    pub(super) async fn cancel_as(&self, id: &str, reason: &str, actor: &str) -> Result<Task> {
        let now = self.now_us();
        let reason = if reason.is_empty() {
            "cancelled by request".to_string()
        } else {
            format!("cancelled: {reason}")
        };
        let active = self.state().tasks.contains_key(id);
        if !active {
            let t = self.get_task(id).await?;
            return Err(Error::FailedPrecondition(format!(
                "task {id} already ended ({}); there is nothing to cancel",
                t.state
            )));
        }
        let task = self
            .commit(|st| {
                let mut writes = Vec::new();
                let Some(a) = st.tasks.get_mut(id) else {
                    return Err(Error::FailedPrecondition(format!(
                        "task {id} ended meanwhile; there is nothing to cancel"
                    )));
                };
                if a.task.cancel_requested {
                    return Ok((writes, a.task.clone()));
                }
                a.task.cancel_requested = true;
                a.task.cancelled_by = Some(actor.to_string());
                match a.task.state {
                    TaskState::Running | TaskState::AwaitingConsent => {
                        a.cancel_by_us = Some(now + us(self.inner.cfg.tasks.cancel_grace));
                        a.task.status_reason = reason.clone();
                        a.task.updated_us = now;
                        writes.push(Write::Task(Box::new(a.task.clone())));
                        writes.push(Write::audit(
                            now,
                            actor,
                            "task.cancel_requested",
                            Some(id),
                            serde_json::json!({ "reason": reason }),
                        ));
                        let agent = a.task.agent_id.clone().unwrap_or_default();
                        if let Some(rec) = st.registry.get(&agent) {
                            rec.send(Command::Stop {
                                task_id: id.to_string(),
                                reason: reason.clone(),
                            });
                        }
                    }
                    TaskState::Assigned => {
                        let agent = a.task.agent_id.clone().unwrap_or_default();
                        if let Some(att) = a.task.attempts.last_mut() {
                            att.ended_us = Some(now);
                            att.error = reason.clone();
                        }
                        let ev = tasks::transition(
                            &mut a.task,
                            TaskState::Canceled,
                            reason.clone(),
                            now,
                        )?;
                        push_task(&mut writes, &a.task, ev, now);
                        if let Some(rec) = st.registry.get_mut(&agent) {
                            rec.holding.remove(id);
                            rec.send(Command::Stop {
                                task_id: id.to_string(),
                                reason: reason.clone(),
                            });
                        }
                    }
                    _ => {
                        let ev = tasks::transition(
                            &mut a.task,
                            TaskState::Canceled,
                            reason.clone(),
                            now,
                        )?;
                        push_task(&mut writes, &a.task, ev, now);
                    }
                }
                let task = st.tasks.get(id).expect("present").task.clone();
                Ok((writes, task))
            })
            .await?;
        self.forget_ended();
        Ok(task)
    }

    /// Ends the current attempt of `task_id` with `error`, frees its agent's slot, and re-queues the
    /// task with backoff or dead-letters it (or cancels it, when a cancel was pending).
    pub(super) fn lose_attempt(
        &self,
        st: &mut State,
        task_id: &str,
        error: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let Some(a) = st.tasks.get_mut(task_id) else {
            return Ok(());
        };
        if let Some(att) = a.task.attempts.last_mut() {
            if att.ended_us.is_none() {
                att.ended_us = Some(now);
                att.error = error.to_string();
            }
        }
        a.answer_by_us = None;
        a.deadline_us = None;
        a.cancel_by_us = None;
        let agent = a.task.agent_id.clone().unwrap_or_default();
        if let Some(rec) = st.registry.get_mut(&agent) {
            rec.holding.remove(task_id);
            rec.row.failures += 1;
            writes.push(Write::Agent(Box::new(rec.row.clone())));
        }
        let a = st.tasks.get_mut(task_id).expect("present");
        let cfg = &self.inner.cfg.tasks;
        let tried = a.task.attempts.len() as u32;
        let (to, reason) = if a.task.cancel_requested {
            (
                TaskState::Canceled,
                format!("canceled; its attempt ended: {error}"),
            )
        } else if tried < a.task.max_attempts {
            let wait = scheduler::backoff(tried, cfg.retry_backoff_base, cfg.retry_backoff_max);
            a.task.not_before_us = Some(now + us(wait));
            (
                TaskState::Queued,
                format!(
                    "attempt {tried} of {} failed ({error}); retrying in {}",
                    a.task.max_attempts,
                    humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                ),
            )
        } else {
            let all: Vec<String> = a
                .task
                .attempts
                .iter()
                .map(|x| format!("{}) on `{}`: {}", x.number, x.agent_id, x.error))
                .collect();
            (
                TaskState::DeadLettered,
                format!("gave up after {tried} attempts: {}", all.join("; ")),
            )
        };
        let nb = a.task.not_before_us;
        let ev = tasks::transition(&mut a.task, to, reason, now)?;
        if to == TaskState::Queued {
            a.task.not_before_us = nb;
        }
        push_task(writes, &a.task, ev, now);
        Ok(())
    }

    /// A task just became interrupted: apply the restart policy or retry.
    pub(super) fn after_interruption(
        &self,
        st: &mut State,
        task_id: &str,
        why: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        if self.inner.cfg.tasks.on_manager_restart == RestartPolicy::Fail
            && why.contains("manager restarted")
        {
            let a = st.tasks.get_mut(task_id).expect("present");
            if let Some(att) = a.task.attempts.last_mut() {
                att.ended_us.get_or_insert(now);
                att.error = why.to_string();
            }
            let ev = tasks::transition(
                &mut a.task,
                TaskState::Failed,
                format!("{why} (tasks.on_manager_restart = \"fail\")"),
                now,
            )?;
            push_task(writes, &a.task, ev, now);
            return Ok(());
        }
        self.lose_attempt(st, task_id, why, now, writes)
    }
}

pub(super) fn same_request(
    t: &Task,
    sub: &Submission,
    workspace: Option<&Path>,
    key: &str,
) -> Result<()> {
    let same_payload = serde_json::from_str::<serde_json::Value>(&t.payload_json).ok()
        == serde_json::from_str::<serde_json::Value>(&sub.payload_json).ok();
    let same_workspace = workspace.is_none_or(|w| Path::new(&t.workspace) == w);
    // Like the workspace, a limit left unset (0) asks for nothing else; one given must match.
    let same_limit = |asked: u32, got: u32| asked == 0 || asked == got;
    if t.task_type == sub.task_type
        && same_payload
        && t.pin_agent == sub.pin_agent
        && same_workspace
        && same_limit(sub.timeout_secs, t.timeout_secs)
        && same_limit(sub.max_attempts, t.max_attempts)
    {
        Ok(())
    } else {
        Err(Error::IdempotencyConflict {
            key: key.to_string(),
            task_id: t.id.clone(),
        })
    }
}

/// How a task ends on `result` from `agent`, and why (a failure or stop after the person asked to
/// cancel ends it canceled).
fn ending(task: &Task, agent: &str, result: &TaskResult) -> (TaskState, String) {
    match result.status {
        ResultStatus::Succeeded => (
            TaskState::Completed,
            format!("completed by agent `{}`", agent),
        ),
        // The person asked to cancel: a failure reported after that is most often the
        // cancel's own doing (its processes killed mid-step), and either way the person
        // wanted it stopped. It ends canceled; the failure stays in the attempt's error.
        ResultStatus::Failed if task.cancel_requested => (
            TaskState::Canceled,
            format!(
                "{}; it ended failing on agent `{}`: {}",
                task.status_reason, agent, result.error
            ),
        ),
        ResultStatus::Failed => (
            TaskState::Failed,
            format!("failed on agent `{}`: {}", agent, result.error),
        ),
        ResultStatus::Canceled if task.cancel_requested => {
            (TaskState::Canceled, task.status_reason.clone())
        }
        ResultStatus::Canceled => (
            TaskState::Failed,
            format!(
                "agent `{}` stopped it without being asked: {}",
                agent, result.error
            ),
        ),
    }
}

/// A submission's parsed payload and its limits.
pub(super) struct Limits {
    pub(super) payload: serde_json::Value,
    max_attempts: u32,
    timeout_secs: u32,
}

/// Refuses a task type no agent has offered, a payload its schema refuses, and a pin to an agent
/// that is unknown or does not offer the type.
/// The task type's schema, checked against `payload` outside the manager's lock (a schema's
/// patterns can take long on a payload made for them, and both may be a hostile agent's: the
/// agent's own schema, its hand-off's payload). `check_type` then only confirms it is still the
/// schema in force. `None` for a type no agent offers (`check_type` says so).
pub(super) fn validated(
    m: &Manager,
    task_type: &str,
    payload: &serde_json::Value,
) -> Result<Option<schema::Compiled>> {
    let Some(compiled) = m.state().schemas.get(task_type).cloned() else {
        return Ok(None);
    };
    compiled.validate(task_type, payload)?;
    Ok(Some(compiled))
}

/// Whether the task type is offered, its payload valid (checked again only when its schema
/// changed since `checked`, see [`validated`]) and its pinned agent offers it.
pub(super) fn check_type(
    st: &State,
    sub: &Submission,
    payload: &serde_json::Value,
    checked: Option<&schema::Compiled>,
) -> Result<()> {
    let compiled = st.schemas.get(&sub.task_type).ok_or_else(|| {
        let mut known: Vec<&str> = st.schemas.keys().map(String::as_str).collect();
        known.sort();
        Error::InvalidInput(if known.is_empty() {
            format!(
                "unknown task type `{}`: no agent has offered any task type yet",
                sub.task_type
            )
        } else {
            format!(
                "unknown task type `{}`; known task types: {}",
                sub.task_type,
                known.join(", ")
            )
        })
    })?;
    if !checked.is_some_and(|c| c.same(compiled)) {
        compiled.validate(&sub.task_type, payload)?;
    }
    if let Some(p) = &sub.pin_agent {
        let rec = st
            .registry
            .get(p)
            .ok_or_else(|| Error::AgentNotFound(p.clone()))?;
        if !rec.offers(&sub.task_type) {
            return Err(Error::InvalidInput(format!(
                "pinned agent `{p}` does not offer task type `{}`",
                sub.task_type
            )));
        }
    }
    Ok(())
}

/// A new task as submitted, queued.
pub(super) fn new_task(
    id: String,
    sub: &Submission,
    limits: &Limits,
    workspace: &Path,
    now: i64,
) -> Task {
    Task {
        id,
        task_type: sub.task_type.clone(),
        payload_json: sub.payload_json.clone(),
        state: TaskState::Queued,
        agent_id: None,
        pin_agent: sub.pin_agent.clone(),
        idempotency_key: sub.idempotency_key.clone(),
        attempts: Vec::new(),
        max_attempts: limits.max_attempts,
        timeout_secs: limits.timeout_secs,
        progress: None,
        result: None,
        status_reason: "submitted".into(),
        workspace: workspace.display().to_string(),
        workspace_made: None,
        created_us: now,
        updated_us: now,
        not_before_us: None,
        cancel_requested: false,
        cancelled_by: None,
        handed_off: None,
        usage: None,
    }
}

/// The task's current attempt ends now (with `error`, when it did not end well).
pub(super) fn end_attempt(a: &mut Active, now: i64, error: &str) {
    if let Some(att) = a.task.attempts.last_mut() {
        att.ended_us = Some(now);
        if !error.is_empty() {
            att.error = error.to_string();
        }
    }
}

/// A result as an agent reported it, made fit to keep: its texts cut to `agents.max_text_bytes`,
/// secrets the task was given taken out of everything in it, and its output and artifacts within
/// `agents.max_result_bytes` (an output past it is replaced by a note, and the summary says so;
/// artifacts that do not fit are left out). Every list and view of tasks carries results.
fn bound_result(
    result: &mut TaskResult,
    limits: &crate::config::Agents,
    secrets: &[(String, String)],
) {
    let max_text = limits.max_text_bytes as usize;
    let max = limits.max_result_bytes as usize;
    if result.output_json.len() > max {
        let note = format!(
            "the output was {} bytes; at most {max} (agents.max_result_bytes) are kept",
            result.output_json.len()
        );
        result.output_json = serde_json::json!({ "cut": note }).to_string();
        result.summary = format!("{} ({note})", result.summary);
    }
    let mut room = max.saturating_sub(result.output_json.len());
    let before = result.artifacts.len();
    result.artifacts.retain_mut(|art| {
        for s in [
            &mut art.name,
            &mut art.kind,
            &mut art.location,
            &mut art.description,
        ] {
            redact_in(s, secrets);
            truncate(s, max_text);
        }
        let size = art.name.len() + art.kind.len() + art.location.len() + art.description.len();
        let fits = size <= room;
        room = room.saturating_sub(size);
        fits
    });
    if result.artifacts.len() < before {
        result.summary = format!(
            "{} ({} artifacts past agents.max_result_bytes left out)",
            result.summary,
            before - result.artifacts.len()
        );
    }
    truncate(&mut result.summary, max_text);
    truncate(&mut result.error, max_text);
    for s in [
        &mut result.summary,
        &mut result.error,
        &mut result.output_json,
    ] {
        redact_in(s, secrets);
    }
}
