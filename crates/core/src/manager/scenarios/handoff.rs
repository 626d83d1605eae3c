//! Hand-offs: a running task passes its work to another task type in one commit; work handed
//! back to a type it went through is drift (warned, or refused and the task cancelled), and a
//! chain is at most `drift.max_handoffs` long.
use super::*;
use crate::config::OnDrift;
use crate::manager::HandOff;

/// An agent offering one task type (any JSON object, or one with a required `path`).
async fn offering(
    w: &World,
    name: &str,
    task_type: &str,
) -> (mpsc::UnboundedReceiver<Command>, WorkGuard) {
    let schema = if task_type == "strict.one" {
        r#"{"type": "object", "required": ["path"]}"#
    } else {
        r#"{"type": "object"}"#
    };
    let reg =
        w.m.register(Registration {
            name: name.into(),
            version: "1".into(),
            capabilities: vec![TaskType {
                name: task_type.into(),
                description: "works".into(),
                payload_schema_json: schema.into(),
                examples: Vec::new(),
                folder: Default::default(),
            }],
            max_concurrency: 1,
            pid: 1,
            ..Default::default()
        })
        .await
        .expect("register");
    w.m.open_work(&reg.session_token).expect("work")
}

fn to(task_type: &str, note: &str) -> HandOff {
    HandOff {
        task_type: task_type.into(),
        payload_json: r#"{"context": "half done"}"#.into(),
        note: note.into(),
    }
}

/// Starts (and accepts) the next task the agent is sent; its id and token.
async fn take(w: &World, rx: &mut mpsc::UnboundedReceiver<Command>) -> (String, String) {
    let s = started(rx).await;
    w.m.answer(&s.task_id, &s.capability_token, true, "")
        .await
        .expect("accept");
    (s.task_id, s.capability_token)
}

/// Submits a `work.write` task.
async fn submit_write(w: &World) -> Task {
    let sub = Submission {
        task_type: "work.write".into(),
        payload_json: "{}".into(),
        ..Default::default()
    };
    w.m.submit(sub).await.expect("submit").0
}

#[tokio::test]
async fn work_handed_on_keeps_its_folder_and_a_loop_back_is_flagged_within_two_hops() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (mut rx_a, _ga) = offering(&w, "a", "work.write").await;
    let (mut rx_b, _gb) = offering(&w, "b", "work.review").await;
    let first = submit_write(&w).await;
    let (id1, token1) = take(&w, &mut rx_a).await;
    assert_eq!(id1, first.id);
    let second =
        w.m.hand_off(
            &id1,
            &token1,
            to("work.review", "tests pass; look at api.py"),
        )
        .await
        .expect("handed off");
    let old = task(&w, &id1).await;
    assert_eq!(old.state, TaskState::Completed);
    assert!(
        old.status_reason.contains("handed off by agent `a`"),
        "{}",
        old.status_reason
    );
    let output: serde_json::Value =
        serde_json::from_str(&old.result.as_ref().unwrap().output_json).unwrap();
    assert_eq!(output["handed_off_to"], second.id.as_str());
    // The person did not submit the successor: its entry says which task handed it on.
    w.m.set_paused(false, "test").await.unwrap();
    let audit = w.m.list_audit(&AuditQuery::all(1_000)).await.unwrap();
    let by = audit
        .iter()
        .find(|e| e.action == "task.submitted" && e.task_id.as_deref() == Some(&second.id))
        .map(|e| e.actor.clone());
    assert_eq!(by, Some(format!("task:{id1}")));
    // Asked again (its answer lost on the way), the same hand-off is answered with the same task;
    // another is refused.
    let again =
        w.m.hand_off(
            &id1,
            &token1,
            to("work.review", "tests pass; look at api.py"),
        )
        .await
        .expect("a repeat");
    assert_eq!(again.id, second.id);
    // It ended: a finish that says otherwise is refused, nor can it hand off again (a finish
    // repeating its success is answered as a retried one is, and changes nothing).
    let failed = TaskResult {
        status: ResultStatus::Failed,
        exit_code: 1,
        ..succeeded()
    };
    assert!(w.m.finish(&id1, &token1, failed).await.is_err());
    assert_eq!(
        w.m.finish(&id1, &token1, succeeded()).await.unwrap(),
        TaskState::Completed
    );
    assert!(task(&w, &id1)
        .await
        .result
        .unwrap()
        .output_json
        .contains(&second.id));
    assert!(w
        .m
        .hand_off(&id1, &token1, to("work.write", ""))
        .await
        .is_err());
    let (id2, token2) = take(&w, &mut rx_b).await;
    assert_eq!(id2, second.id);
    let t2 = task(&w, &id2).await;
    assert_eq!(
        t2.workspace, first.workspace,
        "the work's folder goes with it"
    );
    assert_eq!(t2.payload_json, r#"{"context": "half done"}"#);
    let from = t2.handed_off.clone().unwrap();
    assert_eq!(
        (from.from_task.as_str(), from.chain.clone()),
        (id1.as_str(), vec!["work.write".to_string()])
    );
    assert_eq!(from.note, "tests pass; look at api.py");
    assert!(drift_entries(&w, &id2).await.is_empty());

    // Back to where it came from: A -> B -> A is drift, said on both tasks; warned, it goes on.
    let third =
        w.m.hand_off(&id2, &token2, to("work.write", "your turn again"))
            .await
            .expect("warned, not stopped");
    for id in [&id2, &third.id] {
        let found = drift_entries(&w, id).await;
        assert_eq!(found.len(), 1, "{id}: {found:?}");
        assert_eq!(found[0]["drift"], "handoff_loop");
        assert_eq!(
            found[0]["evidence"],
            "handed back to `work.write`: work.write -> work.review -> work.write"
        );
    }
    let audit =
        w.m.list_audit(&AuditQuery {
            action: Some("task.handoff".into()),
            ..AuditQuery::all(10)
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
}

#[tokio::test]
async fn a_loop_is_refused_when_drift_cancels_and_a_chain_has_a_length() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.drift.on_drift = OnDrift::Cancel;
        c.drift.max_handoffs = 2;
    })
    .await;
    let (mut rx_a, _ga) = offering(&w, "a", "work.write").await;
    let (mut rx_b, _gb) = offering(&w, "b", "work.review").await;
    let (mut rx_c, _gc) = offering(&w, "c", "strict.one").await;
    submit_write(&w).await;
    let (id1, token1) = take(&w, &mut rx_a).await;
    // A payload the next type refuses: nothing changes, the task still runs.
    let e =
        w.m.hand_off(&id1, &token1, to("strict.one", ""))
            .await
            .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");
    let e =
        w.m.hand_off(&id1, &token1, to("no.such", ""))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("unknown task type `no.such`"), "{e}");
    assert_eq!(task(&w, &id1).await.state, TaskState::Running);

    w.m.hand_off(&id1, &token1, to("work.review", ""))
        .await
        .unwrap();
    let (id2, token2) = take(&w, &mut rx_b).await;
    let e =
        w.m.hand_off(&id2, &token2, to("work.write", ""))
            .await
            .unwrap_err();
    assert!(
        e.to_string().contains("refused and this task cancelled"),
        "{e}"
    );
    let t2 = task(&w, &id2).await;
    assert_eq!(t2.state, TaskState::Canceled);
    assert!(
        t2.status_reason
            .contains("work.write -> work.review -> work.write"),
        "{}",
        t2.status_reason
    );
    assert_eq!(drift_entries(&w, &id2).await[0]["action"], "cancelled");

    // A chain of new types still ends at drift.max_handoffs.
    submit_write(&w).await;
    let (id3, token3) = take(&w, &mut rx_a).await;
    w.m.hand_off(&id3, &token3, to("work.review", ""))
        .await
        .unwrap();
    let (id4, token4) = take(&w, &mut rx_b).await;
    let strict = HandOff {
        payload_json: r#"{"path": "x"}"#.into(),
        ..to("strict.one", "")
    };
    w.m.hand_off(&id4, &token4, strict).await.unwrap();
    let (id5, token5) = take(&w, &mut rx_c).await;
    let e =
        w.m.hand_off(&id5, &token5, to("work.review", ""))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("drift.max_handoffs"), "{e}");
    assert_eq!(task(&w, &id5).await.state, TaskState::Running);
}

#[tokio::test]
async fn a_hand_off_carries_what_the_chain_stored_so_its_caps_do_not_start_again() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.agents.max_log_bytes_per_task = 20;
    })
    .await;
    let (mut rx_a, _ga) = offering(&w, "a", "work.write").await;
    let (mut rx_b, _gb) = offering(&w, "b", "work.review").await;
    submit_write(&w).await;
    let (id1, token1) = take(&w, &mut rx_a).await;
    w.m.push_logs(&id1, &token1, vec![line(1, "fifteen bytes..")])
        .await
        .unwrap();
    let second =
        w.m.hand_off(&id1, &token1, to("work.review", "go on"))
            .await
            .expect("handed off");
    let (id2, token2) = take(&w, &mut rx_b).await;
    assert_eq!(id2, second.id);
    // Ten more bytes are past the chain's twenty: the line says the limit was reached.
    w.m.push_logs(&id2, &token2, vec![line(1, "ten bytes.")])
        .await
        .unwrap();
    let (lines, _) = w.m.get_logs(&id2, 0, 10).await.unwrap();
    assert!(lines[0].message.contains("log limit reached"), "{lines:?}");
}
