//! Questions to the person: a running task's agent asks something only the person can answer
//! (which of two names, whether to go on), free text or one of the choices it offers. Data
//! only; the manager holds the pending ones (`manager/questions.rs`): the task awaits the
//! person meanwhile, and an unanswered question is given up after `consent.timeout`.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most choices a question may offer.
pub const MAX_CHOICES: usize = 20;
/// Most bytes of a choice, or of an answer.
pub const MAX_ANSWER_BYTES: usize = 2000;

/// Where a question stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the person.
    Pending,
    /// The person answered.
    Answered,
    /// Given up: no answer in time, or its task ended.
    Unanswered,
}

/// One question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Its id.
    pub id: String,
    /// The task asking.
    pub task_id: String,
    /// Its agent.
    pub agent_id: String,
    /// What is asked, in the agent's words.
    pub text: String,
    /// The answers it takes (any text when empty).
    pub choices: Vec<String>,
    /// When it was asked (µs).
    pub created_us: i64,
    /// Unanswered by then, it is given up (µs).
    pub expires_us: i64,
    /// Where it stands.
    pub status: Status,
    /// The person's answer, once answered.
    pub answer: String,
    /// Who answered ("client", ...), or why it was given up.
    pub answered_by: String,
}

/// Checks what an agent asks: a question of 1 to `max_text` bytes, at most [`MAX_CHOICES`]
/// distinct non-empty choices of at most [`MAX_ANSWER_BYTES`] each.
pub fn check_asked(text: &str, choices: &[String], max_text: usize) -> Result<()> {
    if text.trim().is_empty() || text.len() > max_text {
        return Err(Error::InvalidInput(format!(
            "a question must be 1 to {max_text} bytes (agents.max_text_bytes); this one is {}",
            text.len()
        )));
    }
    if choices.len() > MAX_CHOICES {
        return Err(Error::InvalidInput(format!(
            "a question offers at most {MAX_CHOICES} choices; this one offers {}",
            choices.len()
        )));
    }
    for (n, c) in choices.iter().enumerate() {
        if c.trim().is_empty() || c.len() > MAX_ANSWER_BYTES {
            return Err(Error::InvalidInput(format!(
                "choice {} must be 1 to {MAX_ANSWER_BYTES} bytes of text",
                n + 1
            )));
        }
        if choices[..n].contains(c) {
            return Err(Error::InvalidInput(format!(
                "choice {c:?} is offered twice"
            )));
        }
    }
    Ok(())
}

/// The answer as it will be kept: one of the choices when there are any (matched ignoring case
/// and surrounding space), else any text of 1 to [`MAX_ANSWER_BYTES`] bytes.
pub fn checked_answer(q: &Question, answer: &str) -> Result<String> {
    let answer = answer.trim();
    if q.choices.is_empty() {
        if answer.is_empty() || answer.len() > MAX_ANSWER_BYTES {
            return Err(Error::InvalidInput(format!(
                "an answer must be 1 to {MAX_ANSWER_BYTES} bytes of text"
            )));
        }
        return Ok(answer.to_string());
    }
    q.choices
        .iter()
        .find(|c| c.trim().eq_ignore_ascii_case(answer))
        .cloned()
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "{answer:?} is none of the choices this question offers: {}",
                q.choices
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(choices: &[&str]) -> Question {
        Question {
            id: "q".into(),
            task_id: "t".into(),
            agent_id: "a".into(),
            text: "which?".into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            created_us: 0,
            expires_us: 1,
            status: Status::Pending,
            answer: String::new(),
            answered_by: String::new(),
        }
    }

    #[test]
    fn an_answer_is_one_of_the_choices_or_free_text_when_none_are_offered() {
        assert_eq!(
            checked_answer(&q(&["Keep", "Replace"]), " replace ").unwrap(),
            "Replace"
        );
        let e = checked_answer(&q(&["Keep", "Replace"]), "maybe").unwrap_err();
        assert!(
            e.to_string().contains(
                r#""maybe" is none of the choices this question offers: "Keep", "Replace""#
            ),
            "{e}"
        );
        assert_eq!(checked_answer(&q(&[]), " shop2 ").unwrap(), "shop2");
        assert!(checked_answer(&q(&[]), "  ").is_err());
        assert!(checked_answer(&q(&[]), &"x".repeat(MAX_ANSWER_BYTES + 1)).is_err());
    }

    #[test]
    fn what_an_agent_may_ask() {
        assert!(check_asked("which name?", &[], 100).is_ok());
        assert!(check_asked(" ", &[], 100).is_err());
        assert!(check_asked(&"x".repeat(101), &[], 100).is_err());
        let twice = vec!["a".to_string(), "a".to_string()];
        assert!(check_asked("?", &twice, 100)
            .unwrap_err()
            .to_string()
            .contains("offered twice"));
        let many: Vec<String> = (0..=MAX_CHOICES).map(|n| n.to_string()).collect();
        assert!(check_asked("?", &many, 100).is_err());
    }
}
