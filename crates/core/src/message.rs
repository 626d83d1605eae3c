//! Messages between agents, through the manager: an agent (or one of its tasks) sends a message
//! to another agent — by id, the agent running a task, or an online agent offering a task type —
//! and the manager stores it before answering, delivers it on the recipient's Work stream at least
//! once (again after `messages.ack_timeout` until acknowledged, and when the recipient comes back
//! online), and dead-letters it with the reason after `messages.max_deliveries`. The sender's
//! idempotency key makes a repeated send the same message; it travels with the message, so the
//! receiver can keep its effects to one per key across redeliveries.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Who a message is for, as the sender names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum To {
    /// An agent, by id.
    Agent(String),
    /// The agent running (or given) this task.
    Task(String),
    /// An online agent offering this task type.
    Role(String),
}

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stored; not sent yet (its recipient is offline, or it just came).
    Pending,
    /// Sent on the recipient's Work stream; not acknowledged yet.
    Delivered,
    /// The recipient handled it.
    Acked,
    /// Given up: not acknowledged after the allowed deliveries, or its recipient is gone.
    DeadLettered,
}

impl State {
    /// Every state, in its life's order.
    pub const ALL: [State; 4] = [
        State::Pending,
        State::Delivered,
        State::Acked,
        State::DeadLettered,
    ];

    /// Its name ("pending", "delivered", "acked", "dead_lettered").
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Acked => "acked",
            State::DeadLettered => "dead_lettered",
        }
    }

    /// The state of this name, or what is allowed.
    pub fn parse(name: &str) -> Result<State> {
        State::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "message state {name:?} is none of: pending, delivered, acked, dead_lettered"
                ))
            })
    }

    /// Still to be delivered or acknowledged.
    pub fn is_active(self) -> bool {
        matches!(self, State::Pending | State::Delivered)
    }
}

/// One message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (a UUIDv7).
    pub id: String,
    /// The sending agent's id.
    pub from: String,
    /// The agent it goes to.
    pub to_agent: String,
    /// What it is about ("handoff", "question", ...).
    pub kind: String,
    /// A JSON object.
    pub body_json: String,
    /// The sender's key for it, if any.
    pub idempotency_key: Option<String>,
    /// The task it is about, if the sender named one.
    pub about_task: Option<String>,
    /// Where it is.
    pub state: State,
    /// How many times it was sent.
    pub deliveries: u32,
    /// Sent and not acknowledged by then: sent again (or dead-lettered).
    pub redeliver_at_us: Option<i64>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When it was sent to the manager.
    pub created_us: i64,
    /// When it last changed.
    pub updated_us: i64,
}

/// Most characters of a kind.
const MAX_KIND: usize = 64;
/// Longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// A kind is 1 to 64 characters of letters, digits, '.', '_' and '-'.
pub fn check_kind(kind: &str) -> Result<()> {
    let ok = !kind.is_empty()
        && kind.chars().count() <= MAX_KIND
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "message kind {kind:?} is not allowed: 1 to {MAX_KIND} characters of letters, digits, '.', '_' and '-'"
        )))
    }
}

/// A body is a JSON object of at most `max_bytes`.
pub fn check_body(body_json: &str, max_bytes: usize) -> Result<()> {
    if body_json.len() > max_bytes {
        return Err(Error::InvalidInput(format!(
            "message body is {} bytes; at most {max_bytes} (messages.max_body_bytes) are allowed",
            body_json.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(body_json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::InvalidInput(
            "message body must be a JSON object ({...})".into(),
        )),
        Err(e) => Err(Error::InvalidInput(format!(
            "message body is not JSON: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_bodies_are_checked_with_what_is_allowed() {
        assert!(check_kind("handoff").is_ok());
        assert!(check_kind("code.review-done_2").is_ok());
        for bad in ["", "two words", "ünï", &"x".repeat(65)] {
            let e = check_kind(bad).unwrap_err().to_string();
            assert!(e.contains("letters, digits"), "{e}");
        }
        assert!(check_body("{}", 10).is_ok());
        assert!(check_body("[1]", 10)
            .unwrap_err()
            .to_string()
            .contains("JSON object"));
        assert!(check_body("{", 10)
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        assert!(check_body("{\"a\": \"long\"}", 5)
            .unwrap_err()
            .to_string()
            .contains("messages.max_body_bytes"));
    }

    #[test]
    fn states_are_named_as_stored_and_read_back() {
        for s in State::ALL {
            assert_eq!(State::parse(s.name()).unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
        }
        assert!(State::parse("lost")
            .unwrap_err()
            .to_string()
            .contains("none of: pending"));
    }

    #[test]
    fn only_pending_and_delivered_messages_are_active() {
        assert!(State::Pending.is_active());
        assert!(State::Delivered.is_active());
        assert!(!State::Acked.is_active());
        assert!(!State::DeadLettered.is_active());
    }
}
