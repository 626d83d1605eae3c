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
