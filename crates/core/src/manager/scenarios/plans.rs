//! Plans: a request proposed, accepted, run on the agent the score chose, a failed step retried
//! on the next candidate, a budget that runs out, a proposal nobody answered.
use super::*;
use crate::plan::{PlanState, StepState};

/// An agent offering `echo.echo` with phrasings the router can match.
async fn echo_agent(
    m: &Manager,
    name: &str,
) -> (Registered, mpsc::UnboundedReceiver<Command>, WorkGuard) {
    let mut reg = registration(name);
    reg.capabilities[0].examples = vec!["echo hello world".into(), "say it back to me".into()];
    let mut sleep = reg.capabilities[0].clone();
    sleep.name = "echo.sleep".into();
    sleep.description = "sleeps".into();
    sleep.examples = vec!["sleep for 5 seconds".into(), "pause for a minute".into()];
    reg.capabilities.push(sleep);
    let reg = m.register(reg).await.expect("register");
    let (rx, guard) = m.open_work(&reg.session_token).expect("work");
    (reg, rx, guard)
}

async fn proposed(w: &World, text: &str, budget_secs: u32) -> crate::plan::Plan {
    let budget = Budget {
        secs: budget_secs,
        money: 0.0,
    };
    let a = w.m.ask(text, budget).await.expect("ask");
    match a.plan {
        Some(p) => *p,
        None => panic!("{text}: not a plan but {:?}", a.route.routed),
    }
}

fn failed(error: &str) -> TaskResult {
    TaskResult {
        status: ResultStatus::Failed,
        exit_code: 1,
        error: error.into(),
        ..succeeded()
    }
}

#[tokio::test]
async fn a_failed_step_is_tried_again_on_the_next_candidate_and_the_plan_says_why() {
    let w = world(|_| {}).await;
    let (_a, mut rx_a, _ga) = echo_agent(&w.m, "a").await;
    let (_b, mut rx_b, _gb) = echo_agent(&w.m, "b").await;
    let p = proposed(&w, "echo hello world", 0).await;
    assert_eq!(p.state, PlanState::Proposed);
    // Equal scores: the first by name goes first; both are in the preview.
    let ranked: Vec<&str> = p.steps[0]
        .candidates
        .iter()
        .map(|c| c.agent_id.as_str())
        .collect();
    assert_eq!(ranked, ["a", "b"]);
    let running = w.m.accept_plan(&p.id, &[]).await.expect("accept");
    assert_eq!(running.steps[0].state, StepState::Running);
    assert_eq!(running.steps[0].agent_id.as_deref(), Some("a"));
    let first = started(&mut rx_a).await;
    w.m.finish(
        &first.task_id,
        &first.capability_token,
        failed("disk on fire"),
    )
    .await
    .expect("finish");
    let retried = plan_when(&w, &p.id, |p| p.steps[0].task_ids.len() == 2).await;
    let s = &retried.steps[0];
    assert_eq!(s.agent_id.as_deref(), Some("b"));
    assert!(
        s.reason.contains("attempt 1 failed: disk on fire"),
        "{}",
        s.reason
    );
    assert!(
        s.decisions[1].why.contains("the next candidate after a"),
        "{}",
        s.decisions[1].why
    );
    let second = started(&mut rx_b).await;
    assert_eq!(second.task_id, s.task_ids[1]);
    w.m.finish(&second.task_id, &second.capability_token, succeeded())
        .await
        .expect("finish");
    let done = plan_when(&w, &p.id, |p| p.state.is_terminal()).await;
    assert_eq!(done.state, PlanState::Succeeded);
    assert!(
        done.summary.contains("✓ 1. echo.echo: done"),
        "{}",
        done.summary
    );
    assert!(done.summary.contains("on b"), "{}", done.summary);
}

#[tokio::test]
async fn a_plan_over_its_budget_stops_its_running_step_and_skips_the_rest() {
    let w = world(|_| {}).await;
    let (_a, mut rx, _g) = echo_agent(&w.m, "a").await;
    let p = proposed(&w, "echo hello world, then sleep for 5 seconds", 10).await;
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[1].step.after, [1]);
    w.m.accept_plan(&p.id, &[]).await.expect("accept");
    let start = started(&mut rx).await;
    w.m.answer(&start.task_id, &start.capability_token, true, "")
        .await
        .expect("accept the task");
    w.clock.advance(Duration::from_secs(11));
    w.m.plans_due();
    // The agent is told to stop, and does.
    assert_eq!(stopped(&mut rx).await, start.task_id);
    let stop = TaskResult {
        status: ResultStatus::Canceled,
        ..succeeded()
    };
    w.m.finish(&start.task_id, &start.capability_token, stop)
        .await
        .expect("finish");
    let ended = plan_when(&w, &p.id, |p| p.state.is_terminal()).await;
    assert_eq!(ended.state, PlanState::Failed);
    assert!(
        ended.reason.starts_with("the budget of 10 s was spent"),
        "{}",
        ended.reason
    );
    assert_eq!(ended.steps[0].state, StepState::Canceled);
    assert_eq!(ended.steps[1].state, StepState::Skipped);
    assert_eq!(ended.steps[1].reason, "the plan's budget of 10 s was spent");
    assert!(ended.steps[1].task_ids.is_empty());
}

#[tokio::test]
async fn a_proposal_nobody_answers_expires_and_cannot_be_run_after() {
    let w = world(|c| c.planner.proposal_ttl = Duration::from_secs(60)).await;
    let (_a, _rx, _g) = echo_agent(&w.m, "a").await;
    let p = proposed(&w, "echo hello world", 0).await;
    w.clock.advance(Duration::from_secs(59));
    w.m.plans_due();
    assert_eq!(
        w.m.get_plan(&p.id).await.unwrap().state,
        PlanState::Proposed
    );
    w.clock.advance(Duration::from_secs(2));
    w.m.plans_due();
    let gone = plan_when(&w, &p.id, |p| p.state.is_terminal()).await;
    assert_eq!(gone.state, PlanState::Rejected);
    assert!(gone.reason.contains("expired"), "{}", gone.reason);
    let err = w.m.accept_plan(&p.id, &[]).await.unwrap_err().to_string();
    assert!(err.contains("not proposed or running"), "{err}");
    let (tasks, _) = w.m.list_tasks(TaskQuery::default()).await.unwrap();
    assert!(tasks.is_empty());
}

#[tokio::test]
async fn a_running_plan_goes_on_after_a_restart_with_the_same_task() {
    let dir = tempfile::tempdir().unwrap();
    let p;
    let task_id;
    {
        let w = world_at(dir.path(), |_| {}).await;
        let (_a, mut rx, _g) = echo_agent(&w.m, "a").await;
        p = proposed(&w, "echo hello world", 0).await;
        w.m.accept_plan(&p.id, &[]).await.expect("accept");
        task_id = started(&mut rx).await.task_id;
        w.m.begin_stop();
        w.m.shutdown().await;
        w.m.inner.store.close().await;
    }
    let w = world_at(dir.path(), |_| {}).await;
    let again = w.m.get_plan(&p.id).await.unwrap();
    assert_eq!(again.state, PlanState::Running);
    assert_eq!(again.steps[0].task_ids, std::slice::from_ref(&task_id));
    // Past the retry backoff of the attempt the restart interrupted (well within the budget).
    // The clock moves before the agent registers: moved after, the liveness tick could find the
    // agent silent for 120 s and take the task back between its start and its finish.
    w.clock.advance(Duration::from_secs(120));
    let (_a, mut rx, _g) = echo_agent(&w.m, "a").await;
    dispatch(&w).await;
    let start = start_sent(&mut rx);
    assert_eq!(
        start.task_id, task_id,
        "the same task, queued again, not a second one"
    );
    w.m.finish(&start.task_id, &start.capability_token, succeeded())
        .await
        .expect("finish");
    let done = plan_when(&w, &p.id, |p| p.state.is_terminal()).await;
    assert_eq!(done.state, PlanState::Succeeded);
    assert_eq!(done.steps[0].task_ids, [task_id]);
}

#[tokio::test]
async fn an_editor_slow_to_open_holds_up_no_other_plan() {
    let dir = tempfile::tempdir().unwrap();
    // The editor stand-in blocks until the test writes a line into its pipe.
    let fifo = dir.path().join("editor-gate");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let gate = format!("read line < {}", fifo.display());
    let w = world(|c| {
        c.paths.workspace_root = Some(dir.path().join("src"));
        c.editor.command = vec!["sh".into(), "-c".into(), gate, "sh".into()];
    })
    .await;
    std::fs::create_dir_all(dir.path().join("src/billing")).unwrap();
    std::fs::write(dir.path().join("src/billing/README.md"), "billing").unwrap();
    let (_a, mut rx, _g) = echo_agent(&w.m, "a").await;
    let open = proposed(&w, "open billing in the editor", 0).await;
    assert_eq!(open.steps[0].step.task_type, crate::router::OPEN);
    w.m.accept_plan(&open.id, &[])
        .await
        .expect("accept the open");
    plan_when(&w, &open.id, |p| p.steps[0].state == StepState::Running).await;
    // While the editor has not answered, another plan runs to its end.
    let echo = proposed(&w, "echo hello world", 0).await;
    w.m.accept_plan(&echo.id, &[])
        .await
        .expect("accept the echo");
    let start = started(&mut rx).await;
    w.m.finish(&start.task_id, &start.capability_token, succeeded())
        .await
        .expect("finish");
    let done = plan_when(&w, &echo.id, |p| p.state.is_terminal()).await;
    assert_eq!(done.state, PlanState::Succeeded);
    assert_eq!(
        w.m.get_plan(&open.id).await.unwrap().state,
        PlanState::Running,
        "the editor is still opening"
    );
    // The editor answers: the open step, and its plan, end.
    std::fs::write(&fifo, "go\n").unwrap();
    let opened = plan_when(&w, &open.id, |p| p.state.is_terminal()).await;
    assert_eq!(opened.state, PlanState::Succeeded, "{}", opened.reason);
    assert!(
        opened.steps[0].summary.starts_with("opened "),
        "{}",
        opened.steps[0].summary
    );
}

#[tokio::test]
async fn a_page_of_plans_fits_one_message_and_the_next_pages_hold_the_rest() {
    let w = world(|c| {
        c.server.max_message_bytes = 40 * 1024;
        c.messages.max_body_bytes = 1024;
    })
    .await;
    let (_a, _rx, _guard) = echo_agent(&w.m, "a").await;
    let mut made = Vec::new();
    for i in 0..5 {
        let words = format!("{i} ") + &"words to say back ".repeat(190);
        made.push(proposed(&w, &format!("echo {words}"), 60).await.id);
    }
    let budget = 20 * 1024;
    let (mut seen, mut token, mut pages) = (Vec::new(), None, 0);
    loop {
        let (page, next) = w.m.list_plans(0, token.as_deref()).await.unwrap();
        pages += 1;
        let bytes: usize = page.iter().map(super::super::wire_bytes).sum();
        assert!(
            page.len() == 1 || bytes <= budget,
            "{} plans, {bytes} bytes",
            page.len()
        );
        seen.extend(page.into_iter().map(|p| p.id));
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert!(pages > 1, "one page of {} plans", seen.len());
    seen.sort();
    made.sort();
    assert_eq!(seen, made, "every plan once, none lost between pages");
}
