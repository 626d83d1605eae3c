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
