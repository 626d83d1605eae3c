//! Drift: a running task silent too long, or logging the same line over and over, is said on the
//! feed and in the audit log, and cancelled when `drift.on_drift` says so.
use super::*;
use crate::config::OnDrift;

/// Agents that stay online while the clock moves minutes without their beats (the scenarios
/// here are about tasks, not agents).
fn awake(c: &mut Config) {
    c.agents.heartbeat_timeout = Duration::from_secs(24 * 3600);
}

#[tokio::test]
async fn a_silent_task_is_flagged_once_per_silence_and_keeps_running_when_warned() {
    let w = world(|c| {
        c.drift.silent_after = Duration::from_secs(60);
        awake(c);
    })
    .await;
    let mut feed = w.m.feed().subscribe(Some(0), EventFilter::default());
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    w.clock.advance(Duration::from_secs(59));
    tick(&w).await;
    assert!(drift_entries(&w, &id).await.is_empty(), "59 s is not 60");
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    let found = drift_entries(&w, &id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["drift"], "silent");
    assert_eq!(found[0]["action"], "warned");
    assert!(
        found[0]["evidence"].as_str().unwrap().contains("1m 1s"),
        "{found:?}"
    );
    // On the feed too, for the task's page.
    let drift = loop {
        let ev = feed.recv().await.expect("open").expect("an event");
        if let EventBody::TaskDrift {
            task_id,
            drift,
            action,
            ..
        } = &ev.body
        {
            break (task_id.clone(), drift.clone(), action.clone());
        }
    };
    assert_eq!(drift, (id.clone(), "silent".into(), "warned".into()));
    assert_eq!(task(&w, &id).await.state, TaskState::Running);
    // Said once per silence: more ticks say nothing more; a log line starts a new silence.
    w.clock.advance(Duration::from_secs(30));
    tick(&w).await;
    assert_eq!(drift_entries(&w, &id).await.len(), 1);
    w.m.push_logs(&id, &start.capability_token, vec![line(1, "still here")])
        .await
        .unwrap();
    w.clock.advance(Duration::from_secs(59));
    tick(&w).await;
    assert_eq!(drift_entries(&w, &id).await.len(), 1);
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    assert_eq!(drift_entries(&w, &id).await.len(), 2);
}

#[tokio::test]
async fn progress_is_activity_and_waiting_for_the_person_is_not_silence() {
    let w = world(|c| {
        c.drift.silent_after = Duration::from_secs(60);
        c.consent.timeout = Duration::from_secs(3600);
        awake(c);
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = start.capability_token.clone();
    w.clock.advance(Duration::from_secs(50));
    w.m.report_progress(
        &id,
        &token,
        Progress {
            fraction: 0.5,
            step: "half".into(),
        },
    )
    .await
    .unwrap();
    w.clock.advance(Duration::from_secs(50));
    tick(&w).await;
    assert!(drift_entries(&w, &id).await.is_empty(), "progress 50 s ago");
    // Waiting for a consent answer, however long, is the person's time, not the task's.
    let asked = ask(&w, &id, &token, "/etc/hostname");
    let c = pending_consent(&w).await;
    assert_eq!(task(&w, &id).await.state, TaskState::AwaitingConsent);
    for _ in 0..5 {
        w.clock.advance(Duration::from_secs(60));
        tick(&w).await;
    }
    assert!(drift_entries(&w, &id).await.is_empty(), "awaiting consent");
    w.m.answer_consent(&c.id, None, "client").await.unwrap();
    asked.await.unwrap().unwrap();
    w.clock.advance(Duration::from_secs(61));
    tick(&w).await;
    assert_eq!(
        drift_entries(&w, &id).await.len(),
        1,
        "running again, then silent"
    );
}

#[tokio::test]
async fn the_same_line_over_and_over_is_flagged_and_cancelled_when_so_configured() {
    let w = world(|c| {
        c.drift.repeat_lines = 3;
        c.drift.on_drift = OnDrift::Cancel;
    })
    .await;
    let (id, start, mut rx, _guard) = running(&w, echo()).await;
    let token = start.capability_token.clone();
    let same = "retrying: connection refused";
    w.m.push_logs(&id, &token, vec![line(1, same), line(2, same)])
        .await
        .unwrap();
    // A resent batch is no new repetition.
    w.m.push_logs(&id, &token, vec![line(1, same), line(2, same)])
        .await
        .unwrap();
    assert!(drift_entries(&w, &id).await.is_empty());
    w.m.push_logs(&id, &token, vec![line(3, same)])
        .await
        .unwrap();
    let found = drift_entries(&w, &id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["drift"], "repeating");
    assert_eq!(found[0]["action"], "cancelled");
    assert!(found[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("3 times in a row"));
    // Cancelled as a client's cancel is: the agent is told to stop it.
    assert_eq!(stopped(&mut rx).await, id);
    let t = task(&w, &id).await;
    assert!(t.cancel_requested);
    assert!(
        t.status_reason.contains("seemed stuck"),
        "{}",
        t.status_reason
    );
    // In the manager's name, not the person's (it was recorded as the person's).
    let ended =
        w.m.finish(
            &id,
            &token,
            TaskResult {
                status: ResultStatus::Canceled,
                ..succeeded()
            },
        )
        .await
        .unwrap();
    assert_eq!(ended, TaskState::Canceled);
    let audit = w.m.list_audit(&AuditQuery::task(&id, 1_000)).await.unwrap();
    let mut by: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.action.starts_with("task.cancel"))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    by.sort_unstable();
    assert_eq!(
        by,
        [
            ("task.cancel_requested", "manager"),
            ("task.canceled", "manager"),
        ]
    );
}

#[tokio::test]
async fn a_task_drifting_in_a_loop_is_said_a_bounded_number_of_times() {
    let w = world(|c| {
        c.drift.repeat_lines = 3;
        c.drift.max_flags_per_task = 4;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = start.capability_token.clone();
    // Two lines taking turns, three at a time: each run is a repetition.
    let mut seq = 0;
    for n in 0..20 {
        let text = if n % 2 == 0 { "a" } else { "b" };
        let batch = (0..3)
            .map(|_| {
                seq += 1;
                line(seq, text)
            })
            .collect();
        w.m.push_logs(&id, &token, batch).await.unwrap();
    }
    assert_eq!(drift_entries(&w, &id).await.len(), 4);

    // Past the task's log cap its lines are no evidence: nothing of them is stored.
    let w = world(|c| {
        c.drift.repeat_lines = 3;
        c.agents.max_log_bytes_per_task = 5;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = start.capability_token.clone();
    let lines = (1..=6).map(|s| line(s, "same")).collect();
    w.m.push_logs(&id, &token, lines).await.unwrap();
    assert!(drift_entries(&w, &id).await.is_empty());
}
