//! Lost attempts: timeouts, backoff, retries on another agent, dead letters, and restarts.
use super::*;

#[tokio::test]
async fn an_agent_that_never_answers_loses_each_attempt_then_the_task_is_dead_lettered() {
    let w = world(|c| {
        c.agents.answer_timeout = Duration::from_secs(2);
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (_reg, mut rx, _guard) = agent(&w.m, "a").await;
    let (task, _) =
        w.m.submit(Submission {
            max_attempts: 2,
            ..echo()
        })
        .await
        .unwrap();
    for attempt in 1..=2 {
        let start = started(&mut rx).await;
        assert_eq!(start.attempt, attempt);
        // No answer: past the answer timeout the attempt is lost.
        w.clock.advance(Duration::from_secs(3));
        tick(&w).await;
        // Past the longest backoff, the retry is dispatched.
        w.clock.advance(w.m.config().tasks.retry_backoff_max);
        dispatch(&w).await;
    }
    let t = w.m.get_task(&task.id).await.unwrap();
    assert_eq!(t.state, TaskState::DeadLettered);
    assert_eq!(t.attempts.len(), 2);
    assert!(
        t.attempts.iter().all(|a| !a.error.is_empty()),
        "{:?}",
        t.attempts
    );
    assert!(
        t.status_reason.starts_with("gave up after 2 attempts"),
        "{}",
        t.status_reason
    );
}

#[tokio::test]
async fn a_rejected_start_goes_to_another_agent() {
    let w = world(|_| {}).await;
    let (_a, mut rx_a, _guard_a) = agent(&w.m, "a").await;
    let (task, _) = w.m.submit(echo()).await.unwrap();
    let first = started(&mut rx_a).await;
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.m.answer(&task.id, &first.capability_token, false, "too busy")
        .await
        .unwrap();
    w.clock.advance(w.m.config().tasks.retry_backoff_max);
    dispatch(&w).await;
    let second = started(&mut rx_b).await;
    assert_eq!(second.attempt, 2);
    first_error_says(&w, &task.id, "too busy").await;
}

#[tokio::test]
async fn a_task_past_its_deadline_loses_its_attempt() {
    // Heartbeats are not what this is about: the agent stays online however far the clock goes.
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, _start, mut rx, _guard) = running(
        &w,
        Submission {
            timeout_secs: 10,
            max_attempts: 1,
            ..echo()
        },
    )
    .await;
    w.clock.advance(Duration::from_secs(9));
    tick(&w).await;
    assert_eq!(w.m.get_task(&id).await.unwrap().state, TaskState::Running);
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    // The agent is told to stop it, and it ends with its one attempt spent.
    assert_eq!(stopped(&mut rx).await, id);
    first_error_says(&w, &id, "time").await;
}

#[tokio::test]
async fn after_a_restart_a_running_task_follows_the_restart_policy() {
    for (policy, want) in [
        (RestartPolicy::Requeue, TaskState::Queued),
        (RestartPolicy::Fail, TaskState::Failed),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tune = |c: &mut Config| c.tasks.on_manager_restart = policy;
        let first = world_at(dir.path(), tune).await;
        let (id, _start, _rx, _guard) = running(&first, echo()).await;
        first.m.begin_stop();
        first.m.shutdown().await;
        first.m.inner.store.close().await;
        let again = world_at(dir.path(), tune).await;
        let t = again.m.get_task(&id).await.unwrap();
        assert_eq!(t.state, want, "{policy:?}: {}", t.status_reason);
    }
}

#[tokio::test]
async fn an_acknowledged_submit_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = world_at(dir.path(), |_| {}).await;
    let (_a, _rx, _guard) = agent(&first.m, "a").await;
    first.m.set_paused(true, "person").await.unwrap();
    let (task, _) = first
        .m
        .submit(Submission {
            idempotency_key: Some("keep".into()),
            ..echo()
        })
        .await
        .unwrap();
    first.m.shutdown().await;
    first.m.inner.store.close().await;
    let again = world_at(dir.path(), |_| {}).await;
    let t = again.m.get_task(&task.id).await.unwrap();
    assert_eq!(
        (t.state, t.idempotency_key.as_deref()),
        (TaskState::Queued, Some("keep"))
    );
    // The key still leads to it.
    let (same, created) = again
        .m
        .submit(Submission {
            idempotency_key: Some("keep".into()),
            ..echo()
        })
        .await
        .unwrap();
    assert_eq!((same.id, created), (task.id, false));
}

#[tokio::test]
async fn a_lost_attempt_waits_out_its_backoff_goes_to_an_untried_agent_and_is_dead_lettered_with_every_error(
) {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(5);
        c.tasks.retry_backoff_base = Duration::from_secs(20);
        c.tasks.retry_backoff_max = Duration::from_secs(60);
    })
    .await;
    let (_a, mut rx, _guard) = agent(&w.m, "a").await;
    // One success, so that after its one loss `a` stands as well as a newcomer.
    let (done, _) = w.m.submit(echo()).await.unwrap();
    let start = started(&mut rx).await;
    w.m.finish(&done.id, &start.capability_token, succeeded())
        .await
        .unwrap();
    let (t, _) =
        w.m.submit(Submission {
            max_attempts: 2,
            ..echo()
        })
        .await
        .unwrap();
    let id = t.id;
    let first = started(&mut rx).await;
    w.m.answer(&id, &first.capability_token, true, "")
        .await
        .unwrap();
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::Queued);
    assert_eq!(t.not_before_us, Some(w.clock.now_us() + 20_000_000));
    assert!(
        t.status_reason
            .starts_with("attempt 1 of 2 failed (agent `a` went offline: no heartbeat for 5s)"),
        "{}",
        t.status_reason
    );

    // `a` is back and `b` joins: two free agents, equal in load and reputation (one success,
    // one failure against none), and `a` comes first by name.
    let (a, mut rx_a, _guard_a) = agent(&w.m, "a").await;
    let (b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.clock.advance(Duration::from_secs(19));
    beat(&w, &[&a, &b]);
    dispatch(&w).await;
    assert_eq!(task(&w, &id).await.state, TaskState::Queued);
    assert!(rx_a.try_recv().is_err() && rx_b.try_recv().is_err());
    w.clock.advance(Duration::from_secs(1));
    beat(&w, &[&a, &b]);
    dispatch(&w).await;
    // The retry goes to the agent that has not tried it.
    let second = start_sent(&mut rx_b);
    assert_eq!((second.task_id.as_str(), second.attempt), (id.as_str(), 2));
    assert!(rx_a.try_recv().is_err());
    w.m.answer(&id, &second.capability_token, true, "")
        .await
        .unwrap();

    // `b` falls silent too: no attempt is left.
    w.clock.advance(Duration::from_secs(6));
    beat(&w, &[&a]);
    tick(&w).await;
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::DeadLettered);
    let tried: Vec<(&str, &str)> = t
        .attempts
        .iter()
        .map(|x| (x.agent_id.as_str(), x.error.as_str()))
        .collect();
    assert_eq!(
        tried,
        vec![
            ("a", "agent `a` went offline: no heartbeat for 5s"),
            ("b", "agent `b` went offline: no heartbeat for 5s"),
        ]
    );
    for x in &t.attempts {
        let said = format!("{}) on `{}`: {}", x.number, x.agent_id, x.error);
        assert!(t.status_reason.contains(&said), "{}", t.status_reason);
    }
    // A dead letter is not sent to anyone.
    dispatch(&w).await;
    assert!(rx_a.try_recv().is_err());
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_and_the_last_one_dead_letters_the_task() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.tasks.retry_backoff_base = Duration::from_secs(1);
        c.tasks.retry_backoff_max = Duration::from_secs(1);
    })
    .await;
    let (id, first, mut rx, _guard) = running(
        &w,
        Submission {
            timeout_secs: 10,
            max_attempts: 2,
            ..echo()
        },
    )
    .await;
    w.clock.advance(Duration::from_secs(11));
    tick(&w).await;
    assert_eq!(stopped(&mut rx).await, id);
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::Queued);
    assert_eq!(t.attempts[0].error, "timed out after 10s on agent `a`");
    // The late result of the timed-out attempt changes nothing.
    assert!(matches!(
        w.m.finish(&id, &first.capability_token, succeeded()).await,
        Err(Error::FailedPrecondition(_))
    ));

    w.clock.advance(Duration::from_secs(1));
    dispatch(&w).await;
    let second = start_sent(&mut rx);
    assert_eq!(second.attempt, 2);
    // The time allowed counts from the acceptance, not from the assignment.
    w.clock.advance(Duration::from_secs(5));
    w.m.answer(&id, &second.capability_token, true, "")
        .await
        .unwrap();
    w.clock.advance(Duration::from_secs(9));
    tick(&w).await;
    assert_eq!(task(&w, &id).await.state, TaskState::Running);
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    assert_eq!(stopped(&mut rx).await, id);
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::DeadLettered);
    assert!(
        t.attempts
            .iter()
            .all(|x| x.error == "timed out after 10s on agent `a`"),
        "{:?}",
        t.attempts
    );
}

#[tokio::test]
async fn after_a_restart_a_task_on_its_last_attempt_is_dead_lettered_and_its_token_is_dead() {
    let dir = tempfile::tempdir().unwrap();
    let first = world_at(dir.path(), |_| {}).await;
    let (id, start, _rx, _guard) = running(
        &first,
        Submission {
            max_attempts: 1,
            ..echo()
        },
    )
    .await;
    // Queued behind it (the agent has one slot): a restart leaves it as it is.
    let (waiting, _) = first.m.submit(echo()).await.unwrap();
    first.m.begin_stop();
    first.m.shutdown().await;
    first.m.inner.store.close().await;

    let again = world_at(dir.path(), |_| {}).await;
    let t = task(&again, &id).await;
    assert_eq!(t.state, TaskState::DeadLettered, "{}", t.status_reason);
    assert_eq!(t.attempts.len(), 1);
    assert_eq!(t.attempts[0].error, "the manager restarted while it ran");
    assert!(
        t.status_reason.starts_with("gave up after 1 attempts"),
        "{}",
        t.status_reason
    );
    let w = task(&again, &waiting.id).await;
    assert_eq!((w.state, w.attempts.len()), (TaskState::Queued, 0));
    // Tokens die with the manager that issued them.
    assert!(matches!(
        again
            .m
            .finish(&id, &start.capability_token, succeeded())
            .await,
        Err(Error::Unauthenticated(_))
    ));
}
