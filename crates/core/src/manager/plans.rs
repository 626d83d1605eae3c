//! Plans: a plain-words request proposed as steps, accepted (with the person's edits) or
//! rejected, then run as tasks in the order their dependencies allow, each on the agent the
//! planner's score chose, within a wall-time budget, ending in one summary. The pure parts (the
//! DAG, the score, the summary) are in [`crate::plan`]; this file keeps plans and moves them.
//!
//! Durability: a plan is stored at every change (`Write::Plan`, with a `PlanChanged` event and an
//! audit entry in the same commit). A step's task is submitted with the idempotency key
//! `plan:<plan>:<step>:<attempt>` *before* the plan records it, so a manager killed in between
//! finds the same task again at the next start instead of running the step twice.
use super::*;
use crate::model::FolderUse;
use crate::plan::{self, Edit, Plan, PlanState, PlannedStep, StepState};
use crate::router::{Routed, OPEN};

mod open_step;
mod preview;

/// What a request became: a proposed plan (stored; nothing runs until it is accepted), or the
/// router's question or refusal.
#[derive(Clone, Debug)]
pub struct AskAnswer {
    /// The proposed plan, when the request became steps.
    pub plan: Option<Box<Plan>>,
    /// What the router answered (its steps are the plan's, moved into it), which router, how
    /// long it took, and why the model's answer was not taken.
    pub route: RouteAnswer,
}

impl Manager {
    /// Routes `text` and, when it became steps, stores them as a proposed plan with a preview of
    /// each step (the agents that could run it, the folder it touches, what it may ask first, and
    /// any problem that keeps it from running). A budget's `secs` 0 takes
    /// `planner.budget_secs`, its `money` 0 `planner.money_budget`.
    pub async fn ask(&self, text: &str, budget: Budget) -> Result<AskAnswer> {
        self.ask_in_context(text, budget, Default::default()).await
    }

    /// [`Manager::ask`] for a request that follows others in a conversation.
    pub(super) async fn ask_in_context(
        &self,
        text: &str,
        budget: Budget,
        context: crate::router::Context,
    ) -> Result<AskAnswer> {
        let cfg = &self.inner.cfg.planner;
        let money_budget = match budget.money {
            m if !m.is_finite() || m < 0.0 => {
                return Err(Error::InvalidInput(format!(
                    "a money budget of {m} cannot be: give 0 (the default, planner.money_budget) or more"
                )))
            }
            0.0 => cfg.money_budget,
            m => m,
        };
        let budget_secs = match budget.secs {
            0 => cfg.budget_secs,
            b if b > cfg.max_budget_secs => {
                return Err(Error::InvalidInput(format!(
                    "a budget of {b} s is more than the allowed {} s (planner.max_budget_secs)",
                    cfg.max_budget_secs
                )))
            }
            b => b,
        };
        let mut route = self.route_in_context(text, context).await?;
        let plan = match std::mem::replace(&mut route.routed, Routed::Plan(Vec::new())) {
            other @ (Routed::Clarify { .. } | Routed::Refuse { .. }) => {
                route.routed = other;
                None
            }
            Routed::Plan(mut steps) => {
                // A project made without a folder named goes in one named after it ("called
                // shop" -> shop), not in a folder named after its task.
                for s in steps.iter_mut().filter(|s| s.workspace.is_none()) {
                    s.workspace = plan::project_folder(&s.payload);
                }
                plan::normalise(&mut steps)?;
                let now = self.now_us();
                let mut p = Plan {
                    id: uuid::Uuid::now_v7().to_string(),
                    text: text.to_string(),
                    state: PlanState::Proposed,
                    steps: steps.into_iter().map(PlannedStep::new).collect(),
                    summary: String::new(),
                    summary_by: String::new(),
                    reason: "proposed: accept, edit or reject it".into(),
                    budget_secs,
                    money_budget,
                    money_spent: route.model_cost,
                    created_us: now,
                    updated_us: now,
                    deadline_us: None,
                    router: route.router.to_string(),
                    cancel_requested: false,
                };
                let detail = serde_json::json!({
                    "plan_id": p.id,
                    "text": p.text,
                    "steps": p.steps.iter().map(|s| &s.step).collect::<Vec<_>>(),
                });
                self.commit(|st| {
                    self.preview(st, &mut p);
                    let mut writes =
                        vec![Write::audit(now, "client", "plan.proposed", None, detail)];
                    push_plan(&mut writes, &p, now);
                    st.plans.insert(p.id.clone(), p.clone());
                    Ok((writes, ()))
                })
                .await?;
                Some(Box::new(p))
            }
        };
        Ok(AskAnswer { plan, route })
    }

    /// Runs a proposed plan with the person's edits. Refuses an edit that does not fit (an
    /// unknown step, a payload the task type's schema refuses, removing a step another waits
    /// for) and a plan with a step that cannot run as it stands, naming the step and why.
    /// Carried out to the end when the caller stops waiting (an accepted plan's steps start).
    pub async fn accept_plan(&self, id: &str, edits: &[Edit]) -> Result<Plan> {
        let (id, edits) = (id.to_string(), edits.to_vec());
        self.to_the_end(move |m| async move { m.accept_plan_now(&id, &edits).await })
            .await
    }

    async fn accept_plan_now(&self, id: &str, edits: &[Edit]) -> Result<Plan> {
        let now = self.now_us();
        self.commit(|st| {
            let mut p = self.proposed(st, id)?.clone();
            plan::apply_edits(&mut p.steps, edits)?;
            let mut steps: Vec<_> = p.steps.iter().map(|s| s.step.clone()).collect();
            plan::normalise(&mut steps)?;
            for (s, n) in p.steps.iter_mut().zip(steps) {
                s.step = n;
            }
            self.preview(st, &mut p);
            let problems: Vec<String> = p
                .steps
                .iter()
                .filter_map(|s| {
                    s.problem
                        .as_ref()
                        .map(|why| format!("step {} ({}): {why}", s.number(), s.step.task_type))
                })
                .collect();
            if !problems.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "the plan cannot run as it stands; edit or remove: {}",
                    problems.join("; ")
                )));
            }
            p.state = PlanState::Running;
            p.reason = "running".into();
            p.updated_us = now;
            p.deadline_us = Some(now + i64::from(p.budget_secs) * 1_000_000);
            for s in &mut p.steps {
                s.reason = match s.step.after.as_slice() {
                    [] => "starting".into(),
                    after => format!("waiting for step {}", join(after)),
                };
            }
            let edited: Vec<serde_json::Value> = edits
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "step": e.number,
                        "remove": e.remove,
                        "payload": e.payload,
                        "workspace": e.workspace,
                    })
                })
                .collect();
            let mut writes = vec![Write::audit(
                now,
                "client",
                "plan.accepted",
                None,
                serde_json::json!({ "plan_id": p.id, "edits": edited, "budget_secs": p.budget_secs }),
            )];
            push_plan(&mut writes, &p, now);
            st.plans.insert(p.id.clone(), p);
            Ok((writes, ()))
        })
        .await?;
        self.advance(id).await?;
        self.get_plan(id).await
    }

    /// Drops a proposed plan; nothing ran.
    pub async fn reject_plan(&self, id: &str, reason: &str) -> Result<Plan> {
        self.drop_proposal(id, reason, "client").await
    }

    /// Drops a proposed plan for `actor` ("client", or "manager" when it expired).
    async fn drop_proposal(&self, id: &str, reason: &str, actor: &str) -> Result<Plan> {
        let now = self.now_us();
        self.commit(|st| {
            let mut p = self.proposed(st, id)?.clone();
            p.state = PlanState::Rejected;
            p.reason = if reason.is_empty() {
                "rejected".into()
            } else {
                format!("rejected: {reason}")
            };
            p.updated_us = now;
            for s in &mut p.steps {
                s.state = StepState::Skipped;
                s.reason = "the plan was rejected".into();
            }
            p.summary = plan::summary(&p);
            let mut writes = vec![Write::audit(
                now,
                actor,
                "plan.rejected",
                None,
                serde_json::json!({ "plan_id": p.id, "reason": reason }),
            )];
            push_plan(&mut writes, &p, now);
            st.plans.remove(id);
            Ok((writes, p))
        })
        .await
    }

    /// Cancels a running plan: its running steps' tasks are cancelled and its waiting steps never
    /// start. Refuses a plan that is only proposed (reject it) or has ended. Carried out to the
    /// end when the caller stops waiting; asked again, it cancels whatever still runs.
    pub async fn cancel_plan(&self, id: &str, reason: &str) -> Result<Plan> {
        let (id, reason) = (id.to_string(), reason.to_string());
        self.to_the_end(move |m| async move { m.cancel_plan_now(&id, &reason).await })
            .await
    }

    async fn cancel_plan_now(&self, id: &str, reason: &str) -> Result<Plan> {
        let now = self.now_us();
        let running = self
            .commit(|st| {
                let Some(p) = st.plans.get_mut(id) else {
                    return Err(self.ended_plan(id));
                };
                if p.state == PlanState::Proposed {
                    return Err(Error::FailedPrecondition(format!(
                        "plan {id} is only proposed; nothing runs yet: reject it instead"
                    )));
                }
                let running: Vec<String> = p
                    .steps
                    .iter()
                    .filter(|s| s.state == StepState::Running)
                    .filter_map(|s| s.task_ids.last().cloned())
                    .collect();
                if p.cancel_requested {
                    // Asked again (the first answer was lost, or the manager restarted before
                    // its tasks were stopped): whatever still runs is stopped now.
                    return Ok((Vec::new(), running));
                }
                p.cancel_requested = true;
                p.updated_us = now;
                let mut writes = vec![Write::audit(
                    now,
                    "client",
                    "plan.cancel_requested",
                    None,
                    serde_json::json!({ "plan_id": id, "reason": reason, "tasks": running }),
                )];
                push_plan(&mut writes, p, now);
                Ok((writes, running))
            })
            .await?;
        let why = if reason.is_empty() {
            format!("plan {id} was cancelled")
        } else {
            format!("plan {id} was cancelled: {reason}")
        };
        for t in running {
            // A task that ended meanwhile has nothing to cancel; the plan reads its end.
            if let Err(e) = self.cancel(&t, &why).await {
                tracing::debug!(task = %t, error = %e, "cancelling a plan's task");
            }
        }
        self.advance(id).await?;
        self.get_plan(id).await
    }

    /// One plan.
    pub async fn get_plan(&self, id: &str) -> Result<Plan> {
        if let Some(p) = self.state().plans.get(id) {
            return Ok(p.clone());
        }
        self.inner
            .store
            .get_plan(id)
            .await?
            .ok_or_else(|| Error::PlanNotFound(id.to_string()))
    }

    /// Plans, newest first, and the next page token.
    pub async fn list_plans(
        &self,
        limit: u32,
        page_token: Option<&str>,
    ) -> Result<(Vec<Plan>, Option<String>)> {
        let max = self.inner.cfg.planner.list_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        let mut plans = self.inner.store.list_plans(page_token, limit).await?;
        {
            let st = self.state();
            for p in &mut plans {
                if let Some(live) = st.plans.get(&p.id) {
                    *p = live.clone();
                }
            }
        }
        let full = plans.len() as u32 == limit;
        // Steps carry their agents' summaries: a page of many fits one message all the same.
        let cut = self.page_cut(plans.iter().map(wire_bytes));
        let more = full || cut < plans.len();
        plans.truncate(cut);
        let next = more.then(|| plans.last().map(|p| p.id.clone())).flatten();
        Ok((plans, next))
    }

    fn proposed<'s>(&self, st: &'s mut State, id: &str) -> Result<&'s mut Plan> {
        let Some(p) = st.plans.get_mut(id) else {
            return Err(self.ended_plan(id));
        };
        if p.state != PlanState::Proposed {
            return Err(Error::FailedPrecondition(format!(
                "plan {id} was already accepted; only a proposed plan can be accepted or rejected"
            )));
        }
        Ok(p)
    }

    fn ended_plan(&self, id: &str) -> Error {
        Error::FailedPrecondition(format!(
            "plan {id} is not proposed or running (it ended, or there is no such plan: see `hyperagent plans`)"
        ))
    }

    /// The payload property a task type takes its folder in, if it does (see
    /// [`crate::schema::folder_property`]).
    fn folder_property(&self, task_type: &str) -> Option<String> {
        self.state()
            .schemas
            .get(task_type)
            .and_then(|c| c.folder_property.clone())
    }

    fn weights(&self) -> plan::Weights {
        let c = &self.inner.cfg.planner;
        plan::Weights {
            reputation: c.reputation_weight,
            price: c.price_weight,
            load: c.load_weight,
        }
    }

    /// Moves a running plan as far as it can go now: reads how its running steps' tasks ended
    /// (retrying a failed one on the next candidate), skips what can no longer run, starts what
    /// can, and ends the plan when nothing is left. One plan moves at a time.
    pub(super) async fn advance(&self, id: &str) -> Result<()> {
        let _one_at_a_time = self.inner.plan_engine.lock().await;
        loop {
            let Some(mut p) = self.state().plans.get(id).cloned() else {
                return Ok(());
            };
            if p.state != PlanState::Running {
                return Ok(());
            }
            let before = p.clone();
            let mut audits: Vec<(String, serde_json::Value)> = Vec::new();
            self.read_ended_steps(&mut p, &mut audits).await?;
            let now = self.now_us();
            let over_budget = p.deadline_us.is_some_and(|d| d <= now);
            if over_budget || p.cancel_requested {
                let why = if p.cancel_requested {
                    "the plan was cancelled".to_string()
                } else {
                    format!("the plan's budget of {} s was spent", p.budget_secs)
                };
                for s in p.steps.iter_mut().filter(|s| s.state == StepState::Waiting) {
                    s.state = StepState::Skipped;
                    s.reason = why.clone();
                }
                // Again at each turn: a cancel stored before a restart, whose tasks were not
                // all stopped then, stops them now (a task asked twice is stopped once).
                self.stop_running_steps(&p, &why).await;
            }
            plan::skip_blocked(&mut p);
            for n in plan::ready(&p) {
                self.start_step(&mut p, n, &mut audits).await?;
            }
            if let Some((state, why)) = plan::outcome(&p) {
                p.state = if over_budget && state == PlanState::Failed {
                    PlanState::Failed
                } else {
                    state
                };
                p.reason = if over_budget {
                    format!("the budget of {} s was spent; {why}", p.budget_secs)
                } else {
                    why
                };
                p.summary = plan::summary(&p);
                audits.push((
                    "plan.ended".into(),
                    serde_json::json!({ "plan_id": p.id, "state": p.state, "reason": p.reason }),
                ));
            }
            if p == before {
                return Ok(());
            }
            p.updated_us = now;
            let ended = p.state.is_terminal();
            let done = ended.then(|| p.clone());
            self.commit(|st| {
                let mut writes: Vec<Write> = audits
                    .into_iter()
                    .map(|(action, detail)| Write::audit(now, "manager", &action, None, detail))
                    .collect();
                push_plan(&mut writes, &p, now);
                if ended {
                    st.plans.remove(&p.id);
                } else {
                    st.plans.insert(p.id.clone(), p);
                }
                Ok((writes, ()))
            })
            .await?;
            if let Some(done) = done {
                self.summarize_later(done);
            }
        }
    }

    /// Reads the end of each running step's task: success, a failure retried on the next
    /// candidate (or the step's failure), a cancel.
    async fn read_ended_steps(
        &self,
        p: &mut Plan,
        audits: &mut Vec<(String, serde_json::Value)>,
    ) -> Result<()> {
        let running: Vec<(u32, String)> = p
            .steps
            .iter()
            .filter(|s| s.state == StepState::Running)
            .filter_map(|s| Some((s.number(), s.task_ids.last()?.clone())))
            .collect();
        for (n, task_id) in running {
            let task = self.get_task(&task_id).await?;
            if !task.state.is_terminal() {
                continue;
            }
            let retry = self.read_end(p, n, &task);
            let id = p.id.clone();
            let s = p.step_mut(n).expect("listed above");
            if retry {
                audits.push((
                    "plan.step.retried".into(),
                    serde_json::json!({ "plan_id": id, "step": n, "failed_task": task_id, "reason": s.reason }),
                ));
                self.submit_step(&id, s, audits).await?;
                continue;
            }
            audits.push((
                "plan.step.ended".into(),
                serde_json::json!({ "plan_id": id, "step": n, "task_id": task_id, "state": s.state, "reason": s.reason }),
            ));
        }
        Ok(())
    }

    /// Records how step `n`'s ended `task` went; returns whether it is to be tried again (on the
    /// agent its new decision names).
    fn read_end(&self, p: &mut Plan, n: u32, task: &Task) -> bool {
        let max_attempts = self.inner.cfg.planner.max_attempts;
        let cancelled = p.cancel_requested;
        let (summary, error) = task
            .result
            .as_ref()
            .map(|r| (r.summary.clone(), r.error.clone()))
            .unwrap_or_default();
        let s = p.step_mut(n).expect("a running step");
        s.summary = summary;
        match task.state {
            TaskState::Completed => {
                s.state = StepState::Succeeded;
                s.reason = "done".into();
                s.workspace_path = Some(made_path(task));
                return false;
            }
            TaskState::Canceled => {
                s.state = StepState::Canceled;
                s.reason = task.status_reason.clone();
                return false;
            }
            _ => {}
        }
        let why = if error.is_empty() {
            task.status_reason.clone()
        } else {
            error
        };
        s.state = StepState::Failed;
        s.reason = why.clone();
        let attempt = s.task_ids.len() as u32 + 1;
        if attempt > max_attempts || cancelled {
            return false;
        }
        let tried: Vec<String> = s
            .decisions
            .iter()
            .filter_map(|d| d.chosen.clone())
            .collect();
        let candidates = plan::rank(&facts(&self.state(), &s.step.task_type), self.weights());
        let d = plan::choose(&candidates, &tried, attempt, self.now_us());
        if d.chosen.is_none() {
            s.reason = format!("{why} ({})", d.why);
            return false;
        }
        s.reason = format!("attempt {} failed: {why}", attempt - 1);
        s.state = StepState::Waiting;
        s.decisions.push(d);
        true
    }

    /// Starts step `n`: its folder is resolved (an earlier step's, when it names one), an agent
    /// chosen and the task submitted; the manager's own "open" runs at once.
    async fn start_step(
        &self,
        p: &mut Plan,
        n: u32,
        audits: &mut Vec<(String, serde_json::Value)>,
    ) -> Result<()> {
        let folder = match p.step(n).and_then(|s| s.step.workspace.clone()) {
            Some(w) => match plan::reference(&w) {
                Some(m) => p.step(m).and_then(|d| d.workspace_path.clone()),
                None => Some(expand_home(&w)),
            },
            None => None,
        };
        let id = p.id.clone();
        let root = self.workspace_root();
        let takes_folder = self.folder_property(&p.step(n).expect("ready").step.task_type);
        let s = p.step_mut(n).expect("ready steps exist");
        s.workspace_path = folder.clone();
        // A task type that takes its folder in its payload (a coding worker's repository) gets
        // it there, made absolute, unless the words gave one; its task runs in a folder of its
        // own (see `submit_step`).
        if let (Some(prop), Some(f)) = (takes_folder, &folder) {
            s.step
                .payload
                .entry(prop)
                .or_insert_with(|| absolute_folder(&root, f).into());
        }
        if s.step.task_type == OPEN {
            let Some(folder) = folder else {
                s.state = StepState::Failed;
                s.reason = "no folder to open".into();
                return Ok(());
            };
            // The editor may take up to `editor.launch_timeout`: it opens outside the engine's
            // lock, and the step ends when it has (`end_open_step`).
            s.state = StepState::Running;
            s.reason = format!("opening {folder} in the editor");
            audits.push((
                "plan.step.started".into(),
                serde_json::json!({ "plan_id": id, "step": n, "open": folder }),
            ));
            self.open_later(&id, n, &folder);
            return Ok(());
        }
        let candidates = {
            let st = self.state();
            plan::rank(&facts(&st, &s.step.task_type), self.weights())
        };
        let d = plan::choose(&candidates, &[], 1, self.now_us());
        s.decisions.push(d);
        self.submit_step(&id, s, audits).await
    }

    /// Submits the task of a step's latest decision (idempotently: the same attempt of the same
    /// step is the same task) and marks the step running.
    async fn submit_step(
        &self,
        plan_id: &str,
        s: &mut PlannedStep,
        audits: &mut Vec<(String, serde_json::Value)>,
    ) -> Result<()> {
        let d = s
            .decisions
            .last()
            .cloned()
            .expect("decided before submitting");
        let key = format!("plan:{plan_id}:{}:{}", s.number(), d.attempt);
        let own_folder = self.folder_property(&s.step.task_type).is_some();
        let sub = Submission {
            task_type: s.step.task_type.clone(),
            payload_json: serde_json::Value::Object(s.step.payload.clone()).to_string(),
            idempotency_key: Some(key),
            pin_agent: d.chosen.clone(),
            workspace: if own_folder {
                None
            } else {
                s.workspace_path.clone()
            },
            ..Submission::default()
        };
        let task = match self.submit(sub).await {
            Ok((t, _)) => t,
            // The same attempt, submitted before a restart with another agent chosen: that task
            // is this step's.
            Err(Error::IdempotencyConflict { task_id, .. }) => self.get_task(&task_id).await?,
            Err(e) => {
                s.state = StepState::Failed;
                s.reason = format!("its task could not be submitted: {e}");
                audits.push((
                    "plan.step.ended".into(),
                    serde_json::json!({ "plan_id": plan_id, "step": s.number(), "state": s.state, "reason": s.reason }),
                ));
                return Ok(());
            }
        };
        audits.push((
            "plan.step.started".into(),
            serde_json::json!({
                "plan_id": plan_id,
                "step": s.number(),
                "task_id": task.id,
                "attempt": d.attempt,
                "chosen": d.chosen,
                "why": d.why,
                "candidates": d.candidates,
            }),
        ));
        s.state = StepState::Running;
        let after = if d.attempt > 1 {
            format!(" after {}", s.reason)
        } else {
            String::new()
        };
        s.reason = match &d.chosen {
            Some(a) => format!("running on {a}{after}"),
            None => format!("waiting for a capable agent{after}"),
        };
        s.agent_id = d.chosen.clone();
        s.workspace_path = Some(task.workspace.clone());
        s.task_ids.push(task.id);
        Ok(())
    }

    async fn stop_running_steps(&self, p: &Plan, why: &str) {
        for t in p
            .steps
            .iter()
            .filter(|s| s.state == StepState::Running)
            .filter_map(|s| s.task_ids.last())
        {
            if let Err(e) = self.cancel(t, why).await {
                tracing::debug!(task = %t, error = %e, "stopping a plan's task");
            }
        }
    }

    /// Takes back the plans that were proposed or running, and moves the running ones on (their
    /// tasks may have ended while the manager was down).
    pub(super) async fn resume_plans(&self) -> Result<()> {
        let plans = self.inner.store.load_active_plans().await?;
        let running: Vec<String> = plans
            .iter()
            .filter(|p| p.state == PlanState::Running)
            .map(|p| p.id.clone())
            .collect();
        // An "open" step cut short by the restart opens again (opening twice is harmless; never
        // opening would leave the plan waiting).
        let opening: Vec<(String, u32, String)> = plans
            .iter()
            .filter(|p| p.state == PlanState::Running)
            .flat_map(|p| {
                p.steps
                    .iter()
                    .filter(|s| s.state == StepState::Running && s.step.task_type == OPEN)
                    .filter_map(|s| Some((p.id.clone(), s.number(), s.workspace_path.clone()?)))
            })
            .collect();
        {
            let mut st = self.state();
            for p in plans {
                st.plans.insert(p.id.clone(), p);
            }
        }
        for (id, n, folder) in opening {
            self.open_later(&id, n, &folder);
        }
        for id in running {
            self.advance(&id).await?;
        }
        Ok(())
    }

    /// Moves plans as their tasks end: reads the feed (state changes only) for as long as the
    /// manager runs.
    pub(super) async fn plan_loop(
        self,
        mut events: mpsc::Receiver<Result<Arc<crate::model::Event>>>,
    ) {
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            let ev = tokio::select! {
                ev = events.recv() => ev,
                _ = shutdown.changed() => return,
            };
            let Some(Ok(ev)) = ev else { return };
            let EventBody::TaskState { task_id, to, .. } = &ev.body else {
                continue;
            };
            if !to.is_terminal() {
                continue;
            }
            let plan = {
                let st = self.state();
                st.plans
                    .values()
                    .find(|p| p.step_of_task(task_id).is_some())
                    .map(|p| p.id.clone())
            };
            if let Some(id) = plan {
                if let Err(e) = self.advance(&id).await {
                    tracing::error!(plan = %id, error = %e, "moving a plan on failed");
                }
            }
        }
    }

    /// Plans whose budget is spent, moved on, and proposals older than `planner.proposal_ttl`,
    /// dropped (from the housekeeping tick).
    pub(super) fn plans_due(&self) {
        let now = self.now_us();
        let ttl = self.inner.cfg.planner.proposal_ttl;
        let expired: Vec<String> = self
            .state()
            .plans
            .values()
            .filter(|p| p.state == PlanState::Proposed && p.created_us + us(ttl) <= now)
            .map(|p| p.id.clone())
            .collect();
        for id in expired {
            let m = self.clone();
            let why = format!(
                "expired: neither accepted nor rejected within {} (planner.proposal_ttl)",
                humantime::format_duration(ttl)
            );
            tokio::spawn(async move {
                if let Err(e) = m.drop_proposal(&id, &why, "manager").await {
                    tracing::debug!(plan = %id, error = %e, "dropping an expired proposal");
                }
            });
        }
        let due: Vec<String> = self
            .state()
            .plans
            .values()
            .filter(|p| p.state == PlanState::Running && p.deadline_us.is_some_and(|d| d <= now))
            .map(|p| p.id.clone())
            .collect();
        for id in due {
            let m = self.clone();
            tokio::spawn(async move {
                if let Err(e) = m.advance(&id).await {
                    tracing::error!(plan = %id, error = %e, "ending a plan over its budget failed");
                }
            });
        }
    }
}

/// The plan's row, its event.
pub(super) fn push_plan(writes: &mut Vec<Write>, p: &Plan, now: i64) {
    writes.push(Write::Plan(Box::new(p.clone())));
    writes.push(Write::Event {
        time_us: now,
        body: EventBody::PlanChanged {
            plan: Box::new(p.clone()),
        },
    });
}

/// What the planner knows of each agent that offers `task_type`.
fn facts(st: &State, task_type: &str) -> Vec<plan::AgentFacts> {
    st.registry
        .iter()
        .filter(|r| r.offers(task_type))
        .map(|r| plan::AgentFacts {
            agent_id: r.row.id.clone(),
            successes: r.row.successes,
            failures: r.row.failures,
            cost: r.row.cost,
            holding: r.holding.len() as u32,
            max_concurrency: r.row.max_concurrency,
            online: r.online,
        })
        .collect()
}

/// The folder a completed task leaves for the steps after it: the `path` its result names when
/// that is its workspace or beneath it, else its workspace.
fn made_path(task: &Task) -> String {
    let said = task
        .result
        .as_ref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.output_json).ok())
        .and_then(|v| v.get("path")?.as_str().map(str::to_string));
    match said {
        Some(p) if Path::new(&p).starts_with(&task.workspace) => p,
        _ => task.workspace.clone(),
    }
}

/// A folder as said ("shop", "~/src/api", "/srv/api") made absolute: beneath the workspace root
/// when relative.
fn absolute_folder(root: &Path, said: &str) -> String {
    let expanded = expand_home(said);
    if Path::new(&expanded).is_absolute() {
        expanded
    } else {
        root.join(expanded).display().to_string()
    }
}

/// `~` and `~/x` as the home folder.
fn expand_home(w: &str) -> String {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (w.strip_prefix('~'), home) {
        (Some(rest), Some(h)) if rest.is_empty() || rest.starts_with('/') => {
            h.join(rest.trim_start_matches('/')).display().to_string()
        }
        _ => w.to_string(),
    }
}

/// What a task type does with its folder, as its agents declared it (the first that said).
fn folder_use(st: &State, task_type: &str) -> FolderUse {
    st.registry
        .iter()
        .flat_map(|r| r.row.capabilities.iter())
        .find(|c| c.name == task_type && c.folder != FolderUse::Any)
        .map_or(FolderUse::Any, |c| c.folder)
}

fn join(numbers: &[u32]) -> String {
    numbers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
