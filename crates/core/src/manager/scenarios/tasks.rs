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
    // The same token cannot end it another way (a repeat of the same end is a retry: see
    // `a_retried_finish_is_answered_as_the_first_was_and_counted_once`).
    let other = TaskResult {
        status: ResultStatus::Failed,
        exit_code: 1,
        ..succeeded()
    };
    assert!(w
        .m
        .finish(&task.id, &start.capability_token, other)
        .await
        .is_err());
}

/// An agent hears of a task only once it is stored: while another connection holds SQLite's
/// write lock, a submission waits for its commit, and the scheduler, run meanwhile, sends nothing
/// (a crash then would leave an agent running a task that never existed, its client never told).
/// So does an idempotent repeat of it: it is answered once the first is stored.
#[tokio::test]
async fn a_task_reaches_an_agent_only_once_it_is_stored() {
    let w = world(|_| {}).await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let mut other = hold_write_lock(&w).await;
    let sub = Submission {
        idempotency_key: Some("once".into()),
        ..echo()
    };
    let submitting = {
        let (m, sub) = (w.m.clone(), sub.clone());
        tokio::spawn(async move { m.submit(sub).await })
    };
    while w.m.state().tasks.is_empty() {
        if submitting.is_finished() {
            panic!(
                "the submission ended before its task was held: {:?}",
                submitting.await
            );
        }
        tokio::task::yield_now().await;
    }
    let repeating = {
        let m = w.m.clone();
        tokio::spawn(async move { m.submit(sub).await })
    };
    // Its writes wait behind the held lock: not awaited here.
    drop(w.m.dispatch());
    assert!(
        rx.try_recv().is_err(),
        "a start was sent for a task not yet stored"
    );
    assert!(!submitting.is_finished() && !repeating.is_finished());
    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("release");
    let (task, created) = submitting.await.unwrap().expect("submit");
    let (again, created_again) = repeating.await.unwrap().expect("repeat");
    assert!(created && !created_again);
    assert_eq!(again.id, task.id);
    dispatch(&w).await;
    assert_eq!(start_sent(&mut rx).task_id, task.id);
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

/// A repeat of a keyed submission that looked in the store before the first was stored, and in
/// memory after the first had ended and been forgotten, finds it in neither place: it looks again
/// and answers with the first task. (It made a second task with the same key: the store's UNIQUE
/// index then failed the commit and stopped the manager.)
#[tokio::test]
async fn a_keyed_repeat_that_misses_its_first_task_between_the_two_looks_still_finds_it() {
    let w = world(|_| {}).await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let sub = Submission {
        idempotency_key: Some("raced".into()),
        ..echo()
    };
    let (reached, go) = w.m.pause_at("after the key's look-up in the store").await;
    let repeating = {
        let (m, sub) = (w.m.clone(), sub.clone());
        tokio::spawn(async move { m.submit(sub).await })
    };
    reached.await.expect("the repeat looked in the store");
    let (task, created) = w.m.submit(sub).await.expect("submit");
    assert!(created);
    let start = started(&mut rx).await;
    w.m.answer(&task.id, &start.capability_token, true, "")
        .await
        .expect("accept");
    w.m.finish(&task.id, &start.capability_token, succeeded())
        .await
        .expect("finish");
    assert!(
        !w.m.state().tasks.contains_key(&task.id),
        "the ended task is forgotten"
    );
    go.send(()).expect("the repeat waits");
    let (again, created_again) = repeating.await.unwrap().expect("the repeat");
    assert_eq!(
        (again.id.as_str(), created_again),
        (task.id.as_str(), false)
    );
    assert!(!w.m.inner.writer.has_failed(), "the store took every write");
    assert_eq!(
        w.m.list_tasks(Default::default()).await.unwrap().0.len(),
        1,
        "one task for one key"
    );
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
    let audit = w.m.list_audit(&AuditQuery::all(1_000)).await.unwrap();
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

#[tokio::test]
async fn an_idempotency_key_names_itself_when_refused_and_still_leads_to_its_task_after_it_ended() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    let keyed = |payload: &str| Submission {
        idempotency_key: Some("build-1".into()),
        payload_json: payload.into(),
        ..echo()
    };
    let (first, created) = w.m.submit(keyed(r#"{"a": 1, "b": [2]}"#)).await.unwrap();
    assert!(created);
    // The same JSON written differently is the same request.
    let (same, created) = w.m.submit(keyed(r#"{ "b":[2],"a":1 }"#)).await.unwrap();
    assert_eq!((same.id.as_str(), created), (first.id.as_str(), false));
    // A different payload, or a pin the first did not have, is another request.
    let pinned = Submission {
        pin_agent: Some("a".into()),
        ..keyed(r#"{"a": 1, "b": [2]}"#)
    };
    for other in [keyed(r#"{"a": 2}"#), pinned] {
        match w.m.submit(other).await {
            Err(e @ Error::IdempotencyConflict { .. }) => {
                let said = e.to_string();
                assert!(
                    said.contains("`build-1`") && said.contains(&first.id),
                    "{said}"
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    // Run it to its end: the key still leads to it, and it is not run again.
    let start = started(&mut rx).await;
    w.m.finish(&first.id, &start.capability_token, succeeded())
        .await
        .unwrap();
    let (after, created) = w.m.submit(keyed(r#"{"a": 1, "b": [2]}"#)).await.unwrap();
    assert_eq!(
        (after.id.as_str(), after.state, created),
        (first.id.as_str(), TaskState::Completed, false)
    );
    dispatch(&w).await;
    assert!(rx.try_recv().is_err(), "an ended task was sent again");
}

#[tokio::test]
async fn a_canceled_task_whose_agent_does_not_stop_ends_canceled_when_the_grace_passes() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.tasks.cancel_grace = Duration::from_secs(5);
    })
    .await;
    let (a, mut rx, _guard) = agent(&w.m, "a").await;
    let (t, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    w.m.answer(&t.id, &start.capability_token, true, "")
        .await
        .unwrap();
    let asked = w.m.cancel(&t.id, "enough").await.unwrap();
    assert_eq!(
        (asked.state, asked.cancel_requested),
        (TaskState::Running, true)
    );
    assert_eq!(stopped(&mut rx).await, t.id);
    // Each heartbeat that still reports it is told again.
    assert_eq!(
        w.m.heartbeat(&a.session_token, 1.0, std::slice::from_ref(&t.id))
            .unwrap(),
        vec![t.id.clone()]
    );
    w.clock.advance(Duration::from_secs(4));
    tick(&w).await;
    assert_eq!(task(&w, &t.id).await.state, TaskState::Running);
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    let ended = task(&w, &t.id).await;
    assert_eq!(ended.state, TaskState::Canceled);
    assert_eq!(
        ended.attempts[0].error,
        "agent `a` did not stop within 5s of the cancel"
    );
    assert_eq!(stopped(&mut rx).await, t.id);
    assert!(w.m.list_agents()[0].running_task_ids.is_empty());
    assert!(matches!(
        w.m.finish(&t.id, &start.capability_token, succeeded())
            .await,
        Err(Error::FailedPrecondition(_))
    ));
}

#[tokio::test]
async fn cancelling_a_task_its_agent_has_not_accepted_yet_ends_it_at_once_and_frees_the_agent() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    let (t, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    let canceled = w.m.cancel(&t.id, "not needed").await.unwrap();
    assert_eq!(canceled.state, TaskState::Canceled);
    assert_eq!(canceled.attempts[0].error, "cancelled: not needed");
    assert_eq!(stopped(&mut rx).await, t.id);
    // Its late answer is refused, and its slot is free for the next task.
    assert!(matches!(
        w.m.answer(&t.id, &start.capability_token, true, "").await,
        Err(Error::FailedPrecondition(_))
    ));
    let (next, _) = w.m.submit(echo()).await.unwrap();
    dispatch(&w).await;
    assert_eq!(start_sent(&mut rx).task_id, next.id);
}

#[tokio::test]
async fn progress_may_be_unknown_and_is_refused_once_the_task_has_ended() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let unknown = Progress {
        fraction: -1.0,
        step: "warming up".into(),
    };
    w.m.report_progress(&id, &start.capability_token, unknown.clone())
        .await
        .unwrap();
    let nan = Progress {
        fraction: f64::NAN,
        step: "?".into(),
    };
    assert!(matches!(
        w.m.report_progress(&id, &start.capability_token, nan).await,
        Err(Error::InvalidInput(_))
    ));
    w.m.finish(&id, &start.capability_token, succeeded())
        .await
        .unwrap();
    let late = Progress {
        fraction: 1.0,
        step: "after the end".into(),
    };
    match w
        .m
        .report_progress(&id, &start.capability_token, late)
        .await
    {
        Err(Error::FailedPrecondition(e)) => assert!(e.contains("has ended"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(task(&w, &id).await.progress, Some(unknown));
}

#[tokio::test]
async fn a_payload_breaking_its_schema_is_refused_naming_the_place_and_the_rule() {
    let w = world(|_| {}).await;
    let schema = r#"{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}},
                     "required": ["n"], "additionalProperties": false}"#;
    let offers = |name: &str, schema: &str| Registration {
        capabilities: vec![TaskType {
            name: "calc.add".into(),
            description: "adds".into(),
            payload_schema_json: schema.into(),
            examples: Vec::new(),
            folder: Default::default(),
        }],
        ..registration(name)
    };
    let a = w.m.register(offers("a", schema)).await.unwrap();
    let (_rx, _guard) = w.m.open_work(&a.session_token).unwrap();
    let submit = |payload: &str| Submission {
        task_type: "calc.add".into(),
        payload_json: payload.into(),
        ..Default::default()
    };
    let refusal = |r: Result<(Task, bool)>| match r {
        Err(Error::InvalidInput(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let e = refusal(w.m.submit(submit(r#"{"n": 0}"#)).await);
    assert!(
        e.starts_with("payload for task type `calc.add` does not match its schema: /n: "),
        "{e}"
    );
    assert!(e.contains("minimum of 1"), "{e}");
    let e = refusal(w.m.submit(submit("{}")).await);
    assert!(e.contains(r#""n" is a required property"#), "{e}");
    let (t, _) = w.m.submit(submit(r#"{"n": 2}"#)).await.unwrap();
    assert_eq!(t.payload_json, r#"{"n": 2}"#);
    // While `a` is online, nobody may offer its type with another schema.
    match w.m.register(offers("b", r#"{"type": "object"}"#)).await {
        Err(Error::InvalidInput(e)) => assert!(
            e.contains("already offered by online agent `a` with a different payload schema"),
            "{e}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reported_failure_is_not_retried_and_a_stop_nobody_asked_for_is_a_failure() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    let (t, _) =
        w.m.submit(Submission {
            max_attempts: 3,
            ..echo()
        })
        .await
        .unwrap();
    let start = started(&mut rx).await;
    // Finishing without answering first accepts it implicitly.
    let failed = TaskResult {
        status: ResultStatus::Failed,
        exit_code: 2,
        error: "tests failed".into(),
        ..succeeded()
    };
    assert_eq!(
        w.m.finish(&t.id, &start.capability_token, failed)
            .await
            .unwrap(),
        TaskState::Failed
    );
    let ended = task(&w, &t.id).await;
    assert_eq!(ended.attempts.len(), 1);
    assert_eq!(ended.status_reason, "failed on agent `a`: tests failed");
    assert_eq!(ended.result.map(|r| r.exit_code), Some(2));

    let (other, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    assert_eq!(start.task_id, other.id, "the failed task was sent again");
    w.m.answer(&other.id, &start.capability_token, true, "")
        .await
        .unwrap();
    let stopped_itself = TaskResult {
        status: ResultStatus::Canceled,
        error: "interrupted".into(),
        ..succeeded()
    };
    assert_eq!(
        w.m.finish(&other.id, &start.capability_token, stopped_itself)
            .await
            .unwrap(),
        TaskState::Failed
    );
    first_error_says(&w, &other.id, "stopped it without being asked").await;
    assert_eq!(w.m.list_agents()[0].row.failures, 2);
}

#[tokio::test]
async fn unfinished_tasks_never_share_a_folder_and_only_empty_folders_the_manager_made_are_removed()
{
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    w.m.set_paused(true, "person").await.unwrap();
    let at = |folder: &str| Submission {
        workspace: Some(folder.into()),
        ..echo()
    };
    let (shop, _) = w.m.submit(at("shop")).await.unwrap();
    let root = w.m.workspace_root();
    assert_eq!(Path::new(&shop.workspace), root.join("shop"));
    assert!(root.join("shop").is_dir());
    match w.m.submit(at("shop/web")).await {
        Err(Error::FailedPrecondition(e)) => assert!(e.contains(&shop.id), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match w.m.submit(at("../elsewhere")).await {
        Err(Error::InvalidInput(e)) => {
            assert!(e.contains("must stay inside the workspace root"), "{e}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Once it ends, its empty folder goes, and the place is free.
    w.m.cancel(&shop.id, "").await.unwrap();
    assert!(!root.join("shop").exists());
    let (web, _) = w.m.submit(at("shop/web")).await.unwrap();
    w.m.cancel(&web.id, "").await.unwrap();

    // What a task leaves in its folder stays, with the folder.
    w.m.set_paused(false, "person").await.unwrap();
    let (kept, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    std::fs::write(Path::new(&kept.workspace).join("result.txt"), "42").unwrap();
    w.m.finish(&kept.id, &start.capability_token, succeeded())
        .await
        .unwrap();
    assert!(Path::new(&kept.workspace).join("result.txt").is_file());
    let (empty, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    w.m.finish(&empty.id, &start.capability_token, succeeded())
        .await
        .unwrap();
    assert!(!Path::new(&empty.workspace).exists());
}

#[tokio::test]
async fn a_task_whose_folder_cannot_be_made_is_refused_and_recorded_failed_never_started() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    // A name longer than a folder's name may be (ENAMETOOLONG when it is made).
    let long = "x".repeat(300);
    let sub = Submission {
        workspace: Some(long.clone()),
        ..echo()
    };
    match w.m.submit(sub).await {
        Err(Error::Io { context, .. }) => assert!(context.contains(&long), "{context}"),
        other => panic!("expected the folder's error, got {other:?}"),
    }
    let (tasks, _) = w.m.list_tasks(TaskQuery::default()).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].state, TaskState::Failed);
    assert!(
        tasks[0].status_reason.contains("could not be made"),
        "{}",
        tasks[0].status_reason
    );
    assert!(tasks[0].attempts.is_empty(), "never sent to an agent");
    // The next task is dispatched as usual: the failed one held nothing.
    let (next, _) = w.m.submit(echo()).await.unwrap();
    assert_eq!(started(&mut rx).await.task_id, next.id);
}

#[tokio::test]
async fn an_idempotent_resubmit_asking_for_other_limits_is_another_request() {
    let w = world(|_| {}).await;
    let (_a, _rx, _guard) = agent(&w.m, "a").await;
    w.m.set_paused(true, "person").await.unwrap();
    let keyed = |timeout_secs, max_attempts| Submission {
        idempotency_key: Some("nightly".into()),
        timeout_secs,
        max_attempts,
        ..echo()
    };
    let (first, _) = w.m.submit(keyed(60, 1)).await.unwrap();
    // The same limits, or none (like no workspace), ask for nothing else.
    for same in [keyed(60, 1), keyed(0, 0)] {
        let (t, created) = w.m.submit(same).await.unwrap();
        assert_eq!((t.id.as_str(), created), (first.id.as_str(), false));
    }
    for other in [keyed(120, 1), keyed(60, 5)] {
        let asked = (other.timeout_secs, other.max_attempts);
        assert!(
            matches!(
                w.m.submit(other).await,
                Err(Error::IdempotencyConflict { .. })
            ),
            "{asked:?} was taken for the task made with (60, 1)"
        );
    }
}

#[tokio::test]
async fn a_retried_finish_is_answered_as_the_first_was_and_counted_once() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _g) = running(&w, echo()).await;
    let first =
        w.m.finish(&id, &start.capability_token, succeeded())
            .await
            .expect("finish");
    assert_eq!(first, TaskState::Completed);
    // Its answer was lost on the way: the agent finishes again, the same way.
    let again =
        w.m.finish(&id, &start.capability_token, succeeded())
            .await
            .expect("the retry is answered as the first was");
    assert_eq!(again, TaskState::Completed);
    let agent =
        w.m.list_agents()
            .into_iter()
            .find(|a| a.row.id == "a")
            .unwrap();
    assert_eq!(agent.row.successes, 1, "counted once");
    // Another ending for the same attempt is not a retry: refused, nothing changes.
    let other = TaskResult {
        status: ResultStatus::Failed,
        exit_code: 1,
        error: "changed its mind".into(),
        ..succeeded()
    };
    let err =
        w.m.finish(&id, &start.capability_token, other)
            .await
            .unwrap_err();
    assert!(matches!(err, Error::FailedPrecondition(_)), "{err}");
    assert_eq!(w.m.get_task(&id).await.unwrap().state, TaskState::Completed);
}

#[tokio::test]
async fn the_audit_log_reads_newest_first_a_page_back_at_a_time_and_filtered() {
    let w = world(|_| {}).await;
    let (_reg, _rx, _guard) = agent(&w.m, "a").await;
    let (a, _) = w.m.submit(echo()).await.unwrap();
    let (b, _) = w.m.submit(echo()).await.unwrap();
    w.m.cancel(&b.id, "stop it").await.unwrap();
    w.m.set_paused(false, "test").await.unwrap(); // a later write: the ones before are committed
    let all = w.m.list_audit(&AuditQuery::all(1_000)).await.unwrap();
    let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
    assert!(ids.len() >= 4, "{ids:?}");

    // Newest first, two at a time, each page before the last one's oldest: the log backwards.
    let mut pages = Vec::new();
    let mut before = 0;
    loop {
        let q = AuditQuery {
            before,
            newest_first: true,
            ..AuditQuery::all(2)
        };
        let page = w.m.list_audit(&q).await.unwrap();
        let Some(last) = page.last() else { break };
        before = last.id;
        pages.extend(page.iter().map(|e| e.id));
    }
    let mut backwards = ids.clone();
    backwards.reverse();
    assert_eq!(pages, backwards);

    // An action is matched by its start, literally ("%" is no wildcard); an actor exactly.
    let by_action = |action: &str| AuditQuery {
        action: Some(action.to_string()),
        ..AuditQuery::all(1_000)
    };
    let submitted = w.m.list_audit(&by_action("task.sub")).await.unwrap();
    let tasks: Vec<&str> = submitted
        .iter()
        .filter_map(|e| e.task_id.as_deref())
        .collect();
    assert_eq!(tasks, [a.id.as_str(), b.id.as_str()]);
    assert!(submitted.iter().all(|e| e.action == "task.submitted"));
    assert!(w
        .m
        .list_audit(&by_action("task.%"))
        .await
        .unwrap()
        .is_empty());
    let actor = submitted[0].actor.clone();
    let q = AuditQuery {
        actor: Some(actor.clone()),
        ..AuditQuery::all(1_000)
    };
    let theirs = w.m.list_audit(&q).await.unwrap();
    assert!(!theirs.is_empty() && theirs.iter().all(|e| e.actor == actor));
    let q = AuditQuery {
        actor: Some(format!("{actor}x")),
        ..AuditQuery::all(1_000)
    };
    assert!(w.m.list_audit(&q).await.unwrap().is_empty());
}

#[tokio::test]
async fn refused_tokens_are_audited_within_a_budget_a_minute_with_their_ids_clipped() {
    let w = world(|c| c.store.audit_refusals_per_minute = 2).await;
    let (id, _start, _rx, _guard) = running(&w, echo()).await;
    let long = "t".repeat(1 << 20);
    for _ in 0..5 {
        assert!(w.m.finish(&long, "forged", succeeded()).await.is_err());
    }
    // The next minute: the three past the budget are said in one entry.
    w.clock.advance(Duration::from_secs(61));
    assert!(w.m.finish(&id, "forged", succeeded()).await.is_err());
    w.m.set_paused(false, "test").await.unwrap();
    let audit = w.m.list_audit(&AuditQuery::all(1_000)).await.unwrap();
    let refused: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "token.refused")
        .collect();
    assert_eq!(refused.len(), 3, "two in the first minute, one in the next");
    assert!(refused
        .iter()
        .all(|e| e.task_id.as_deref().is_some_and(|t| t.len() <= 64)));
    let said: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "audit.suppressed")
        .collect();
    assert_eq!(said.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&said[0].detail).unwrap();
    assert_eq!(detail["action"], "token.refused");
    assert_eq!(detail["count"], 3);
}

#[tokio::test]
async fn a_result_or_a_refusal_too_large_to_keep_is_kept_cut_and_says_so() {
    let w = world(|c| {
        c.agents.max_result_bytes = 100;
        c.agents.max_text_bytes = 50;
    })
    .await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    // A refusal with a reason of a megabyte: its attempt keeps the first bytes.
    let (t, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    w.m.answer(&t.id, &start.capability_token, false, &"r".repeat(1 << 20))
        .await
        .unwrap();
    let after = w.m.get_task(&t.id).await.unwrap();
    assert!(
        after.attempts[0].error.len() < 200,
        "{}",
        after.attempts[0].error
    );
    // A result past agents.max_result_bytes: its output replaced by a note, its artifacts that
    // do not fit left out, and the task ends as the agent said.
    let w = world(|c| {
        c.agents.max_result_bytes = 100;
        c.agents.max_text_bytes = 50;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let art = |n: &str| crate::model::Artifact {
        name: n.into(),
        kind: "file".into(),
        location: "/x".into(),
        description: "d".repeat(30),
    };
    let big = TaskResult {
        output_json: format!("{{\"a\": \"{}\"}}", "x".repeat(500)),
        artifacts: vec![art("one"), art("two")],
        ..succeeded()
    };
    let end = w.m.finish(&id, &start.capability_token, big).await.unwrap();
    assert_eq!(end, TaskState::Completed);
    let kept = w.m.get_task(&id).await.unwrap().result.unwrap();
    let output: serde_json::Value = serde_json::from_str(&kept.output_json).unwrap();
    assert!(output["cut"]
        .as_str()
        .unwrap()
        .contains("agents.max_result_bytes"));
    assert!(kept.artifacts.is_empty(), "{:?}", kept.artifacts);
    assert!(kept.summary.len() <= 50, "{}", kept.summary);
}

#[tokio::test]
async fn pages_of_tasks_and_of_log_lines_fit_one_message_and_lose_nothing() {
    // Half of a 64 KiB message holds a few of these tasks and lines, not a whole page.
    let w = world(|c| c.server.max_message_bytes = 64 * 1024).await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let (t, _) = w.m.submit(echo()).await.unwrap();
        let start = started(&mut rx).await;
        let out = TaskResult {
            output_json: format!("{{\"a\": \"{}\"}}", "x".repeat(10_000)),
            ..succeeded()
        };
        w.m.push_logs(
            &t.id,
            &start.capability_token,
            (1..=6).map(|s| line(s, &"l".repeat(9_000))).collect(),
        )
        .await
        .unwrap();
        w.m.finish(&t.id, &start.capability_token, out)
            .await
            .unwrap();
        dispatch(&w).await;
        ids.push(t.id);
    }
    let mut seen = Vec::new();
    let mut q = TaskQuery::default();
    let mut pages = 0;
    loop {
        let (tasks, next) = w.m.list_tasks(q.clone()).await.unwrap();
        assert!(tasks.len() < 6, "cut short of the whole page");
        pages += 1;
        seen.extend(tasks.into_iter().map(|t| t.id));
        match next {
            Some(n) => q.before_id = Some(n),
            None => break,
        }
    }
    assert!(pages > 1);
    ids.reverse(); // newest first
    assert_eq!(seen, ids);
    // The log of one: in pages, each line once, the last page says it is complete.
    let (mut after, mut got) = (0, 0);
    loop {
        let (lines, complete) = w.m.get_logs(&ids[0], after, 0).await.unwrap();
        assert!(lines.len() < 6 || complete);
        for l in &lines {
            assert_eq!(l.seq, after + 1);
            after = l.seq;
            got += 1;
        }
        if complete {
            break;
        }
    }
    assert!(got >= 6, "{got}");
}

#[tokio::test]
async fn a_page_of_the_audit_log_fits_one_message_and_says_more_follow() {
    let w = world(|c| c.server.max_message_bytes = 64 * 1024).await;
    for n in 0..20 {
        w.m.audit(
            "test",
            "test.big",
            None,
            serde_json::json!({ "n": n, "text": "t".repeat(8_000) }),
        );
    }
    w.m.set_paused(false, "test").await.unwrap(); // commits after the entries above
    let mut q = AuditQuery {
        action: Some("test.big".into()),
        ..AuditQuery::all(1_000)
    };
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        let (entries, more) = w.m.audit_page(&q).await.unwrap();
        assert!(entries.len() < 20, "cut short of the whole page");
        pages += 1;
        q.after = entries.last().map_or(q.after, |e| e.id);
        seen.extend(entries.into_iter().map(|e| e.id));
        if !more {
            break;
        }
    }
    assert!(pages > 1);
    assert_eq!(seen.len(), 20, "each once");
    assert!(seen.windows(2).all(|p| p[0] < p[1]));
}
