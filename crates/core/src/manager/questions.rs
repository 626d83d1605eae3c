//! Questions to the person (`crate::question`): asked by a running task, answered by the person
//! (any client), given up after `consent.timeout` or when the task ends. While one waits, the
//! task awaits the person as it does for a consent request; every step is on the feed and in
//! the audit log.
use super::*;
use crate::question::{self, Question, Status as QStatus};
use consents::{done_waiting, given_up, tell};

impl Manager {
    /// A task asks the person; returns the question once answered or given up.
    pub async fn ask_person(
        &self,
        task_id: &str,
        token: &str,
        text: &str,
        choices: Vec<String>,
    ) -> Result<Question> {
        question::check_asked(
            text,
            &choices,
            self.inner.cfg.agents.max_text_bytes as usize,
        )?;
        let now = self.now_us();
        let answer = self
            .commit(|st| {
                let claims = self.authorize(st, task_id, token)?;
                let running = st
                    .tasks
                    .get(task_id)
                    .is_some_and(|a| a.task.state.holds_slot() && !a.task.cancel_requested);
                if !running {
                    return Err(Error::FailedPrecondition(format!(
                        "task {task_id} is not running any more"
                    )));
                }
                // The same question again while it waits (its call retried after the connection
                // dropped): it waits for the same answer; the person is asked once.
                let text_now = text.trim();
                if let Some(p) = st.questions.values_mut().find(|p| {
                    p.question.task_id == task_id
                        && p.question.text == text_now
                        && p.question.choices == choices
                }) {
                    super::consents::joined(&p.waiters, &self.inner.cfg.consent)?;
                    let (reply, answer) = oneshot::channel();
                    p.waiters.push(reply);
                    return Ok((Vec::new(), answer));
                }
                let limits = &self.inner.cfg.consent;
                let waiting = st
                    .questions
                    .values()
                    .filter(|p| p.question.task_id == task_id)
                    .count();
                let agents = st
                    .questions
                    .values()
                    .filter(|p| p.question.agent_id == claims.agent_id)
                    .count();
                if waiting >= limits.max_pending_per_task as usize
                    || agents >= limits.max_pending_per_agent as usize
                    || st.questions.len() >= limits.max_pending as usize
                {
                    return Err(Error::FailedPrecondition(format!(
                        "too many questions waiting ({waiting} of this task's, {agents} of agent \
                         {}'s, {} in all; consent.max_pending_per_task = {}, \
                         consent.max_pending_per_agent = {}, consent.max_pending = {}): wait for \
                         an answer before asking again",
                        claims.agent_id,
                        st.questions.len(),
                        limits.max_pending_per_task,
                        limits.max_pending_per_agent,
                        limits.max_pending
                    )));
                }
                st.tasks
                    .get_mut(task_id)
                    .expect("present")
                    .count_request(limits.max_requests_per_task)?;
                let q = Question {
                    id: uuid::Uuid::now_v7().to_string(),
                    task_id: task_id.to_string(),
                    agent_id: claims.agent_id.clone(),
                    text: text.trim().to_string(),
                    choices: choices.clone(),
                    created_us: now,
                    expires_us: now + us(limits.timeout),
                    status: QStatus::Pending,
                    answer: String::new(),
                    answered_by: String::new(),
                };
                let mut writes = Vec::new();
                question_writes(&mut writes, &q, "question.asked", &claims.agent_id, now);
                let a = st.tasks.get_mut(task_id).expect("present");
                if a.task.state == TaskState::Running {
                    let ev = tasks::transition(
                        &mut a.task,
                        TaskState::AwaitingConsent,
                        format!("waiting for your answer: {}", q.text),
                        now,
                    )?;
                    push_task(&mut writes, &a.task, ev, now);
                }
                let (reply, answer) = oneshot::channel();
                st.questions.insert(
                    q.id.clone(),
                    PendingQuestion {
                        question: q,
                        waiters: vec![reply],
                    },
                );
                Ok((writes, answer))
            })
            .await?;
        answer.await.map_err(|_| Error::ShuttingDown)
    }

    /// The person answers a pending question.
    #[tracing::instrument(skip_all, fields(question = %id, by = %actor))]
    pub async fn answer_question(&self, id: &str, answer: &str, actor: &str) -> Result<Question> {
        let now = self.now_us();
        let (waiters, q) = self
            .commit(|st| {
                let p = st.questions.get(id).ok_or_else(|| {
                    Error::FailedPrecondition(format!(
                        "no pending question `{id}`: it was answered, given up, or its task \
                         ended (`hyperagent question list` lists the pending ones)"
                    ))
                })?;
                let answer = question::checked_answer(&p.question, answer)?;
                let p = st.questions.remove(id).expect("present");
                let mut writes = Vec::new();
                let q = self.settle(
                    st,
                    p.question,
                    QStatus::Answered,
                    &answer,
                    actor,
                    now,
                    &mut writes,
                )?;
                Ok((writes, (p.waiters, q)))
            })
            .await?;
        tell(waiters, &q);
        Ok(q)
    }

    /// Pending questions, oldest first.
    pub fn list_questions(&self) -> Vec<Question> {
        // By id: ids are time-ordered (UUIDv7), so the map's order is the oldest first.
        self.state()
            .questions
            .values()
            .map(|p| p.question.clone())
            .collect()
    }

    /// Gives up the questions that timed out, or whose task ended or is being canceled; their
    /// askers hear it once it is stored.
    pub(super) fn expire_questions(&self, st: &mut State, now: i64) {
        let due: Vec<(String, String)> = st
            .questions
            .values()
            .filter_map(|p| {
                let q = &p.question;
                let why = match given_up(st, &q.task_id, q.expires_us, now)? {
                    "timeout" => format!(
                        "no answer within {}",
                        humantime::format_duration(self.inner.cfg.consent.timeout)
                    ),
                    other => other.to_string(),
                };
                Some((q.id.clone(), why))
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let mut writes = Vec::new();
        let mut replies = Vec::new();
        for (id, why) in due {
            let p = st.questions.remove(&id).expect("listed above");
            match self.settle(
                st,
                p.question,
                QStatus::Unanswered,
                "",
                &why,
                now,
                &mut writes,
            ) {
                Ok(q) => replies.push((p.waiters, q)),
                Err(e) => {
                    tracing::error!(question = %id, error = %e, "giving up a question failed")
                }
            }
        }
        self.answer_once_stored(writes, replies, "given-up questions");
    }

    /// Records how a question ended, and puts its task back to running once nothing else waits
    /// for the person.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        st: &mut State,
        mut q: Question,
        status: QStatus,
        answer: &str,
        by: &str,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Result<Question> {
        q.status = status;
        q.answer = answer.to_string();
        q.answered_by = by.to_string();
        let action = if status == QStatus::Answered {
            "question.answered"
        } else {
            "question.unanswered"
        };
        let actor = if status == QStatus::Answered {
            by
        } else {
            "manager"
        };
        question_writes(writes, &q, action, actor, now);
        let why = if status == QStatus::Answered {
            "answered by the person".to_string()
        } else {
            format!("its question was not answered ({by})")
        };
        done_waiting(st, &q.task_id, why, now, writes)?;
        Ok(q)
    }
}

/// The feed event and the audit entry of a question as it now stands.
fn question_writes(writes: &mut Vec<Write>, q: &Question, action: &str, actor: &str, now: i64) {
    writes.push(Write::Event {
        time_us: now,
        body: EventBody::Question {
            question: q.clone(),
        },
    });
    writes.push(Write::audit(now, actor, action, Some(&q.task_id), q));
}
