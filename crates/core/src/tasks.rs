//! The task state machine: the only place that changes `Task::state`. Every change is checked
//! against [`allowed`] and produces the event that records it.
use crate::error::{Error, Result};
use crate::model::{EventBody, Task, TaskState};

/// Is `from -> to` a legal transition?
///
/// ```text
/// queued -> assigned | canceled | failed (it can never start: its folder could not be made)
/// assigned -> running | queued (rejected, retry) | interrupted | canceled | dead_lettered
/// running -> completed | failed | canceled | awaiting_consent | interrupted | queued (timeout, retry) | dead_lettered
/// awaiting_consent -> running | failed | canceled | interrupted
/// interrupted -> queued (retry) | failed (policy) | canceled | dead_lettered
/// ```
pub fn allowed(from: TaskState, to: TaskState) -> bool {
    use TaskState::*;
    matches!(
        (from, to),
        (Queued, Assigned | Canceled | Failed)
            | (
                Assigned,
                Running | Queued | Interrupted | Canceled | DeadLettered
            )
            | (
                Running,
                Completed
                    | Failed
                    | Canceled
                    | AwaitingConsent
                    | Interrupted
                    | Queued
                    | DeadLettered
            )
            | (
                AwaitingConsent,
                Running | Completed | Failed | Canceled | Interrupted | Queued | DeadLettered
            )
            | (Interrupted, Queued | Failed | Canceled | DeadLettered)
    )
}

/// Moves `task` to `to`, stamping the time and reason, and returns the event that records it.
/// Refuses (and changes nothing) when the transition is not [`allowed`].
pub fn transition(
    task: &mut Task,
    to: TaskState,
    reason: impl Into<String>,
    now_us: i64,
) -> Result<EventBody> {
    let from = task.state;
    if !allowed(from, to) {
        return Err(Error::IllegalTransition {
            task_id: task.id.clone(),
            from,
            to,
        });
    }
    let reason = reason.into();
    task.state = to;
    task.updated_us = now_us;
    task.status_reason = reason.clone();
    if to != TaskState::Queued {
        task.not_before_us = None;
    }
    Ok(EventBody::TaskState {
        task_id: task.id.clone(),
        task_type: task.task_type.clone(),
        from: Some(from),
        to,
        reason,
        agent_id: task.agent_id.clone(),
        attempt: task.attempts.len() as u32,
    })
}

/// The event that records a task's submission.
pub fn submitted(task: &Task) -> EventBody {
    EventBody::TaskState {
        task_id: task.id.clone(),
        task_type: task.task_type.clone(),
        from: None,
        to: task.state,
        reason: task.status_reason.clone(),
        agent_id: None,
        attempt: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: TaskState) -> Task {
        Task {
            id: "t1".into(),
            task_type: "echo.echo".into(),
            payload_json: "{}".into(),
            state,
            agent_id: None,
            pin_agent: None,
            idempotency_key: None,
            attempts: vec![],
            max_attempts: 3,
            timeout_secs: 60,
            progress: None,
            result: None,
            status_reason: String::new(),
            workspace: String::new(),
            workspace_made: None,
            created_us: 0,
            updated_us: 0,
            not_before_us: Some(5),
            cancel_requested: false,
            cancelled_by: None,
            handed_off: None,
            usage: None,
        }
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in TaskState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in TaskState::ALL {
                assert!(!allowed(from, to), "{from} -> {to} must be illegal");
            }
        }
    }

    #[test]
    fn every_non_terminal_state_can_be_canceled_or_left() {
        for from in TaskState::ALL.into_iter().filter(|s| !s.is_terminal()) {
            assert!(
                TaskState::ALL.into_iter().any(|to| allowed(from, to)),
                "{from} is a dead end"
            );
            assert!(
                allowed(from, TaskState::Canceled),
                "{from} cannot be canceled"
            );
        }
    }

    #[test]
    fn a_queued_task_cannot_complete_without_running() {
        let mut t = task(TaskState::Queued);
        let err = transition(&mut t, TaskState::Completed, "x", 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task t1 cannot go from queued to completed"
        );
        assert_eq!(
            t.state,
            TaskState::Queued,
            "a refused transition changes nothing"
        );
        assert_eq!(t.updated_us, 0);
    }

    #[test]
    fn a_transition_records_time_reason_and_clears_backoff() {
        let mut t = task(TaskState::Queued);
        let ev = transition(&mut t, TaskState::Assigned, "sent to echo", 42).unwrap();
        assert_eq!(t.state, TaskState::Assigned);
        assert_eq!(t.updated_us, 42);
        assert_eq!(t.not_before_us, None);
        match ev {
            EventBody::TaskState {
                from, to, reason, ..
            } => {
                assert_eq!(from, Some(TaskState::Queued));
                assert_eq!(to, TaskState::Assigned);
                assert_eq!(reason, "sent to echo");
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn state_names_round_trip() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            TaskState::parse("dead-lettered"),
            Some(TaskState::DeadLettered)
        );
        assert_eq!(TaskState::parse("done"), None);
    }
}
