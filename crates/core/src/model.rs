//! Domain types of the manager: tasks, agents' task types, log lines, results and feed events.
//! They are independent of the wire format (`grpc::convert` maps them) and of SQL (`store` maps them).
//! Times are microseconds since the Unix epoch.
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The current wall-clock time in microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Where a task is in its life; see `tasks` for the legal transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for an agent (or for its retry backoff).
    Queued,
    /// Sent to an agent that has not answered yet.
    Assigned,
    /// Accepted and running.
    Running,
    /// Paused until a person answers a permission request.
    AwaitingConsent,
    /// Ended well.
    Completed,
    /// The agent ran it and reported a failure.
    Failed,
    /// Canceled by a person.
    Canceled,
    /// Its agent went away or the manager restarted while it ran.
    Interrupted,
    /// Every attempt failed.
    DeadLettered,
}

impl TaskState {
    /// Every state, in life order.
    pub const ALL: [TaskState; 9] = [
        TaskState::Queued,
        TaskState::Assigned,
        TaskState::Running,
        TaskState::AwaitingConsent,
        TaskState::Completed,
        TaskState::Failed,
        TaskState::Canceled,
        TaskState::Interrupted,
        TaskState::DeadLettered,
    ];

    /// The snake_case name used in the database, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Assigned => "assigned",
            TaskState::Running => "running",
            TaskState::AwaitingConsent => "awaiting_consent",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Canceled => "canceled",
            TaskState::Interrupted => "interrupted",
            TaskState::DeadLettered => "dead_lettered",
        }
    }

    /// Parses [`TaskState::as_str`] (also accepting `-` for `_`).
    pub fn parse(s: &str) -> Option<TaskState> {
        let s = s.replace('-', "_");
        TaskState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No transition leaves a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed
                | TaskState::Failed
                | TaskState::Canceled
                | TaskState::DeadLettered
        )
    }

    /// The task holds a slot on its agent.
    pub fn holds_slot(self) -> bool {
        matches!(
            self,
            TaskState::Assigned | TaskState::Running | TaskState::AwaitingConsent
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Finest detail.
    Trace = 1,
    /// Detail for debugging.
    Debug = 2,
    /// Normal progress.
    Info = 3,
    /// Something unexpected that did not stop the work.
    Warn = 4,
    /// Something failed.
    Error = 5,
}

impl LogLevel {
    /// The level with this number (1 trace .. 5 error); anything else is `Info`.
    pub fn from_number(n: i64) -> LogLevel {
        match n {
            1 => LogLevel::Trace,
            2 => LogLevel::Debug,
            4 => LogLevel::Warn,
            5 => LogLevel::Error,
            _ => LogLevel::Info,
        }
    }
}

/// One log line of a task. `seq` is per task, from 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Per-task sequence number, across attempts (as an agent sends it: the line's number within
    /// its attempt, until the manager numbers it).
    pub seq: u64,
    /// The attempt that wrote it (0: stored before attempts were recorded).
    #[serde(default)]
    pub attempt: u32,
    /// Its number within that attempt, from 1.
    #[serde(default)]
    pub attempt_seq: u64,
    /// When the agent wrote it.
    pub time_us: i64,
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub message: String,
    /// Structured fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl LogLine {
    /// About how many bytes it takes on the wire (see [`Task::wire_bytes`]).
    pub fn wire_bytes(&self) -> usize {
        64 + self.message.len()
            + self
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len() + 8)
                .sum::<usize>()
    }
}

/// How far a task has got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 0.0 ..= 1.0, or negative when unknown.
    pub fraction: f64,
    /// The current step's name.
    pub step: String,
}

/// Something a task produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Short name.
    pub name: String,
    /// "file", "directory", "url", ...
    pub kind: String,
    /// Absolute path or URL.
    pub location: String,
    /// What it is.
    pub description: String,
}

/// How the agent says a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// It did what was asked.
    Succeeded,
    /// It failed.
    Failed,
    /// It stopped because it was asked to.
    Canceled,
}

/// The final result an agent reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// How it ended.
    pub status: ResultStatus,
    /// A process-style exit code (0 = success).
    pub exit_code: i32,
    /// One line for people.
    pub summary: String,
    /// What it produced.
    pub artifacts: Vec<Artifact>,
    /// Structured output as JSON, or "".
    pub output_json: String,
    /// Why it failed or stopped.
    pub error: String,
}

/// A task type an agent offers, with the JSON Schema of its payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskType {
    /// Name, e.g. `echo.sleep`.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema document of its payload.
    pub payload_schema_json: String,
    /// Requests in plain words it serves, as the agent declared them (for the router).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// What it does with its task's folder, as the agent declared it (for the planner).
    #[serde(default)]
    pub folder: FolderUse,
}

/// What a task type does with the folder its task works in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FolderUse {
    /// Not said: any folder.
    #[default]
    Any,
    /// Works on what is already there: the folder must hold something.
    Existing,
    /// Makes something new there.
    Creates,
}

/// One try at running a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first.
    pub number: u32,
    /// The agent it was sent to.
    pub agent_id: String,
    /// When it was sent.
    pub started_us: i64,
    /// When it ended, if it has.
    pub ended_us: Option<i64>,
    /// Why it failed ("" while running or on success).
    pub error: String,
}

/// A task and everything known about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique, time-ordered id.
    pub id: String,
    /// Its task type.
    pub task_type: String,
    /// The payload (valid against the type's schema when submitted).
    pub payload_json: String,
    /// Current state.
    pub state: TaskState,
    /// The agent it runs (or last ran) on.
    pub agent_id: Option<String>,
    /// Run only on this agent.
    pub pin_agent: Option<String>,
    /// Client-chosen key that makes submission idempotent.
    pub idempotency_key: Option<String>,
    /// Every try so far.
    pub attempts: Vec<Attempt>,
    /// Tries allowed before dead-lettering.
    pub max_attempts: u32,
    /// Time allowed for one attempt.
    pub timeout_secs: u32,
    /// Last reported progress.
    pub progress: Option<Progress>,
    /// The final result, once ended by its agent.
    pub result: Option<TaskResult>,
    /// Why it is in its state, in words.
    pub status_reason: String,
    /// The directory it works in.
    pub workspace: String,
    /// The topmost folder the manager made for `workspace` (None: it existed): removed, if the
    /// task left it empty, once the task ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_made: Option<String>,
    /// Creation time.
    pub created_us: i64,
    /// Time of the last change.
    pub updated_us: i64,
    /// Not dispatched before this time.
    pub not_before_us: Option<i64>,
    /// A person asked to cancel it; its agent was told to stop.
    pub cancel_requested: bool,
    /// Who asked to cancel it: "client" (the person), or "manager" (drift, a budget, a refused
    /// hand-off loop). Absent in tasks stored before it was kept: the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// Another task handed its work to this one (`AgentService.HandOff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_off: Option<HandedOff>,
    /// The language-model calls its agent reported, added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ModelUsage>,
}

impl Task {
    /// About how many bytes it takes on the wire: its texts (payload, result, attempts' errors),
    /// for cutting a page of tasks short of the largest message.
    pub fn wire_bytes(&self) -> usize {
        let result = self.result.as_ref().map_or(0, |r| {
            r.summary.len()
                + r.error.len()
                + r.output_json.len()
                + r.artifacts
                    .iter()
                    .map(|a| a.name.len() + a.kind.len() + a.location.len() + a.description.len())
                    .sum::<usize>()
        });
        let attempts: usize = self.attempts.iter().map(|a| a.error.len() + 64).sum();
        let handed = self.handed_off.as_ref().map_or(0, |h| {
            h.note.len() + h.chain.iter().map(String::len).sum::<usize>()
        });
        // Ids, numbers and field tags: a few hundred bytes at most.
        512 + self.payload_json.len()
            + result
            + attempts
            + handed
            + self.status_reason.len()
            + self.workspace.len()
    }
}

/// One call a task made to a language model, as its agent measured it and the server reported it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCall {
    /// The model, as the server named it.
    pub model: String,
    /// Tokens as the server counted them (0 when it reported none).
    pub prompt_tokens: u64,
    /// Generated tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
    /// The server reported its usage.
    pub usage_reported: bool,
    /// The whole exchange, as the agent timed it (ms).
    pub elapsed_ms: f64,
    /// Time to the first token, when the server says (ms; 0: unknown).
    pub first_token_ms: f64,
    /// The model's time generating, when the server says (ms; 0: unknown).
    pub generation_ms: f64,
    /// The agent's id for the call: a report sent again is counted once ("" counts each).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

/// A task's model calls added up.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// How many.
    pub calls: u32,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Generated tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
    /// The exchanges' time (ms).
    pub elapsed_ms: f64,
    /// The times to the first token (ms).
    pub first_token_ms: f64,
    /// The generation times (ms).
    pub generation_ms: f64,
    /// Calls whose server reported no usage (not in the token counts).
    pub calls_without_usage: u32,
}

impl ModelUsage {
    /// These totals with one more call.
    /// Saturating: the figures come from an agent, and a total that overflowed (an infinite
    /// time is written as JSON `null`) would leave the task unreadable.
    pub fn add(&mut self, c: &ModelCall) {
        let ms = |a: f64, b: f64| (a + b).min(f64::MAX);
        self.calls = self.calls.saturating_add(1);
        self.prompt_tokens = self.prompt_tokens.saturating_add(c.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(c.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(c.total_tokens);
        self.elapsed_ms = ms(self.elapsed_ms, c.elapsed_ms);
        self.first_token_ms = ms(self.first_token_ms, c.first_token_ms);
        self.generation_ms = ms(self.generation_ms, c.generation_ms);
        if !c.usage_reported {
            self.calls_without_usage = self.calls_without_usage.saturating_add(1);
        }
    }
}

/// Where a task came from when another task's agent handed its work on to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HandedOff {
    /// The task that handed it off.
    pub from_task: String,
    /// The task types the work went through before this one, oldest first.
    pub chain: Vec<String>,
    /// What the handing agent said of it.
    pub note: String,
}

/// What happened; the body of a feed event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    /// An agent came online or went offline.
    AgentStatus {
        /// The agent.
        agent_id: String,
        /// Online now?
        online: bool,
        /// Why.
        reason: String,
    },
    /// A task changed state.
    TaskState {
        /// The task.
        task_id: String,
        /// Its type.
        task_type: String,
        /// The state before (None on submission).
        from: Option<TaskState>,
        /// The state now.
        to: TaskState,
        /// Why.
        reason: String,
        /// Its agent, if any.
        agent_id: Option<String>,
        /// Attempt number (0 before the first).
        attempt: u32,
    },
    /// A task reported progress.
    TaskProgress {
        /// The task.
        task_id: String,
        /// Its progress.
        progress: Progress,
    },
    /// A task logged a line.
    TaskLog {
        /// The task.
        task_id: String,
        /// The line.
        line: LogLine,
    },
    /// An agent process wrote a line to stdout or stderr.
    AgentOutput {
        /// The agent.
        agent_id: String,
        /// "stdout" or "stderr".
        stream: String,
        /// The line.
        line: String,
    },
    /// A permission was asked for (pending until answered) or was answered.
    Consent {
        /// The request as it stands.
        consent: crate::consent::Consent,
    },
    /// A task made a model call: the call, and the task's totals with it.
    ModelCall {
        /// The task.
        task_id: String,
        /// The call.
        call: ModelCall,
        /// The task's totals with it.
        usage: ModelUsage,
    },
    /// A task asked the person a question (pending until answered), or it was answered or given up.
    Question {
        /// The question as it stands.
        question: crate::question::Question,
    },
    /// Templates in the catalogue were added, changed or removed.
    TemplatesChanged {
        /// Their names.
        names: Vec<String>,
    },
    /// Handing out new work was paused or resumed.
    SchedulingChanged {
        /// Paused now.
        paused: bool,
        /// Who changed it.
        actor: String,
    },
    /// A plan was proposed, accepted, rejected or cancelled, or one of its steps moved.
    PlanChanged {
        /// The plan as it is now.
        plan: Box<crate::plan::Plan>,
    },
    /// A conversation was started, renamed, or got a turn.
    ConversationChanged {
        /// Its id.
        conversation_id: String,
        /// Its title now.
        title: String,
        /// How many turns it has now.
        turns: u32,
    },
    /// A running task was found drifting (`crate::drift`).
    TaskDrift {
        /// The task.
        task_id: String,
        /// "silent" or "repeating".
        drift: String,
        /// What shows it.
        evidence: String,
        /// What the manager did: "warned" or "cancelled".
        action: String,
    },
}

impl EventBody {
    /// The stored kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::AgentStatus { .. } => "agent_status",
            EventBody::TaskState { .. } => "task_state",
            EventBody::TaskProgress { .. } => "task_progress",
            EventBody::TaskLog { .. } => "task_log",
            EventBody::AgentOutput { .. } => "agent_output",
            EventBody::Consent { .. } => "consent",
            EventBody::Question { .. } => "question",
            EventBody::ModelCall { .. } => "model_call",
            EventBody::TemplatesChanged { .. } => "templates_changed",
            EventBody::SchedulingChanged { .. } => "scheduling",
            EventBody::PlanChanged { .. } => "plan",
            EventBody::TaskDrift { .. } => "task_drift",
            EventBody::ConversationChanged { .. } => "conversation",
        }
    }

    /// The task it is about, if any.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            EventBody::TaskState { task_id, .. }
            | EventBody::TaskProgress { task_id, .. }
            | EventBody::TaskLog { task_id, .. }
            | EventBody::TaskDrift { task_id, .. }
            | EventBody::ModelCall { task_id, .. } => Some(task_id),
            EventBody::Consent { consent } => Some(&consent.task_id),
            EventBody::Question { question } => Some(&question.task_id),
            _ => None,
        }
    }

    /// Is it a log line (task log or agent output)?
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            EventBody::TaskLog { .. } | EventBody::AgentOutput { .. }
        )
    }
}

/// A stored feed event. `seq` is the resume cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Position in the feed.
    pub seq: u64,
    /// When it happened.
    pub time_us: i64,
    /// What happened.
    pub body: EventBody,
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub id: u64,
    /// When it happened.
    pub time_us: i64,
    /// Who did it: "client", "manager", or an agent id.
    pub actor: String,
    /// What, e.g. `task.submitted`, `task.started`, `task.completed`.
    pub action: String,
    /// The task it concerns.
    pub task_id: Option<String>,
    /// Details as a JSON object.
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntry {
    /// About how many bytes it takes on the wire (see [`Task::wire_bytes`]).
    pub fn wire_bytes(&self) -> usize {
        128 + self.actor.len()
            + self.action.len()
            + self.detail.len()
            + self.hash.len()
            + self.prev_hash.len()
            + self.task_id.as_ref().map_or(0, String::len)
    }
}
