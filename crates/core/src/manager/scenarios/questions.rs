//! Questions to the person: the task awaits the person while one is pending; an answer must be
//! one of the choices offered; an unanswered one is given up after `consent.timeout`, and one
//! whose task ends is given up with it.
use super::*;
use crate::question::{Question, Status as QStatus};

/// Asks on the task's behalf, in the background.
fn ask_bg(
    w: &World,
    id: &str,
    token: &str,
    choices: &[&str],
) -> tokio::task::JoinHandle<Result<Question>> {
    let (m, id, token) = (w.m.clone(), id.to_string(), token.to_string());
    let choices: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
    tokio::spawn(async move {
        m.ask_person(&id, &token, "Which name: shop or shop2?", choices)
            .await
    })
}

/// The first pending question, once there is one.
async fn pending_question(w: &World) -> Question {
    loop {
        if let Some(q) = w.m.list_questions().into_iter().next() {
            return q;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_question_holds_the_task_for_the_person_and_takes_only_its_choices() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let asked = ask_bg(&w, &id, &start.capability_token, &["shop", "shop2"]);
    let q = pending_question(&w).await;
    assert_eq!(q.choices, ["shop", "shop2"]);
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::AwaitingConsent);
    assert_eq!(
        t.status_reason,
        "waiting for your answer: Which name: shop or shop2?"
    );
    let e =
        w.m.answer_question(&q.id, "shop3", "client")
            .await
            .unwrap_err();
    assert!(e.to_string().contains(r#"is none of the choices"#), "{e}");
    assert_eq!(
        w.m.list_questions().len(),
        1,
        "a wrong answer settles nothing"
    );
    let answered =
        w.m.answer_question(&q.id, " SHOP2 ", "client")
            .await
            .unwrap();
    assert_eq!(
        (answered.status, answered.answer.as_str()),
        (QStatus::Answered, "shop2")
    );
    let got = asked.await.unwrap().unwrap();
    assert_eq!(got.answer, "shop2");
    assert_eq!(task(&w, &id).await.state, TaskState::Running);
    let e =
        w.m.answer_question(&q.id, "shop", "client")
            .await
            .unwrap_err();
    assert!(e.to_string().contains("no pending question"), "{e}");
    // Audited: asked by the agent, answered by the client.
    let entries =
        w.m.list_audit(&AuditQuery {
            task_id: Some(id.clone()),
            ..AuditQuery::all(100)
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.action.starts_with("question."))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert!(actions.contains(&("question.asked", "a")), "{actions:?}");
    assert!(
        actions.contains(&("question.answered", "client")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn an_unanswered_question_is_given_up_and_one_whose_task_ends_with_it() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.consent.timeout = Duration::from_secs(30);
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let asked = ask_bg(&w, &id, &start.capability_token, &[]);
    pending_question(&w).await;
    w.clock.advance(Duration::from_secs(31));
    tick(&w).await;
    let q = asked.await.unwrap().unwrap();
    assert_eq!(q.status, QStatus::Unanswered);
    assert_eq!(q.answered_by, "no answer within 30s");
    assert_eq!(task(&w, &id).await.state, TaskState::Running);
    // Asked again, then the task is cancelled: the question goes with it.
    let asked = ask_bg(&w, &id, &start.capability_token, &[]);
    pending_question(&w).await;
    w.m.cancel(&id, "enough").await.unwrap();
    tick(&w).await;
    let q = asked.await.unwrap().unwrap();
    assert_eq!(q.status, QStatus::Unanswered);
    assert!(q.answered_by.contains("its task"), "{}", q.answered_by);
    assert!(w.m.list_questions().is_empty());
    // Malformed questions are refused before anything waits.
    let e =
        w.m.ask_person(&id, &start.capability_token, " ", Vec::new())
            .await
            .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");
}

#[tokio::test]
async fn a_question_asked_again_after_its_call_dropped_is_asked_once_and_both_calls_hear_the_answer(
) {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let first = ask_bg(&w, &id, &start.capability_token, &["shop", "shop2"]);
    let q = pending_question(&w).await;
    // The connection drops: the first call is gone; the agent asks again.
    first.abort();
    let again = ask_bg(&w, &id, &start.capability_token, &["shop", "shop2"]);
    let also = ask_bg(&w, &id, &start.capability_token, &["shop", "shop2"]);
    // Another question, asked after them: once it is pending, there are two, not four.
    let other = {
        let (m, id, token) = (w.m.clone(), id.clone(), start.capability_token.clone());
        tokio::spawn(async move { m.ask_person(&id, &token, "Go on?", Vec::new()).await })
    };
    let pending = loop {
        let p = w.m.list_questions();
        if p.iter().any(|x| x.text == "Go on?") {
            break p;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(pending.len(), 2, "asked once: {pending:?}");
    assert_eq!(pending[0].id, q.id);
    other.abort();
    w.m.answer_question(&q.id, "shop2", "client").await.unwrap();
    for call in [again, also] {
        let heard = call.await.unwrap().unwrap();
        assert_eq!(
            (heard.id.as_str(), heard.answer.as_str()),
            (q.id.as_str(), "shop2")
        );
    }
    // Asked again once answered, it is a new question.
    let next = ask_bg(&w, &id, &start.capability_token, &["shop", "shop2"]);
    let q2 = loop {
        let found = w.m.list_questions().into_iter().find(|x| x.text == q.text);
        if let Some(x) = found {
            break x;
        }
        tokio::task::yield_now().await;
    };
    assert_ne!(q2.id, q.id);
    next.abort();
}
