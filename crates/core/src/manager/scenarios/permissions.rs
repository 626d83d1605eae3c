//! What a task may do beyond its folder: consent, rules, destructive actions, secrets.
use super::*;

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
    assert_eq!(c.status, Status::Granted);
    assert_eq!(c.answered_by, "person");
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
async fn a_task_waiting_for_an_answer_nobody_gives_goes_back_to_work_denied() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.consent.timeout = Duration::from_secs(60);
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let asked = ask(&w, &id, &start.capability_token, "/srv/data");
    pending_consent(&w).await;
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::AwaitingConsent);
    assert_eq!(t.status_reason, "waiting for consent: read /srv/data");
    assert_eq!(w.m.status().tasks_awaiting_consent, 1);
    w.clock.advance(Duration::from_secs(59));
    tick(&w).await;
    assert_eq!(w.m.list_consents().len(), 1, "answered before its time");
    w.clock.advance(Duration::from_secs(2));
    tick(&w).await;
    let c = asked.await.unwrap().unwrap();
    assert_eq!(
        (c.status, c.answered_by.as_str(), c.answer_reason.as_str()),
        (
            crate::consent::Status::Denied,
            "timeout",
            "no answer within 1m"
        )
    );
    // The task goes on without the permission, and can still end well.
    let t = task(&w, &id).await;
    assert_eq!(t.state, TaskState::Running);
    assert_eq!(t.status_reason, "consent denied: read /srv/data");
    assert_eq!(
        w.m.finish(&id, &start.capability_token, succeeded())
            .await
            .unwrap(),
        TaskState::Completed
    );
}

#[tokio::test]
async fn cancelling_a_task_that_waits_for_consent_denies_the_request_and_the_stop_ends_it() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, mut rx, _guard) = running(&w, echo()).await;
    let asked = ask(&w, &id, &start.capability_token, "/srv/data");
    pending_consent(&w).await;
    let t = w.m.cancel(&id, "no longer needed").await.unwrap();
    assert_eq!(
        (t.state, t.cancel_requested),
        (TaskState::AwaitingConsent, true)
    );
    assert_eq!(stopped(&mut rx).await, id);
    // The next check withdraws the question (the clock has not moved).
    tick(&w).await;
    let c = asked.await.unwrap().unwrap();
    assert_eq!(c.status, crate::consent::Status::Denied);
    assert_eq!(c.answered_by, "its task is being canceled");
    assert!(w.m.list_consents().is_empty());
    // Not back to work: it waits for the agent to stop.
    assert_eq!(task(&w, &id).await.state, TaskState::AwaitingConsent);
    let end =
        w.m.finish(
            &id,
            &start.capability_token,
            TaskResult {
                status: ResultStatus::Canceled,
                ..succeeded()
            },
        )
        .await
        .unwrap();
    assert_eq!(end, TaskState::Canceled);
}

/// Allows `rewrite the notes` by a rule and has the running task announce it for `files` of its
/// folder (notes.txt holding "before"): (the folder, the action).
async fn notes_rewritten(
    w: &World,
    id: &str,
    token: &str,
    files: &[&str],
) -> (PathBuf, crate::rollback::Action) {
    let ws = PathBuf::from(task(w, id).await.workspace);
    std::fs::write(ws.join("notes.txt"), "before").unwrap();
    w.m.add_rule(
        None,
        "destructive",
        "rewrite the notes",
        policy::Decision::Allow,
        "person",
    )
    .await
    .unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|f| ws.join(f).display().to_string())
        .collect();
    let action =
        w.m.prepare_destructive(id, token, "rewrite the notes", &paths)
            .await
            .unwrap();
    (ws, action)
}

#[tokio::test]
async fn a_rollback_puts_back_what_a_destructive_action_changed_once_its_task_has_ended() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let (ws, action) =
        notes_rewritten(&w, &id, &start.capability_token, &["notes.txt", "new.txt"]).await;
    let existed: Vec<bool> = action.entries.iter().map(|e| e.existed).collect();
    assert_eq!(existed, vec![true, false]);
    // The task does what it announced.
    std::fs::write(ws.join("notes.txt"), "after").unwrap();
    std::fs::write(ws.join("new.txt"), "made").unwrap();
    match w.m.rollback(&action.id, "person").await {
        Err(Error::FailedPrecondition(e)) => assert!(e.contains("is still running"), "{e}"),
        other => panic!("a running task's action was rolled back: {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "after"
    );
    w.m.finish(&id, &start.capability_token, succeeded())
        .await
        .unwrap();

    let done = w.m.rollback(&action.id, "person").await.unwrap();
    assert!(done.rolled_back_us.is_some());
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "before"
    );
    assert!(!ws.join("new.txt").exists());
    match w.m.rollback(&action.id, "person").await {
        Err(Error::FailedPrecondition(e)) => assert!(e.contains("already rolled back"), "{e}"),
        other => panic!("rolled back twice: {other:?}"),
    }
    assert!(matches!(
        w.m.rollback("no-such-action", "person").await,
        Err(Error::InvalidInput(_))
    ));
    let audit = w.m.list_audit(&AuditQuery::task(&id, 1_000)).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"action.snapshotted") && actions.contains(&"action.rolled_back"),
        "{actions:?}"
    );
}

/// A rollback is audited before it touches a file: when its entry cannot be stored (here the
/// database's write lock is held past `store.write_lock_patience`), the files stay as they are.
/// (It was audited after: the files were put back, and the entry was lost.) The same holds for
/// secrets and the folders of cancelled tasks (`Manager::audited_ahead`).
#[tokio::test]
async fn a_rollback_whose_audit_entry_cannot_be_stored_changes_no_file() {
    let w = world(|c| {
        // Long enough for a background checkpoint to pass while the task is set up, short
        // enough not to wait long for the lock the test holds.
        c.store.busy_timeout = Duration::from_secs(1);
        c.store.write_lock_patience = Duration::ZERO;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let (ws, action) = notes_rewritten(&w, &id, &start.capability_token, &["notes.txt"]).await;
    std::fs::write(ws.join("notes.txt"), "after").unwrap();
    w.m.finish(&id, &start.capability_token, succeeded())
        .await
        .unwrap();
    let _lock = hold_write_lock(&w).await;
    let refused = w.m.rollback(&action.id, "person").await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "after",
        "a file was put back with no audit entry saying so"
    );
}

#[tokio::test]
async fn a_destructive_action_through_a_link_leading_out_of_the_workspace_is_refused_before_asking()
{
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let outside = w.m.paths().data_dir.with_file_name("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious.txt"), "keep me").unwrap();
    let ws = PathBuf::from(task(&w, &id).await.workspace);
    std::os::unix::fs::symlink(&outside, ws.join("link")).unwrap();
    let through = ws.join("link").join("precious.txt").display().to_string();
    let refused =
        w.m.prepare_destructive(&id, &start.capability_token, "tidy up", &[through])
            .await;
    assert!(
        matches!(refused, Err(Error::PermissionDenied(_))),
        "{refused:?}"
    );
    assert!(w.m.list_consents().is_empty(), "the person was asked");
    assert_eq!(
        std::fs::read_to_string(outside.join("precious.txt")).unwrap(),
        "keep me"
    );
    assert!(w.m.list_actions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_secret_given_to_a_task_is_redacted_from_its_logs_progress_result_and_stored_error() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    // As `secret_for_task` leaves it once the keychain handed the value over (the keychain is
    // the system's, not what is tested here).
    w.m.state()
        .tasks
        .get_mut(&id)
        .unwrap()
        .secrets
        .push(("api-key".into(), "s3cr3t-value".into()));
    let token = &start.capability_token;
    let mut said = line(1, "calling with s3cr3t-value");
    said.fields
        .insert("auth".into(), "Bearer s3cr3t-value".into());
    w.m.push_logs(&id, token, vec![said]).await.unwrap();
    w.m.report_progress(
        &id,
        token,
        Progress {
            fraction: 0.5,
            step: "sent s3cr3t-value".into(),
        },
    )
    .await
    .unwrap();
    let progress = task(&w, &id).await.progress.unwrap();
    w.m.finish(
        &id,
        token,
        TaskResult {
            status: ResultStatus::Failed,
            exit_code: 1,
            summary: "used s3cr3t-value".into(),
            error: "401 for s3cr3t-value".into(),
            artifacts: vec![crate::model::Artifact {
                name: "log".into(),
                kind: "url".into(),
                location: "https://x/?key=s3cr3t-value".into(),
                description: "with s3cr3t-value".into(),
            }],
            ..succeeded()
        },
    )
    .await
    .unwrap();

    let (lines, _) = w.m.get_logs(&id, 0, 10).await.unwrap();
    assert_eq!(lines[0].message, "calling with [redacted api-key]");
    assert_eq!(lines[0].fields["auth"], "Bearer [redacted api-key]");
    assert_eq!(progress.step, "sent [redacted api-key]");
    let t = task(&w, &id).await;
    let result = t.result.clone().unwrap();
    assert_eq!(result.summary, "used [redacted api-key]");
    assert_eq!(result.error, "401 for [redacted api-key]");
    assert_eq!(
        t.attempts[0].error,
        "failed on agent `a`: 401 for [redacted api-key]"
    );
    let audit = w.m.list_audit(&AuditQuery::task(&id, 1_000)).await.unwrap();
    let stored = format!("{t:?} {audit:?}");
    assert!(!stored.contains("s3cr3t-value"), "{stored}");
}

#[tokio::test]
async fn a_task_asking_in_a_loop_is_refused_past_its_share_of_requests_even_when_a_rule_decides() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.consent.max_requests_per_task = 3;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    // A rule allows it: each request is decided at once, and each is audited.
    w.m.add_rule(
        None,
        "connect",
        "example.org:443",
        policy::Decision::Allow,
        "person",
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let c =
            w.m.request_consent(&id, token, "connect", "example.org:443", "fetch")
                .await
                .unwrap();
        assert_eq!(c.status, Status::Granted);
    }
    let e =
        w.m.request_consent(&id, token, "connect", "example.org:443", "fetch")
            .await
            .unwrap_err();
    assert!(matches!(e, Error::Exhausted(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("the most one task may (consent.max_requests_per_task)"),
        "{e}"
    );
    // Questions share the count.
    let e =
        w.m.ask_person(&id, token, "go on?", vec![])
            .await
            .unwrap_err();
    assert!(matches!(e, Error::Exhausted(_)), "{e:?}");
}

#[tokio::test]
async fn a_permission_asked_again_after_its_call_dropped_is_asked_once_and_both_hear_the_answer() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    let first = ask(&w, &id, token, "/srv/data");
    let c = pending_consent(&w).await;
    first.abort();
    let again = ask(&w, &id, token, "/srv/data");
    let other = ask(&w, &id, token, "/srv/other");
    // Once the other path is pending (asked after), there are two requests, not three.
    let pending = loop {
        let p = w.m.list_consents();
        if p.iter().any(|x| x.permission.target() == "/srv/other") {
            break p;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(pending.len(), 2, "{pending:?}");
    w.m.answer_consent(&c.id, Some(Scope::Once), "client")
        .await
        .unwrap();
    let heard = again.await.unwrap().unwrap();
    assert_eq!(
        (heard.id.as_str(), heard.status),
        (c.id.as_str(), Status::Granted)
    );
    other.abort();
}

#[tokio::test]
async fn a_path_longer_than_any_the_system_opens_is_refused_before_it_is_recorded() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let target = format!("/data/{}", "a/".repeat(4096));
    match w
        .m
        .request_consent(&id, &start.capability_token, "read", &target, "to read it")
        .await
    {
        Err(Error::InvalidInput(e)) => assert!(e.contains("at most 4096"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(w.m.list_consents().is_empty());
}

#[tokio::test]
async fn a_destructive_action_naming_more_path_bytes_than_a_payload_holds_is_refused() {
    let w = world(|c| c.tasks.max_payload_bytes = 256).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let task = w.m.get_task(&id).await.unwrap();
    let paths: Vec<String> = (0..10)
        .map(|n| format!("{}/{n}-{}", task.workspace, "f".repeat(40)))
        .collect();
    match w
        .m
        .prepare_destructive(&id, &start.capability_token, "clean up", &paths)
        .await
    {
        Err(Error::InvalidInput(e)) => assert!(e.contains("tasks.max_payload_bytes"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        w.m.list_consents().is_empty(),
        "refused before anyone is asked"
    );
}

/// An agent could ask for a "destructive" permission in its own words, promising a snapshot
/// that is never taken (the UI reads the paths and the promise from the question), and its
/// grant then covered whatever paths it named next; a "secret" likewise. Both have calls of their
/// own, whose questions the manager words.
#[tokio::test]
async fn an_agent_cannot_word_a_destructive_or_secret_question_itself() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    for (kind, target, call) in [
        ("destructive", "clean the cache", "PrepareDestructive"),
        ("secret", "GITHUB_TOKEN", "GetSecret"),
    ] {
        let asked =
            w.m.request_consent(
                &id,
                &start.capability_token,
                kind,
                target,
                "harmless, snapshotted first",
            )
            .await;
        assert!(
            matches!(&asked, Err(Error::InvalidInput(e)) if e.contains(call)),
            "{kind}: {asked:?}"
        );
    }
    assert!(w.m.list_consents().is_empty(), "the person was asked");
}

/// A path named twice, or inside another one named, is snapshotted once: a task naming one big
/// file a thousand times filled the disk with copies (snapshots stay after the task).
#[tokio::test]
async fn a_path_named_twice_or_inside_another_is_snapshotted_once() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let (ws, action) = notes_rewritten(
        &w,
        &id,
        &start.capability_token,
        &[
            "notes.txt",
            "notes.txt",
            "sub/inner.txt",
            "sub",
            "notes.txt",
        ],
    )
    .await;
    let named: Vec<PathBuf> = action.entries.iter().map(|e| e.path.clone()).collect();
    let real = ws.canonicalize().unwrap();
    let want: Vec<PathBuf> = ["notes.txt", "sub"].iter().map(|f| real.join(f)).collect();
    assert_eq!(named, want);
}

/// One agent's tasks together hold at most `consent.max_pending_per_agent` waiting requests: an
/// agent running many tasks could take every place of `consent.max_pending`, and every other
/// agent's requests were refused.
#[tokio::test]
async fn one_agents_waiting_requests_are_capped_below_everyones() {
    let w = world(|c| c.consent.max_pending_per_agent = 2).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let mut asking = Vec::new();
    for target in ["/srv/one", "/srv/two"] {
        let (m, id, token) = (w.m.clone(), id.clone(), start.capability_token.clone());
        asking.push(tokio::spawn(async move {
            m.request_consent(&id, &token, "read", target, "to read it")
                .await
        }));
    }
    while w.m.list_consents().len() < 2 {
        tokio::task::yield_now().await;
    }
    let third =
        w.m.request_consent(
            &id,
            &start.capability_token,
            "read",
            "/srv/three",
            "to read it",
        )
        .await;
    assert!(
        matches!(&third, Err(Error::FailedPrecondition(e)) if e.contains("consent.max_pending_per_agent")),
        "{third:?}"
    );
    for a in asking {
        a.abort();
    }
}

/// A request waits for the person up to `consent.timeout` holding what it names: a target past
/// `consent::MAX_TARGET_BYTES` is refused before it waits, and a reason is kept cut.
#[tokio::test]
async fn a_waiting_request_holds_a_bounded_target_and_reason() {
    let w = world(|_| {}).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let long = format!("/srv/{}", "x".repeat(crate::consent::MAX_TARGET_BYTES));
    let asked =
        w.m.request_consent(&id, &start.capability_token, "read", &long, "why")
            .await;
    assert!(
        matches!(&asked, Err(Error::InvalidInput(e)) if e.contains("target")),
        "{asked:?}"
    );
    let kept = crate::consent::kept_reason(&"é".repeat(crate::consent::MAX_REASON_BYTES));
    assert!(kept.len() <= crate::consent::MAX_REASON_BYTES && kept.chars().all(|c| c == 'é'));
}
