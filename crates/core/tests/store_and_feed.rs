//! The store writer and the event feed against a real SQLite file: group commit, publish after
//! commit, replay from a cursor, catching up from the database after lagging the live buffer, and
//! log and message retention.
use std::collections::HashSet;
use std::time::Duration;

use hyperagent_core::feed::Feed;
use hyperagent_core::message::{Message, State as MessageState};
use hyperagent_core::model::{EventBody, LogLevel, LogLine};
use hyperagent_core::store::{EventFilter, Store, Sweep, Write, Writer};

fn log(task: &str, seq: u64, time_us: i64) -> Write {
    Write::Event {
        time_us,
        body: EventBody::TaskLog {
            task_id: task.into(),
            line: LogLine {
                seq,
                attempt: 1,
                attempt_seq: seq,
                time_us,
                level: LogLevel::Info,
                message: format!("line {seq}"),
                fields: Default::default(),
            },
        },
    }
}

async fn open(dir: &tempfile::TempDir, live_buffer: usize) -> (Store, Feed, Writer) {
    let store = Store::open(
        &dir.path().join("db.sqlite"),
        Duration::from_secs(5),
        1 << 20,
    )
    .await
    .unwrap();
    let cursors = store.cursors().await.unwrap();
    let feed = Feed::new(store.clone(), cursors.next_seq - 1, live_buffer, 100, 16);
    let (writer, _) = Writer::spawn(
        store.clone(),
        cursors,
        feed.clone(),
        10_000,
        None,
        std::time::Duration::from_secs(60),
    );
    (store, feed, writer)
}

#[tokio::test]
async fn a_subscriber_that_lags_the_live_buffer_catches_up_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    // A live buffer of 4 events, and a subscriber that does not read while 3,000 are written.
    let (_store, feed, writer) = open(&dir, 4).await;
    let mut rx = feed.subscribe(Some(0), EventFilter::default());
    for chunk in 0..30u64 {
        let writes = (1..=100).map(|i| log("t1", chunk * 100 + i, 1)).collect();
        writer.submit(writes).wait().await.unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < 3_000 {
        let ev = rx.recv().await.unwrap().unwrap();
        seqs.push(ev.seq);
    }
    assert_eq!(
        seqs,
        (1..=3_000).collect::<Vec<u64>>(),
        "no gap, no duplicate"
    );
}

#[tokio::test]
async fn events_survive_a_reopen_and_resume_from_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _feed, writer) = open(&dir, 64).await;
        writer
            .submit((1..=10).map(|i| log("t1", i, 1)).collect())
            .wait()
            .await
            .unwrap();
        writer
            .submit((1..=5).map(|i| log("t2", i, 1)).collect())
            .wait()
            .await
            .unwrap();
        writer.stop();
        store.close().await;
    }
    let (store, feed, writer) = open(&dir, 64).await;
    assert_eq!(store.max_seq().await.unwrap(), 15);
    let last = store.last_log("t1").await.unwrap();
    assert_eq!((last.task_seq, last.attempt, last.attempt_seq), (10, 1, 10));
    let only_t2 = EventFilter {
        task_id: Some("t2".into()),
        exclude_logs: false,
    };
    let mut rx = feed.subscribe(Some(12), only_t2);
    writer
        .submit(vec![log("t2", 6, 1), log("t1", 11, 1)])
        .wait()
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(rx.recv().await.unwrap().unwrap().seq);
    }
    // t2's events after seq 12 (13, 14, 15), then the live one (16); t1's (17) is filtered out.
    assert_eq!(got, vec![13, 14, 15, 16]);
    let lines = store.task_logs("t2", 3, 100).await.unwrap();
    assert_eq!(
        lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
}

#[tokio::test]
async fn retention_deletes_old_log_lines_only_and_leaves_a_note_in_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _feed, writer) = open(&dir, 64).await;
    let state = Write::Event {
        time_us: 1,
        body: EventBody::AgentStatus {
            agent_id: "a".into(),
            online: true,
            reason: "registered".into(),
        },
    };
    writer
        .submit(vec![
            log("t1", 1, 100),
            log("t1", 2, 200),
            state,
            log("t1", 3, 300),
        ])
        .wait()
        .await
        .unwrap();
    let swept = store
        .sweep_logs(Sweep::OlderThan(250), &HashSet::new(), 1_000, 2)
        .await
        .unwrap();
    assert_eq!((swept.lines, swept.tasks), (2, 1));
    let left = store
        .events_after(0, &EventFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        left.len(),
        3,
        "the old status event stays, the newest log line stays, a note replaces the two old lines"
    );
    let lines = store.task_logs("t1", 0, 100).await.unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0].seq, lines[0].attempt_seq), (1, 1));
    assert_eq!(lines[0].level, LogLevel::Warn);
    assert!(
        lines[0]
            .message
            .starts_with("log lines 1 to 2 of this task were deleted because"),
        "{}",
        lines[0].message
    );
    assert!(lines[0].message.contains("store.log_retention"));
    assert!(
        lines[0].message.contains("(2 lines, "),
        "{}",
        lines[0].message
    );
    assert_eq!(lines[1].message, "line 3");

    // Line 3 is no longer the newest event (the newest is never deleted; see below).
    let newer = Write::Event {
        time_us: 2_500,
        body: EventBody::AgentStatus {
            agent_id: "a".into(),
            online: false,
            reason: "gone".into(),
        },
    };
    writer.submit(vec![newer]).wait().await.unwrap();

    // A second sweep over the note and the next line says the whole range went.
    let swept = store
        .sweep_logs(Sweep::OlderThan(2_000), &HashSet::new(), 3_000, 2)
        .await
        .unwrap();
    assert_eq!(swept.lines, 2);
    let lines = store.task_logs("t1", 0, 100).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert!(lines[0]
        .message
        .starts_with("log lines 1 to 3 of this task were deleted"));
}

#[tokio::test]
async fn retention_never_deletes_the_newest_event_which_the_feed_numbers_on_from() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _feed, writer) = open(&dir, 64).await;
    writer
        .submit(vec![log("t1", 1, 100), log("t1", 2, 200)])
        .wait()
        .await
        .unwrap();
    let swept = store
        .sweep_logs(Sweep::OlderThan(1_000), &HashSet::new(), 1_000, 64)
        .await
        .unwrap();
    assert_eq!(swept.lines, 1, "line 1 only: line 2 is the newest event");
    assert_eq!(store.max_seq().await.unwrap(), 2);
    assert_eq!(store.cursors().await.unwrap().next_seq, 3);
    let swept = store
        .sweep_logs(Sweep::WhileOver(0), &HashSet::new(), 1_000, 64)
        .await
        .unwrap();
    assert_eq!(swept.lines, 0, "not even past the size bound");
    assert_eq!(store.max_seq().await.unwrap(), 2);
}

#[tokio::test]
async fn over_the_size_bound_the_oldest_ended_tasks_lose_their_lines_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _feed, writer) = open(&dir, 64).await;
    let big = |task: &str, seq: u64| {
        let mut w = log(task, seq, seq as i64);
        if let Write::Event {
            body: EventBody::TaskLog { line, .. },
            ..
        } = &mut w
        {
            line.message = "x".repeat(4_000);
        }
        w
    };
    // "old" (ended) wrote first, "live" (running) after: both about 800 KB.
    for task in ["old", "live"] {
        for chunk in 0..4 {
            let writes = (1..=50).map(|i| big(task, chunk * 50 + i)).collect();
            writer.submit(writes).wait().await.unwrap();
        }
    }
    let used = store.bytes_used().await.unwrap();
    assert!(used > 1_600_000, "{used}");
    let bound = used - 400_000;
    let active: HashSet<String> = ["live".to_string()].into();
    let swept = store
        .sweep_logs(Sweep::WhileOver(bound), &active, 1_000, 64)
        .await
        .unwrap();
    assert!(store.bytes_used().await.unwrap() <= bound);
    assert_eq!(swept.tasks, 1);
    assert_eq!(
        store.task_logs("live", 0, 1_000).await.unwrap().len(),
        200,
        "a running task's lines are never taken"
    );
    let old = store.task_logs("old", 0, 1_000).await.unwrap();
    assert!(old.len() < 200);
    assert!(
        old[0].message.contains("store.max_database_bytes"),
        "{}",
        old[0].message
    );
    assert!(old[0].message.starts_with("log lines 1 to "));
    assert_eq!(
        old.iter()
            .filter(|l| l.message.starts_with("log lines "))
            .count(),
        1,
        "one note, however many steps the sweep took"
    );
}

fn message(n: u32, state: MessageState, updated_us: i64, body_bytes: usize) -> Write {
    Write::Message(Box::new(Message {
        // Time-ordered like the manager's UUIDv7 ids.
        id: format!("m{n:06}"),
        from: "a".into(),
        to_agent: "b".into(),
        kind: "note".into(),
        body_json: format!("{{\"x\":\"{}\"}}", "y".repeat(body_bytes)),
        idempotency_key: Some(format!("k{n}")),
        about_task: None,
        state,
        deliveries: 1,
        redeliver_at_us: None,
        reason: String::new(),
        created_us: updated_us,
        updated_us,
    }))
}

async fn message_states(store: &Store) -> Vec<(String, MessageState)> {
    let mut all: Vec<_> = store
        .list_messages(None, None, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.state))
        .collect();
    all.sort_by(|x, y| x.0.cmp(&y.0));
    all
}

#[tokio::test]
async fn settled_messages_go_by_age_and_by_size_and_those_awaiting_delivery_never() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _feed, writer) = open(&dir, 64).await;
    writer
        .submit(vec![
            message(1, MessageState::Acked, 100, 10),
            message(2, MessageState::DeadLettered, 100, 10),
            message(3, MessageState::Pending, 100, 10),
            message(4, MessageState::Delivered, 100, 10),
            message(5, MessageState::Acked, 300, 10),
        ])
        .wait()
        .await
        .unwrap();
    let n = store
        .sweep_messages(Sweep::OlderThan(200), 2)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        message_states(&store).await,
        vec![
            ("m000003".into(), MessageState::Pending),
            ("m000004".into(), MessageState::Delivered),
            ("m000005".into(), MessageState::Acked),
        ]
    );

    // About 1.6 MB of settled messages after them, and 200 KB still awaiting delivery.
    for chunk in 0..8 {
        let writes = (0..50)
            .map(|i| {
                let n = 10 + chunk * 50 + i;
                message(n, MessageState::Acked, 1_000 + i64::from(n), 4_000)
            })
            .collect();
        writer.submit(writes).wait().await.unwrap();
    }
    let pending = (0..50)
        .map(|i| message(900 + i, MessageState::Pending, 5_000, 4_000))
        .collect();
    writer.submit(pending).wait().await.unwrap();
    let used = store.bytes_used().await.unwrap();
    assert!(used > 1_800_000, "{used}");
    let bound = used - 600_000;
    let n = store
        .sweep_messages(Sweep::WhileOver(bound), 64)
        .await
        .unwrap();
    assert!(n > 0);
    assert!(store.bytes_used().await.unwrap() <= bound);
    let left = message_states(&store).await;
    assert_eq!(
        left.iter()
            .filter(|(_, s)| *s == MessageState::Pending)
            .count(),
        51,
        "a message awaiting delivery is never taken"
    );
    // The oldest settled went first: the newest settled one is still there.
    assert!(left.iter().any(|(id, _)| id == "m000409"));
    assert!(!left.iter().any(|(id, _)| id == "m000005"));
}
