//! Consent: requests from tasks and the egress proxy, answers, expiry.
use super::*;

impl Manager {
    /// An agent asks for a permission its task lacks. Decided at once by the rules or the task's
    /// earlier grants when they cover it; otherwise the task awaits consent until the person
    /// answers or `consent.timeout` passes (a denial). Everything is audited.
    pub async fn request_consent(
        &self,
        task_id: &str,
        token: &str,
        kind: &str,
        target: &str,
        reason: &str,
    ) -> Result<Consent> {
        // These have calls of their own, whose question the manager words (the paths it will
        // snapshot, the secret the manifest declares): an agent's own words could promise a
        // snapshot that is never taken, and its grant would then cover whatever it names next.
        match kind {
            "destructive" => {
                return Err(Error::InvalidInput(
                    "a destructive action is asked for with PrepareDestructive, which lists its \
                     paths and snapshots them first; RequestConsent cannot ask for one"
                        .into(),
                ))
            }
            "secret" => {
                return Err(Error::InvalidInput(
                    "a secret is asked for with GetSecret (the agent's manifest must declare it); \
                     RequestConsent cannot ask for one"
                        .into(),
                ))
            }
            _ => {}
        }
        if target.len() > crate::consent::MAX_TARGET_BYTES {
            return Err(Error::InvalidInput(format!(
                "a permission's target is {} bytes; at most {} are allowed",
                target.len(),
                crate::consent::MAX_TARGET_BYTES
            )));
        }
        let permission = policy::parse(kind, target)?;
        let claims = self.authorize(&self.state(), task_id, token)?;
        self.consent_for(
            task_id,
            &claims.agent_id,
            permission,
            reason,
            &claims.agent_id,
        )
        .await
    }

    /// The egress proxy asks whether a task may connect to `host:port` (asking the person on the
    /// task's behalf when no rule or grant decides). Returns the agent when it may.
    pub async fn egress_check(
        &self,
        task_id: &str,
        token: &str,
        host: &str,
        port: u16,
    ) -> Result<String> {
        let permission = policy::parse("connect", &format!("{host}:{port}"))?;
        let claims = self.authorize(&self.state(), task_id, token)?;
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &format!("a connection to {host}:{port} through the egress proxy"),
                "manager",
            )
            .await?;
        c.granted(&format!("connection to {host}:{port}"))?;
        Ok(claims.agent_id)
    }

    /// Decides a permission for a task by the rules and its grants, or asks the person.
    #[tracing::instrument(skip_all, fields(task = %task_id, agent = %agent_id, permission = %permission.kind()))]
    pub(super) async fn consent_for(
        &self,
        task_id: &str,
        agent_id: &str,
        permission: policy::Permission,
        reason: &str,
        asker: &str,
    ) -> Result<Consent> {
        let mut reason = reason.trim().to_string();
        truncate(&mut reason, crate::consent::MAX_REASON_BYTES);
        let now = self.now_us();
        enum Outcome {
            Decided(Consent),
            Asked(oneshot::Receiver<Consent>),
        }
        let outcome = self
            .commit(|st| {
                if !st
                    .tasks
                    .get(task_id)
                    .is_some_and(|a| a.task.state.holds_slot())
                {
                    return Err(Error::FailedPrecondition(format!(
                        "task {task_id} is not running any more"
                    )));
                }
                // The same request again while it waits (its call retried after the connection
                // dropped): it waits for the same answer; the person is not asked twice.
                if let Some(p) = st.consents.values_mut().find(|p| {
                    p.consent.task_id == task_id
                        && p.consent.agent_id == agent_id
                        && p.consent.permission == permission
                }) {
                    joined(&p.waiters, &self.inner.cfg.consent)?;
                    let (reply, answer) = oneshot::channel();
                    p.waiters.push(reply);
                    return Ok((Vec::new(), Outcome::Asked(answer)));
                }
                // A task cannot bury the person in requests (or the manager in memory).
                let limits = &self.inner.cfg.consent;
                let waiting = st
                    .consents
                    .values()
                    .filter(|p| p.consent.task_id == task_id)
                    .count();
                let agents = st
                    .consents
                    .values()
                    .filter(|p| p.consent.agent_id == agent_id)
                    .count();
                if waiting >= limits.max_pending_per_task as usize
                    || agents >= limits.max_pending_per_agent as usize
                    || st.consents.len() >= limits.max_pending as usize
                {
                    return Err(Error::FailedPrecondition(format!(
                    "too many permission requests waiting ({waiting} of this task's, {agents} of \
                     agent {agent_id}'s, {} in all; consent.max_pending_per_task = {}, \
                     consent.max_pending_per_agent = {}, consent.max_pending = {}): wait for an \
                     answer before asking again",
                    st.consents.len(),
                    limits.max_pending_per_task,
                    limits.max_pending_per_agent,
                    limits.max_pending
                )));
                }
                st.tasks
                    .get_mut(task_id)
                    .expect("present")
                    .count_request(limits.max_requests_per_task)?;
                let a = &st.tasks[task_id];
                let mut c = Consent {
                    id: uuid::Uuid::now_v7().to_string(),
                    task_id: task_id.to_string(),
                    agent_id: agent_id.to_string(),
                    permission,
                    reason,
                    created_us: now,
                    expires_us: now + us(self.inner.cfg.consent.timeout),
                    status: Status::Pending,
                    scope: None,
                    answered_by: String::new(),
                    answer_reason: String::new(),
                };
                let mut writes = Vec::new();
                match policy::decide(&st.rules, &a.task_grants, agent_id, &c.permission) {
                    Some((decision, rule)) => {
                        c.answered_by = rule.map_or("an earlier grant to this task".into(), |r| {
                            format!("rule {}", r.id)
                        });
                        if decision == policy::Decision::Allow {
                            c.status = Status::Granted;
                        } else {
                            c.status = Status::Denied;
                            c.answer_reason = "a deny rule refuses it".into();
                        }
                        consent_writes(&mut writes, &c, "consent.decided", "policy", now);
                        Ok((writes, Outcome::Decided(c)))
                    }
                    None => {
                        consent_writes(&mut writes, &c, "consent.requested", asker, now);
                        let a = st.tasks.get_mut(task_id).expect("present");
                        if a.task.state == TaskState::Running {
                            let ev = tasks::transition(
                                &mut a.task,
                                TaskState::AwaitingConsent,
                                format!(
                                    "waiting for consent: {} {}",
                                    c.permission.kind(),
                                    c.permission.target()
                                ),
                                now,
                            )?;
                            push_task(&mut writes, &a.task, ev, now);
                        }
                        let (reply, answer) = oneshot::channel();
                        st.consents.insert(
                            c.id.clone(),
                            PendingConsent {
                                consent: c,
                                waiters: vec![reply],
                            },
                        );
                        Ok((writes, Outcome::Asked(answer)))
                    }
                }
            })
            .await?;
        match outcome {
            Outcome::Decided(c) => Ok(c),
            Outcome::Asked(answer) => answer.await.map_err(|_| Error::ShuttingDown),
        }
    }

    /// The person answers a pending request: `Some(scope)` grants it that far, `None` denies it.
    #[tracing::instrument(skip_all, fields(consent = %id, granted = scope.is_some(), by = %actor))]
    pub async fn answer_consent(
        &self,
        id: &str,
        scope: Option<Scope>,
        actor: &str,
    ) -> Result<Consent> {
        let now = self.now_us();
        let (waiters, c) = self
            .commit(|st| {
                let Some(p) = st.consents.remove(id) else {
                    return Err(Error::FailedPrecondition(format!(
                    "no pending consent request `{id}`: it was answered, timed out, or its task \
                     ended (`hyperagent consent list` shows the pending ones)"
                )));
                };
                let mut writes = Vec::new();
                let reason = if scope.is_none() {
                    "denied by the person"
                } else {
                    ""
                };
                let c =
                    self.resolve_consent(st, p.consent, scope, actor, reason, now, &mut writes)?;
                Ok((writes, (p.waiters, c)))
            })
            .await?;
        tell(waiters, &c);
        Ok(c)
    }

    /// Pending consent requests, oldest first.
    pub fn list_consents(&self) -> Vec<Consent> {
        // By id: ids are time-ordered (UUIDv7), so the map's order is the oldest first.
        self.state()
            .consents
            .values()
            .map(|p| p.consent.clone())
            .collect()
    }

    /// Records an answer: applies a grant's scope (a task grant, or a persisted rule), audits it,
    /// and puts the task back to running once nothing else is pending for it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn resolve_consent(
        &self,
        st: &mut State,
        mut c: Consent,
        scope: Option<Scope>,
        actor: &str,
        reason: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<Consent> {
        c.status = if scope.is_some() {
            Status::Granted
        } else {
            Status::Denied
        };
        c.scope = scope;
        c.answered_by = actor.to_string();
        c.answer_reason = reason.to_string();
        consent_writes(writes, &c, "consent.answered", actor, now);
        match scope {
            Some(Scope::Task) => {
                if let Some(a) = st.tasks.get_mut(&c.task_id) {
                    a.task_grants.push(c.permission.clone());
                }
            }
            Some(s @ (Scope::Agent | Scope::Always)) => {
                let rule = new_rule(
                    (s == Scope::Agent).then(|| c.agent_id.clone()),
                    c.permission.clone(),
                    policy::Decision::Allow,
                    format!("consent {}", c.id),
                    now,
                );
                put_rule(st, rule, actor, Some(&c.task_id), writes);
            }
            Some(Scope::Once) | None => {}
        }
        let why = format!(
            "consent {}: {} {}",
            if scope.is_some() { "granted" } else { "denied" },
            c.permission.kind(),
            c.permission.target()
        );
        done_waiting(st, &c.task_id, why, now, writes)?;
        Ok(c)
    }

    /// Denies the pending requests that timed out, or whose task ended or is being canceled; their
    /// askers hear the answer once it is stored.
    pub(super) fn expire_consents(&self, st: &mut State, now: i64) {
        let due: Vec<(String, String)> = st
            .consents
            .values()
            .filter_map(|p| {
                let c = &p.consent;
                let why = given_up(st, &c.task_id, c.expires_us, now)?;
                Some((c.id.clone(), why.to_string()))
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let mut writes = Vec::new();
        let mut replies = Vec::new();
        for (id, why) in due {
            let p = st.consents.remove(&id).expect("listed above");
            let reason = if why == "timeout" {
                format!(
                    "no answer within {}",
                    humantime::format_duration(self.inner.cfg.consent.timeout)
                )
            } else {
                why.clone()
            };
            match self.resolve_consent(st, p.consent, None, &why, &reason, now, &mut writes) {
                Ok(c) => replies.push((p.waiters, c)),
                Err(e) => {
                    tracing::error!(consent = %id, error = %e, "expiring a consent request failed")
                }
            }
        }
        self.answer_once_stored(writes, replies, "expired consent requests");
    }

    /// Stores `writes`, then answers the callers waiting on `replies` (never before: what they
    /// hear is stored). Called under the state lock, so the storing waits in a task of its own.
    pub(super) fn answer_once_stored<T: Clone + Send + 'static>(
        &self,
        writes: Vec<Write>,
        replies: Vec<(Vec<oneshot::Sender<T>>, T)>,
        what: &'static str,
    ) {
        let pending = self.inner.writer.submit(writes);
        tokio::spawn(async move {
            if let Err(e) = pending.wait().await {
                tracing::error!(error = %e, "storing {what} failed");
                return;
            }
            for (waiters, answer) in replies {
                tell(waiters, &answer);
            }
        });
    }
}

/// Gives everyone waiting for a request (the request and its repeats) the answer.
pub(super) fn tell<T: Clone>(waiters: Vec<oneshot::Sender<T>>, answer: &T) {
    for w in waiters {
        let _ = w.send(answer.clone());
    }
}

/// Why a request waiting for the person (a consent request, a question) is given up now: its
/// task ended, is being canceled, or its time ran out ("timeout"); None while it may wait on.
pub(super) fn given_up(
    st: &State,
    task_id: &str,
    expires_us: i64,
    now: i64,
) -> Option<&'static str> {
    let task = st.tasks.get(task_id);
    if task.is_none_or(|a| !a.task.state.holds_slot()) {
        Some("its task ended")
    } else if task.is_some_and(|a| a.task.cancel_requested) {
        Some("its task is being canceled")
    } else if expires_us <= now {
        Some("timeout")
    } else {
        None
    }
}

/// A request of the task's to the person was settled: the task, awaiting the person, runs again
/// (`why`) once nothing else of it waits for them (no consent request, no question).
pub(super) fn done_waiting(
    st: &mut State,
    task_id: &str,
    why: String,
    now: i64,
    writes: &mut Vec<Write>,
) -> Result<()> {
    let still_waiting = st.consents.values().any(|p| p.consent.task_id == task_id)
        || st.questions.values().any(|p| p.question.task_id == task_id);
    if let Some(a) = st.tasks.get_mut(task_id) {
        if a.task.state == TaskState::AwaitingConsent && !still_waiting && !a.task.cancel_requested
        {
            a.watch.activity(now);
            let ev = tasks::transition(&mut a.task, TaskState::Running, why, now)?;
            push_task(writes, &a.task, ev, now);
        }
    }
    Ok(())
}

/// The feed event and the audit entry of a consent request as it now stands.
pub(super) fn consent_writes(
    writes: &mut Vec<Write>,
    c: &Consent,
    action: &str,
    actor: &str,
    now: i64,
) {
    writes.push(Write::Event {
        time_us: now,
        body: EventBody::Consent { consent: c.clone() },
    });
    writes.push(Write::audit(now, actor, action, Some(&c.task_id), c));
}

impl crate::egress::Gate for Manager {
    async fn check(&self, task_id: &str, token: &str, host: &str, port: u16) -> Result<String> {
        self.egress_check(task_id, token, host, port).await
    }

    fn settings(&self) -> crate::config::Egress {
        self.inner.cfg.egress.clone()
    }

    fn audit(&self, actor: &str, action: &str, task_id: Option<&str>, detail: serde_json::Value) {
        Manager::audit(self, actor, action, task_id, detail)
    }

    async fn audit_stored(
        &self,
        actor: &str,
        action: &str,
        task_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let task_id = task_id.map(|t| super::clip(t, super::audit::MAX_TASK_ID_BYTES));
        self.record(vec![Write::audit(
            self.now_us(),
            actor,
            action,
            task_id,
            detail,
        )])
        .await
    }
}

impl Active {
    /// Counts one more permission request or question; refused past `most`.
    pub(super) fn count_request(&mut self, most: u32) -> Result<()> {
        if self.requests >= most {
            return Err(Error::Exhausted(format!(
                "task {} has made {} permission requests and questions, the most one task may \
                 (consent.max_requests_per_task): it is asking in a loop",
                self.task.id, self.requests
            )));
        }
        self.requests += 1;
        Ok(())
    }
}

/// A request made again while it waits joins it, as many times as a task may have requests
/// waiting (`consent.max_pending_per_task`): a retried call, not a way to park calls without end.
pub(super) fn joined<T>(waiters: &[T], limits: &crate::config::Consent) -> Result<()> {
    if waiters.len() >= limits.max_pending_per_task as usize {
        return Err(Error::Exhausted(format!(
            "the same request is already waiting {} times; at most {} \
             (consent.max_pending_per_task)",
            waiters.len(),
            limits.max_pending_per_task
        )));
    }
    Ok(())
}
