//! What a task may do beyond its folder: consent, rules, destructive actions, secrets.
use super::*;

#[tokio::test]
async fn a_consent_nobody_answers_is_denied_when_the_clock_passes_its_timeout() {
    let w = world(|c| c.consent.timeout = Duration::from_secs(60)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let m = w.m.clone();
    let token = start.capability_token.clone();
    let asked = tokio::spawn(async move {
        m.request_consent(&id, &token, "read", "/srv/data", "to read the data")
            .await
    });
    // The request is waiting for the person.
    while w.m.list_consents().is_empty() {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        w.m.list_consents()[0].status,
        crate::consent::Status::Pending
    );
    w.clock.advance(Duration::from_secs(61));
    tick(&w).await;
    let answer = asked.await.unwrap();
    let denied = match answer {
        Ok(c) => c.status == crate::consent::Status::Denied,
        Err(_) => true,
    };
    assert!(denied, "an unanswered request must end denied");
}

#[tokio::test]
async fn a_granted_consent_answers_the_waiting_task() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let m = w.m.clone();
    let token = start.capability_token.clone();
    let asked = tokio::spawn(async move {
        m.request_consent(&id, &token, "read", "/srv/data", "to read the data")
            .await
    });
    let consent = loop {
        if let Some(c) = w.m.list_consents().into_iter().next() {
            break c;
        }
        tokio::task::yield_now().await;
    };
    w.m.answer_consent(&consent.id, Some(crate::consent::Scope::Once), "person")
        .await
        .unwrap();
    let c = asked.await.unwrap().unwrap();
    assert_eq!(c.status, crate::consent::Status::Granted);
    assert_eq!(c.answered_by, "person");
}

#[tokio::test]
async fn a_consent_the_person_denies_is_denied_and_says_so() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let asked = ask(&w, &id, &start.capability_token, "/srv/data");
    let c = pending_consent(&w).await;
    w.m.answer_consent(&c.id, None, "person").await.unwrap();
    match asked.await.unwrap() {
        Ok(c) => {
            assert_eq!(c.status, crate::consent::Status::Denied);
            assert_eq!(c.answered_by, "person");
        }
        Err(e) => assert!(e.to_string().contains("denied"), "{e}"),
    }
}

#[tokio::test]
async fn a_grant_for_the_task_covers_its_later_requests_without_asking() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let first = ask(&w, &id, &start.capability_token, "/srv/data");
    let c = pending_consent(&w).await;
    w.m.answer_consent(&c.id, Some(crate::consent::Scope::Task), "person")
        .await
        .unwrap();
    assert_eq!(
        first.await.unwrap().unwrap().status,
        crate::consent::Status::Granted
    );
    // A file inside what was granted: answered at once, nobody asked.
    let again = ask(&w, &id, &start.capability_token, "/srv/data/file.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, crate::consent::Status::Granted);
    assert!(w.m.list_consents().is_empty());
}

#[tokio::test]
async fn rules_answer_without_asking_and_a_deny_wins_over_an_allow() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    w.m.add_rule(None, "read", "/srv", policy::Decision::Allow, "person")
        .await
        .unwrap();
    let allowed = ask(&w, &id, &start.capability_token, "/srv/a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(allowed.status, crate::consent::Status::Granted);
    w.m.add_rule(
        None,
        "read",
        "/srv/secret",
        policy::Decision::Deny,
        "person",
    )
    .await
    .unwrap();
    let denied = ask(&w, &id, &start.capability_token, "/srv/secret/key")
        .await
        .unwrap();
    assert!(
        denied.map_or(true, |c| c.status == crate::consent::Status::Denied),
        "a deny rule must win"
    );
    assert!(w.m.list_consents().is_empty(), "nobody was asked");
}

#[tokio::test]
async fn a_destructive_action_outside_the_task_folder_is_refused_before_anything_is_touched() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let outside = w.m.paths().data_dir.with_file_name("precious.txt");
    std::fs::write(&outside, "keep me").unwrap();
    let refused =
        w.m.prepare_destructive(
            &id,
            &start.capability_token,
            "clean up",
            &[outside.display().to_string()],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    assert!(w.m.list_actions().await.unwrap().is_empty());
}
