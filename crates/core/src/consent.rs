//! Consent requests: an agent (or the manager on its behalf) asks the person for a permission its
//! task lacks. Data only; the manager holds the pending ones and the policy decides first
//! ([`crate::policy::decide`]): a deny rule refuses at once, an allow rule or a grant already given
//! to the task allows at once, and only what neither covers reaches the person.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::Permission;

/// How far a "yes" reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// This request only.
    Once,
    /// Every later request of the same task that it covers.
    Task,
    /// This agent, from now on (a persisted rule).
    Agent,
    /// Every agent, from now on (a persisted rule).
    Always,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the person.
    Pending,
    /// Granted (by the person, or by a rule or an earlier grant).
    Granted,
    /// Denied (by the person, by a rule, by timeout, or because the task ended).
    Denied,
}

/// One request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// Its id.
    pub id: String,
    /// The task it is for.
    pub task_id: String,
    /// The agent asking.
    pub agent_id: String,
    /// What is asked.
    pub permission: Permission,
    /// Why, in the agent's words.
    pub reason: String,
    /// When it was asked (µs).
    pub created_us: i64,
    /// Unanswered by then, it is denied (µs).
    pub expires_us: i64,
    /// Where it stands.
    pub status: Status,
    /// For a grant: how far it reaches.
    pub scope: Option<Scope>,
    /// Who or what answered ("client", "rule <id>", "task grant", "timeout", "task ended").
    pub answered_by: String,
    /// Why, for a denial.
    pub answer_reason: String,
}

impl Consent {
    /// `Ok` when granted; else the refusal, naming `what` was refused, who decided and why.
    pub fn granted(&self, what: &str) -> Result<()> {
        if self.status == Status::Granted {
            return Ok(());
        }
        let why = if self.answer_reason.is_empty() {
            String::new()
        } else {
            format!(": {}", self.answer_reason)
        };
        Err(Error::PermissionDenied(format!(
            "{what} refused ({}{why})",
            self.answered_by
        )))
    }
}

/// Longest reason a consent request keeps, in bytes (a longer one is cut, saying so).
pub const MAX_REASON_BYTES: usize = 2000;
/// Longest target a consent request may name, in bytes (a path, a host, a description).
pub const MAX_TARGET_BYTES: usize = 4096;

/// A request's reason as it is kept: at most [`MAX_REASON_BYTES`], cut at a character boundary.
/// A new string, so the caller can let go of the message it came in.
pub fn kept_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}
