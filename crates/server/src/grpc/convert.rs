//! Conversions between domain types and generated proto types, and error -> status mapping.
use std::collections::BTreeMap;

use hyperagent_proto::v1 as pb;
use pbjson_types::Timestamp;
use tonic::{Code, Status};

use hyperagent_core::error::Error;
use hyperagent_core::manager::{AgentInfo, Outgoing, TaskTypeInfo};
use hyperagent_core::model::{
    Artifact, Attempt, Event, EventBody, FolderUse, LogLevel, LogLine, Progress, ResultStatus,
    Task, TaskResult, TaskState, TaskType,
};
use hyperagent_core::registry::Command;

/// Maps a core error onto a gRPC status with the same message.
pub fn status(e: Error) -> Status {
    let code = match &e {
        Error::InvalidInput(_) | Error::Config { .. } | Error::Manifest { .. } => {
            Code::InvalidArgument
        }
        Error::TaskNotFound(_)
        | Error::AgentNotFound(_)
        | Error::PlanNotFound(_)
        | Error::ConversationNotFound(_) => Code::NotFound,
        Error::IdempotencyConflict { .. } => Code::AlreadyExists,
        Error::IllegalTransition { .. } | Error::FailedPrecondition(_) => Code::FailedPrecondition,
        Error::Unauthenticated(_) => Code::Unauthenticated,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::AlreadyRunning { .. } | Error::DataDirInUse { .. } => Code::AlreadyExists,
        Error::ShuttingDown | Error::StoreFailed(_) => Code::Unavailable,
        Error::DiskLow { .. } | Error::Exhausted(_) => Code::ResourceExhausted,
        Error::Secret(_) => Code::FailedPrecondition,
        Error::Store(_) | Error::Migrate(_) | Error::Io { .. } | Error::Sandbox(_) => {
            Code::Internal
        }
    };
    Status::new(code, bounded(e.to_string()))
}

/// Most bytes of an error message sent to a client: errors quote the input they refuse, and a
/// message past gRPC's metadata limit reaches the client as an HTTP/2 protocol error instead.
const MAX_ERROR_BYTES: usize = 2048;

/// `message`, cut at a character boundary with a note when it is longer than a client can get.
fn bounded(mut message: String) -> String {
    if message.len() > MAX_ERROR_BYTES {
        let total = message.len();
        let mut cut = MAX_ERROR_BYTES - 64;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(&format!(" … [message cut: {total} bytes]"));
    }
    message
}

/// A status code as the UI-facing APIs (web, desktop) name it in `{code, message}` errors.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// µs -> Timestamp.
pub fn ts(us: i64) -> Timestamp {
    Timestamp {
        seconds: us.div_euclid(1_000_000),
        nanos: (us.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// Timestamp -> µs (0 when absent); saturating, as the seconds come from the caller.
pub fn from_ts(t: Option<Timestamp>) -> i64 {
    t.map(|t| {
        t.seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(t.nanos) / 1000)
    })
    .unwrap_or(0)
}

/// Domain state -> proto.
pub fn state(s: TaskState) -> pb::TaskState {
    match s {
        TaskState::Queued => pb::TaskState::Queued,
        TaskState::Assigned => pb::TaskState::Assigned,
        TaskState::Running => pb::TaskState::Running,
        TaskState::AwaitingConsent => pb::TaskState::AwaitingConsent,
        TaskState::Completed => pb::TaskState::Completed,
        TaskState::Failed => pb::TaskState::Failed,
        TaskState::Canceled => pb::TaskState::Canceled,
        TaskState::Interrupted => pb::TaskState::Interrupted,
        TaskState::DeadLettered => pb::TaskState::DeadLettered,
    }
}

/// Proto state -> domain (None for UNSPECIFIED or unknown numbers).
pub fn state_from(v: i32) -> Option<TaskState> {
    Some(match pb::TaskState::try_from(v).ok()? {
        pb::TaskState::Unspecified => return None,
        pb::TaskState::Queued => TaskState::Queued,
        pb::TaskState::Assigned => TaskState::Assigned,
        pb::TaskState::Running => TaskState::Running,
        pb::TaskState::AwaitingConsent => TaskState::AwaitingConsent,
        pb::TaskState::Completed => TaskState::Completed,
        pb::TaskState::Failed => TaskState::Failed,
        pb::TaskState::Canceled => TaskState::Canceled,
        pb::TaskState::Interrupted => TaskState::Interrupted,
        pb::TaskState::DeadLettered => TaskState::DeadLettered,
    })
}

fn level(l: LogLevel) -> pb::LogLevel {
    match l {
        LogLevel::Trace => pb::LogLevel::Trace,
        LogLevel::Debug => pb::LogLevel::Debug,
        LogLevel::Info => pb::LogLevel::Info,
        LogLevel::Warn => pb::LogLevel::Warn,
        LogLevel::Error => pb::LogLevel::Error,
    }
}

fn level_from(v: i32) -> LogLevel {
    match pb::LogLevel::try_from(v).unwrap_or(pb::LogLevel::Info) {
        pb::LogLevel::Trace => LogLevel::Trace,
        pb::LogLevel::Debug => LogLevel::Debug,
        pb::LogLevel::Unspecified | pb::LogLevel::Info => LogLevel::Info,
        pb::LogLevel::Warn => LogLevel::Warn,
        pb::LogLevel::Error => LogLevel::Error,
    }
}

/// Proto log line -> domain.
pub fn log_line_from(l: pb::LogLine) -> LogLine {
    LogLine {
        seq: l.seq,
        attempt: l.attempt,
        attempt_seq: l.attempt_seq,
        time_us: from_ts(l.time),
        level: level_from(l.level),
        message: l.message,
        fields: l.fields.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

/// The lines a PushLogs request carries, in either form (`lines`, or `columns` as the Python SDK
/// sends them); a request using both, or columns whose lists disagree, is refused as malformed.
pub fn pushed_lines(
    lines: Vec<pb::LogLine>,
    columns: Option<pb::LogColumns>,
) -> Result<Vec<LogLine>, Status> {
    let carries = |c: &pb::LogColumns| {
        c.messages.len() + c.time_unix_nanos.len() + c.levels.len() + c.field_lines.len() > 0
    };
    let Some(c) = columns.filter(carries) else {
        return Ok(lines.into_iter().map(log_line_from).collect());
    };
    if !lines.is_empty() {
        return Err(Status::invalid_argument(
            "log lines are sent in `lines` or in `columns`, not in both",
        ));
    }
    let n = c.messages.len();
    if c.time_unix_nanos.len() != n || c.levels.len() != n {
        return Err(Status::invalid_argument(format!(
            "log columns disagree: {n} messages, {} times and {} levels; each line needs one of each",
            c.time_unix_nanos.len(),
            c.levels.len()
        )));
    }
    let fields = c.field_lines.len();
    if c.field_keys.len() != fields || c.field_values.len() != fields {
        return Err(Status::invalid_argument(format!(
            "log columns disagree: {fields} field lines, {} keys and {} values; each field needs one of each",
            c.field_keys.len(),
            c.field_values.len()
        )));
    }
    if c.first_seq == 0 || c.first_seq.checked_add(n as u64).is_none() {
        return Err(Status::invalid_argument(format!(
            "log columns start at seq {}; a batch's first line is numbered from 1 and its last fits in 64 bits",
            c.first_seq
        )));
    }
    let mut out: Vec<LogLine> = c
        .messages
        .into_iter()
        .zip(c.time_unix_nanos)
        .zip(c.levels)
        .enumerate()
        .map(|(i, ((message, nanos), level))| LogLine {
            seq: c.first_seq + i as u64,
            attempt: 0,
            attempt_seq: 0,
            time_us: nanos.div_euclid(1_000),
            level: level_from(i32::from(level)),
            message,
            fields: BTreeMap::new(),
        })
        .collect();
    let mut previous = 0;
    for ((line, key), value) in c
        .field_lines
        .into_iter()
        .zip(c.field_keys)
        .zip(c.field_values)
    {
        if line < previous || line as usize >= n {
            return Err(Status::invalid_argument(format!(
                "log columns: a field of line {line} after one of line {previous}, in a batch of {n} lines; fields go in line order, each of a line in the batch"
            )));
        }
        previous = line;
        out[line as usize].fields.insert(key, value);
    }
    Ok(out)
}

/// Domain log line -> proto.
pub fn log_line(l: &LogLine) -> pb::LogLine {
    pb::LogLine {
        seq: l.seq,
        attempt: l.attempt,
        attempt_seq: l.attempt_seq,
        time: Some(ts(l.time_us)),
        level: level(l.level) as i32,
        message: l.message.clone(),
        fields: l
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Proto task type -> domain.
pub fn task_type_from(t: pb::TaskType) -> TaskType {
    TaskType {
        name: t.name,
        description: t.description,
        payload_schema_json: t.payload_schema_json,
        examples: t.examples,
        folder: match pb::FolderUse::try_from(t.folder) {
            Ok(pb::FolderUse::Existing) => FolderUse::Existing,
            Ok(pb::FolderUse::Creates) => FolderUse::Creates,
            _ => FolderUse::Any,
        },
    }
}

/// Domain task type -> proto.
pub fn task_type(t: &TaskType) -> pb::TaskType {
    pb::TaskType {
        name: t.name.clone(),
        description: t.description.clone(),
        payload_schema_json: t.payload_schema_json.clone(),
        examples: t.examples.clone(),
        folder: match t.folder {
            FolderUse::Any => pb::FolderUse::Unspecified,
            FolderUse::Existing => pb::FolderUse::Existing,
            FolderUse::Creates => pb::FolderUse::Creates,
        } as i32,
    }
}

fn progress(p: &Progress) -> pb::Progress {
    pb::Progress {
        fraction: p.fraction,
        step: p.step.clone(),
    }
}

/// Proto progress -> domain.
pub fn progress_from(p: Option<pb::Progress>) -> Progress {
    let p = p.unwrap_or_default();
    Progress {
        fraction: p.fraction,
        step: p.step,
    }
}

/// Proto result -> domain; the status must be set.
pub fn result_from(r: Option<pb::TaskResult>) -> Result<TaskResult, Status> {
    let r = r.ok_or_else(|| Status::invalid_argument("result is missing"))?;
    let status = match pb::ResultStatus::try_from(r.status) {
        Ok(pb::ResultStatus::Succeeded) => ResultStatus::Succeeded,
        Ok(pb::ResultStatus::Failed) => ResultStatus::Failed,
        Ok(pb::ResultStatus::Canceled) => ResultStatus::Canceled,
        _ => {
            return Err(Status::invalid_argument(format!(
                "result.status {} is not allowed; use SUCCEEDED (1), FAILED (2) or CANCELED (3)",
                r.status
            )))
        }
    };
    Ok(TaskResult {
        status,
        exit_code: r.exit_code,
        summary: r.summary,
        artifacts: r
            .artifacts
            .into_iter()
            .map(|a| Artifact {
                name: a.name,
                kind: a.kind,
                location: a.location,
                description: a.description,
            })
            .collect(),
        output_json: r.output_json,
        error: r.error,
    })
}

fn result(r: &TaskResult) -> pb::TaskResult {
    pb::TaskResult {
        status: match r.status {
            ResultStatus::Succeeded => pb::ResultStatus::Succeeded,
            ResultStatus::Failed => pb::ResultStatus::Failed,
            ResultStatus::Canceled => pb::ResultStatus::Canceled,
        } as i32,
        exit_code: r.exit_code,
        summary: r.summary.clone(),
        artifacts: r
            .artifacts
            .iter()
            .map(|a| pb::Artifact {
                name: a.name.clone(),
                kind: a.kind.clone(),
                location: a.location.clone(),
                description: a.description.clone(),
            })
            .collect(),
        output_json: r.output_json.clone(),
        error: r.error.clone(),
    }
}

fn attempt(a: &Attempt) -> pb::Attempt {
    pb::Attempt {
        number: a.number,
        agent_id: a.agent_id.clone(),
        started_at: Some(ts(a.started_us)),
        ended_at: a.ended_us.map(ts),
        error: a.error.clone(),
    }
}

/// Domain task -> proto.
pub fn task(t: &Task) -> pb::Task {
    pb::Task {
        id: t.id.clone(),
        task_type: t.task_type.clone(),
        payload_json: t.payload_json.clone(),
        state: state(t.state) as i32,
        agent_id: t.agent_id.clone().unwrap_or_default(),
        pin_agent: t.pin_agent.clone().unwrap_or_default(),
        idempotency_key: t.idempotency_key.clone().unwrap_or_default(),
        attempts: t.attempts.iter().map(attempt).collect(),
        max_attempts: t.max_attempts,
        timeout_secs: t.timeout_secs,
        progress: t.progress.as_ref().map(progress),
        result: t.result.as_ref().map(result),
        status_reason: t.status_reason.clone(),
        workspace: t.workspace.clone(),
        created_at: Some(ts(t.created_us)),
        updated_at: Some(ts(t.updated_us)),
        not_before: t.not_before_us.map(ts),
        cancel_requested: t.cancel_requested,
        usage: t.usage.as_ref().map(model_usage),
        handed_off: t.handed_off.as_ref().map(|h| pb::HandedOff {
            from_task: h.from_task.clone(),
            chain: h.chain.clone(),
            note: h.note.clone(),
        }),
    }
}

/// Domain agent -> proto.
pub fn agent(a: &AgentInfo) -> pb::Agent {
    pb::Agent {
        id: a.row.id.clone(),
        version: a.row.version.clone(),
        status: if a.online {
            pb::AgentStatus::Online
        } else {
            pb::AgentStatus::Offline
        } as i32,
        capabilities: a.row.capabilities.iter().map(task_type).collect(),
        max_concurrency: a.row.max_concurrency,
        running_task_ids: a.running_task_ids.clone(),
        load: a.load,
        last_heartbeat: Some(ts(a.row.last_seen_us)),
        registered_at: Some(ts(a.row.registered_us)),
        restarts: a.row.restarts,
        tasks_succeeded: a.row.successes,
        tasks_failed: a.row.failures,
        cost: a.row.cost,
        pid: a.pid,
        supervised: a.supervised,
        confined: a.confined,
        status_reason: a.status_reason.clone(),
    }
}

/// Domain task type info -> proto.
pub fn task_type_info(t: &TaskTypeInfo) -> pb::TaskTypeInfo {
    pb::TaskTypeInfo {
        task_type: Some(task_type(&t.task_type)),
        agent_ids: t.agent_ids.clone(),
        available: t.available,
    }
}

/// Domain event -> proto.
pub fn event(e: &Event) -> pb::Event {
    use pb::event::Body;
    let body = match &e.body {
        EventBody::AgentStatus {
            agent_id,
            online,
            reason,
        } => Body::AgentStatus(pb::AgentStatusChanged {
            agent_id: agent_id.clone(),
            status: if *online {
                pb::AgentStatus::Online
            } else {
                pb::AgentStatus::Offline
            } as i32,
            reason: reason.clone(),
        }),
        EventBody::TaskState {
            task_id,
            task_type,
            from,
            to,
            reason,
            agent_id,
            attempt,
        } => Body::TaskState(pb::TaskStateChanged {
            task_id: task_id.clone(),
            from: from.map(|s| state(s) as i32).unwrap_or(0),
            to: state(*to) as i32,
            reason: reason.clone(),
            agent_id: agent_id.clone().unwrap_or_default(),
            attempt: *attempt,
            task_type: task_type.clone(),
        }),
        EventBody::TaskProgress {
            task_id,
            progress: p,
        } => Body::TaskProgress(pb::TaskProgress {
            task_id: task_id.clone(),
            progress: Some(progress(p)),
        }),
        EventBody::TaskLog { task_id, line } => Body::TaskLog(pb::TaskLog {
            task_id: task_id.clone(),
            line: Some(log_line(line)),
        }),
        EventBody::AgentOutput {
            agent_id,
            stream,
            line,
        } => Body::AgentOutput(pb::AgentOutput {
            agent_id: agent_id.clone(),
            stream: stream.clone(),
            line: line.clone(),
        }),
        EventBody::Consent { consent: c } => Body::Consent(consent(c)),
        EventBody::Question { question: q } => Body::Question(question(q)),
        EventBody::ModelCall {
            task_id,
            call,
            usage,
        } => Body::ModelCall(pb::TaskModelCall {
            task_id: task_id.clone(),
            call: Some(model_call(call)),
            usage: Some(model_usage(usage)),
        }),
        EventBody::TemplatesChanged { names } => Body::TemplatesChanged(pb::TemplatesChanged {
            names: names.clone(),
        }),
        EventBody::SchedulingChanged { paused, actor } => Body::Scheduling(pb::SchedulingChanged {
            paused: *paused,
            actor: actor.clone(),
        }),
        EventBody::PlanChanged { plan: p } => Body::Plan(pb::PlanChanged {
            plan: Some(plan(p)),
        }),
        EventBody::ConversationChanged {
            conversation_id,
            title,
            turns,
        } => Body::Conversation(pb::ConversationChanged {
            conversation_id: conversation_id.clone(),
            title: title.clone(),
            turns: *turns,
        }),
        EventBody::TaskDrift {
            task_id,
            drift,
            evidence,
            action,
        } => Body::TaskDrift(pb::TaskDrift {
            task_id: task_id.clone(),
            drift: drift.clone(),
            evidence: evidence.clone(),
            action: action.clone(),
        }),
    };
    pb::Event {
        seq: e.seq,
        time: Some(ts(e.time_us)),
        body: Some(body),
    }
}

/// A catalogue template on the wire.
pub fn template(t: &hyperagent_core::catalogue::Template) -> pb::Template {
    use hyperagent_core::catalogue::TemplateStatus;
    pb::Template {
        name: t.name.clone(),
        dir: t.dir.display().to_string(),
        description: t.description.clone(),
        status: match t.status {
            TemplateStatus::Ok => pb::TemplateStatus::Ok,
            TemplateStatus::Broken => pb::TemplateStatus::Broken,
        } as i32,
        error: t.error.clone(),
        warnings: t.warnings.clone(),
        answers_schema_json: t.answers_schema_json.clone(),
    }
}

/// Domain audit entry -> proto.
pub fn audit_entry(e: &hyperagent_core::model::AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        id: e.id,
        time: Some(ts(e.time_us)),
        actor: e.actor.clone(),
        action: e.action.clone(),
        task_id: e.task_id.clone().unwrap_or_default(),
        detail_json: e.detail.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}

/// Domain command -> proto work item.
pub fn work_item(c: Command) -> pb::WorkItem {
    use pb::work_item::Item;
    pb::WorkItem {
        item: Some(match c {
            Command::Start(s) => Item::Start(pb::StartTask {
                task_id: s.task_id,
                task_type: s.task_type,
                payload_json: s.payload_json,
                workspace: s.workspace,
                capability_token: s.capability_token,
                deadline: Some(ts(s.deadline_us)),
                attempt: s.attempt,
            }),
            Command::Stop { task_id, reason } => Item::Stop(pb::StopTask { task_id, reason }),
            // Read off the stream: no longer counted among the agent's unread messages.
            Command::Message(m, _read) => Item::Message(pb::AgentMessage {
                id: m.id,
                from: m.from,
                kind: m.kind,
                body_json: m.body_json,
                idempotency_key: m.idempotency_key.unwrap_or_default(),
                task_id: m.about_task.unwrap_or_default(),
                delivery: m.deliveries,
            }),
        }),
    }
}

/// A message between agents as a client sees it.
pub fn message_record(m: &hyperagent_core::message::Message) -> pb::AgentMessageRecord {
    pb::AgentMessageRecord {
        id: m.id.clone(),
        from: m.from.clone(),
        to_agent: m.to_agent.clone(),
        kind: m.kind.clone(),
        body_json: m.body_json.clone(),
        idempotency_key: m.idempotency_key.clone().unwrap_or_default(),
        about_task: m.about_task.clone().unwrap_or_default(),
        state: m.state.name().to_string(),
        deliveries: m.deliveries,
        reason: m.reason.clone(),
        created_at: Some(ts(m.created_us)),
        updated_at: Some(ts(m.updated_us)),
    }
}

/// Who sends a message: a session's token, or a task's id and capability token.
pub enum SentBy {
    /// An agent's own process.
    Session(String),
    /// A task (a task process has no session).
    Task(String, String),
}

/// A SendMessage request -> who sends it and what (malformed: INVALID_ARGUMENT saying what).
pub fn outgoing(r: pb::SendMessageRequest) -> Result<(SentBy, Outgoing), Status> {
    use hyperagent_core::message::To;
    use pb::send_message_request::To as PbTo;
    let to = match r.to {
        Some(PbTo::ToAgent(a)) if !a.is_empty() => To::Agent(a),
        Some(PbTo::ToTask(t)) if !t.is_empty() => To::Task(t),
        Some(PbTo::ToRole(t)) if !t.is_empty() => To::Role(t),
        _ => {
            return Err(Status::invalid_argument(
                "a message needs one recipient: to_agent, to_task or to_role (not empty)",
            ))
        }
    };
    let by = match (r.session_token.is_empty(), r.task_id.is_empty()) {
        (false, true) => SentBy::Session(r.session_token),
        (true, false) => SentBy::Task(r.task_id, r.capability_token),
        _ => {
            return Err(Status::invalid_argument(
                "a message is sent by a session (session_token) or by a task (task_id and capability_token), one of the two",
            ))
        }
    };
    Ok((
        by,
        Outgoing {
            to,
            kind: r.kind,
            body_json: r.body_json,
            idempotency_key: r.idempotency_key,
            about_task: r.about_task,
        },
    ))
}

/// A permission rule on the wire.
pub fn rule(r: &hyperagent_core::policy::Rule) -> pb::PolicyRule {
    use hyperagent_core::policy::Decision;
    pb::PolicyRule {
        id: r.id.clone(),
        agent: r.agent.clone().unwrap_or_default(),
        kind: r.permission.kind().into(),
        target: r.permission.target(),
        decision: match r.decision {
            Decision::Allow => pb::PolicyDecision::Allow,
            Decision::Deny => pb::PolicyDecision::Deny,
        } as i32,
        origin: r.origin.clone(),
        created_at: Some(ts(r.created_us)),
        revoked_at: r.revoked_us.map(ts),
    }
}

/// A decision from the wire.
pub fn decision_from(d: i32) -> Result<hyperagent_core::policy::Decision, Error> {
    match pb::PolicyDecision::try_from(d) {
        Ok(pb::PolicyDecision::Allow) => Ok(hyperagent_core::policy::Decision::Allow),
        Ok(pb::PolicyDecision::Deny) => Ok(hyperagent_core::policy::Decision::Deny),
        _ => Err(Error::InvalidInput(
            "decision must be POLICY_DECISION_ALLOW or POLICY_DECISION_DENY".into(),
        )),
    }
}

/// A model call from the wire (an agent's report).
pub fn model_call_from(c: pb::ModelCall) -> hyperagent_core::model::ModelCall {
    hyperagent_core::model::ModelCall {
        model: c.model,
        prompt_tokens: c.prompt_tokens,
        completion_tokens: c.completion_tokens,
        total_tokens: c.total_tokens,
        usage_reported: c.usage_reported,
        elapsed_ms: c.elapsed_ms,
        first_token_ms: c.first_token_ms,
        generation_ms: c.generation_ms,
        id: c.id,
    }
}

/// A model call on the wire.
pub fn model_call(c: &hyperagent_core::model::ModelCall) -> pb::ModelCall {
    pb::ModelCall {
        model: c.model.clone(),
        prompt_tokens: c.prompt_tokens,
        completion_tokens: c.completion_tokens,
        total_tokens: c.total_tokens,
        usage_reported: c.usage_reported,
        elapsed_ms: c.elapsed_ms,
        first_token_ms: c.first_token_ms,
        generation_ms: c.generation_ms,
        id: c.id.clone(),
    }
}

/// A task's model totals on the wire.
pub fn model_usage(u: &hyperagent_core::model::ModelUsage) -> pb::ModelUsage {
    pb::ModelUsage {
        calls: u.calls,
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.total_tokens,
        elapsed_ms: u.elapsed_ms,
        first_token_ms: u.first_token_ms,
        generation_ms: u.generation_ms,
        calls_without_usage: u.calls_without_usage,
    }
}

/// A question to the person on the wire.
pub fn question(q: &hyperagent_core::question::Question) -> pb::Question {
    use hyperagent_core::question::Status;
    pb::Question {
        id: q.id.clone(),
        task_id: q.task_id.clone(),
        agent_id: q.agent_id.clone(),
        text: q.text.clone(),
        choices: q.choices.clone(),
        created_at: Some(ts(q.created_us)),
        expires_at: Some(ts(q.expires_us)),
        status: match q.status {
            Status::Pending => pb::QuestionStatus::Pending,
            Status::Answered => pb::QuestionStatus::Answered,
            Status::Unanswered => pb::QuestionStatus::Unanswered,
        } as i32,
        answer: q.answer.clone(),
        answered_by: q.answered_by.clone(),
    }
}

/// Domain consent request -> proto.
pub fn consent(c: &hyperagent_core::consent::Consent) -> pb::Consent {
    use hyperagent_core::consent::{Scope, Status};
    pb::Consent {
        id: c.id.clone(),
        task_id: c.task_id.clone(),
        agent_id: c.agent_id.clone(),
        kind: c.permission.kind().into(),
        target: c.permission.target(),
        reason: c.reason.clone(),
        created_at: Some(ts(c.created_us)),
        expires_at: Some(ts(c.expires_us)),
        status: match c.status {
            Status::Pending => pb::ConsentStatus::Pending,
            Status::Granted => pb::ConsentStatus::Granted,
            Status::Denied => pb::ConsentStatus::Denied,
        } as i32,
        answer: match (c.status, c.scope) {
            (Status::Denied, _) => pb::ConsentAnswer::Deny,
            (_, Some(Scope::Once)) => pb::ConsentAnswer::Once,
            (_, Some(Scope::Task)) => pb::ConsentAnswer::Task,
            (_, Some(Scope::Agent)) => pb::ConsentAnswer::Agent,
            (_, Some(Scope::Always)) => pb::ConsentAnswer::Always,
            (_, None) => pb::ConsentAnswer::Unspecified,
        } as i32,
        answered_by: c.answered_by.clone(),
        answer_reason: c.answer_reason.clone(),
    }
}

/// An answer from the wire: `Some(scope)` grants, `None` denies.
pub fn answer_from(a: i32) -> Result<Option<hyperagent_core::consent::Scope>, Error> {
    use hyperagent_core::consent::Scope;
    match pb::ConsentAnswer::try_from(a) {
        Ok(pb::ConsentAnswer::Once) => Ok(Some(Scope::Once)),
        Ok(pb::ConsentAnswer::Task) => Ok(Some(Scope::Task)),
        Ok(pb::ConsentAnswer::Agent) => Ok(Some(Scope::Agent)),
        Ok(pb::ConsentAnswer::Always) => Ok(Some(Scope::Always)),
        Ok(pb::ConsentAnswer::Deny) => Ok(None),
        _ => Err(Error::InvalidInput(
            "answer must be ONCE, TASK, AGENT, ALWAYS or DENY".into(),
        )),
    }
}

/// A destructive action on the wire.
pub fn action(a: &hyperagent_core::rollback::Action) -> pb::Action {
    pb::Action {
        id: a.id.clone(),
        task_id: a.task_id.clone(),
        agent_id: a.agent_id.clone(),
        description: a.description.clone(),
        paths: a
            .entries
            .iter()
            .map(|e| pb::ActionPath {
                path: e.path.display().to_string(),
                existed: e.existed,
            })
            .collect(),
        files: a.files,
        bytes: a.bytes,
        created_at: Some(ts(a.created_us)),
        rolled_back_at: a.rolled_back_us.map(ts),
    }
}

/// The manager's status.
pub fn manager_status(s: &hyperagent_core::manager::StatusInfo) -> pb::ManagerStatus {
    pb::ManagerStatus {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        started_at: Some(ts(s.started_us)),
        paused: s.paused,
        agents_online: s.agents_online,
        agents_known: s.agents_known,
        tasks_queued: s.tasks_queued,
        tasks_running: s.tasks_running,
        tasks_awaiting_consent: s.tasks_awaiting_consent,
        workspace_root: s.workspace_root.display().to_string(),
        workspace_root_source: s.workspace_root_source.to_string(),
        editor: s.editor.clone().unwrap_or_default(),
    }
}

/// What the router made of a request, on the wire.
pub fn routed(a: hyperagent_core::manager::RouteAnswer) -> pb::RouteResponse {
    use hyperagent_core::router::Routed;
    let mut out = pb::RouteResponse {
        router: a.router.into(),
        micros: u64::try_from(a.took.as_micros()).unwrap_or(u64::MAX),
        fallback: a.fallback,
        model_task_id: a.model_task_id.unwrap_or_default(),
        ..Default::default()
    };
    match a.routed {
        Routed::Plan(steps) => out.steps = steps.iter().map(plan_step).collect(),
        Routed::Clarify { question, choices } => {
            out.question = question;
            out.choices = choices;
        }
        Routed::Refuse { reason, can_do } => {
            out.refusal = reason;
            out.can_do = can_do;
        }
    }
    out
}

/// A routed step on the wire.
pub fn plan_step(s: &hyperagent_core::router::Step) -> pb::PlanStep {
    pb::PlanStep {
        number: s.number,
        task_type: s.task_type.clone(),
        payload_json: serde_json::Value::Object(s.payload.clone()).to_string(),
        workspace: s.workspace.clone().unwrap_or_default(),
        after: s.after.clone(),
        confidence: s.confidence,
        why: s.why.clone(),
    }
}

/// What an opening (or its check) answers: the path (links resolved), the opener, the warnings.
pub fn opened(o: hyperagent_core::manager::Opened) -> pb::OpenPathResponse {
    pb::OpenPathResponse {
        path: o.path.display().to_string(),
        opener: o.opener,
        warnings: o.warnings,
        ..Default::default()
    }
}

/// A plan on the wire.
pub fn plan(p: &hyperagent_core::plan::Plan) -> pb::Plan {
    use hyperagent_core::plan::{PlanState as P, StepState as S};
    let candidate = |c: &hyperagent_core::plan::Candidate| pb::Candidate {
        agent_id: c.agent_id.clone(),
        reputation: c.reputation,
        price: c.price,
        load: c.load,
        score: c.score,
        online: c.online,
    };
    let steps = p
        .steps
        .iter()
        .map(|s| pb::PlannedStep {
            step: Some(plan_step(&s.step)),
            state: match s.state {
                S::Waiting => pb::StepState::Waiting,
                S::Running => pb::StepState::Running,
                S::Succeeded => pb::StepState::Succeeded,
                S::Failed => pb::StepState::Failed,
                S::Skipped => pb::StepState::Skipped,
                S::Canceled => pb::StepState::Canceled,
            } as i32,
            reason: s.reason.clone(),
            task_ids: s.task_ids.clone(),
            agent_id: s.agent_id.clone().unwrap_or_default(),
            decisions: s
                .decisions
                .iter()
                .map(|d| pb::StepDecision {
                    attempt: d.attempt,
                    candidates: d.candidates.iter().map(candidate).collect(),
                    chosen: d.chosen.clone().unwrap_or_default(),
                    why: d.why.clone(),
                    time: Some(ts(d.time_us)),
                })
                .collect(),
            touches: s.touches.clone(),
            asks: s.asks.clone(),
            candidates: s.candidates.iter().map(candidate).collect(),
            summary: s.summary.clone(),
            problem: s.problem.clone().unwrap_or_default(),
        })
        .collect();
    pb::Plan {
        id: p.id.clone(),
        text: p.text.clone(),
        state: match p.state {
            P::Proposed => pb::PlanState::Proposed,
            P::Running => pb::PlanState::Running,
            P::Succeeded => pb::PlanState::Succeeded,
            P::Failed => pb::PlanState::Failed,
            P::Canceled => pb::PlanState::Canceled,
            P::Rejected => pb::PlanState::Rejected,
        } as i32,
        steps,
        summary: p.summary.clone(),
        reason: p.reason.clone(),
        budget_secs: p.budget_secs,
        created_at: Some(ts(p.created_us)),
        updated_at: Some(ts(p.updated_us)),
        deadline: p.deadline_us.map(ts),
        router: p.router.clone(),
        money_budget: p.money_budget,
        money_spent: p.money_spent,
        summary_by: match (p.summary.is_empty(), p.summary_by.as_str()) {
            (true, _) => String::new(),
            (false, "") => "offline".into(),
            (false, by) => by.to_string(),
        },
    }
}

/// What a request became, on the wire: the router's answer, with the proposed plan in place of
/// its steps.
pub fn asked(
    a: hyperagent_core::manager::AskAnswer,
    c: Option<&hyperagent_core::conversation::Conversation>,
) -> pb::AskResponse {
    let r = routed(a.route);
    pb::AskResponse {
        conversation: c.map(conversation),
        plan: a.plan.map(|p| plan(&p)),
        question: r.question,
        choices: r.choices,
        refusal: r.refusal,
        can_do: r.can_do,
        router: r.router,
        micros: r.micros,
        fallback: r.fallback,
        model_task_id: r.model_task_id,
    }
}

/// A conversation on the wire.
pub fn conversation(c: &hyperagent_core::conversation::Conversation) -> pb::Conversation {
    use hyperagent_core::conversation::Mode;
    pb::Conversation {
        id: c.id.clone(),
        title: c.title.clone(),
        mode: match c.mode {
            Mode::Preview => pb::ConversationMode::Preview,
            Mode::Auto => pb::ConversationMode::Auto,
        } as i32,
        turns: c
            .turns
            .iter()
            .map(|t| pb::ConversationTurn {
                time: Some(ts(t.time_us)),
                request: t.request.clone(),
                reply: t.reply.clone(),
                plan_id: t.plan_id.clone().unwrap_or_default(),
                router: t.router.clone(),
                model_task_id: t.model_task_id.clone().unwrap_or_default(),
                model_cost: t.model_cost,
                choices: t.choices.clone(),
                routed_as: t.routed_as.clone().unwrap_or_default(),
            })
            .collect(),
        folder: c.folder.clone().unwrap_or_default(),
        money_budget: c.money_budget,
        token_budget: c.token_budget,
        created_at: Some(ts(c.created_us)),
        updated_at: Some(ts(c.updated_us)),
    }
}

/// A conversation with its plans and totals on the wire.
pub fn conversation_view(v: &hyperagent_core::manager::ConversationView) -> pb::ConversationView {
    let t = &v.totals;
    pb::ConversationView {
        conversation: Some(conversation(&v.conversation)),
        plans: v.plans.iter().map(plan).collect(),
        totals: Some(pb::ConversationTotals {
            plans: t.plans,
            tasks: t.tasks,
            money: t.money,
            tokens: t.tokens,
        }),
    }
}

/// A conversation's mode from the wire: `None` when unspecified.
pub fn conversation_mode(mode: i32) -> Result<Option<hyperagent_core::conversation::Mode>, Status> {
    use hyperagent_core::conversation::Mode;
    match pb::ConversationMode::try_from(mode) {
        Ok(pb::ConversationMode::Unspecified) => Ok(None),
        Ok(pb::ConversationMode::Preview) => Ok(Some(Mode::Preview)),
        Ok(pb::ConversationMode::Auto) => Ok(Some(Mode::Auto)),
        Err(_) => Err(Status::invalid_argument(format!(
            "mode {mode} is not a conversation mode: use PREVIEW (1) or AUTO (2)"
        ))),
    }
}

/// A person's step edits from the wire: a payload must be a JSON object.
pub fn edits(e: Vec<pb::StepEdit>) -> Result<Vec<hyperagent_core::plan::Edit>, Status> {
    e.into_iter()
        .map(|e| {
            let payload = match e.payload_json.trim() {
                "" => None,
                text => match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(m)) => Some(m),
                    Ok(_) => {
                        return Err(Status::invalid_argument(format!(
                            "edits: step {}'s payload_json must be a JSON object",
                            e.number
                        )))
                    }
                    Err(err) => {
                        return Err(Status::invalid_argument(format!(
                            "edits: step {}'s payload_json is not JSON: {err}",
                            e.number
                        )))
                    }
                },
            };
            Ok(hyperagent_core::plan::Edit {
                number: e.number,
                remove: e.remove,
                payload,
                workspace: (!e.workspace.is_empty()).then_some(e.workspace),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_1970() {
        for us in [0, 1, 1_700_000_000_123_456, -1, -1_500_000] {
            assert_eq!(from_ts(Some(ts(us))), us);
        }
    }

    fn columns(messages: &[&str], fields: &[(u32, &str, &str)]) -> pb::LogColumns {
        pb::LogColumns {
            first_seq: 5,
            time_unix_nanos: (0..messages.len() as i64)
                .map(|i| 1_700_000_000_123_456_789 + i)
                .collect(),
            levels: vec![pb::LogLevel::Warn as u8; messages.len()],
            messages: messages.iter().map(|m| m.to_string()).collect(),
            field_lines: fields.iter().map(|f| f.0).collect(),
            field_keys: fields.iter().map(|f| f.1.to_string()).collect(),
            field_values: fields.iter().map(|f| f.2.to_string()).collect(),
        }
    }

    #[test]
    fn log_columns_read_as_the_lines_they_carry() {
        let c = columns(
            &["a", "b", "c"],
            &[(0, "k", "v"), (2, "x", "1"), (2, "y", "2")],
        );
        let lines = pushed_lines(Vec::new(), Some(c)).unwrap();
        assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [5, 6, 7]);
        assert_eq!(lines[0].time_us, 1_700_000_000_123_456);
        assert!(lines.iter().all(|l| l.level == LogLevel::Warn));
        assert_eq!(lines[1].message, "b");
        assert_eq!(lines[0].fields.get("k").map(String::as_str), Some("v"));
        assert!(lines[1].fields.is_empty());
        assert_eq!(lines[2].fields.len(), 2);
        // The older form still reads, and an empty request carries nothing.
        let old = pb::LogLine {
            seq: 1,
            message: "old".into(),
            ..Default::default()
        };
        assert_eq!(pushed_lines(vec![old], None).unwrap()[0].message, "old");
        assert!(pushed_lines(Vec::new(), Some(pb::LogColumns::default()))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn malformed_log_columns_are_refused_with_what_is_wrong() {
        let refused = |lines: Vec<pb::LogLine>, c: pb::LogColumns| {
            let e = pushed_lines(lines, Some(c)).unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument);
            e.message().to_string()
        };
        let both = refused(vec![pb::LogLine::default()], columns(&["a"], &[]));
        assert!(both.contains("not in both"), "{both}");
        let mut short = columns(&["a", "b"], &[]);
        short.levels = vec![1];
        assert!(refused(Vec::new(), short).contains("2 messages, 2 times and 1 levels"));
        let mut keyless = columns(&["a"], &[(0, "k", "v")]);
        keyless.field_keys.clear();
        assert!(refused(Vec::new(), keyless).contains("1 field lines, 0 keys"));
        let beyond = refused(Vec::new(), columns(&["a"], &[(1, "k", "v")]));
        assert!(beyond.contains("batch of 1 lines"), "{beyond}");
        let backwards = refused(
            Vec::new(),
            columns(&["a", "b"], &[(1, "k", "v"), (0, "k", "v")]),
        );
        assert!(backwards.contains("line order"), "{backwards}");
        let mut zero = columns(&["a"], &[]);
        zero.first_seq = 0;
        assert!(refused(Vec::new(), zero).contains("numbered from 1"));
        let mut overflow = columns(&["a", "b"], &[]);
        overflow.first_seq = u64::MAX;
        assert!(refused(Vec::new(), overflow).contains("fits in 64 bits"));
    }

    #[test]
    fn every_state_maps_both_ways() {
        for s in TaskState::ALL {
            assert_eq!(state_from(state(s) as i32), Some(s));
        }
        assert_eq!(state_from(0), None);
        assert_eq!(state_from(99), None);
    }

    #[test]
    fn errors_map_to_the_documented_codes() {
        assert_eq!(
            status(Error::TaskNotFound("x".into())).code(),
            Code::NotFound
        );
        assert_eq!(
            status(Error::InvalidInput("x".into())).code(),
            Code::InvalidArgument
        );
        assert_eq!(
            status(Error::Unauthenticated("x".into())).code(),
            Code::Unauthenticated
        );
        let s = status(Error::TaskNotFound("t9".into()));
        assert_eq!(s.message(), "no task with id `t9`");
    }
}
