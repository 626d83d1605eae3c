//! How the CLI prints things: text for people, JSON (`--json`) for programs.
use std::time::{Duration, UNIX_EPOCH};

use hyperagent_proto::v1 as pb;
use pbjson_types::Timestamp;
use serde_json::{json, Value};

use crate::term::{self, line};

/// RFC 3339 with milliseconds, or "" when unset.
pub fn time(t: Option<&Timestamp>) -> String {
    match t {
        Some(t) if t.seconds > 0 => {
            let at = UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos.max(0) as u32);
            humantime::format_rfc3339_millis(at).to_string()
        }
        _ => String::new(),
    }
}

/// A task state's CLI name.
pub fn state_name(v: i32) -> String {
    pb::TaskState::try_from(v)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("TASK_STATE_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| format!("unknown({v})"))
}

fn level_name(v: i32) -> &'static str {
    match pb::LogLevel::try_from(v).unwrap_or(pb::LogLevel::Info) {
        pb::LogLevel::Trace => "TRACE",
        pb::LogLevel::Debug => "DEBUG",
        pb::LogLevel::Unspecified | pb::LogLevel::Info => "INFO",
        pb::LogLevel::Warn => "WARN",
        pb::LogLevel::Error => "ERROR",
    }
}

fn result_status(v: i32) -> String {
    pb::ResultStatus::try_from(v)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("RESULT_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

/// A task as JSON.
pub fn task_json(t: &pb::Task) -> Value {
    json!({
        "id": t.id,
        "task_type": t.task_type,
        "state": state_name(t.state),
        "status_reason": t.status_reason,
        "payload": serde_json::from_str::<Value>(&t.payload_json).unwrap_or(Value::String(t.payload_json.clone())),
        "agent_id": t.agent_id,
        "pin_agent": t.pin_agent,
        "idempotency_key": t.idempotency_key,
        "max_attempts": t.max_attempts,
        "timeout_secs": t.timeout_secs,
        "workspace": t.workspace,
        "cancel_requested": t.cancel_requested,
        "created_at": time(t.created_at.as_ref()),
        "updated_at": time(t.updated_at.as_ref()),
        "not_before": time(t.not_before.as_ref()),
        "progress": t.progress.as_ref().map(|p| json!({"fraction": p.fraction, "step": p.step})),
        "attempts": t.attempts.iter().map(|a| json!({
            "number": a.number,
            "agent_id": a.agent_id,
            "started_at": time(a.started_at.as_ref()),
            "ended_at": time(a.ended_at.as_ref()),
            "error": a.error,
        })).collect::<Vec<_>>(),
        "result": t.result.as_ref().map(|r| json!({
            "status": result_status(r.status),
            "exit_code": r.exit_code,
            "summary": r.summary,
            "error": r.error,
            "output": serde_json::from_str::<Value>(&r.output_json).unwrap_or(Value::Null),
            "artifacts": r.artifacts.iter().map(|a| json!({
                "name": a.name, "kind": a.kind, "location": a.location, "description": a.description,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// An agent as JSON.
pub fn agent_json(a: &pb::Agent) -> Value {
    json!({
        "id": a.id,
        "version": a.version,
        "status": if a.status == pb::AgentStatus::Online as i32 { "online" } else { "offline" },
        "status_reason": a.status_reason,
        "capabilities": a.capabilities.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "max_concurrency": a.max_concurrency,
        "running_task_ids": a.running_task_ids,
        "load": a.load,
        "last_heartbeat": time(a.last_heartbeat.as_ref()),
        "registered_at": time(a.registered_at.as_ref()),
        "restarts": a.restarts,
        "tasks_succeeded": a.tasks_succeeded,
        "tasks_failed": a.tasks_failed,
        "cost": a.cost,
        "pid": a.pid,
        "supervised": a.supervised,
        "confined": a.confined,
    })
}

/// A log line as JSON.
pub fn log_json(task_id: &str, l: &pb::LogLine) -> Value {
    json!({
        "task_id": task_id,
        "seq": l.seq,
        "attempt": l.attempt,
        "attempt_seq": l.attempt_seq,
        "time": time(l.time.as_ref()),
        "level": level_name(l.level).to_lowercase(),
        "message": l.message,
        "fields": l.fields,
    })
}

/// The line put before a retry's log lines.
pub fn attempt_heading(attempt: u32) -> String {
    if attempt == 0 {
        "-- lines from before attempts were recorded --".to_string()
    } else {
        format!("-- attempt {attempt} --")
    }
}

/// A log line as text: `time LEVEL message key=value ...`.
pub fn log_text(l: &pb::LogLine) -> String {
    let mut fields: Vec<(&String, &String)> = l.fields.iter().collect();
    fields.sort();
    let mut s = format!(
        "{} {:<5} {}",
        time(l.time.as_ref()),
        level_name(l.level),
        line(&l.message)
    );
    for (k, v) in fields {
        s.push_str(&format!(" {}={}", line(k), line(v)));
    }
    s
}

/// A message between agents as JSON.
pub fn message_json(m: &pb::AgentMessageRecord) -> Value {
    json!({
        "id": m.id, "from": m.from, "to_agent": m.to_agent, "kind": m.kind,
        "body": serde_json::from_str::<Value>(&m.body_json).unwrap_or(Value::Null),
        "idempotency_key": m.idempotency_key, "about_task": m.about_task, "state": m.state,
        "deliveries": m.deliveries, "reason": m.reason,
        "created": time(m.created_at.as_ref()), "updated": time(m.updated_at.as_ref()),
    })
}

/// A message between agents as one line of text: id, who to whom, kind, state, and a dead
/// letter's reason.
pub fn message_text(m: &pb::AgentMessageRecord) -> String {
    let why = if m.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", line(&m.reason))
    };
    format!(
        "{}  {} -> {}  {:<12} {} ({} deliveries){why}",
        m.id,
        line(&m.from),
        line(&m.to_agent),
        line(&m.kind),
        m.state,
        m.deliveries
    )
}

/// An event as JSON.
pub fn event_json(e: &pb::Event) -> Value {
    use pb::event::Body;
    let body = match &e.body {
        Some(Body::AgentStatus(a)) => json!({"kind": "agent_status", "agent_id": a.agent_id,
            "status": if a.status == pb::AgentStatus::Online as i32 { "online" } else { "offline" }, "reason": a.reason}),
        Some(Body::TaskState(t)) => {
            json!({"kind": "task_state", "task_id": t.task_id, "task_type": t.task_type,
            "from": state_name(t.from), "to": state_name(t.to), "reason": t.reason, "agent_id": t.agent_id, "attempt": t.attempt})
        }
        Some(Body::TaskProgress(p)) => json!({"kind": "task_progress", "task_id": p.task_id,
            "fraction": p.progress.as_ref().map(|p| p.fraction), "step": p.progress.as_ref().map(|p| p.step.clone())}),
        Some(Body::TaskLog(l)) => {
            let mut v = l
                .line
                .as_ref()
                .map(|x| log_json(&l.task_id, x))
                .unwrap_or(Value::Null);
            v["kind"] = json!("task_log");
            v
        }
        Some(Body::AgentOutput(o)) => {
            json!({"kind": "agent_output", "agent_id": o.agent_id, "stream": o.stream, "line": o.line})
        }
        Some(Body::Consent(c)) => {
            let mut v = consent_json(c);
            v["kind"] = json!("consent");
            v
        }
        Some(Body::Question(q)) => {
            let mut v = question_json(q);
            v["kind"] = json!("question");
            v
        }
        Some(Body::ModelCall(m)) => json!({
            "kind": "model_call",
            "task_id": m.task_id,
            "call": m.call.as_ref().and_then(|c| serde_json::to_value(c).ok()),
            "usage": m.usage.as_ref().and_then(|u| serde_json::to_value(u).ok()),
        }),
        Some(Body::TemplatesChanged(t)) => json!({"kind": "templates_changed", "names": t.names}),
        Some(Body::Scheduling(s)) => {
            json!({"kind": "scheduling", "paused": s.paused, "actor": s.actor})
        }
        Some(Body::Plan(p)) => {
            let plan = p.plan.as_ref().and_then(|p| serde_json::to_value(p).ok());
            json!({"kind": "plan", "plan": plan})
        }
        Some(Body::TaskDrift(d)) => json!({"kind": "task_drift", "task_id": d.task_id,
            "drift": d.drift, "evidence": d.evidence, "action": d.action}),
        Some(Body::Conversation(c)) => json!({"kind": "conversation",
            "conversation_id": c.conversation_id, "title": c.title, "turns": c.turns}),
        None => json!({"kind": "unknown"}),
    };
    json!({"seq": e.seq, "time": time(e.time.as_ref()), "event": body})
}

/// An event as one line of text.
pub fn event_text(e: &pb::Event) -> String {
    use pb::event::Body;
    let what = match &e.body {
        Some(Body::AgentStatus(a)) => format!(
            "agent {} {} ({})",
            line(&a.agent_id),
            if a.status == pb::AgentStatus::Online as i32 {
                "online"
            } else {
                "offline"
            },
            line(&a.reason)
        ),
        Some(Body::TaskState(t)) => format!(
            "task {} {} -> {} ({})",
            t.task_id,
            if t.from == 0 {
                "new".to_string()
            } else {
                state_name(t.from)
            },
            state_name(t.to),
            line(&t.reason)
        ),
        Some(Body::Consent(c)) => format!("consent {}", consent_text(c)),
        Some(Body::Question(q)) => format!("question {}", question_text(q)),
        Some(Body::ModelCall(m)) => format!(
            "task {} model call: {}",
            m.task_id,
            m.usage.as_ref().map(usage_text).unwrap_or_default()
        ),
        Some(Body::TaskProgress(p)) => {
            let pr = p.progress.clone().unwrap_or_default();
            format!(
                "task {} progress {:.0}% {}",
                p.task_id,
                pr.fraction * 100.0,
                line(&pr.step)
            )
        }
        Some(Body::TaskLog(l)) => format!(
            "task {} log {}",
            l.task_id,
            l.line.as_ref().map(log_text).unwrap_or_default()
        ),
        Some(Body::AgentOutput(o)) => format!(
            "agent {} {}: {}",
            line(&o.agent_id),
            line(&o.stream),
            line(&o.line)
        ),
        Some(Body::TemplatesChanged(t)) => {
            format!("templates changed: {}", line(&t.names.join(", ")))
        }
        Some(Body::Conversation(c)) => format!(
            "conversation {} \"{}\": {} turns",
            c.conversation_id,
            line(&c.title),
            c.turns
        ),
        Some(Body::Scheduling(s)) => format!(
            "scheduling {} by {}",
            if s.paused { "paused" } else { "resumed" },
            line(&s.actor)
        ),
        Some(Body::Plan(p)) => {
            let p = p.plan.clone().unwrap_or_default();
            format!(
                "plan {} {} ({})",
                p.id,
                crate::plans::plan_state(p.state),
                line(&p.reason)
            )
        }
        Some(Body::TaskDrift(d)) => format!(
            "task {} drifting ({}, {}): {}",
            d.task_id,
            line(&d.drift),
            line(&d.action),
            line(&d.evidence)
        ),
        None => "unknown event".into(),
    };
    format!("#{} {} {}", e.seq, time(e.time.as_ref()), what)
}

/// A task as a few lines of text.
pub fn task_text(t: &pb::Task) -> String {
    let mut s = format!(
        "task {}\n  type:     {}\n  state:    {} ({})\n  created:  {}\n  workspace: {}\n  payload:  {}\n",
        t.id,
        line(&t.task_type),
        state_name(t.state),
        line(&t.status_reason),
        time(t.created_at.as_ref()),
        line(&t.workspace),
        line(&t.payload_json)
    );
    if let Some(u) = &t.usage {
        s.push_str(&format!("  model:    {}\n", usage_text(u)));
    }
    if let Some(h) = &t.handed_off {
        let mut chain: Vec<&str> = h.chain.iter().map(String::as_str).collect();
        chain.push(&t.task_type);
        s.push_str(&format!(
            "  handed off from task {} ({}): {}\n",
            line(&h.from_task),
            line(&chain.join(" -> ")),
            line(&h.note)
        ));
    }
    if let Some(p) = &t.progress {
        s.push_str(&format!(
            "  progress: {:.0}% {}\n",
            p.fraction.max(0.0) * 100.0,
            line(&p.step)
        ));
    }
    for a in &t.attempts {
        s.push_str(&format!(
            "  attempt {} on {}: {} .. {} {}\n",
            a.number,
            line(&a.agent_id),
            time(a.started_at.as_ref()),
            time(a.ended_at.as_ref()),
            line(&a.error)
        ));
    }
    if let Some(r) = &t.result {
        s.push_str(&format!(
            "  result:   {} (exit {}) {}\n",
            result_status(r.status),
            r.exit_code,
            line(&r.summary)
        ));
        if !r.error.is_empty() {
            s.push_str(&format!("  error:    {}\n", line(&r.error)));
        }
        if let Ok(output) = serde_json::from_str::<Value>(&r.output_json) {
            s.push_str(&crate::results::summary(&output));
        }
        for a in &r.artifacts {
            s.push_str(&format!(
                "  artifact: {} ({}) {}\n",
                line(&a.name),
                line(&a.kind),
                line(&a.location)
            ));
        }
    }
    s
}

/// An audit entry as JSON.
pub fn audit_json(e: &pb::AuditEntry) -> Value {
    json!({
        "id": e.id,
        "time": time(e.time.as_ref()),
        "actor": e.actor,
        "action": e.action,
        "task_id": e.task_id,
        "detail": serde_json::from_str::<Value>(&e.detail_json).unwrap_or(Value::String(e.detail_json.clone())),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

/// An audit entry as one line of text.
pub fn audit_text(e: &pb::AuditEntry) -> String {
    format!(
        "#{:<5} {} {:<22} {:<12} {} {}",
        e.id,
        time(e.time.as_ref()),
        line(&e.action),
        line(&e.actor),
        line(&e.task_id),
        line(&e.detail_json)
    )
}

/// A permission rule as JSON.
pub fn rule_json(r: &pb::PolicyRule) -> Value {
    json!({
        "id": r.id,
        "agent": if r.agent.is_empty() { Value::Null } else { Value::String(r.agent.clone()) },
        "kind": r.kind,
        "target": r.target,
        "decision": decision_name(r.decision),
        "origin": r.origin,
        "created_at": time(r.created_at.as_ref()),
        "revoked_at": r.revoked_at.as_ref().map(|t| time(Some(t))),
    })
}

/// A permission rule as one line of text.
pub fn rule_text(r: &pb::PolicyRule) -> String {
    let agent = if r.agent.is_empty() {
        "every agent".to_string()
    } else {
        format!("agent `{}`", line(&r.agent))
    };
    let revoked = r
        .revoked_at
        .as_ref()
        .map(|t| format!(" (revoked {})", time(Some(t))))
        .unwrap_or_default();
    format!(
        "{}  {} {} {} for {agent}, by {}{revoked}",
        r.id,
        decision_name(r.decision),
        line(&r.kind),
        line(&r.target),
        line(&r.origin)
    )
}

fn decision_name(d: i32) -> &'static str {
    match pb::PolicyDecision::try_from(d) {
        Ok(pb::PolicyDecision::Allow) => "allow",
        Ok(pb::PolicyDecision::Deny) => "deny",
        _ => "?",
    }
}

/// A task's model calls added up, in a line: "3 calls, 1234 tokens (1000 prompt + 234
/// completion), 2.1 s; first token 0.4 s on average".
pub fn usage_text(u: &pb::ModelUsage) -> String {
    let calls = if u.calls == 1 {
        "1 call".to_string()
    } else {
        format!("{} calls", u.calls)
    };
    let mut s = format!(
        "{calls}, {} tokens ({} prompt + {} completion), {:.1} s",
        u.total_tokens,
        u.prompt_tokens,
        u.completion_tokens,
        u.elapsed_ms / 1000.0
    );
    if u.first_token_ms > 0.0 && u.calls > 0 {
        s.push_str(&format!(
            "; first token {:.2} s on average",
            u.first_token_ms / 1000.0 / f64::from(u.calls)
        ));
    }
    if u.calls_without_usage > 0 {
        s.push_str(&format!(
            "; {} without token counts from the server",
            u.calls_without_usage
        ));
    }
    s
}

/// A question to the person as JSON.
pub fn question_json(q: &pb::Question) -> Value {
    json!({
        "id": q.id,
        "task_id": q.task_id,
        "agent_id": q.agent_id,
        "text": q.text,
        "choices": q.choices,
        "created_at": time(q.created_at.as_ref()),
        "expires_at": time(q.expires_at.as_ref()),
        "status": question_status(q.status),
        "answer": q.answer,
        "answered_by": q.answered_by,
    })
}

fn question_status(s: i32) -> &'static str {
    match pb::QuestionStatus::try_from(s) {
        Ok(pb::QuestionStatus::Pending) => "pending",
        Ok(pb::QuestionStatus::Answered) => "answered",
        Ok(pb::QuestionStatus::Unanswered) => "unanswered",
        _ => "unknown",
    }
}

/// A question to the person as one line of text.
pub fn question_text(q: &pb::Question) -> String {
    let mut s = format!(
        "{} {}: agent `{}` asks for task {}: {}",
        q.id,
        question_status(q.status),
        line(&q.agent_id),
        line(&q.task_id),
        line(&q.text)
    );
    if !q.choices.is_empty() {
        let choices: Vec<String> = q.choices.iter().map(|c| format!("{:?}", line(c))).collect();
        s.push_str(&format!(" [choices: {}]", choices.join(", ")));
    }
    if q.status == pb::QuestionStatus::Pending as i32 {
        s.push_str(&format!(
            "; given up unless answered by {}",
            time(q.expires_at.as_ref())
        ));
    } else if q.status == pb::QuestionStatus::Answered as i32 {
        s.push_str(&format!(
            "; answered {:?} by {}",
            line(&q.answer),
            line(&q.answered_by)
        ));
    } else {
        s.push_str(&format!("; not answered: {}", line(&q.answered_by)));
    }
    s
}

/// A consent request as JSON.
pub fn consent_json(c: &pb::Consent) -> Value {
    json!({
        "id": c.id,
        "task_id": c.task_id,
        "agent_id": c.agent_id,
        "kind": c.kind,
        "target": c.target,
        "reason": c.reason,
        "created_at": time(c.created_at.as_ref()),
        "expires_at": time(c.expires_at.as_ref()),
        "status": consent_status(c.status),
        "answer": answer_name(c.answer),
        "answered_by": c.answered_by,
        "answer_reason": c.answer_reason,
    })
}

/// A consent request as one line of text.
pub fn consent_text(c: &pb::Consent) -> String {
    let mut s = format!(
        "{} {}: agent `{}` asks to {} for task {}",
        c.id,
        consent_status(c.status),
        line(&c.agent_id),
        consent_request(&c.kind, &line(&c.target)),
        line(&c.task_id)
    );
    if !c.reason.is_empty() {
        s.push_str(&format!(" ({})", line(&c.reason)));
    }
    if c.status == pb::ConsentStatus::Pending as i32 {
        s.push_str(&format!(
            "; denied unless answered by {}",
            time(c.expires_at.as_ref())
        ));
    } else {
        s.push_str(&format!(
            "; {} by {}",
            answer_name(c.answer),
            line(&c.answered_by)
        ));
        if !c.answer_reason.is_empty() {
            s.push_str(&format!(": {}", line(&c.answer_reason)));
        }
    }
    s
}

fn consent_status(s: i32) -> &'static str {
    match pb::ConsentStatus::try_from(s) {
        Ok(pb::ConsentStatus::Pending) => "pending",
        Ok(pb::ConsentStatus::Granted) => "granted",
        Ok(pb::ConsentStatus::Denied) => "denied",
        _ => "?",
    }
}

fn answer_name(a: i32) -> &'static str {
    match pb::ConsentAnswer::try_from(a) {
        Ok(pb::ConsentAnswer::Once) => "once",
        Ok(pb::ConsentAnswer::Task) => "for this task",
        Ok(pb::ConsentAnswer::Agent) => "for this agent",
        Ok(pb::ConsentAnswer::Always) => "always",
        Ok(pb::ConsentAnswer::Deny) => "deny",
        _ => "",
    }
}

/// A destructive action as JSON.
pub fn action_json(a: &pb::Action) -> Value {
    json!({
        "id": a.id,
        "task_id": a.task_id,
        "agent_id": a.agent_id,
        "description": a.description,
        "paths": a.paths.iter().map(|p| json!({"path": p.path, "existed": p.existed})).collect::<Vec<_>>(),
        "files": a.files,
        "bytes": a.bytes,
        "created_at": time(a.created_at.as_ref()),
        "rolled_back_at": a.rolled_back_at.as_ref().map(|t| time(Some(t))),
    })
}

/// A destructive action as one line of text.
pub fn action_text(a: &pb::Action) -> String {
    let state = match &a.rolled_back_at {
        Some(t) => format!("rolled back {}", time(Some(t))),
        None => "can be rolled back".into(),
    };
    format!(
        "{}  {}  task {} by `{}`: {} ({} paths, {} files, {} bytes snapshotted; {state})",
        a.id,
        time(a.created_at.as_ref()),
        a.task_id,
        line(&a.agent_id),
        line(&a.description),
        a.paths.len(),
        a.files,
        a.bytes
    )
}

fn template_status(s: i32) -> &'static str {
    match pb::TemplateStatus::try_from(s) {
        Ok(pb::TemplateStatus::Ok) => "ok",
        Ok(pb::TemplateStatus::Broken) => "broken",
        _ => "unknown",
    }
}

/// A template as JSON, its answers schema parsed (`x-order` keeps the question order).
pub fn template_json(t: &pb::Template) -> Value {
    json!({
        "name": t.name,
        "status": template_status(t.status),
        "dir": t.dir,
        "description": t.description,
        "error": t.error,
        "warnings": t.warnings,
        "answers_schema": serde_json::from_str::<Value>(&t.answers_schema_json).unwrap_or(Value::Null),
    })
}

/// Templates as a table: name, status, folder, error (a broken template's further problems and
/// every warning on lines of their own below it).
pub fn templates_text(list: &[pb::Template]) -> String {
    let name_w = list.iter().map(|t| t.name.len()).max().unwrap_or(0).max(4);
    let dir_w = list.iter().map(|t| t.dir.len()).max().unwrap_or(0).max(3);
    let pad = " ".repeat(name_w + 1 + 6 + 1 + dir_w + 1);
    let mut s = format!(
        "{:<name_w$} {:<6} {:<dir_w$} ERROR\n",
        "NAME", "STATUS", "DIR"
    );
    for t in list {
        let mut errors = t.error.lines();
        let row = format!(
            "{:<name_w$} {:<6} {:<dir_w$} {}",
            line(&t.name),
            template_status(t.status),
            line(&t.dir),
            line(errors.next().unwrap_or_default())
        );
        s.push_str(row.trim_end());
        s.push('\n');
        for more in errors {
            s.push_str(&format!("{pad}{}\n", line(more)));
        }
        for w in &t.warnings {
            s.push_str(&format!("{pad}warning: {}\n", line(w)));
        }
    }
    s
}

/// Indents compact JSON as serde_json's pretty printer does, keeping the text of everything else
/// exactly: the order of object keys and every number as the agent wrote it.
///
/// Written by hand on purpose. Parsing into a `Value` and printing it again would sort the keys
/// (serde_json's `preserve_order` feature fixes that, but for every crate of the workspace at once)
/// and rewrite numbers: an integer past 64 bits becomes a float, `1e3` becomes `1000.0`. Keeping
/// the numbers takes `arbitrary_precision`, which breaks numbers read through untagged enums and
/// flattened fields anywhere in the program. A task's output is the agent's text to show, not
/// ours to reformat.
pub fn pretty_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// What `hyperagent new` made (the bootstrapper's result), for people.
pub fn project_text(out: &Value) -> String {
    let text = |v: &Value| line(v.as_str().unwrap_or_default()).into_owned();
    if out.get("old_commit").is_some() {
        return update_text(out);
    }
    let path = text(&out["path"]);
    if out["dry_run"] == true {
        let files = out["files"].as_array().cloned().unwrap_or_default();
        let mut s = format!(
            "dry run: nothing was written; {} files for {path}:\n",
            files.len()
        );
        for f in &files {
            s.push_str(&format!(
                "  {:<9} {}\n",
                text(&f["state"]),
                text(&f["path"])
            ));
        }
        push_diff(&mut s, out);
        return s;
    }
    let files = out["files"].as_array().map_or(0, Vec::len);
    let commit = text(&out["commit"]);
    let mut s = format!("made a {} project at {path}\n", text(&out["template"]));
    s.push_str(&format!(
        "  files:   {files}{}\n",
        if commit.is_empty() {
            String::new()
        } else {
            format!(" (commit {})", &commit[..commit.len().min(12)])
        }
    ));
    for c in out["checks"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "  {:<8} {} {}\n",
            format!("{}:", text(&c["name"])),
            text(&c["status"]),
            text(&c["detail"])
        ));
    }
    for (label, key) in [("start:", "start"), ("", "message")] {
        let v = text(&out[key]);
        if !v.trim().is_empty() {
            s.push_str(&format!("  {label:<8} {}\n", v.trim()));
        }
    }
    s
}

/// What an update did (or, previewed, would do): the versions, the files, the conflicts to
/// resolve, the template's warnings and message.
fn update_text(out: &Value) -> String {
    let text = |v: &Value| line(v.as_str().unwrap_or_default()).into_owned();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| line(x.as_str().unwrap_or_default()).into_owned())
            .collect()
    };
    let preview = out["preview"] == true;
    let mut s = format!(
        "{} {} from {} to {}{}\n",
        if preview {
            "preview: would update"
        } else {
            "updated"
        },
        text(&out["path"]),
        text(&out["old_commit"]),
        text(&out["new_commit"]),
        if preview { "; nothing was written" } else { "" },
    );
    for (label, key) in [
        ("changed", "changed"),
        ("added", "added"),
        ("removed", "removed"),
    ] {
        let files = list(&out[key]);
        if !files.is_empty() {
            s.push_str(&format!("  {label:<9} {}\n", files.join(", ")));
        }
    }
    let rej = out["conflict"] == "rej";
    for c in list(&out["conflicts"]) {
        let at = if rej { format!("{c}.rej") } else { c };
        s.push_str(&format!("  conflict  {at}\n"));
    }
    for w in list(&out["warnings"]) {
        s.push_str(&format!("warning: {w}\n"));
    }
    push_diff(&mut s, out);
    if !preview {
        s.push_str(
            if out["conflicts"].as_array().is_some_and(|c| !c.is_empty()) {
                "resolve the conflicts, review with `git diff`, then commit\n"
            } else {
                "review with `git diff`, then commit\n"
            },
        );
    }
    let message = term::text(out["message"].as_str().unwrap_or_default()).into_owned();
    if !message.trim().is_empty() {
        s.push_str(&message);
        if !message.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// What the router made of a request, as JSON.
pub fn route_json(r: &pb::RouteResponse) -> Value {
    let steps: Vec<Value> = r
        .steps
        .iter()
        .map(|s| {
            json!({
                "step": s.number,
                "task_type": s.task_type,
                "payload": serde_json::from_str::<Value>(&s.payload_json).unwrap_or(Value::Null),
                "workspace": s.workspace,
                "after": s.after,
                "confidence": s.confidence,
                "why": s.why,
            })
        })
        .collect();
    json!({
        "steps": steps,
        "question": r.question,
        "choices": r.choices,
        "refusal": r.refusal,
        "can_do": r.can_do,
        "router": r.router,
        "micros": r.micros,
    })
}

/// What the router made of a request, as text.
pub fn route_text(r: &pb::RouteResponse) -> String {
    let mut s = String::new();
    if !r.refusal.is_empty() {
        s.push_str(&format!("refused: {}\n", line(&r.refusal)));
        s.push_str(&format!(
            "what can be done here: {}\n",
            line(&r.can_do.join(", "))
        ));
    } else if !r.question.is_empty() {
        s.push_str(&format!("question: {}\n", line(&r.question)));
    } else {
        for st in &r.steps {
            let after = if st.after.is_empty() {
                String::new()
            } else {
                let a: Vec<String> = st.after.iter().map(u32::to_string).collect();
                format!(" after step {}", a.join(", "))
            };
            s.push_str(&format!(
                "{}. {} in {}{} {} ({:.0}%)\n",
                st.number,
                line(&st.task_type),
                if st.workspace.is_empty() {
                    "(no folder named)".into()
                } else {
                    line(&st.workspace)
                },
                after,
                line(&st.payload_json),
                st.confidence * 100.0
            ));
        }
    }
    s.push_str(&format!("router: {}\n", line(&r.router)));
    if !r.fallback.is_empty() {
        s.push_str(&format!("note: {}\n", line(&r.fallback)));
    }
    s
}

/// What a consent asks, completing "asks to ...": each kind in words; a destructive request's
/// target is the agent's own description of it (the bootstrapper's "write the fastapi
/// template's 23 files into ..."), which reads on its own.
fn consent_request(kind: &str, target: &str) -> String {
    match kind {
        "read" => format!("read {target}"),
        "write" => format!("write to {target}"),
        "connect" => format!("connect to {target}"),
        "open" => format!("open {target}"),
        "secret" => format!("use the secret {target}"),
        "destructive" => target.to_string(),
        "run" => format!("run {target}"),
        other => format!("do `{}` on {target}", line(other)),
    }
}

/// A task's `diff` output after a blank line, made safe for a terminal, ending in a newline.
fn push_diff(s: &mut String, out: &Value) {
    let diff = term::text(out["diff"].as_str().unwrap_or_default()).into_owned();
    if !diff.is_empty() {
        s.push('\n');
        s.push_str(&diff);
        if !diff.ends_with('\n') {
            s.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_consent_reads_as_one_sentence() {
        let said = |kind: &str, target: &str| {
            consent_text(&pb::Consent {
                id: "c1".into(),
                agent_id: "bootstrapper".into(),
                task_id: "t1".into(),
                kind: kind.into(),
                target: target.into(),
                status: pb::ConsentStatus::Pending as i32,
                ..Default::default()
            })
        };
        let asks = |kind: &str, target: &str| {
            let text = said(kind, target);
            let start = text.find("asks to ").expect("asks") + "asks to ".len();
            let end = text.find(" for task t1").expect("task");
            text[start..end].to_string()
        };
        assert_eq!(asks("read", "/home/me/notes"), "read /home/me/notes");
        assert_eq!(asks("write", "/home/me/out"), "write to /home/me/out");
        assert_eq!(asks("connect", "pypi.org:443"), "connect to pypi.org:443");
        assert_eq!(asks("secret", "OPENAI_KEY"), "use the secret OPENAI_KEY");
        assert_eq!(
            asks(
                "destructive",
                "write the fastapi template's 23 files into /p, replacing all 23 already there"
            ),
            "write the fastapi template's 23 files into /p, replacing all 23 already there"
        );
        assert_eq!(
            asks(
                "run",
                "the shop template's Jinja extensions: extensions.py:Slug"
            ),
            "run the shop template's Jinja extensions: extensions.py:Slug"
        );
        assert_eq!(asks("fly", "away"), "do `fly` on away");
    }

    #[test]
    fn a_consent_request_cannot_rewrite_its_own_line() {
        let c = pb::Consent {
            id: "c1".into(),
            agent_id: "probe".into(),
            kind: "read".into(),
            target: "/tmp/x\r\x1b[2Kc1 pending: agent `probe` asks to read /home/me/notes".into(),
            reason: "\u{202e}gnp.exe".into(),
            status: pb::ConsentStatus::Pending as i32,
            ..Default::default()
        };
        let text = consent_text(&c);
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert!(text.contains("/tmp/x\\r\\x1b[2Kc1 pending"), "{text}");
        assert!(text.contains("\\u{202e}gnp.exe"), "{text}");
    }

    #[test]
    fn pretty_json_matches_serde_json_but_keeps_key_order() {
        let compact = r#"{"z":1,"a":{"s":"a,b:{\"c\"}","e":[],"o":{}},"l":[1,{"k":null}]}"#;
        let v: Value = serde_json::from_str(compact).unwrap();
        let pretty = pretty_json(compact);
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), v);
        assert!(
            pretty.starts_with("{\n  \"z\": 1,\n  \"a\": {\n    \"s\""),
            "{pretty}"
        );
        // Same layout as serde_json's (which sorts keys: compare on sorted input).
        let sorted = serde_json::to_string(&v).unwrap();
        assert_eq!(
            pretty_json(&sorted),
            serde_json::to_string_pretty(&v).unwrap()
        );
    }

    #[test]
    fn pretty_json_keeps_numbers_as_written() {
        let compact = r#"{"big":123456789012345678901234567890,"e":1e3,"f":1.50}"#;
        assert_eq!(
            pretty_json(compact),
            "{\n  \"big\": 123456789012345678901234567890,\n  \"e\": 1e3,\n  \"f\": 1.50\n}"
        );
    }
}
