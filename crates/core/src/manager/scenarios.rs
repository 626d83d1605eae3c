//! The manager's decisions in-process: a real SQLite file in a temporary folder, no socket, no
//! agent process, and time from a [`ManualClock`] the test moves, so timeouts and retries are
//! proven in milliseconds without waiting.
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;

struct World {
    m: Manager,
    clock: Arc<ManualClock>,
    /// The folder it keeps its data in, when the world made it.
    _dir: Option<tempfile::TempDir>,
}

/// A manager in a temporary folder of its own.
async fn world(tune: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = world_at(dir.path(), tune).await;
    w._dir = Some(dir);
    w
}

/// A manager keeping its data under `root` (another one may start there after it).
async fn world_at(root: &std::path::Path, tune: impl FnOnce(&mut Config)) -> World {
    let mut cfg = Config::default();
    cfg.paths.data_dir = Some(root.join("data"));
    cfg.paths.runtime_dir = Some(root.join("run"));
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
        _dir: None,
    }
}

const ECHO: &str = r#"{"type": "object"}"#;

/// What an agent offering `echo.echo` with one slot declares.
fn registration(name: &str) -> Registration {
    Registration {
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
    }
}

async fn agent(
    m: &Manager,
    name: &str,
) -> (Registered, mpsc::UnboundedReceiver<Command>, WorkGuard) {
    let reg = m.register(registration(name)).await.expect("register");
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

/// The next command must be a stop: the task it names.
async fn stopped(rx: &mut mpsc::UnboundedReceiver<Command>) -> String {
    match rx.recv().await.expect("the work stream stays open") {
        Command::Stop { task_id, .. } => task_id,
        Command::Start(s) => panic!("expected a stop, got the start of {}", s.task_id),
    }
}

/// The task's first attempt ended with an error that says `what`.
async fn first_error_says(w: &World, id: &str, what: &str) {
    let t = w.m.get_task(id).await.unwrap();
    assert!(
        t.attempts[0].error.contains(what),
        "{}",
        t.attempts[0].error
    );
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

/// Submits and starts one task on a fresh agent `a`; returns its id and start command.
async fn running(
    w: &World,
    sub: Submission,
) -> (
    String,
    StartCommand,
    mpsc::UnboundedReceiver<Command>,
    WorkGuard,
) {
    let (_reg, mut rx, guard) = agent(&w.m, "a").await;
    let (task, _) = w.m.submit(sub).await.expect("submit");
    let start = started(&mut rx).await;
    w.m.answer(&task.id, &start.capability_token, true, "")
        .await
        .expect("accept");
    (task.id, start, rx, guard)
}

async fn tick(w: &World) {
    if let Some(p) = w.m.tick() {
        p.wait().await.expect("tick stored");
    }
}

async fn dispatch(w: &World) {
    if let Some(p) = w.m.dispatch() {
        p.wait().await.expect("dispatch stored");
    }
}

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
async fn a_consent_nobody_answers_is_denied_when_the_clock_passes_its_timeout() {
    let w = world(|c| c.consent.timeout = Duration::from_secs(60)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let m = w.m.clone();
    let token = start.capability_token.clone();
    let asked = tokio::spawn(async move {
        m.request_consent(&id, &token, "read", "/srv/data", "to read the data")
            .await
    });
    // The request is waiting for the person.
    while w.m.list_consents().is_empty() {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        w.m.list_consents()[0].status,
        crate::consent::Status::Pending
    );
    w.clock.advance(Duration::from_secs(61));
    tick(&w).await;
    let answer = asked.await.unwrap();
    let denied = match answer {
        Ok(c) => c.status == crate::consent::Status::Denied,
        Err(_) => true,
    };
    assert!(denied, "an unanswered request must end denied");
}

#[tokio::test]
async fn a_granted_consent_answers_the_waiting_task() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let m = w.m.clone();
    let token = start.capability_token.clone();
    let asked = tokio::spawn(async move {
        m.request_consent(&id, &token, "read", "/srv/data", "to read the data")
            .await
    });
    let consent = loop {
        if let Some(c) = w.m.list_consents().into_iter().next() {
            break c;
        }
        tokio::task::yield_now().await;
    };
    w.m.answer_consent(&consent.id, Some(crate::consent::Scope::Once), "person")
        .await
        .unwrap();
    let c = asked.await.unwrap().unwrap();
    assert_eq!(c.status, crate::consent::Status::Granted);
    assert_eq!(c.answered_by, "person");
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

fn line(seq: u64, message: &str) -> LogLine {
    LogLine {
        seq,
        attempt: 0,
        attempt_seq: 0,
        time_us: 0,
        level: LogLevel::Info,
        message: message.into(),
        fields: Default::default(),
    }
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
    let audit = w.m.list_audit(None, 0, 1_000).await.unwrap();
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

/// Asks for `read` of `target` on the task's behalf, in the background.
fn ask(w: &World, id: &str, token: &str, target: &str) -> tokio::task::JoinHandle<Result<Consent>> {
    let (m, id, token, target) = (
        w.m.clone(),
        id.to_string(),
        token.to_string(),
        target.to_string(),
    );
    tokio::spawn(async move {
        m.request_consent(&id, &token, "read", &target, "to read it")
            .await
    })
}

/// The first pending consent request, once there is one.
async fn pending_consent(w: &World) -> Consent {
    loop {
        if let Some(c) = w.m.list_consents().into_iter().next() {
            return c;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_consent_the_person_denies_is_denied_and_says_so() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let asked = ask(&w, &id, &start.capability_token, "/srv/data");
    let c = pending_consent(&w).await;
    w.m.answer_consent(&c.id, None, "person").await.unwrap();
    match asked.await.unwrap() {
        Ok(c) => {
            assert_eq!(c.status, crate::consent::Status::Denied);
            assert_eq!(c.answered_by, "person");
        }
        Err(e) => assert!(e.to_string().contains("denied"), "{e}"),
    }
}

#[tokio::test]
async fn a_grant_for_the_task_covers_its_later_requests_without_asking() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let first = ask(&w, &id, &start.capability_token, "/srv/data");
    let c = pending_consent(&w).await;
    w.m.answer_consent(&c.id, Some(crate::consent::Scope::Task), "person")
        .await
        .unwrap();
    assert_eq!(
        first.await.unwrap().unwrap().status,
        crate::consent::Status::Granted
    );
    // A file inside what was granted: answered at once, nobody asked.
    let again = ask(&w, &id, &start.capability_token, "/srv/data/file.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, crate::consent::Status::Granted);
    assert!(w.m.list_consents().is_empty());
}

#[tokio::test]
async fn rules_answer_without_asking_and_a_deny_wins_over_an_allow() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    w.m.add_rule(None, "read", "/srv", policy::Decision::Allow, "person")
        .await
        .unwrap();
    let allowed = ask(&w, &id, &start.capability_token, "/srv/a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(allowed.status, crate::consent::Status::Granted);
    w.m.add_rule(
        None,
        "read",
        "/srv/secret",
        policy::Decision::Deny,
        "person",
    )
    .await
    .unwrap();
    let denied = ask(&w, &id, &start.capability_token, "/srv/secret/key")
        .await
        .unwrap();
    assert!(
        denied.map_or(true, |c| c.status == crate::consent::Status::Denied),
        "a deny rule must win"
    );
    assert!(w.m.list_consents().is_empty(), "nobody was asked");
}

#[tokio::test]
async fn a_destructive_action_outside_the_task_folder_is_refused_before_anything_is_touched() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let outside = w.m.paths().data_dir.with_file_name("precious.txt");
    std::fs::write(&outside, "keep me").unwrap();
    let refused =
        w.m.prepare_destructive(
            &id,
            &start.capability_token,
            "clean up",
            &[outside.display().to_string()],
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    assert!(w.m.list_actions().await.unwrap().is_empty());
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
