//! Model-call telemetry: each call a task's agent reports is added to the task's totals, kept
//! with the task and put on the feed; a report that cannot be true is refused.
use super::*;
use crate::model::ModelCall;

fn call(prompt: u64, completion: u64, elapsed_ms: f64) -> ModelCall {
    ModelCall {
        model: "tiny.gguf".into(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        usage_reported: true,
        elapsed_ms,
        first_token_ms: 40.0,
        generation_ms: elapsed_ms / 2.0,
        id: String::new(),
    }
}

#[tokio::test]
async fn model_calls_add_up_on_the_task_and_each_is_on_the_feed() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let mut feed = w.m.feed().subscribe(Some(0), EventFilter::default());
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    w.m.report_model_call(&id, token, call(100, 20, 500.0))
        .await
        .unwrap();
    let unreported = ModelCall {
        usage_reported: false,
        ..call(0, 0, 250.0)
    };
    let totals = w.m.report_model_call(&id, token, unreported).await.unwrap();
    assert_eq!(
        (
            totals.calls,
            totals.prompt_tokens,
            totals.completion_tokens,
            totals.total_tokens
        ),
        (2, 100, 20, 120)
    );
    assert_eq!((totals.elapsed_ms, totals.calls_without_usage), (750.0, 1));
    // Kept with the task (a restart reads it back from the store).
    let stored = w.m.inner.store.get_task(&id).await.unwrap().unwrap();
    assert_eq!(stored.usage, Some(totals.clone()));
    let seen = loop {
        let ev = feed.recv().await.expect("open").expect("an event");
        if let EventBody::ModelCall { task_id, usage, .. } = &ev.body {
            if usage.calls == 2 {
                break task_id.clone();
            }
        }
    };
    assert_eq!(seen, id);
    // What cannot be true is refused, and counts for nothing.
    let bad = ModelCall {
        total_tokens: 5,
        ..call(100, 20, 1.0)
    };
    let e = w.m.report_model_call(&id, token, bad).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("less than its prompt and completion tokens"),
        "{e}"
    );
    let e =
        w.m.report_model_call(&id, token, call(1, 1, f64::NAN))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("elapsed_ms"), "{e}");
    assert!(w
        .m
        .report_model_call(&id, "forged", call(1, 1, 1.0))
        .await
        .is_err());
    assert_eq!(task(&w, &id).await.usage.unwrap().calls, 2);
}

#[tokio::test]
async fn a_task_over_its_model_budget_is_cancelled_saying_what_it_spent() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.tasks.max_model_tokens = 1000;
    })
    .await;
    let (id, start, mut rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    w.m.report_model_call(&id, token, call(600, 100, 10.0))
        .await
        .unwrap();
    assert!(
        drift_entries(&w, &id).await.is_empty(),
        "700 is within 1000"
    );
    w.m.report_model_call(&id, token, call(300, 50, 10.0))
        .await
        .unwrap();
    assert_eq!(stopped(&mut rx).await, id, "its agent is told to stop");
    let found = drift_entries(&w, &id).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["drift"], "over_budget");
    assert_eq!(
        found[0]["evidence"],
        "1050 tokens in 2 model calls, more than tasks.max_model_tokens (1000)"
    );
    let t = task(&w, &id).await;
    assert!(t.cancel_requested);
    assert!(
        t.status_reason.contains("it spent its model budget"),
        "{}",
        t.status_reason
    );
}

/// Bytes of the task's progress and model-call events in the store.
async fn report_history(w: &World, id: &str) -> (usize, u64) {
    let filter = EventFilter {
        task_id: Some(id.to_string()),
        exclude_logs: true,
    };
    let evs =
        w.m.inner
            .store
            .events_after(0, &filter, 10_000)
            .await
            .unwrap();
    let reports: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e.body.kind(), "task_progress" | "model_call"))
        .collect();
    let bytes = w.m.inner.store.task_record_bytes(id).await.unwrap();
    (reports.len(), bytes)
}

#[tokio::test]
async fn a_task_reporting_in_a_loop_stops_adding_to_its_history_past_its_cap_and_its_totals_stay_true(
) {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.agents.max_log_bytes_per_task = 3_000;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    for i in 0..100 {
        w.m.report_model_call(&id, token, call(10, 1, 5.0))
            .await
            .unwrap();
        let step = Progress {
            fraction: f64::from(i) / 100.0,
            step: format!("step {i}"),
        };
        w.m.report_progress(&id, token, step).await.unwrap();
    }
    let (kept, bytes) = report_history(&w, &id).await;
    assert!(kept > 0 && kept < 200, "{kept} of 200 reports kept");
    assert!(bytes <= 3_000, "{bytes} bytes stored");
    // Every report still counts.
    let t = task(&w, &id).await;
    let usage = t.usage.unwrap();
    assert_eq!((usage.calls, usage.total_tokens), (100, 1_100));
    assert_eq!(t.progress.unwrap().step, "step 99");
    // Log lines share the cap: one says it is reached, and the task goes on.
    w.m.push_logs(&id, token, vec![line(1, &"x".repeat(100))])
        .await
        .unwrap();
    let (lines, _) = w.m.get_logs(&id, 0, 10).await.unwrap();
    assert!(
        lines[0].message.starts_with("log limit reached"),
        "{}",
        lines[0].message
    );
    assert_eq!(
        w.m.finish(&id, token, succeeded()).await.unwrap(),
        TaskState::Completed
    );
}

#[tokio::test]
async fn while_the_disk_is_nearly_full_reports_update_the_task_without_being_stored() {
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.store.free_space_check_interval = Duration::from_secs(3600);
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    w.m.inner.disk.pretend_free(0);
    w.m.report_model_call(&id, token, call(10, 1, 5.0))
        .await
        .unwrap();
    let step = Progress {
        fraction: 0.5,
        step: "halfway".into(),
    };
    w.m.report_progress(&id, token, step).await.unwrap();
    assert_eq!(report_history(&w, &id).await, (0, 0));
    let t = task(&w, &id).await;
    assert_eq!(t.usage.unwrap().calls, 1);
    assert_eq!(t.progress.unwrap().step, "halfway");
}

#[tokio::test]
async fn a_task_burning_tokens_while_nothing_in_its_folder_changes_is_drifting_and_work_resets_it()
{
    let w = world(|c| {
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
        c.drift.burn_tokens = 1000;
    })
    .await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    let folder = std::path::PathBuf::from(task(&w, &id).await.workspace);
    assert!(folder.is_dir(), "{}", folder.display());
    std::fs::write(folder.join("main.py"), "print('hi')\n").unwrap();
    // Reports close together look at the folder once (a walk is work): three calls of 600
    // tokens within a second, no drift yet.
    for _ in 0..3 {
        w.m.report_model_call(&id, token, call(500, 100, 10.0))
            .await
            .unwrap();
    }
    assert!(drift_entries(&w, &id).await.is_empty());
    // Past `drift.burn_look_interval`, 1,800 tokens after the first look nothing changed: drift.
    w.clock.advance(Duration::from_secs(11));
    w.m.report_model_call(&id, token, call(500, 100, 10.0))
        .await
        .unwrap();
    let found = drift_entries(&w, &id).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["drift"], "burning");
    assert_eq!(
        found[0]["evidence"],
        "1800 model tokens used while nothing in its folder changed (drift.burn_tokens is 1000)"
    );
    // It writes a file: the next look sees the change, and nothing is said.
    std::fs::write(folder.join("main.py"), "print('hello, world')\n").unwrap();
    for _ in 0..2 {
        w.clock.advance(Duration::from_secs(11));
        w.m.report_model_call(&id, token, call(500, 100, 10.0))
            .await
            .unwrap();
    }
    assert_eq!(drift_entries(&w, &id).await.len(), 1, "no new drift");
    assert!(
        !task(&w, &id).await.cancel_requested,
        "warned, not cancelled"
    );
}

#[tokio::test]
async fn a_model_call_reported_again_after_its_answer_was_lost_is_counted_once() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    let first = ModelCall {
        id: "call-1".into(),
        ..call(100, 20, 50.0)
    };
    w.m.report_model_call(&id, token, first.clone())
        .await
        .unwrap();
    let again = w.m.report_model_call(&id, token, first).await.unwrap();
    assert_eq!((again.calls, again.total_tokens), (1, 120));
    let second = ModelCall {
        id: "call-2".into(),
        ..call(100, 20, 50.0)
    };
    let both = w.m.report_model_call(&id, token, second).await.unwrap();
    assert_eq!((both.calls, both.total_tokens), (2, 240));
    // Without an id, each report counts.
    w.m.report_model_call(&id, token, call(1, 1, 1.0))
        .await
        .unwrap();
    let t =
        w.m.report_model_call(&id, token, call(1, 1, 1.0))
            .await
            .unwrap();
    assert_eq!(t.calls, 4);
}

#[tokio::test]
async fn totals_that_would_overflow_stay_numbers_and_the_task_stays_readable() {
    let w = world(|c| c.agents.heartbeat_timeout = Duration::from_secs(3600)).await;
    let (id, start, _rx, _guard) = running(&w, echo()).await;
    let token = &start.capability_token;
    let huge = ModelCall {
        prompt_tokens: u64::MAX,
        completion_tokens: 0,
        total_tokens: u64::MAX,
        ..call(0, 0, f64::MAX)
    };
    w.m.report_model_call(&id, token, huge.clone())
        .await
        .unwrap();
    let totals = w.m.report_model_call(&id, token, huge).await.unwrap();
    assert_eq!(totals.total_tokens, u64::MAX);
    assert!(totals.elapsed_ms.is_finite(), "{}", totals.elapsed_ms);
    // Stored as numbers: read back, listed, and the manager starts on it.
    let stored = w.m.inner.store.get_task(&id).await.unwrap().unwrap();
    assert_eq!(stored.usage, Some(totals));
    assert!(w.m.get_task(&id).await.is_ok());
}
