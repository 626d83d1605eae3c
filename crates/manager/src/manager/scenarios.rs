//! The manager's decisions in-process: a real SQLite file in a temporary folder, no socket, no
//! agent process, and time from a [`ManualClock`] the test moves, so timeouts and retries are
//! proven in milliseconds without waiting.
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;

struct World {
    m: Manager,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn world(tune: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.paths.data_dir = Some(dir.path().join("data"));
    cfg.paths.runtime_dir = Some(dir.path().join("run"));
    cfg.sandbox.allow_unsupervised_agents = true;
    tune(&mut cfg);
    let paths = cfg.resolve().expect("paths");
    std::fs::create_dir_all(&paths.data_dir).expect("data dir");
    let store = Store::open(&paths.database, Duration::from_secs(5), 1 << 20)
        .await
        .expect("store");
    let clock = Arc::new(ManualClock::new(1_800_000_000_000_000));
    let m = Manager::start_with_clock(cfg, paths, store, clock.clone())
        .await
        .expect("manager");
    World {
        m,
        clock,
        _dir: dir,
    }
}

const ECHO: &str = r#"{"type": "object"}"#;

async fn agent(
    m: &Manager,
    name: &str,
) -> (Registered, mpsc::UnboundedReceiver<Command>, WorkGuard) {
    let reg = m
        .register(Registration {
            name: name.into(),
            version: "1".into(),
            capabilities: vec![TaskType {
                name: "echo.echo".into(),
                description: "echoes".into(),
                payload_schema_json: ECHO.into(),
            }],
            max_concurrency: 1,
            pid: 1,
            ..Default::default()
        })
        .await
        .expect("register");
    let (rx, guard) = m.open_work(&reg.session_token).expect("work");
    (reg, rx, guard)
}

async fn started(rx: &mut mpsc::UnboundedReceiver<Command>) -> StartCommand {
    loop {
        match rx.recv().await.expect("the work stream stays open") {
            Command::Start(s) => return *s,
            Command::Stop { .. } => continue,
        }
    }
}

fn echo() -> Submission {
    Submission {
        task_type: "echo.echo".into(),
        payload_json: "{}".into(),
        ..Default::default()
    }
}

fn succeeded() -> TaskResult {
    TaskResult {
        status: ResultStatus::Succeeded,
        exit_code: 0,
        summary: "done".into(),
        artifacts: Vec::new(),
        output_json: String::new(),
        error: String::new(),
    }
}

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
