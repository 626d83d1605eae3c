//! Hand-offs: a running task's agent passes its work, with context, to another task type (a
//! role). In one commit the task ends completed ("handed off") and a new task of that type is
//! queued on the same folder, carrying the chain of task types the work went through. Work
//! handed back to a task type already in its chain is drift (A -> B -> A); past
//! `drift.max_handoffs` hand-offs along one chain, a hand-off is refused.
use super::*;
use crate::drift::{Drift, Kind};
use crate::model::HandedOff;
use lifecycle::{check_type, end_attempt, new_task, validated};

/// What a task hands on.
pub struct HandOff {
    /// The task type to take the work on.
    pub task_type: String,
    /// Its payload (checked against that type's schema).
    pub payload_json: String,
    /// What the handing agent says of it (context for the next one), at most
    /// `agents.max_text_bytes`.
    pub note: String,
}

/// What the commit decided.
enum Outcome {
    /// The new task.
    Handed(Box<Task>),
    /// The loop was refused (`drift.on_drift = "cancel"`): the old task was cancelled, why.
    Refused(String),
}

impl Manager {
    /// Ends `task_id` as handed off and queues its successor; returns the successor. Carried
    /// out to the end when the caller stops waiting (the successor stored is dispatched).
    pub async fn hand_off(&self, task_id: &str, token: &str, h: HandOff) -> Result<Task> {
        let (task_id, token) = (task_id.to_string(), token.to_string());
        self.to_the_end(move |m| async move { m.hand_off_now(&task_id, &token, h).await })
            .await
    }

    #[tracing::instrument(skip_all, fields(task = %task_id, to = %h.task_type))]
    async fn hand_off_now(&self, task_id: &str, token: &str, h: HandOff) -> Result<Task> {
        let max_text = self.inner.cfg.agents.max_text_bytes as usize;
        if h.note.len() > max_text {
            return Err(Error::InvalidInput(format!(
                "the hand-off note is {} bytes; at most {max_text} (agents.max_text_bytes) are allowed",
                h.note.len()
            )));
        }
        let sub = Submission {
            task_type: h.task_type.clone(),
            payload_json: h.payload_json.clone(),
            idempotency_key: None,
            pin_agent: None,
            timeout_secs: 0,
            max_attempts: 0,
            workspace: None,
        };
        let limits = self.limits(&sub)?;
        // Only a caller holding the task's token has its payload checked (outside the lock); a
        // task that ended may be asked again for a hand-off it made (the commit answers that).
        let holds = self.authorize(&self.state(), task_id, token);
        if let Err(e @ (Error::Unauthenticated(_) | Error::PermissionDenied(_))) = holds {
            return Err(e);
        }
        let checked = validated(self, &sub.task_type, &limits.payload)?;
        let drift = &self.inner.cfg.drift;
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now_us();
        let outcome = self
            .commit(|st| {
                check_type(st, &sub, &limits.payload, checked.as_ref())?;
                let mut writes = Vec::new();
                let (claims, a) = self.authorized(st, task_id, token)?;
                // The work goes on in the successor, and so do its caps: what the chain stored
                // and asked counts for the next task, or each hand-off would start them again.
                let carried = (a.log_bytes, a.requests);
                if !matches!(a.task.state, TaskState::Running | TaskState::Assigned) {
                    return Err(Error::FailedPrecondition(format!(
                        "task {task_id} is {}, not running: only a running task hands its work on",
                        a.task.state
                    )));
                }
                let mut chain = a
                    .task
                    .handed_off
                    .as_ref()
                    .map(|h| h.chain.clone())
                    .unwrap_or_default();
                chain.push(a.task.task_type.clone());
                if chain.len() > drift.max_handoffs as usize {
                    return Err(Error::FailedPrecondition(format!(
                        "this work was handed off {} times already ({}); at most {} \
                         (drift.max_handoffs) are allowed: finish it or fail it",
                        chain.len() - 1,
                        chain.join(" -> "),
                        drift.max_handoffs
                    )));
                }
                let looped = chain.contains(&h.task_type).then(|| Drift {
                    kind: Kind::HandoffLoop,
                    evidence: format!(
                        "handed back to `{}`: {} -> {}",
                        h.task_type,
                        chain.join(" -> "),
                        h.task_type
                    ),
                });
                if let Some(d) = &looped {
                    if let Some(why) = self.drifted(task_id, d, now, &mut writes) {
                        a.task.cancel_requested = true;
                        a.task.cancelled_by = Some("manager".to_string());
                        end_attempt(a, now, &why);
                        let ev =
                            tasks::transition(&mut a.task, TaskState::Canceled, why.clone(), now)?;
                        push_task(&mut writes, &a.task, ev, now);
                        release(st, &claims.agent_id, task_id, &mut writes);
                        return Ok((writes, Outcome::Refused(why)));
                    }
                }
                let from_type = a.task.task_type.clone();
                let workspace = PathBuf::from(&a.task.workspace);
                let made = a.task.workspace_made.take(); // the folder goes with the work
                if a.task.state == TaskState::Assigned {
                    let ev = tasks::transition(
                        &mut a.task,
                        TaskState::Running,
                        "accepted (implicitly, by handing off)",
                        now,
                    )?;
                    writes.push(Write::Event {
                        time_us: now,
                        body: ev,
                    });
                }
                a.task.result = Some(TaskResult {
                    status: ResultStatus::Succeeded,
                    exit_code: 0,
                    summary: format!("handed off to `{}` as task {id}", h.task_type),
                    artifacts: Vec::new(),
                    output_json: serde_json::json!({
                        "handed_off_to": id, "task_type": h.task_type, "note": h.note,
                    })
                    .to_string(),
                    error: String::new(),
                });
                end_attempt(a, now, "");
                let reason = format!(
                    "handed off by agent `{}` to `{}` (task {id})",
                    claims.agent_id, h.task_type
                );
                let ev = tasks::transition(&mut a.task, TaskState::Completed, reason, now)?;
                push_task(&mut writes, &a.task, ev, now);
                release(st, &claims.agent_id, task_id, &mut writes);

                let mut t = new_task(id.clone(), &sub, &limits, &workspace, now);
                t.workspace_made = made;
                t.status_reason = format!("handed off by task {task_id} (`{from_type}`)");
                t.handed_off = Some(HandedOff {
                    from_task: task_id.to_string(),
                    chain: chain.clone(),
                    note: h.note.clone(),
                });
                push_task(&mut writes, &t, tasks::submitted(&t), now);
                writes.push(Write::audit(
                    now,
                    claims.agent_id.clone(),
                    "task.handoff",
                    Some(task_id),
                    serde_json::json!({
                        "to_task": id, "task_type": h.task_type, "chain": chain, "note": h.note,
                    }),
                ));
                if let Some(d) = &looped {
                    // Warned, not stopped: the successor carries the flag too.
                    self.drifted(&id, d, now, &mut writes);
                }
                st.tasks.insert(
                    id.clone(),
                    Active {
                        unstored: true,
                        log_bytes: carried.0,
                        requests: carried.1,
                        ..Active::new(t.clone())
                    },
                );
                Ok((writes, Outcome::Handed(Box::new(t))))
            })
            .await;
        let outcome = match outcome {
            // The answer to a hand-off that was taken got lost, and the agent asked again.
            Err(Error::FailedPrecondition(why)) => {
                return match self.already_handed(task_id, token, &h.task_type).await {
                    Some(t) => Ok(t),
                    None => Err(Error::FailedPrecondition(why)),
                };
            }
            other => other?,
        };
        if let Some(a) = self.state().tasks.get_mut(&id) {
            a.unstored = false;
        }
        self.forget_ended();
        self.inner.wake.notify_one();
        match outcome {
            Outcome::Handed(t) => Ok(*t),
            Outcome::Refused(why) => Err(Error::FailedPrecondition(format!(
                "the hand-off was refused and this task cancelled: {why}"
            ))),
        }
    }
}

impl Manager {
    /// The task a repeated hand-off already made: the same token's agent and attempt ended this
    /// task by handing it to the same task type. None when it is anything else.
    async fn already_handed(&self, task_id: &str, token: &str, task_type: &str) -> Option<Task> {
        let t = self.ended_by(task_id, token).await?;
        let output: serde_json::Value =
            serde_json::from_str(&t.result.as_ref()?.output_json).ok()?;
        if t.state != TaskState::Completed || output["task_type"] != task_type {
            return None;
        }
        self.get_task(output["handed_off_to"].as_str()?).await.ok()
    }
}

/// The agent no longer holds the task.
fn release(st: &mut State, agent_id: &str, task_id: &str, writes: &mut Vec<Write>) {
    if let Some(rec) = st.registry.get_mut(agent_id) {
        rec.holding.remove(task_id);
        writes.push(Write::Agent(Box::new(rec.row.clone())));
    }
}
