//! Traces of what HyperAgent did, in OpenTelemetry's shape, made from what the manager already
//! records. A plan is one trace: the request its root span, each step's task a child (a step that
//! never ran a zero-length child saying why), each attempt of a task a child of the task, and each
//! model call the task reported a child of the attempt it fell in. A task outside a plan is a trace
//! of its own. Pure: ids come from the plan's and tasks' own ids, so a trace exported again is the
//! same trace, and the times are the recorded ones. `hyperagent-server`'s exporter sends them to
//! an OTLP collector the person runs (`[telemetry] otlp_endpoint`).
use sha2::{Digest, Sha256};

use crate::conversation::{cut_line, plan_word};
use crate::model::{ModelCall, Task, TaskState};
use crate::plan::{Plan, PlanState, StepState};

/// An attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
}

/// How a span ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Nothing to say (still running when the trace was made).
    Unset,
    /// It did what it was for.
    Ok,
    /// It did not, and why.
    Error(String),
}

/// What a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Work inside HyperAgent.
    Internal,
    /// A call out of it (to a language model).
    Client,
}

/// One span.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: [u8; 16],
    /// Its id.
    pub span_id: [u8; 8],
    /// The span it is part of (none: the root).
    pub parent: Option<[u8; 8]>,
    /// What it was, in a few words.
    pub name: String,
    /// Inside, or a call out.
    pub kind: Kind,
    /// When it started and ended (µs since the epoch).
    pub start_us: i64,
    /// See `start_us`.
    pub end_us: i64,
    /// What it was about (OpenTelemetry's semantic names where there are some).
    pub attributes: Vec<(String, Value)>,
    /// How it ended.
    pub status: Status,
}

/// A model call a task reported, with when the report came (its end).
#[derive(Clone, Debug, PartialEq)]
pub struct CallAt {
    /// When the call ended (µs).
    pub end_us: i64,
    /// The call.
    pub call: ModelCall,
}

/// A task with the model calls it reported.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// The task.
    pub task: Task,
    /// Its model calls, oldest first.
    pub calls: Vec<CallAt>,
}

/// Most characters of a request in a span's name.
const NAME_CHARS: usize = 80;

/// The trace of a plan and the tasks its steps ran.
pub fn plan_trace(plan: &Plan, tasks: &[TaskRecord]) -> Vec<Span> {
    let trace_id = trace_id_of(&plan.id);
    let root = span_id_of(&["plan", &plan.id]);
    let mut spans = vec![Span {
        trace_id,
        span_id: root,
        parent: None,
        name: format!("plan: {}", cut_line(&plan.text, NAME_CHARS)),
        kind: Kind::Internal,
        start_us: plan.created_us,
        end_us: plan.updated_us.max(plan.created_us),
        attributes: vec![
            attr("hyperagent.plan.id", &plan.id),
            attr("hyperagent.plan.request", &plan.text),
            attr("hyperagent.plan.state", plan_word(plan.state)),
            attr("hyperagent.plan.router", &plan.router),
            (
                "hyperagent.plan.steps".into(),
                Value::Int(plan.steps.len() as i64),
            ),
            (
                "hyperagent.plan.money_spent".into(),
                Value::Float(plan.money_spent),
            ),
        ],
        status: match plan.state {
            PlanState::Succeeded => Status::Ok,
            PlanState::Proposed | PlanState::Running => Status::Unset,
            _ => Status::Error(plan.reason.clone()),
        },
    }];
    for step in &plan.steps {
        let ran: Vec<&TaskRecord> = step
            .task_ids
            .iter()
            .filter_map(|id| tasks.iter().find(|t| &t.task.id == id))
            .collect();
        if ran.is_empty() {
            let n = step.number().to_string();
            spans.push(Span {
                trace_id,
                span_id: span_id_of(&["step", &plan.id, &n]),
                parent: Some(root),
                name: format!("step {n} {}", step.step.task_type),
                kind: Kind::Internal,
                start_us: plan.updated_us,
                end_us: plan.updated_us,
                attributes: vec![
                    (
                        "hyperagent.step.number".into(),
                        Value::Int(i64::from(step.number())),
                    ),
                    attr("hyperagent.task.type", &step.step.task_type),
                    attr("hyperagent.step.reason", &step.reason),
                ],
                status: match step.state {
                    StepState::Succeeded => Status::Ok,
                    StepState::Waiting | StepState::Running => Status::Unset,
                    _ => Status::Error(step.reason.clone()),
                },
            });
        }
        for t in ran {
            task_spans(&mut spans, trace_id, Some(root), t);
        }
    }
    spans
}

/// The trace of a task that is no plan's step.
pub fn task_trace(task: &TaskRecord) -> Vec<Span> {
    let mut spans = Vec::new();
    task_spans(&mut spans, trace_id_of(&task.task.id), None, task);
    spans
}

/// A task's span, its attempts' and its model calls'.
fn task_spans(spans: &mut Vec<Span>, trace_id: [u8; 16], parent: Option<[u8; 8]>, r: &TaskRecord) {
    let t = &r.task;
    let id = span_id_of(&["task", &t.id]);
    let end = t
        .attempts
        .iter()
        .filter_map(|a| a.ended_us)
        .max()
        .unwrap_or(t.updated_us)
        .max(t.created_us);
    let mut attributes = vec![
        attr("hyperagent.task.id", &t.id),
        attr("hyperagent.task.type", &t.task_type),
        attr("hyperagent.task.state", t.state.as_str()),
        (
            "hyperagent.task.attempts".into(),
            Value::Int(t.attempts.len() as i64),
        ),
    ];
    if let Some(a) = &t.agent_id {
        attributes.push(attr("hyperagent.agent.id", a));
    }
    if let Some(u) = &t.usage {
        attributes.push((
            "gen_ai.usage.input_tokens".into(),
            Value::Int(u.prompt_tokens as i64),
        ));
        attributes.push((
            "gen_ai.usage.output_tokens".into(),
            Value::Int(u.completion_tokens as i64),
        ));
        attributes.push((
            "hyperagent.model.calls".into(),
            Value::Int(i64::from(u.calls)),
        ));
    }
    let error = t
        .result
        .as_ref()
        .map(|r| r.error.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| t.status_reason.clone());
    spans.push(Span {
        trace_id,
        span_id: id,
        parent,
        name: format!("task {}", t.task_type),
        kind: Kind::Internal,
        start_us: t.created_us,
        end_us: end,
        attributes,
        status: match t.state {
            TaskState::Completed => Status::Ok,
            s if s.is_terminal() => Status::Error(error),
            _ => Status::Unset,
        },
    });
    let attempts: Vec<Span> = t
        .attempts
        .iter()
        .map(|a| attempt_span(trace_id, id, &t.id, a, end))
        .collect();
    let calls: Vec<Span> = r
        .calls
        .iter()
        .enumerate()
        .map(|(n, c)| {
            // The attempt it ended in (the last one that started before it ended).
            let within = attempts
                .iter()
                .filter(|a| a.start_us <= c.end_us)
                .max_by_key(|a| a.start_us)
                .map_or(id, |a| a.span_id);
            call_span(trace_id, within, &t.id, n, c)
        })
        .collect();
    spans.extend(attempts);
    spans.extend(calls);
}

/// The span of one attempt of task `task_id` (whose own span is `parent`), ended by `end` when
/// it has no end of its own.
fn attempt_span(
    trace_id: [u8; 16],
    parent: [u8; 8],
    task_id: &str,
    a: &crate::model::Attempt,
    end: i64,
) -> Span {
    let n = a.number.to_string();
    Span {
        trace_id,
        span_id: span_id_of(&["attempt", task_id, &n]),
        parent: Some(parent),
        name: format!("attempt {n} on {}", a.agent_id),
        kind: Kind::Internal,
        start_us: a.started_us,
        end_us: a.ended_us.unwrap_or(end).max(a.started_us),
        attributes: vec![
            (
                "hyperagent.attempt.number".into(),
                Value::Int(i64::from(a.number)),
            ),
            attr("hyperagent.agent.id", &a.agent_id),
        ],
        status: if a.error.is_empty() {
            Status::Unset
        } else {
            Status::Error(a.error.clone())
        },
    }
}

/// The span of task `task_id`'s `n`th model call, within `parent`.
fn call_span(trace_id: [u8; 16], parent: [u8; 8], task_id: &str, n: usize, c: &CallAt) -> Span {
    Span {
        trace_id,
        span_id: span_id_of(&["call", task_id, &n.to_string()]),
        parent: Some(parent),
        name: format!("model call {}", c.call.model),
        kind: Kind::Client,
        start_us: c.end_us - (c.call.elapsed_ms * 1000.0) as i64,
        end_us: c.end_us,
        attributes: vec![
            attr("gen_ai.request.model", &c.call.model),
            (
                "gen_ai.usage.input_tokens".into(),
                Value::Int(c.call.prompt_tokens as i64),
            ),
            (
                "gen_ai.usage.output_tokens".into(),
                Value::Int(c.call.completion_tokens as i64),
            ),
            (
                "hyperagent.model.first_token_ms".into(),
                Value::Float(c.call.first_token_ms),
            ),
            (
                "hyperagent.model.generation_ms".into(),
                Value::Float(c.call.generation_ms),
            ),
        ],
        status: Status::Unset,
    }
}

fn attr(key: &str, v: &str) -> (String, Value) {
    (key.to_string(), Value::Str(v.to_string()))
}

/// A trace id from a plan's or task's id: the UUID's own 16 bytes (time-ordered, unique), or a
/// hash of the id when it is no UUID.
pub fn trace_id_of(id: &str) -> [u8; 16] {
    if let Ok(u) = uuid::Uuid::parse_str(id) {
        return *u.as_bytes();
    }
    let h = Sha256::digest(id.as_bytes());
    let mut out = [0; 16];
    out.copy_from_slice(&h[..16]);
    out
}

/// A span id from what it is and whose (never all zeros, which OTLP reads as "no span").
fn span_id_of(parts: &[&str]) -> [u8; 8] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut out = [0; 8];
    out.copy_from_slice(&d[..8]);
    if out == [0; 8] {
        out[7] = 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, ModelUsage};
    use crate::plan::PlannedStep;
    use crate::router::Step;

    const PLAN: &str = "01a24397-a608-77db-a46c-11e8c3a5f1ef";

    fn task(id: &str, attempts: Vec<Attempt>) -> Task {
        Task {
            id: id.into(),
            task_type: "code.change".into(),
            payload_json: "{}".into(),
            state: TaskState::Completed,
            agent_id: Some("coder".into()),
            pin_agent: None,
            idempotency_key: None,
            attempts,
            max_attempts: 3,
            timeout_secs: 60,
            progress: None,
            result: None,
            status_reason: String::new(),
            workspace: String::new(),
            workspace_made: None,
            created_us: 1_000,
            updated_us: 9_000,
            not_before_us: None,
            cancel_requested: false,
            cancelled_by: None,
            handed_off: None,
            usage: Some(ModelUsage {
                calls: 1,
                prompt_tokens: 120,
                completion_tokens: 30,
                total_tokens: 150,
                ..Default::default()
            }),
        }
    }

    fn attempt(number: u32, agent: &str, start: i64, end: i64, error: &str) -> Attempt {
        Attempt {
            number,
            agent_id: agent.into(),
            started_us: start,
            ended_us: Some(end),
            error: error.into(),
        }
    }

    fn step(number: u32, task_ids: &[&str], state: StepState) -> PlannedStep {
        let mut s = PlannedStep::new(Step {
            number,
            task_type: "code.change".into(),
            payload: Default::default(),
            workspace: None,
            after: Vec::new(),
            confidence: 1.0,
            why: String::new(),
        });
        s.task_ids = task_ids.iter().map(|t| t.to_string()).collect();
        s.state = state;
        s
    }

    fn plan() -> Plan {
        Plan {
            id: PLAN.into(),
            text: "change shop, then review it".into(),
            state: PlanState::Failed,
            steps: vec![
                step(1, &["t1"], StepState::Succeeded),
                step(2, &[], StepState::Skipped),
            ],
            summary: String::new(),
            summary_by: String::new(),
            money_budget: 0.0,
            money_spent: 0.0,
            reason: "step 2 was skipped".into(),
            budget_secs: 60,
            created_us: 500,
            updated_us: 10_000,
            deadline_us: None,
            router: "offline".into(),
            cancel_requested: false,
        }
    }

    #[test]
    fn a_plan_is_one_trace_its_tasks_attempts_and_model_calls_nested_in_it() {
        let t1 = TaskRecord {
            task: task(
                "t1",
                vec![
                    attempt(1, "coder-a", 2_000, 3_000, "lost"),
                    attempt(2, "coder-b", 4_000, 8_000, ""),
                ],
            ),
            calls: vec![CallAt {
                end_us: 7_000,
                call: ModelCall {
                    model: "tiny".into(),
                    prompt_tokens: 120,
                    completion_tokens: 30,
                    total_tokens: 150,
                    usage_reported: true,
                    elapsed_ms: 2.0,
                    first_token_ms: 0.5,
                    generation_ms: 1.5,
                    id: String::new(),
                },
            }],
        };
        let spans = plan_trace(&plan(), std::slice::from_ref(&t1));
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "plan: change shop, then review it",
                "task code.change",
                "attempt 1 on coder-a",
                "attempt 2 on coder-b",
                "model call tiny",
                "step 2 code.change",
            ]
        );
        let by = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
        let root = by("plan: change shop, then review it");
        assert_eq!(root.parent, None);
        assert_eq!(
            root.trace_id,
            *uuid::Uuid::parse_str(PLAN).unwrap().as_bytes()
        );
        assert!(spans.iter().all(|s| s.trace_id == root.trace_id));
        assert_eq!(root.status, Status::Error("step 2 was skipped".into()));
        let task = by("task code.change");
        assert_eq!(task.parent, Some(root.span_id));
        assert_eq!((task.start_us, task.end_us), (1_000, 8_000));
        assert_eq!(task.status, Status::Ok);
        assert_eq!(by("attempt 2 on coder-b").parent, Some(task.span_id));
        assert_eq!(
            by("attempt 1 on coder-a").status,
            Status::Error("lost".into())
        );
        // The call ended in attempt 2, and started its elapsed time before it ended.
        let call = by("model call tiny");
        assert_eq!(call.parent, Some(by("attempt 2 on coder-b").span_id));
        assert_eq!(
            (call.start_us, call.end_us, call.kind),
            (5_000, 7_000, Kind::Client)
        );
        assert!(call
            .attributes
            .contains(&("gen_ai.usage.output_tokens".into(), Value::Int(30))));
        assert!(matches!(by("step 2 code.change").status, Status::Error(_)));
        // Every span has its own id, and the same records give the same trace.
        let mut ids: Vec<[u8; 8]> = spans.iter().map(|s| s.span_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), spans.len());
        assert_eq!(plan_trace(&plan(), &[t1]), spans);
    }

    #[test]
    fn a_task_outside_a_plan_is_a_trace_of_its_own() {
        let r = TaskRecord {
            task: task("t9", vec![attempt(1, "coder", 2_000, 3_000, "")]),
            calls: Vec::new(),
        };
        let spans = task_trace(&r);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].parent, None);
        assert_eq!(spans[0].trace_id, trace_id_of("t9"));
        assert_ne!(trace_id_of("t9"), trace_id_of("t8"));
    }
}
