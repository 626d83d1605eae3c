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
