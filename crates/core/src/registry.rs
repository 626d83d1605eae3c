//! Agent records: what each agent declared, whether it is online, which tasks it holds. Data only:
//! the registry records what agents said and what the manager decided, and never infers either.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::scheduler::AgentView;
use crate::store::AgentRow;

/// A command for an agent, sent on its Work stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run a task.
    Start(Box<StartCommand>),
    /// Stop a task.
    Stop {
        /// The task.
        task_id: String,
        /// Why.
        reason: String,
    },
    /// A message from another agent (always on the agent's own Work stream, never to a task
    /// runner: see [`AgentRecord::deliver`]), counted among its stream's unread ones until read.
    Message(Box<crate::message::Message>, Unread),
}

/// Counts a message among those waiting unread on a Work stream while it exists: the stream
/// drops it once read (or with the stream).
#[derive(Debug)]
pub struct Unread(std::sync::Arc<std::sync::atomic::AtomicU32>);

impl Unread {
    fn new(count: &std::sync::Arc<std::sync::atomic::AtomicU32>) -> Unread {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Unread(count.clone())
    }
}

impl Clone for Unread {
    fn clone(&self) -> Unread {
        Unread::new(&self.0)
    }
}

impl PartialEq for Unread {
    fn eq(&self, _: &Unread) -> bool {
        true
    }
}

impl Drop for Unread {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What an agent needs to run a task.
#[derive(Clone, Debug, PartialEq)]
pub struct StartCommand {
    /// The task.
    pub task_id: String,
    /// Its type.
    pub task_type: String,
    /// Its payload.
    pub payload_json: String,
    /// Where it may work.
    pub workspace: String,
    /// Its capability token.
    pub capability_token: String,
    /// When it must have ended (µs).
    pub deadline_us: i64,
    /// Attempt number.
    pub attempt: u32,
    /// What the rules in force grant its task process beyond the workspace.
    pub grants: crate::policy::Grants,
}

/// A live connection of an agent.
#[derive(Debug)]
pub struct Session {
    /// Distinguishes sessions of one agent over time.
    pub id: u64,
    /// The token the agent presents.
    pub token: String,
    /// Last heartbeat or registration.
    pub last_seen: Instant,
    /// Its Work stream, once opened.
    pub work: Option<mpsc::UnboundedSender<Command>>,
    /// Messages sent on its Work stream and not read yet.
    pub unread: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

/// One agent.
#[derive(Debug)]
pub struct AgentRecord {
    /// The persisted part.
    pub row: AgentRow,
    /// Online now.
    pub online: bool,
    /// Why it is offline (or how it came online).
    pub status_reason: String,
    /// Its process id as it declared.
    pub pid: u32,
    /// Load it last reported.
    pub load: f64,
    /// The live session, when online.
    pub session: Option<Session>,
    /// Tasks the manager gave it that have not ended.
    pub holding: BTreeSet<String>,
    /// Tasks it still reports running that are not its own any more (it was told to stop them);
    /// it gets none of them again until it stops reporting them.
    pub stopping: BTreeSet<String>,
    /// Set for a confined agent: its tasks run in task processes the supervisor starts, so task
    /// commands go here instead of on the Work stream.
    pub task_runner: Option<mpsc::UnboundedSender<Command>>,
}

impl AgentRecord {
    /// A record for a stored agent, offline until it registers.
    pub fn from_row(row: AgentRow, reason: &str) -> AgentRecord {
        AgentRecord {
            row,
            online: false,
            status_reason: reason.to_string(),
            pid: 0,
            load: 0.0,
            session: None,
            holding: BTreeSet::new(),
            stopping: BTreeSet::new(),
            task_runner: None,
        }
    }

    /// Offers this task type.
    pub fn offers(&self, task_type: &str) -> bool {
        self.row.capabilities.iter().any(|c| c.name == task_type)
    }

    /// Sends a command to the agent (on its Work stream, or to its task runner when it is
    /// confined); false when the agent has no open Work stream (it is not online).
    pub fn send(&self, cmd: Command) -> bool {
        match self.session.as_ref().and_then(|s| s.work.as_ref()) {
            Some(w) => match &self.task_runner {
                Some(r) => r.send(cmd).is_ok(),
                None => w.send(cmd).is_ok(),
            },
            None => false,
        }
    }

    /// Sends a message on the agent's own Work stream (its process, not its task processes);
    /// false when it has none open, or `max_unread` messages wait there unread already (it
    /// waits in the manager then).
    pub fn deliver(&self, message: crate::message::Message, max_unread: u32) -> bool {
        let Some(s) = self.session.as_ref() else {
            return false;
        };
        let Some(w) = s.work.as_ref() else {
            return false;
        };
        if s.unread.load(std::sync::atomic::Ordering::Relaxed) >= max_unread {
            return false;
        }
        let unread = Unread::new(&s.unread);
        w.send(Command::Message(Box::new(message), unread)).is_ok()
    }

    /// What the scheduler sees.
    pub fn view(&self) -> AgentView {
        AgentView {
            id: self.row.id.clone(),
            available: self.online && self.session.as_ref().is_some_and(|s| s.work.is_some()),
            task_types: self
                .row
                .capabilities
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            running: self.holding.len() as u32,
            max_concurrency: self.row.max_concurrency,
            successes: self.row.successes,
            failures: self.row.failures,
            cost: self.row.cost,
        }
    }
}

/// Every agent the manager knows, by id, and the session tokens that identify them.
#[derive(Debug, Default)]
pub struct Registry {
    agents: BTreeMap<String, AgentRecord>,
    sessions: HashMap<String, String>,
    next_session: u64,
}

impl Registry {
    /// Adds or replaces a record.
    pub fn insert(&mut self, rec: AgentRecord) {
        self.agents.insert(rec.row.id.clone(), rec);
    }

    /// One agent.
    pub fn get(&self, id: &str) -> Option<&AgentRecord> {
        self.agents.get(id)
    }

    /// One agent, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut AgentRecord> {
        self.agents.get_mut(id)
    }

    /// All agents, by id.
    pub fn iter(&self) -> impl Iterator<Item = &AgentRecord> {
        self.agents.values()
    }

    /// Ends every open Work stream (its sender dropped: the stream ends once what was sent is
    /// read).
    pub fn end_work_streams(&mut self) {
        for rec in self.agents.values_mut() {
            if let Some(s) = rec.session.as_mut() {
                s.work = None;
            }
        }
    }

    /// The agent a session token belongs to.
    pub fn agent_of_session(&self, token: &str) -> Option<&str> {
        self.sessions.get(token).map(String::as_str)
    }

    /// Starts a new session for `id` (replacing any old one) and returns its token.
    pub fn open_session(&mut self, id: &str, token: String, now: Instant) -> Option<u64> {
        self.next_session += 1;
        let sid = self.next_session;
        let rec = self.agents.get_mut(id)?;
        if let Some(old) = rec.session.take() {
            self.sessions.remove(&old.token);
        }
        self.sessions.insert(token.clone(), id.to_string());
        rec.session = Some(Session {
            id: sid,
            token,
            last_seen: now,
            work: None,
            unread: Default::default(),
        });
        Some(sid)
    }

    /// Ends `id`'s session (its Work stream closes).
    pub fn close_session(&mut self, id: &str) {
        if let Some(rec) = self.agents.get_mut(id) {
            if let Some(old) = rec.session.take() {
                self.sessions.remove(&old.token);
            }
        }
    }

    /// Views of every agent for the scheduler, in id order.
    pub fn views(&self) -> Vec<AgentView> {
        self.agents.values().map(AgentRecord::view).collect()
    }
}
