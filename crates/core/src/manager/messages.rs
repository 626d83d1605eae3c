//! Messages between agents (`crate::message`): sent, stored, delivered at least once on the
//! recipient's Work stream, acknowledged, dead-lettered.
use super::*;
use crate::message::{self, Message, To};

/// Who sends a message.
pub enum Sender<'a> {
    /// An agent's own process, by its session.
    Session(&'a str),
    /// One of its tasks (a task process has no session), by the task's capability token.
    Task {
        /// The task.
        task_id: &'a str,
        /// Its capability token.
        token: &'a str,
    },
}

/// A message to send.
pub struct Outgoing {
    /// Its recipient.
    pub to: To,
    /// What it is about.
    pub kind: String,
    /// A JSON object.
    pub body_json: String,
    /// The sender's key for it (empty: none).
    pub idempotency_key: String,
    /// The task it is about (empty: none).
    pub about_task: String,
}

impl Manager {
    /// Stores a message and sends it on at once when its recipient is online; returns it and
    /// whether it is new (false: its idempotency key named one sent before).
    #[tracing::instrument(skip_all, fields(kind = %out.kind))]
    pub async fn send_message(&self, from: Sender<'_>, out: Outgoing) -> Result<(Message, bool)> {
        message::check_kind(&out.kind)?;
        message::check_body(
            &out.body_json,
            self.inner.cfg.messages.max_body_bytes as usize,
        )?;
        if out.idempotency_key.len() > message::MAX_KEY_BYTES {
            return Err(Error::InvalidInput(format!(
                "idempotency key is {} bytes; at most {} are allowed",
                out.idempotency_key.len(),
                message::MAX_KEY_BYTES
            )));
        }
        let sender = {
            let st = self.state();
            match from {
                Sender::Session(token) => Self::session_agent(&st, token)?,
                Sender::Task { task_id, token } => self.authorize(&st, task_id, token)?.agent_id,
            }
        };
        let key = (!out.idempotency_key.is_empty()).then(|| out.idempotency_key.clone());
        if let Some(k) = &key {
            // One stored and handled already; one still held in memory is looked for under the
            // lock below, and answered once its rows are stored.
            if let Some(m) = self.inner.store.message_by_key(&sender, k).await? {
                return Ok((m, false));
            }
        }
        // A full disk keeps its last room for state changes and audit entries.
        if let Some(free) = self.inner.disk.low() {
            return Err(self.inner.disk.refusal(free));
        }
        let now = self.now_us();
        let id = uuid::Uuid::now_v7().to_string();
        let (msg, new) = self
            .commit(|st| {
                let held = key.as_deref().and_then(|k| {
                    st.messages
                        .values()
                        .find(|m| m.from == sender && m.idempotency_key.as_deref() == Some(k))
                });
                if let Some(m) = held {
                    // Its first sending (this may be its retry) is stored with this commit.
                    return Ok((Vec::new(), (m.clone(), false)));
                }
                let most = self.inner.cfg.messages.max_active_per_sender as usize;
                let active = st.messages.values().filter(|m| m.from == sender).count();
                if active >= most {
                    return Err(Error::Exhausted(format!(
                        "agent {sender} has {active} messages awaiting delivery or acknowledgement, \
                         as many as one agent may (messages.max_active_per_sender); send again \
                         once their recipients have handled some"
                    )));
                }
                if !out.about_task.is_empty() {
                    // Only a task of its own, running now: the entry goes into that task's trail.
                    let own = st.tasks.get(&out.about_task).is_some_and(|a| {
                        a.task.agent_id.as_deref() == Some(sender.as_str())
                            && !a.task.state.is_terminal()
                    });
                    if !own {
                        return Err(Error::PermissionDenied(format!(
                            "a message may be about a task its sender runs now; `{}` is not one \
                             of agent {sender}'s",
                            super::clip(&out.about_task, super::audit::MAX_TASK_ID_BYTES)
                        )));
                    }
                }
                let to_agent = recipient(st, &out.to)?;
                if to_agent == sender {
                    return Err(Error::InvalidInput(format!(
                        "agent {sender} cannot send a message to itself; messages go between agents"
                    )));
                }
                let per_minute = self.inner.cfg.messages.max_per_minute_per_sender;
                let sent = st.messages_sent.entry(sender.clone()).or_default();
                if !sent.take(now, per_minute).0 {
                    return Err(Error::Exhausted(format!(
                        "agent {sender} sent {per_minute} messages in the last minute, as many as \
                         one agent may (messages.max_per_minute_per_sender); send again later"
                    )));
                }
                let msg = Message {
                    id: id.clone(),
                    from: sender.clone(),
                    to_agent,
                    kind: out.kind.clone(),
                    body_json: out.body_json.clone(),
                    idempotency_key: key.clone(),
                    about_task: (!out.about_task.is_empty()).then(|| out.about_task.clone()),
                    state: message::State::Pending,
                    deliveries: 0,
                    redeliver_at_us: None,
                    reason: String::new(),
                    created_us: now,
                    updated_us: now,
                };
                let writes = vec![
                    Write::Message(Box::new(msg.clone())),
                    Write::audit(
                        now,
                        sender.clone(),
                        "message.sent",
                        msg.about_task.as_deref(),
                        serde_json::json!({
                            "message": msg.id, "to": msg.to_agent, "kind": msg.kind,
                            "idempotency_key": msg.idempotency_key,
                        }),
                    ),
                ];
                st.messages.insert(msg.id.clone(), msg.clone());
                Ok((writes, (msg, true)))
            })
            .await?;
        if !new {
            return Ok((msg, false));
        }
        // On its way now when the recipient is there (else when it comes online, or next tick).
        if let Some(p) = self.deliver_due() {
            p.wait().await?;
        }
        let msg = self.state().messages.get(&msg.id).cloned().unwrap_or(msg);
        Ok((msg, true))
    }

    /// The recipient handled a message: it is not delivered again. Acknowledging one already
    /// acknowledged is fine; one that is not this agent's is refused.
    pub async fn ack_message(&self, session_token: &str, id: &str) -> Result<()> {
        let now = self.now_us();
        let done = self
            .commit(|st| {
                let agent = Self::session_agent(st, session_token)?;
                let Some(m) = st.messages.get(id) else {
                    return Ok((Vec::new(), false));
                };
                if m.to_agent != agent {
                    return Err(Error::PermissionDenied(format!(
                        "message {id} is for agent `{}`, not `{agent}`",
                        m.to_agent
                    )));
                }
                let mut m = st.messages.remove(id).expect("present");
                m.state = message::State::Acked;
                m.redeliver_at_us = None;
                m.updated_us = now;
                let writes = vec![
                    Write::audit(
                        now,
                        agent,
                        "message.acked",
                        m.about_task.as_deref(),
                        serde_json::json!({ "message": m.id, "from": m.from, "deliveries": m.deliveries }),
                    ),
                    Write::Message(Box::new(m)),
                ];
                Ok((writes, true))
            })
            .await?;
        if !done {
            // Not active: acknowledged before (a retried ack), or unknown.
            match self.inner.store.get_message(id).await? {
                Some(m) if m.state == message::State::Acked => Ok(()),
                Some(m) => Err(Error::FailedPrecondition(format!(
                    "message {id} was dead-lettered ({}); there is nothing to acknowledge",
                    m.reason
                ))),
                None => Err(Error::InvalidInput(format!("no message {id}"))),
            }
        } else {
            Ok(())
        }
    }

    /// Messages newest first (`state`, `agent`: filters; empty for all), a page of at most
    /// `limit` (`planner.list_page_size` when 0 or more), and the next page's token.
    pub async fn list_messages(
        &self,
        state: &str,
        agent: &str,
        limit: u32,
        page_token: Option<&str>,
    ) -> Result<(Vec<Message>, Option<String>)> {
        let state = (!state.is_empty())
            .then(|| message::State::parse(state).map(|s| s.name()))
            .transpose()?;
        let max = self.inner.cfg.planner.list_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        let agent = (!agent.is_empty()).then_some(agent);
        let mut found = self
            .inner
            .store
            .list_messages(state, agent, page_token, limit)
            .await?;
        {
            // An active message may have moved in memory before its row was written.
            let st = self.state();
            for m in &mut found {
                if let Some(live) = st.messages.get(&m.id) {
                    *m = live.clone();
                }
            }
        }
        let next = (found.len() as u32 == limit)
            .then(|| found.last().map(|m| m.id.clone()))
            .flatten();
        Ok((found, next))
    }

    /// Sends every message due to an online recipient (new ones, and those not acknowledged in
    /// time), and dead-letters those past `messages.max_deliveries`.
    pub(super) fn deliver_due(&self) -> Option<Pending> {
        let now = self.now_us();
        let mut writes = Vec::new();
        {
            let mut guard = self.state();
            let st = &mut *guard;
            self.deliver_messages(st, now, &mut writes);
        }
        (!writes.is_empty()).then(|| self.inner.writer.submit(writes))
    }

    /// [`Manager::deliver_due`] under the state lock.
    pub(super) fn deliver_messages(&self, st: &mut State, now: i64, writes: &mut Vec<Write>) {
        let cfg = &self.inner.cfg.messages;
        let due: Vec<String> = st
            .messages
            .values()
            .filter(|m| match m.state {
                message::State::Pending => true,
                message::State::Delivered => m.redeliver_at_us.is_some_and(|t| t <= now),
                _ => false,
            })
            .map(|m| m.id.clone())
            .collect();
        // Oldest first (ids are time-ordered): a recipient that reads slowly gets them in order.
        let mut due = due;
        due.sort_unstable();
        for id in due {
            let m = st.messages.get_mut(&id).expect("due message exists");
            if m.deliveries >= cfg.max_deliveries {
                m.state = message::State::DeadLettered;
                m.reason = format!(
                    "not acknowledged by agent `{}` after {} deliveries (messages.max_deliveries)",
                    m.to_agent, m.deliveries
                );
                m.updated_us = now;
                let m = st.messages.remove(&id).expect("present");
                tracing::warn!(message = %m.id, to = %m.to_agent, "message dead-lettered");
                writes.push(Write::audit(
                    now,
                    "manager",
                    "message.dead_lettered",
                    m.about_task.as_deref(),
                    serde_json::json!({ "message": m.id, "from": m.from, "to": m.to_agent, "reason": m.reason }),
                ));
                writes.push(Write::Message(Box::new(m)));
                continue;
            }
            let Some(rec) = st.registry.get(&m.to_agent) else {
                continue;
            };
            if !rec.online {
                // Waits for it; a redelivery's clock starts again when it is sent.
                continue;
            }
            let mut sent = m.clone();
            sent.deliveries += 1;
            if rec.deliver(sent.clone(), cfg.max_unread_per_agent) {
                sent.state = message::State::Delivered;
                sent.redeliver_at_us = Some(now + us(cfg.ack_timeout));
                sent.updated_us = now;
                *m = sent.clone();
                writes.push(Write::Message(Box::new(sent)));
            }
        }
    }
}

/// The agent a message goes to: one the registry knows (by id), the one a task is with, or an
/// online one offering a task type (the least busy; ties by id).
fn recipient(st: &State, to: &To) -> Result<String> {
    match to {
        To::Agent(id) => {
            if st.registry.get(id).is_some() {
                Ok(id.clone())
            } else {
                Err(Error::InvalidInput(format!(
                    "no agent `{id}` is known here; `hyperagent agents` lists them"
                )))
            }
        }
        To::Task(task_id) => {
            let a = st.tasks.get(task_id).ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "task {task_id} is not running or waiting: a message cannot go to its agent"
                ))
            })?;
            a.task.agent_id.clone().ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "task {task_id} is not with an agent yet ({})",
                    a.task.state
                ))
            })
        }
        To::Role(task_type) => st
            .registry
            .iter()
            .filter(|r| r.online && r.row.capabilities.iter().any(|c| &c.name == task_type))
            .min_by(|a, b| (a.holding.len(), &a.row.id).cmp(&(b.holding.len(), &b.row.id)))
            .map(|r| r.row.id.clone())
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "no online agent offers `{task_type}` to take this message"
                ))
            }),
    }
}
