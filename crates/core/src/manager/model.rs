//! The language model's tasks: the manager never speaks to a model; it submits a task to the
//! agent that offers the model task type (the `llm` agent), waits for it at most
//! `router.model.timeout`, and takes its output only after checking it (see
//! [`crate::router::model`]). Routing a request ([`Manager::route_request`]) and writing a
//! finished plan's summary ([`Manager::summarize_later`]) both run on [`Manager::run_model_task`].
use super::*;
use crate::plan::{Plan, PlanState};
use crate::router;

impl Manager {
    /// Submits a model task of `task_type` with `payload` and waits for its end: its JSON output,
    /// or what went wrong (no agent online offers it, it could not be submitted, it failed, it
    /// took longer than `router.model.timeout` and was cancelled); with its id once submitted.
    pub(super) async fn run_model_task(
        &self,
        task_type: &str,
        payload: serde_json::Value,
    ) -> (
        std::result::Result<serde_json::Value, String>,
        Option<String>,
    ) {
        let cfg = &self.inner.cfg.router.model;
        let timeout = cfg.timeout;
        // Only the configured agent: the request and the plans' results go to no other that
        // claims the task type.
        let ready = self.list_agents().into_iter().any(|a| {
            a.row.id == cfg.agent
                && a.online
                && a.row.capabilities.iter().any(|c| c.name == task_type)
        });
        if !ready {
            return (
                Err(format!(
                    "the agent `{}` (router.model.agent) is not online offering `{task_type}`",
                    cfg.agent
                )),
                None,
            );
        }
        // Subscribed before submitting, so the task's end cannot slip past.
        let mut feed = self.feed().subscribe(
            None,
            crate::store::EventFilter {
                task_id: None,
                exclude_logs: true,
            },
        );
        let sub = Submission {
            task_type: task_type.to_string(),
            payload_json: payload.to_string(),
            timeout_secs: timeout.as_secs().max(1) as u32,
            max_attempts: 1,
            pin_agent: Some(cfg.agent.clone()),
            ..Submission::default()
        };
        let id = match self.submit(sub).await {
            Ok((t, _)) => t.id,
            Err(e) => return (Err(format!("its task could not be submitted: {e}")), None),
        };
        let ended = tokio::time::timeout(timeout, async {
            while let Some(ev) = feed.recv().await {
                let Ok(ev) = ev else { continue };
                if let EventBody::TaskState { task_id, to, .. } = &ev.body {
                    if task_id == &id && to.is_terminal() {
                        return true;
                    }
                }
            }
            false
        })
        .await;
        if !matches!(ended, Ok(true)) {
            let why = format!(
                "the model took longer than {} (router.model.timeout)",
                humantime::format_duration(timeout)
            );
            if let Err(e) = self.cancel_as(&id, &why, "manager").await {
                tracing::warn!(task = %id, error = %e, "cancelling the model task failed");
            }
            return (Err(why), Some(id));
        }
        (self.model_output(&id).await, Some(id))
    }

    /// A model task's JSON output, once it ended; what went wrong otherwise.
    async fn model_output(&self, id: &str) -> std::result::Result<serde_json::Value, String> {
        let task = self
            .get_task(id)
            .await
            .map_err(|e| format!("its task {id} could not be read: {e}"))?;
        let result = task.result.as_ref();
        if task.state != TaskState::Completed {
            let error = result.map(|r| r.error.as_str()).unwrap_or("");
            let error = if error.is_empty() {
                &task.status_reason
            } else {
                error
            };
            return Err(format!(
                "its task {id} ended {}: {error}",
                task.state.as_str()
            ));
        }
        match result.map(|r| serde_json::from_str(&r.output_json)) {
            Some(Ok(v)) => Ok(v),
            _ => Err(format!("its task {id} gave no JSON output")),
        }
    }

    /// Records what became of a model task's output (`action`: `route.model`,
    /// `plan.summarized`): `outcome` "taken" or "fallback", and why.
    pub(super) async fn audit_model_outcome(
        &self,
        action: &str,
        task_id: &Option<String>,
        outcome: &str,
        why: &str,
        plan_id: Option<&str>,
    ) {
        let now = self.now_us();
        let detail = serde_json::json!({ "outcome": outcome, "why": why, "plan_id": plan_id });
        let write = Write::audit(now, "manager", action, task_id.as_deref(), detail);
        if let Err(e) = self.record(vec![write]).await {
            tracing::error!(error = %e, action, "recording a model task's outcome failed");
        }
    }

    /// When a model is configured, has it write an ended plan's summary in the background: its
    /// words go first, the stitched summary (each step and its task) after them. When it cannot
    /// be taken the stitched summary stays, and the audit log says why.
    pub(super) fn summarize_later(&self, p: Plan) {
        let cfg = &self.inner.cfg.router.model;
        if cfg.endpoint.is_empty() || p.state == PlanState::Rejected {
            return;
        }
        let m = self.clone();
        tokio::spawn(async move { m.summarize_by_model(p).await });
    }

    async fn summarize_by_model(&self, mut p: Plan) {
        let cfg = &self.inner.cfg.router.model;
        if p.money_budget > 0.0 && p.money_spent >= p.money_budget {
            let why = format!(
                "the plan's money budget ({}) is spent ({}): no further model call",
                p.money_budget, p.money_spent
            );
            self.audit_model_outcome("plan.summarized", &None, "fallback", &why, Some(&p.id))
                .await;
            return;
        }
        let payload = router::model::summary_payload(&p, cfg);
        let (output, task_id) = self.run_model_task(&cfg.summary_task_type, payload).await;
        let cost = output.as_ref().map_or(0.0, |o| router::model::cost(o, cfg));
        let (outcome, why) = match output.and_then(|o| router::model::parse_summary(&o)) {
            Ok(text) => {
                p.summary = format!("{text}\n\n{}", p.summary);
                p.summary_by = "model".into();
                ("taken", String::new())
            }
            Err(why) => {
                tracing::warn!(plan = %p.id, reason = %why, "the model's summary was not taken");
                ("fallback", why)
            }
        };
        if outcome == "fallback" && cost == 0.0 {
            // Nothing changed in the plan: the record is the audit entry alone.
            self.audit_model_outcome("plan.summarized", &task_id, outcome, &why, Some(&p.id))
                .await;
            return;
        }
        let now = self.now_us();
        p.money_spent += cost;
        p.updated_us = now;
        let detail =
            serde_json::json!({ "outcome": outcome, "why": why, "plan_id": p.id, "cost": cost });
        let mut writes = vec![Write::audit(
            now,
            "manager",
            "plan.summarized",
            task_id.as_deref(),
            detail,
        )];
        super::plans::push_plan(&mut writes, &p, now);
        if let Err(e) = self.record(writes).await {
            tracing::error!(plan = %p.id, error = %e, "storing the model's summary failed");
        }
    }
}
