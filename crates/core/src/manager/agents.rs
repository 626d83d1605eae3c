//! Agents: registration and identity, heartbeats, the Work stream, going offline, listings.
use super::*;

impl Manager {
    /// Registers an agent (or re-registers it, replacing its old session).
    #[tracing::instrument(skip_all, fields(agent = %reg.name, pid = ?reg.pid))]
    pub async fn register(&self, reg: Registration) -> Result<Registered> {
        let compiled = checked_registration(&reg, &self.inner.cfg.agents)?;
        let token = random_secret()?;
        let now = self.now_us();
        let stop = self
            .commit(|st| {
                schemas_agree(st, &reg.name, &compiled)?;
                let task_runner = self.identify(st, &reg)?;
                self.check_declared(st, &reg)?;
                let existing = st
                    .registry
                    .get(&reg.name)
                    .map(|r| (r.row.clone(), r.holding.clone(), r.online));
                let (row, holding, was_online) = match existing {
                    Some(e) => e,
                    None => (new_agent_row(&reg.name, now), Default::default(), false),
                };
                // Online once its Work stream opens (see `open_work`): only then can it get work.
                let reason = if was_online {
                    "registered again; waiting for its command stream"
                } else {
                    "registered; waiting for its command stream"
                };
                let mut rec = AgentRecord::from_row(registered_row(row, &reg, now), reason);
                rec.pid = reg.pid;
                rec.task_runner = task_runner;
                rec.holding = holding.clone();
                // Tasks it still runs that are no longer its own: stop them.
                let stop: Vec<String> = reg
                    .running_task_ids
                    .iter()
                    .filter(|t| !holding.contains(*t))
                    .cloned()
                    .collect();
                rec.stopping = stop.iter().cloned().collect();
                // Replace the record (keeping the session map consistent), then open a fresh
                // session.
                st.registry.close_session(&reg.name);
                st.registry.insert(rec);
                st.registry
                    .open_session(&reg.name, token.clone(), self.instant());
                for (name, s) in compiled {
                    st.schemas.insert(name, s);
                }
                // Tasks it holds but did not report: lost with the old process.
                let mut writes = Vec::new();
                for t in holding.iter().filter(|t| !reg.running_task_ids.contains(t)) {
                    self.lose_attempt(
                        st,
                        t,
                        &format!("agent `{}` restarted without it", reg.name),
                        now,
                        &mut writes,
                    )?;
                }
                let rec = st.registry.get(&reg.name).expect("just inserted");
                writes.push(Write::Agent(Box::new(rec.row.clone())));
                Ok((writes, stop))
            })
            .await?;
        self.forget_ended();
        self.inner.wake.notify_one();
        Ok(Registered {
            agent_id: reg.name,
            session_token: token,
            stop_task_ids: stop,
        })
    }

    /// Checks that an agent offers only the task types that are its own: a supervised agent those
    /// its manifest declares, an agent the manager did not start none that a manifest declares.
    /// So no agent can take another's tasks (and their payloads) by naming its types, or keep
    /// the owner offline by holding a type first. Refusals are audited.
    pub(super) fn check_declared(&self, st: &State, reg: &Registration) -> Result<()> {
        let refused = match st
            .declared
            .get(&reg.name)
            .filter(|_| st.supervised.contains_key(&reg.name))
        {
            Some(own) => {
                reg.capabilities
                    .iter()
                    .find(|c| !own.contains(&c.name))
                    .map(|c| {
                        format!(
                        "agent `{}` offers task type `{}`, which its manifest does not declare \
                         (it declares: {}); add it to `capabilities` in its agent.toml",
                        reg.name,
                        c.name,
                        if own.is_empty() { "none".to_string() } else { own.join(", ") }
                    )
                    })
            }
            None => reg.capabilities.iter().find_map(|c| {
                st.declared
                    .iter()
                    .find(|(_, types)| types.contains(&c.name))
                    .map(|(owner, _)| {
                        format!(
                            "task type `{}` belongs to agent `{owner}` (its manifest declares it); \
                             agent `{}` cannot offer it",
                            c.name, reg.name
                        )
                    })
            }),
        };
        let Some(refused) = refused else {
            return Ok(());
        };
        self.audit(
            &format!("pid:{}", reg.peer.map_or(0, |p| p.pid)),
            "agent.refused",
            None,
            serde_json::json!({ "agent": reg.name, "reason": refused }),
        );
        Err(Error::PermissionDenied(refused))
    }

    /// Checks that a registering process may use its name, and returns where its task commands
    /// go when it is confined. A supervised agent's name is taken only by the process the
    /// supervisor started (the kernel's peer credentials say who called); other agents are
    /// accepted only when `sandbox.allow_unsupervised_agents` is set, since nothing confines them.
    /// Refusals are audited.
    pub(super) fn identify(
        &self,
        st: &State,
        reg: &Registration,
    ) -> Result<Option<mpsc::UnboundedSender<Command>>> {
        let peer_pid = reg.peer.map(|p| p.pid);
        // A confined agent is the only child of the reaper the supervisor started.
        let started_by_us = |pid: u32| {
            reg.peer
                .is_some_and(|p| p.pid == pid || p.parent == Some(pid))
        };
        let refused = match st.supervised.get(&reg.name) {
            Some(p) if started_by_us(p.pid) => return Ok(p.task_runner.clone()),
            Some(p) => format!(
                "agent name `{}` belongs to the agent this manager started (pid {}); the caller ({}) \
                 is not that process",
                reg.name,
                p.pid,
                peer_pid.map_or("a TCP peer".to_string(), |pid| format!("pid {pid}"))
            ),
            None if self.inner.cfg.sandbox.allow_unsupervised_agents => return Ok(None),
            None => format!(
                "agent `{}` was not started by this manager, so nothing confines it; start it from \
                 a manifest in an agent folder (serve --agents-dir), or set \
                 sandbox.allow_unsupervised_agents = true to accept unconfined agents",
                reg.name
            ),
        };
        self.audit(
            &format!("pid:{}", peer_pid.unwrap_or(0)),
            "agent.refused",
            None,
            serde_json::json!({ "agent": reg.name, "reason": refused }),
        );
        Err(Error::PermissionDenied(refused))
    }

    pub(super) fn session_agent(st: &State, token: &str) -> Result<String> {
        if token.is_empty() {
            return Err(Error::Unauthenticated(
                "missing session token: call Register first".into(),
            ));
        }
        st.registry.agent_of_session(token).map(str::to_string).ok_or_else(|| {
            Error::FailedPrecondition(
                "unknown or replaced session (the manager restarted or the agent registered again); register again".into(),
            )
        })
    }

    /// A heartbeat: returns the tasks the agent must stop.
    pub fn heartbeat(&self, token: &str, load: f64, running: &[String]) -> Result<Vec<String>> {
        check_running(running)?;
        let mut guard = self.state();
        let st = &mut *guard; // the registry and the tasks borrowed apart, nothing cloned
        let id = Self::session_agent(st, token)?;
        let rec = st.registry.get_mut(&id).expect("session maps to an agent");
        if let Some(s) = rec.session.as_mut() {
            s.last_seen = self.instant();
        }
        rec.load = if load.is_finite() {
            load.clamp(0.0, 1.0)
        } else {
            0.0
        };
        rec.row.last_seen_us = self.now_us();
        let mut stop: Vec<String> = running
            .iter()
            .filter(|t| !rec.holding.contains(*t))
            .cloned()
            .collect();
        rec.stopping = stop.iter().cloned().collect();
        stop.extend(
            rec.holding
                .iter()
                .filter(|t| st.tasks.get(*t).is_some_and(|a| a.task.cancel_requested))
                .cloned(),
        );
        Ok(stop)
    }

    /// Opens the agent's command stream. Dropping the returned guard (the agent hung up) takes the
    /// agent offline at once.
    pub fn open_work(&self, token: &str) -> Result<(mpsc::UnboundedReceiver<Command>, WorkGuard)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.state();
        let id = Self::session_agent(&st, token)?;
        let rec = st.registry.get_mut(&id).expect("session maps to an agent");
        let session = rec.session.as_mut().expect("a mapped session exists");
        session.work = Some(tx);
        let session_id = session.id;
        rec.online = true;
        rec.status_reason = "connected".into();
        // Nothing is acknowledged here, so the caller need not wait for this to be stored.
        let _ = self.inner.writer.submit(vec![
            Write::Agent(Box::new(rec.row.clone())),
            Write::Event {
                time_us: self.now_us(),
                body: EventBody::AgentStatus {
                    agent_id: id.clone(),
                    online: true,
                    reason: "connected".into(),
                },
            },
        ]);
        let guard = WorkGuard {
            manager: self.clone(),
            agent_id: id,
            session_id,
        };
        drop(st);
        self.inner.wake.notify_one();
        // Messages that waited for it go now (stored before the stream opened: not awaited).
        let _ = self.deliver_due();
        Ok((rx, guard))
    }

    pub(super) fn work_closed(&self, agent_id: &str, session_id: u64) {
        let now = self.now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            let current = st
                .registry
                .get(agent_id)
                .and_then(|r| r.session.as_ref())
                .is_some_and(|s| s.id == session_id);
            if !current {
                return;
            }
            if let Err(e) =
                self.go_offline(&mut st, agent_id, "its connection closed", now, &mut writes)
            {
                tracing::error!(agent = agent_id, error = %e, "taking agent offline failed");
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing an agent going offline failed");
    }

    /// Every known agent.
    pub fn list_agents(&self) -> Vec<AgentInfo> {
        let st = self.state();
        st.registry
            .iter()
            .map(|r| AgentInfo {
                row: r.row.clone(),
                online: r.online,
                status_reason: r.status_reason.clone(),
                running_task_ids: r.holding.iter().cloned().collect(),
                load: r.load,
                pid: if r.online { r.pid } else { 0 },
                supervised: st.supervised.contains_key(&r.row.id),
                confined: r.task_runner.is_some(),
            })
            .collect()
    }

    /// Every task type some agent has offered.
    pub fn list_task_types(&self) -> Vec<TaskTypeInfo> {
        let st = self.state();
        let mut out: BTreeMap<String, TaskTypeInfo> = BTreeMap::new();
        for r in st.registry.iter() {
            for c in &r.row.capabilities {
                let e = out.entry(c.name.clone()).or_insert_with(|| TaskTypeInfo {
                    task_type: c.clone(),
                    agent_ids: Vec::new(),
                    available: false,
                });
                // The schema in force is the one the manager validates with (the latest registered).
                if let Some(s) = st.schemas.get(&c.name) {
                    e.task_type.payload_schema_json = s.source.to_string();
                }
                e.agent_ids.push(r.row.id.clone());
                e.available |= r.online;
            }
        }
        out.into_values().collect()
    }

    /// Takes an agent offline and re-queues what it held.
    pub(super) fn go_offline(
        &self,
        st: &mut State,
        agent_id: &str,
        why: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let stopping = st.stopping;
        let (held, was_online): (Vec<String>, bool) = match st.registry.get_mut(agent_id) {
            Some(rec) if rec.online || rec.session.is_some() => {
                let was = rec.online;
                rec.online = false;
                rec.status_reason = why.to_string();
                rec.load = 0.0;
                (rec.holding.iter().cloned().collect(), was)
            }
            _ => return Ok(()),
        };
        st.registry.close_session(agent_id);
        let reason = format!("agent `{agent_id}` went offline: {why}");
        // Stopping: its tasks stay as they are for the restart policy.
        for t in held.into_iter().filter(|_| !stopping) {
            if let Some(a) = st.tasks.get_mut(&t) {
                let ev =
                    tasks::transition(&mut a.task, TaskState::Interrupted, reason.clone(), now)?;
                push_task(writes, &a.task, ev, now);
                self.lose_attempt(st, &t, &reason, now, writes)?;
            }
        }
        let rec = st.registry.get(agent_id).expect("present");
        writes.push(Write::Agent(Box::new(rec.row.clone())));
        if was_online {
            writes.push(Write::Event {
                time_us: now,
                body: EventBody::AgentStatus {
                    agent_id: agent_id.to_string(),
                    online: false,
                    reason: why.to_string(),
                },
            });
        }
        Ok(())
    }
}

/// Held by an agent's open Work stream; dropping it takes the agent offline.
pub struct WorkGuard {
    pub(super) manager: Manager,
    pub(super) agent_id: String,
    pub(super) session_id: u64,
}

impl Drop for WorkGuard {
    fn drop(&mut self) {
        self.manager.work_closed(&self.agent_id, self.session_id);
    }
}

/// A registration's own checks (before the state is looked at): its name, limits and task
/// types, each type's payload schema compiled.
fn checked_registration(
    reg: &Registration,
    limits: &crate::config::Agents,
) -> Result<Vec<(String, schema::Compiled)>> {
    check_name("agent name", &reg.name, 64)?;
    if reg.max_concurrency == 0 || reg.max_concurrency > MAX_CONCURRENCY {
        return Err(Error::InvalidInput(format!(
            "max_concurrency must be between 1 and {MAX_CONCURRENCY} (got {})",
            reg.max_concurrency
        )));
    }
    check_running(&reg.running_task_ids)?;
    check_length("version", &reg.version, MAX_VERSION_BYTES, "")?;
    if !reg.cost.is_finite() || reg.cost < 0.0 {
        return Err(Error::InvalidInput(format!(
            "cost must be a finite number >= 0 (got {})",
            reg.cost
        )));
    }
    if reg.capabilities.is_empty() {
        return Err(Error::InvalidInput(
            "an agent must offer at least one task type".into(),
        ));
    }
    let mut compiled: Vec<(String, schema::Compiled)> = Vec::new();
    for c in &reg.capabilities {
        check_name("task type name", &c.name, 128)?;
        let text = limits.max_text_bytes as usize;
        let at = format!("task type `{}`: ", c.name);
        check_length("its description", &c.description, text, &at)?;
        let schema = limits.max_schema_bytes as usize;
        check_length("its payload schema", &c.payload_schema_json, schema, &at)?;
        check_examples(&c.name, &c.examples, limits)?;
        if compiled.iter().any(|(n, _)| *n == c.name) {
            return Err(Error::InvalidInput(format!(
                "task type `{}` is listed twice",
                c.name
            )));
        }
        let s = schema::Compiled::new(&c.payload_schema_json)
            .map_err(|e| Error::InvalidInput(format!("task type `{}`: {e}", c.name)))?;
        compiled.push((c.name.clone(), s));
    }
    Ok(compiled)
}

/// The most tasks an agent may run at once (`max_concurrency`), so the most task ids it may say
/// it runs.
const MAX_CONCURRENCY: u32 = 1024;
/// The longest task id an agent may name (the manager's are UUIDs, 36 bytes).
const MAX_TASK_ID_BYTES: usize = 64;
/// The longest version an agent may give.
const MAX_VERSION_BYTES: usize = 128;

/// The task ids an agent says it runs (a beat, a registration): at most as many as it may run,
/// each no longer than an id. Each costs the manager a look-up under its lock, and a beat's
/// answer repeats the ones it must stop.
fn check_running(running: &[String]) -> Result<()> {
    if running.len() > MAX_CONCURRENCY as usize {
        return Err(Error::InvalidInput(format!(
            "{} running task ids; an agent runs at most {MAX_CONCURRENCY} tasks at once",
            running.len()
        )));
    }
    if let Some(id) = running.iter().find(|t| t.len() > MAX_TASK_ID_BYTES) {
        return Err(Error::InvalidInput(format!(
            "a running task id of {} bytes; task ids are at most {MAX_TASK_ID_BYTES}",
            id.len()
        )));
    }
    Ok(())
}

/// A text an agent declares, no longer than `max` bytes (`at` says whose it is).
fn check_length(what: &str, text: &str, max: usize, at: &str) -> Result<()> {
    if text.len() > max {
        return Err(Error::InvalidInput(format!(
            "{at}{what} is {} bytes; at most {max} are allowed",
            text.len()
        )));
    }
    Ok(())
}

/// A task type's example requests: not too many, none empty or too long.
fn check_examples(
    task_type: &str,
    examples: &[String],
    limits: &crate::config::Agents,
) -> Result<()> {
    if examples.len() > limits.max_examples_per_type as usize {
        return Err(Error::InvalidInput(format!(
            "task type `{task_type}` declares {} examples; at most {} \
             (agents.max_examples_per_type) are allowed",
            examples.len(),
            limits.max_examples_per_type
        )));
    }
    for (i, e) in examples.iter().enumerate() {
        if e.trim().is_empty() {
            return Err(Error::InvalidInput(format!(
                "task type `{task_type}`: example {} is empty; each example is a request in \
                 plain words",
                i + 1
            )));
        }
        if e.len() > limits.max_text_bytes as usize {
            return Err(Error::InvalidInput(format!(
                "task type `{task_type}`: example {} is {} bytes; at most {} \
                 (agents.max_text_bytes) are allowed",
                i + 1,
                e.len(),
                limits.max_text_bytes
            )));
        }
    }
    Ok(())
}

/// Refuses a task type another online agent offers with a different payload schema.
fn schemas_agree(st: &State, agent: &str, compiled: &[(String, schema::Compiled)]) -> Result<()> {
    for (name, s) in compiled {
        let clash = st.registry.iter().find(|a| {
            a.online
                && a.row.id != agent
                && a.row
                    .capabilities
                    .iter()
                    .any(|c| c.name == *name && *c.payload_schema_json != *s.source)
        });
        if let Some(other) = clash {
            return Err(Error::InvalidInput(format!(
                "task type `{name}` is already offered by online agent `{}` with a different payload schema; \
                 give the type a new name or stop that agent first",
                other.row.id
            )));
        }
    }
    Ok(())
}

/// The row of an agent seen for the first time.
fn new_agent_row(name: &str, now: i64) -> AgentRow {
    AgentRow {
        id: name.to_string(),
        version: String::new(),
        capabilities: Vec::new(),
        max_concurrency: 1,
        cost: 0.0,
        registered_us: now,
        last_seen_us: now,
        restarts: 0,
        successes: 0,
        failures: 0,
    }
}

/// An agent's row as this registration describes it (its counters kept).
fn registered_row(mut row: AgentRow, reg: &Registration, now: i64) -> AgentRow {
    row.version = reg.version.clone();
    row.capabilities = reg.capabilities.clone();
    row.max_concurrency = reg.max_concurrency;
    row.cost = reg.cost;
    row.last_seen_us = now;
    row
}
