//! Task log lines: stored once, in order, numbered per attempt and across the task.
use super::*;

#[tokio::test]
async fn a_resent_log_batch_is_stored_once_and_a_retrys_lines_are_numbered_apart() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(5)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let batch = vec![line(1, "one"), line(2, "two")];
    let token = start.capability_token.clone();
    assert_eq!(w.m.push_logs(&id, &token, batch.clone()).await.unwrap(), 2);
    assert_eq!(w.m.push_logs(&id, &token, batch).await.unwrap(), 2);
    // The agent goes silent; attempt 2 runs on `b` and numbers its lines from 1 again.
    w.clock.advance(Duration::from_secs(6));
    tick(&w).await;
    let (_b, mut rx_b, _guard_b) = agent(&w.m, "b").await;
    w.clock.advance(w.m.config().tasks.retry_backoff_max);
    dispatch(&w).await;
    let again = started(&mut rx_b).await;
    w.m.answer(&id, &again.capability_token, true, "")
        .await
        .unwrap();
    w.m.push_logs(&id, &again.capability_token, vec![line(1, "retry one")])
        .await
        .unwrap();
    let (lines, _) = w.m.get_logs(&id, 0, 100).await.unwrap();
    let seen: Vec<(u64, u32, u64, &str)> = lines
        .iter()
        .map(|l| (l.seq, l.attempt, l.attempt_seq, l.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![(1, 1, 1, "one"), (2, 1, 2, "two"), (3, 2, 1, "retry one")]
    );
    // The first attempt's token no longer writes to the task.
    assert!(w
        .m
        .push_logs(&id, &token, vec![line(3, "late")])
        .await
        .is_err());
}

#[tokio::test]
async fn past_the_per_task_cap_one_line_says_so_and_the_rest_are_counted_not_kept() {
    let w = world(|c| c.agents.max_log_bytes_per_task = 25).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    match w.m.push_logs(&id, token, vec![line(0, "zero")]).await {
        Err(Error::InvalidInput(e)) => assert!(e.contains("must start at 1"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let ten = "0123456789";
    let batch = (1..=4).map(|n| line(n, ten)).collect();
    // Acknowledged up to the last line sent, kept or not, so the agent does not resend them.
    assert_eq!(w.m.push_logs(&id, token, batch).await.unwrap(), 4);
    assert_eq!(
        w.m.push_logs(&id, token, vec![line(5, "x")]).await.unwrap(),
        5
    );
    let (lines, _) = w.m.get_logs(&id, 0, 100).await.unwrap();
    let kept: Vec<(u64, u64, LogLevel)> = lines
        .iter()
        .map(|l| (l.seq, l.attempt_seq, l.level))
        .collect();
    assert_eq!(
        kept,
        vec![
            (1, 1, LogLevel::Info),
            (2, 2, LogLevel::Info),
            (3, 3, LogLevel::Warn)
        ]
    );
    assert!(
        lines[2].message.starts_with("log limit reached"),
        "{}",
        lines[2].message
    );
    // The task goes on.
    assert_eq!(
        w.m.finish(&id, token, succeeded()).await.unwrap(),
        TaskState::Completed
    );
}

#[tokio::test]
async fn a_batch_that_overtakes_its_predecessor_waits_for_it_and_the_lines_stay_in_order() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let later = {
        let (m, id, token) = (w.m.clone(), id.clone(), start.capability_token.clone());
        tokio::spawn(async move {
            m.push_logs(&id, &token, vec![line(3, "three"), line(4, "four")])
                .await
        })
    };
    // Let it arrive first.
    tokio::task::yield_now().await;
    w.m.push_logs(
        &id,
        &start.capability_token,
        vec![line(1, "one"), line(2, "two")],
    )
    .await
    .unwrap();
    assert_eq!(later.await.unwrap().unwrap(), 4);
    let (lines, _) = w.m.get_logs(&id, 0, 100).await.unwrap();
    let seen: Vec<(u64, &str)> = lines.iter().map(|l| (l.seq, l.message.as_str())).collect();
    assert_eq!(
        seen,
        vec![(1, "one"), (2, "two"), (3, "three"), (4, "four")]
    );
}

#[tokio::test]
async fn a_line_dated_after_now_is_dated_now_so_the_sweeps_by_age_reach_it() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let late = LogLine {
        time_us: i64::MAX,
        ..line(1, "from the future")
    };
    w.m.push_logs(&id, &start.capability_token, vec![late])
        .await
        .unwrap();
    let (lines, _) = w.m.get_logs(&id, 0, 10).await.unwrap();
    assert_eq!(lines[0].time_us, w.m.now_us());
}
