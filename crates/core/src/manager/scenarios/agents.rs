//! Agents: sessions, going offline, coming back, and what happens to the tasks they held.
use super::*;

#[tokio::test]
async fn a_silent_agent_goes_offline_when_the_clock_passes_its_timeout_and_its_task_is_queued_again(
) {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(5)).await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let (task, _) = w.m.submit(echo()).await.expect("submit");
    let start = started(&mut rx).await;
    w.m.answer(&task.id, &start.capability_token, true, "")
        .await
        .expect("accept");

    // Just under the timeout: nothing happens.
    w.clock.advance(Duration::from_millis(4_900));
    if let Some(p) = w.m.tick() {
        p.wait().await.unwrap();
    }
    assert!(w.m.list_agents()[0].online);
    assert_eq!(
        w.m.get_task(&task.id).await.unwrap().state,
        TaskState::Running
    );

    // Past it: offline, and the attempt is lost with the reason.
    w.clock.advance(Duration::from_millis(200));
    if let Some(p) = w.m.tick() {
        p.wait().await.unwrap();
    }
    let a = &w.m.list_agents()[0];
    assert!(!a.online);
    assert!(
        a.status_reason.contains("no heartbeat"),
        "{}",
        a.status_reason
    );
    let t = w.m.get_task(&task.id).await.unwrap();
    assert_eq!(t.state, TaskState::Queued);
    assert!(
        t.attempts[0].error.contains("went offline"),
        "{}",
        t.attempts[0].error
    );
    // Its old token is dead with the attempt.
    assert!(w
        .m
        .finish(&task.id, &start.capability_token, succeeded())
        .await
        .is_err());
}

#[tokio::test]
async fn an_agent_back_after_its_task_was_given_to_another_is_told_to_stop_it() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(5)).await;
    let (id, _start, _rx, _guard) = running(&w, echo()).await;
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.clock.advance(w.m.config().tasks.retry_backoff_max);
    dispatch(&w).await;
    let again = started(&mut rx_b).await;
    assert_eq!((again.task_id.as_str(), again.attempt), (id.as_str(), 2));
    // `a` comes back still running the task's first attempt.
    let back =
        w.m.register(Registration {
            running_task_ids: vec![id.clone()],
            ..registration("a")
        })
        .await
        .unwrap();
    assert_eq!(back.stop_task_ids, vec![id]);
}

#[tokio::test]
async fn a_closed_work_stream_takes_the_agent_offline_and_queues_its_task_again() {
    let w = world(|_| {}).await;
    let (id, _start, _rx, guard) = running(&w, echo()).await;
    drop(guard);
    loop {
        let t = w.m.get_task(&id).await.unwrap();
        if t.state == TaskState::Queued {
            assert!(
                t.attempts[0].error.contains("connection closed"),
                "{}",
                t.attempts[0].error
            );
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(!w.m.list_agents()[0].online);
}

#[tokio::test]
async fn a_task_whose_agents_are_all_offline_waits_and_says_why() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(5)).await;
    let (_a, _rx, _guard) = agent(&w.m, "a").await;
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    let types = w.m.list_task_types();
    assert!(!types[0].available);
    let (task, _) = w.m.submit(echo()).await.unwrap();
    dispatch(&w).await;
    let t = w.m.get_task(&task.id).await.unwrap();
    assert_eq!(t.state, TaskState::Queued);
    assert!(
        t.status_reason.contains("waiting for an online agent"),
        "{}",
        t.status_reason
    );
}

#[tokio::test]
async fn an_agent_whose_task_moved_on_is_refused_on_every_call_about_it_and_told_to_stop_it() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(5);
        c.tasks.retry_backoff_base = Duration::from_secs(1);
        c.tasks.retry_backoff_max = Duration::from_secs(1);
    })
    .await;
    let (id, old, _rx, _guard) = running(&w, echo()).await;
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.clock.advance(Duration::from_secs(1));
    dispatch(&w).await;
    let now_b = start_sent(&mut rx_b);
    w.m.answer(&id, &now_b.capability_token, true, "")
        .await
        .unwrap();

    // `a` comes back with a new session; its process still runs attempt 1 and says so.
    let (a, _rx_a, _guard_a) = agent(&w.m, "a").await;
    assert_eq!(
        w.m.heartbeat(&a.session_token, 0.5, std::slice::from_ref(&id))
            .unwrap(),
        vec![id.clone()]
    );
    // Whatever it reports for the old attempt is refused, and says to stop.
    let stale = "is no longer assigned to agent `a` (attempt 1); stop working on it";
    let token = &old.capability_token;
    let refusals = [
        w.m.finish(&id, token, succeeded()).await.map(|_| ()),
        w.m.answer(&id, token, true, "").await,
        w.m.report_progress(
            &id,
            token,
            Progress {
                fraction: 0.9,
                step: "late".into(),
            },
        )
        .await,
        w.m.request_consent(&id, token, "read", "/srv", "late")
            .await
            .map(|_| ()),
    ];
    for r in refusals {
        match r {
            Err(Error::FailedPrecondition(e)) => assert!(e.contains(stale), "{e}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // None of it touched the attempt that runs on `b`.
    let t = task(&w, &id).await;
    assert_eq!(
        (t.state, t.agent_id.as_deref(), t.attempts.len()),
        (TaskState::Running, Some("b"), 2)
    );
    assert_eq!(t.progress, None);
    assert!(w.m.list_consents().is_empty());
    assert_eq!(
        w.m.finish(&id, &now_b.capability_token, succeeded())
            .await
            .unwrap(),
        TaskState::Completed
    );
    // Ended: still told to stop it.
    assert_eq!(
        w.m.heartbeat(&a.session_token, 0.5, std::slice::from_ref(&id))
            .unwrap(),
        vec![id]
    );
}

#[tokio::test]
async fn no_agent_is_given_a_task_while_an_agent_still_stops_an_old_run_of_it() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(5);
        c.tasks.retry_backoff_base = Duration::from_secs(1);
        c.tasks.retry_backoff_max = Duration::from_secs(1);
    })
    .await;
    let (id, _old, _rx, _guard) = running(&w, echo()).await;
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    // `a` reconnects still running attempt 1: told to stop it.
    let back =
        w.m.register(Registration {
            running_task_ids: vec![id.clone()],
            ..registration("a")
        })
        .await
        .unwrap();
    assert_eq!(back.stop_task_ids, vec![id.clone()]);
    let (mut rx, _guard_a) = w.m.open_work(&back.session_token).unwrap();
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    // The backoff has passed and `a` and `b` are free: still, no agent gets it while `a` stops
    // the old run (two runs would share its folder).
    w.clock.advance(Duration::from_secs(1));
    dispatch(&w).await;
    assert!(rx.try_recv().is_err(), "sent to an agent still stopping it");
    assert!(
        rx_b.try_recv().is_err(),
        "sent while an earlier run still goes"
    );
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::Queued);
    assert!(
        t.status_reason
            .contains("waiting for agent `a` to stop an earlier run"),
        "{}",
        t.status_reason
    );
    // Its next heartbeat no longer reports it: now it may run again (where it has not run yet).
    assert!(w
        .m
        .heartbeat(&back.session_token, 0.0, &[])
        .unwrap()
        .is_empty());
    dispatch(&w).await;
    let again = start_sent(&mut rx_b);
    assert_eq!((again.task_id.as_str(), again.attempt), (id.as_str(), 2));
}

#[tokio::test]
async fn a_task_pinned_to_an_unknown_agent_is_refused_and_one_pinned_to_an_offline_agent_waits_for_it(
) {
    let w = world(|_| {}).await;
    // `a` was here once and is gone now.
    let (_a, _rx_a, guard_a) = agent(&w.m, "a").await;
    drop(guard_a);
    assert!(!w.m.list_agents()[0].online);
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;

    let ghost = Submission {
        pin_agent: Some("ghost".into()),
        ..echo()
    };
    match w.m.submit(ghost).await {
        Err(Error::AgentNotFound(name)) => assert_eq!(name, "ghost"),
        other => panic!("expected AgentNotFound, got {other:?}"),
    }
    w.m.register(Registration {
        capabilities: vec![TaskType {
            name: "other.thing".into(),
            description: "something else".into(),
            payload_schema_json: ECHO.into(),
            examples: Vec::new(),
            folder: Default::default(),
        }],
        ..registration("c")
    })
    .await
    .unwrap();
    let wrong_type = Submission {
        pin_agent: Some("c".into()),
        ..echo()
    };
    match w.m.submit(wrong_type).await {
        Err(Error::InvalidInput(e)) => assert!(
            e.contains("pinned agent `c` does not offer task type `echo.echo`"),
            "{e}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Pinned to `a`, offline: accepted, and it waits for `a` although `b` is free.
    let (pinned, created) =
        w.m.submit(Submission {
            pin_agent: Some("a".into()),
            ..echo()
        })
        .await
        .unwrap();
    assert!(created);
    dispatch(&w).await;
    assert!(rx_b.try_recv().is_err(), "a pinned task went elsewhere");
    let t = task(&w, &pinned.id).await;
    assert_eq!(t.state, TaskState::Queued);
    assert!(
        t.status_reason
            .contains("waiting for pinned agent `a` to be online"),
        "{}",
        t.status_reason
    );
    let (_a, mut rx_a, _guard_a) = agent(&w.m, "a").await;
    dispatch(&w).await;
    assert_eq!(start_sent(&mut rx_a).task_id, pinned.id);
}

#[tokio::test]
async fn a_replaced_session_is_refused_and_told_to_register_again() {
    let w = world(|_| {}).await;
    let (first, mut rx_first, guard_first) = agent(&w.m, "a").await;
    let (_second, mut rx, _guard) = agent(&w.m, "a").await;
    for refused in [
        w.m.heartbeat(&first.session_token, 0.0, &[]).map(|_| ()),
        w.m.open_work(&first.session_token).map(|_| ()),
    ] {
        match refused {
            Err(Error::FailedPrecondition(e)) => assert!(e.contains("register again"), "{e}"),
            other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
        }
    }
    assert!(matches!(
        w.m.heartbeat("", 0.0, &[]),
        Err(Error::Unauthenticated(_))
    ));
    // The old command stream is closed, and its going away leaves the new session online.
    assert!(matches!(
        rx_first.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    ));
    drop(guard_first);
    assert!(w.m.list_agents()[0].online);
    let (t, _) = w.m.submit(echo()).await.unwrap();
    assert_eq!(started(&mut rx).await.task_id, t.id);
}

#[tokio::test]
async fn an_agent_that_reconnects_reporting_its_task_keeps_it_and_its_token() {
    let w = world(|_| {}).await;
    let (id, start, _rx, old_guard) = running(&w, echo()).await;
    let again =
        w.m.register(Registration {
            running_task_ids: vec![id.clone()],
            ..registration("a")
        })
        .await
        .unwrap();
    assert!(again.stop_task_ids.is_empty());
    // The old connection closes after the new registration: nothing is lost.
    drop(old_guard);
    let (_rx, _guard) = w.m.open_work(&again.session_token).unwrap();
    let t = task(&w, &id).await;
    assert_eq!((t.state, t.attempts.len()), (TaskState::Running, 1));
    assert_eq!(w.m.list_agents()[0].running_task_ids, vec![id.clone()]);
    assert_eq!(
        w.m.finish(&id, &start.capability_token, succeeded())
            .await
            .unwrap(),
        TaskState::Completed
    );
}

#[tokio::test]
async fn an_agent_that_restarts_without_its_task_loses_the_attempt_and_the_task_is_retried() {
    let w = world(|c| {
        c.tasks.retry_backoff_base = Duration::from_secs(1);
        c.tasks.retry_backoff_max = Duration::from_secs(1);
    })
    .await;
    let (id, old, _rx, _guard) = running(&w, echo()).await;
    // A new process under the same name, running nothing.
    let (again, mut rx, _guard_again) = agent(&w.m, "a").await;
    assert!(again.stop_task_ids.is_empty());
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::Queued);
    assert_eq!(t.attempts[0].error, "agent `a` restarted without it");
    assert!(matches!(
        w.m.finish(&id, &old.capability_token, succeeded()).await,
        Err(Error::FailedPrecondition(_))
    ));
    w.clock.advance(Duration::from_secs(1));
    dispatch(&w).await;
    let retry = start_sent(&mut rx);
    assert_eq!((retry.task_id.as_str(), retry.attempt), (id.as_str(), 2));
}

#[tokio::test]
async fn a_task_types_examples_are_listed_as_declared_and_bad_ones_refuse_the_registration() {
    let w = world(|_| {}).await;
    let examples = vec![
        "echo hello back to me".to_string(),
        "say 'ping' and nothing else".to_string(),
    ];
    let with_examples = |examples: Vec<String>| Registration {
        capabilities: vec![TaskType {
            name: "echo.echo".into(),
            description: "echoes".into(),
            payload_schema_json: ECHO.into(),
            examples,
            folder: Default::default(),
        }],
        ..registration("a")
    };
    w.m.register(with_examples(examples.clone())).await.unwrap();
    let listed = w.m.list_task_types();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].task_type.examples, examples);

    let too_many = vec!["echo this".to_string(); 65];
    match w.m.register(with_examples(too_many)).await {
        Err(Error::InvalidInput(why)) => {
            assert!(why.contains("65 examples"), "{why}");
            assert!(why.contains("agents.max_examples_per_type"), "{why}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    match w
        .m
        .register(with_examples(vec!["fine".into(), "  ".into()]))
        .await
    {
        Err(Error::InvalidInput(why)) => assert!(why.contains("example 2 is empty"), "{why}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let long = vec!["x".repeat(16 * 1024 + 1)];
    match w.m.register(with_examples(long)).await {
        Err(Error::InvalidInput(why)) => assert!(why.contains("agents.max_text_bytes"), "{why}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    // A refused registration changed nothing: the examples first declared are still listed.
    assert_eq!(w.m.list_task_types()[0].task_type.examples, examples);
}

#[tokio::test]
async fn what_an_agent_says_it_runs_and_declares_is_bounded() {
    let w = world(|_| {}).await;
    let (a, _rx, _guard) = agent(&w.m, "a").await;
    // More ids than an agent may run, or an id no task has: refused before the lock is taken.
    let many = vec!["x".to_string(); 1025];
    match w.m.heartbeat(&a.session_token, 0.0, &many) {
        Err(Error::InvalidInput(e)) => assert!(e.contains("at most 1024"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let long = vec!["x".repeat(65)];
    assert!(matches!(
        w.m.heartbeat(&a.session_token, 0.0, &long),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(
        w.m.heartbeat(&a.session_token, 0.0, &["gone".to_string()])
            .unwrap(),
        vec!["gone".to_string()]
    );
    // A description longer than any text an agent reports, or a schema past its bound.
    let mut reg = registration("b");
    reg.capabilities[0].description = "d".repeat(16 * 1024 + 1);
    match w.m.register(reg).await {
        Err(Error::InvalidInput(e)) => assert!(e.contains("its description"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let w = world(|c| c.agents.max_schema_bytes = 8).await;
    match w.m.register(registration("c")).await {
        Err(Error::InvalidInput(e)) => assert!(e.contains("its payload schema"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn after_a_restart_a_task_waits_for_the_agent_of_its_interrupted_run_to_come_back_or_be_gone()
{
    let dir = tempfile::tempdir().unwrap();
    let tune = |c: &mut Config| {
        c.agents.heartbeat_timeout = Duration::from_secs(10);
        c.tasks.retry_backoff_base = Duration::from_secs(1);
        c.tasks.retry_backoff_max = Duration::from_secs(1);
    };
    let id;
    {
        let w = world_at(dir.path(), tune).await;
        let (task_id, _a, _rx, _guard) = running(&w, echo()).await;
        id = task_id;
        w.m.begin_stop();
        w.m.shutdown().await;
        w.m.inner.store.close().await;
    }
    // `a` (not started by the manager) may still run it; `b` is here first.
    let w = world_at(dir.path(), tune).await;
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.clock.advance(Duration::from_secs(2));
    dispatch(&w).await;
    assert!(rx_b.try_recv().is_err(), "sent while `a` may still run it");
    let t = task(&w, &id).await;
    assert!(t.status_reason.contains("agent `a`"), "{}", t.status_reason);
    // `a` never comes back: past agents.heartbeat_timeout it is taken for gone.
    w.clock.advance(Duration::from_secs(10));
    dispatch(&w).await;
    let again = start_sent(&mut rx_b);
    assert_eq!((again.task_id.as_str(), again.attempt), (id.as_str(), 2));
}
