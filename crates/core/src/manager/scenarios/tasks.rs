//! A task's life as a client and its agent see it: submit, answer, progress, finish, cancel, pause.
use super::*;

#[tokio::test]
async fn a_task_goes_from_submitted_to_completed_and_each_step_is_stored() {
    let w = world(|_| {}).await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let (task, created) = w.m.submit(echo()).await.expect("submit");
    assert!(created);
    let start = started(&mut rx).await;
    assert_eq!(
        (start.task_id.as_str(), start.attempt),
        (task.id.as_str(), 1)
    );
    w.m.answer(&task.id, &start.capability_token, true, "")
        .await
        .expect("accept");
    assert_eq!(
        w.m.get_task(&task.id).await.unwrap().state,
        TaskState::Running
    );
    let end =
        w.m.finish(&task.id, &start.capability_token, succeeded())
            .await
            .expect("finish");
    assert_eq!(end, TaskState::Completed);
    let stored = w.m.get_task(&task.id).await.unwrap();
    assert_eq!(stored.state, TaskState::Completed);
    assert_eq!(stored.attempts.len(), 1);
    // The same token cannot finish it twice.
    assert!(w
        .m
        .finish(&task.id, &start.capability_token, succeeded())
        .await
        .is_err());
}

#[tokio::test]
async fn an_idempotent_submit_gives_the_same_task_and_a_changed_one_is_refused() {
    let w = world(|_| {}).await;
    // The type must be known (offered by an agent) before it can be submitted.
    let (_reg, _rx, _guard) = agent(&w.m, "a").await;
    let first = Submission {
        idempotency_key: Some("k1".into()),
        ..echo()
    };
    let (a, created_a) = w.m.submit(first.clone()).await.unwrap();
    let (b, created_b) = w.m.submit(first).await.unwrap();
    assert!(created_a);
    assert!(!created_b);
    assert_eq!(a.id, b.id);
    let changed = Submission {
        idempotency_key: Some("k1".into()),
        payload_json: r#"{"x": 1}"#.into(),
        ..echo()
    };
    assert!(matches!(
        w.m.submit(changed).await,
        Err(Error::IdempotencyConflict { .. })
    ));
}

#[tokio::test]
async fn cancel_tells_the_agent_to_stop_and_its_canceled_result_ends_the_task() {
    let w = world(|_| {}).await;
    let (id, start, mut rx, _guard) = running(&w, echo()).await;
    let t = w.m.cancel(&id, "").await.unwrap();
    assert!(t.cancel_requested);
    assert_eq!(stopped(&mut rx).await, id);
    let end =
        w.m.finish(
            &id,
            &start.capability_token,
            TaskResult {
                status: ResultStatus::Canceled,
                error: "stopped".into(),
                ..succeeded()
            },
        )
        .await
        .unwrap();
    assert_eq!(end, TaskState::Canceled);
    // A second cancel says it has ended.
    assert!(matches!(
        w.m.cancel(&id, "").await,
        Err(Error::FailedPrecondition(_))
    ));
}

#[tokio::test]
async fn progress_is_kept_with_the_task() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let progress = Progress {
        fraction: 0.5,
        step: "half".into(),
    };
    w.m.report_progress(&id, &start.capability_token, progress.clone())
        .await
        .unwrap();
    assert_eq!(w.m.get_task(&id).await.unwrap().progress, Some(progress));
    let too_much = Progress {
        fraction: 1.5,
        step: "over".into(),
    };
    assert!(matches!(
        w.m.report_progress(&id, &start.capability_token, too_much)
            .await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn while_paused_nothing_is_dispatched_and_resuming_dispatches() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    w.m.set_paused(true, "person").await.unwrap();
    let (task, _) = w.m.submit(echo()).await.unwrap();
    dispatch(&w).await;
    assert!(rx.try_recv().is_err(), "nothing is sent while paused");
    assert_eq!(
        w.m.get_task(&task.id).await.unwrap().state,
        TaskState::Queued
    );
    w.m.set_paused(false, "person").await.unwrap();
    assert_eq!(started(&mut rx).await.task_id, task.id);
}

#[tokio::test]
async fn a_submit_names_what_is_wrong() {
    let w = world(|_| {}).await;
    let (_a, _rx, _guard) = agent(&w.m, "a").await;
    let unknown = Submission {
        task_type: "echo.nope".into(),
        ..echo()
    };
    match w.m.submit(unknown).await {
        Err(Error::InvalidInput(e)) => assert!(e.contains("echo.echo"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let not_json = Submission {
        payload_json: "{oops".into(),
        ..echo()
    };
    assert!(matches!(
        w.m.submit(not_json).await,
        Err(Error::InvalidInput(_))
    ));
    let too_many = Submission {
        max_attempts: 10_000,
        ..echo()
    };
    match w.m.submit(too_many).await {
        Err(Error::InvalidInput(e)) => assert!(e.contains("tasks.max_attempts_limit"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_works_only_for_its_own_task() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let (other, _) = w.m.submit(echo()).await.unwrap();
    match w
        .m
        .finish(&other.id, &start.capability_token, succeeded())
        .await
    {
        Err(Error::PermissionDenied(e)) => assert!(e.contains(&id), "{e}"),
        res => panic!("expected a refusal, got {res:?}"),
    }
    assert!(matches!(
        w.m.finish(&id, "forged", succeeded()).await,
        Err(Error::Unauthenticated(_))
    ));
    // Both refusals are audited: queued without waiting, so let a later write commit first
    // (the writer commits in order).
    w.m.set_paused(false, "test").await.unwrap();
    let audit = w.m.list_audit(None, 0, 1_000).await.unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "token.refused").count(),
        2
    );
}

#[tokio::test]
async fn a_failure_reported_after_a_cancel_request_ends_the_task_canceled() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    w.m.cancel(&id, "stop it").await.unwrap();
    let end =
        w.m.finish(
            &id,
            &start.capability_token,
            TaskResult {
                status: ResultStatus::Failed,
                exit_code: 1,
                error: "tests failed (killed)".into(),
                ..succeeded()
            },
        )
        .await
        .unwrap();
    assert_eq!(end, TaskState::Canceled);
    first_error_says(&w, &id, "tests failed (killed)").await;
}

#[tokio::test]
async fn an_agent_with_one_slot_gets_one_task_at_a_time() {
    let w = world(|_| {}).await;
    let (id, start, mut rx, _guard) = running(&w, echo()).await;
    let (second, _) = w.m.submit(echo()).await.unwrap();
    dispatch(&w).await;
    assert!(rx.try_recv().is_err(), "its one slot is taken");
    w.m.finish(&id, &start.capability_token, succeeded())
        .await
        .unwrap();
    assert_eq!(started(&mut rx).await.task_id, second.id);
}

#[tokio::test]
async fn cancelling_a_queued_task_ends_it_at_once() {
    let w = world(|_| {}).await;
    let (_a, _rx, _guard) = agent(&w.m, "a").await;
    w.m.set_paused(true, "person").await.unwrap();
    let (task, _) = w.m.submit(echo()).await.unwrap();
    let t = w.m.cancel(&task.id, "changed my mind").await.unwrap();
    assert_eq!(t.state, TaskState::Canceled);
    assert!(t.attempts.is_empty());
    w.m.set_paused(false, "person").await.unwrap();
    dispatch(&w).await;
    assert_eq!(
        w.m.get_task(&task.id).await.unwrap().state,
        TaskState::Canceled,
        "a canceled task is never dispatched"
    );
}
