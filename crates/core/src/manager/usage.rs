//! Model-call telemetry: a task's agent reports each call it made to a language model (tokens as
//! the server counted them, times as measured); the manager keeps the task's totals with the task
//! (stored, shown on its page and by `hyperagent task`) and puts each call on the feed.
use super::*;
use crate::drift::{folder_print, Kind};
use crate::model::{ModelCall, ModelUsage};

/// Most bytes of a model's name kept.
const MAX_MODEL_NAME: usize = 200;
/// Model-call ids remembered per task, to count a report sent again once: a resend follows its
/// lost answer at once, so the last few suffice (not a tunable: the SDK resends one call at a
/// time).
const REMEMBERED_CALLS: usize = 32;

impl Manager {
    /// Adds a model call to the task's totals; returns them.
    pub async fn report_model_call(
        &self,
        task_id: &str,
        token: &str,
        mut call: ModelCall,
    ) -> Result<ModelUsage> {
        for (what, ms) in [
            ("elapsed_ms", call.elapsed_ms),
            ("first_token_ms", call.first_token_ms),
            ("generation_ms", call.generation_ms),
        ] {
            if !ms.is_finite() || ms < 0.0 {
                return Err(Error::InvalidInput(format!(
                    "a model call's {what} must be a number of milliseconds, 0 or more; it is {ms}"
                )));
            }
        }
        if call.id.len() > 128 {
            return Err(Error::InvalidInput(format!(
                "a model call's id is {} bytes; at most 128 are allowed",
                call.id.len()
            )));
        }
        if call.total_tokens < call.prompt_tokens.saturating_add(call.completion_tokens) {
            return Err(Error::InvalidInput(format!(
                "a model call's total_tokens ({}) is less than its prompt and completion tokens \
                 together ({} + {})",
                call.total_tokens, call.prompt_tokens, call.completion_tokens
            )));
        }
        truncate(&mut call.model, MAX_MODEL_NAME);
        let now = self.now_us();
        let budget = self.inner.cfg.tasks.max_model_tokens;
        let cap = self.inner.cfg.agents.max_log_bytes_per_task;
        let disk_low = self.inner.disk.low().is_some();
        let burn = self.inner.cfg.drift.burn_tokens;
        let max_flags = self.inner.cfg.drift.max_flags_per_task;
        let every = self.inner.cfg.drift.burn_look_interval;
        // Is it time to look at the task's folder (burning tokens without changing anything)?
        // Read outside the commit: a walk of the folder must not hold the manager's lock. Only a
        // caller holding the task's token has it walked (the commit checks every caller).
        let look = {
            let st = self.state();
            let dir = st.tasks.get(task_id).and_then(|a| {
                let total = a
                    .task
                    .usage
                    .as_ref()
                    .map_or(0, |u| u.total_tokens)
                    .saturating_add(call.total_tokens);
                let due = a.watch.burn_due(total, burn, now, every) && !a.task.workspace.is_empty();
                due.then(|| PathBuf::from(&a.task.workspace))
            });
            if dir.is_some() {
                self.authorize(&st, task_id, token)?;
            }
            dir
        };
        let print = match look {
            Some(dir) => {
                let most = self.inner.cfg.drift.burn_scan_entries as usize;
                let print = tokio::task::spawn_blocking(move || folder_print(&dir, most));
                Some(print.await.ok().flatten())
            }
            None => None,
        };
        let (usage, over) = self.commit(|st| {
            let (_, a) = self.authorized(st, task_id, token)?;
            if !call.id.is_empty() {
                if a.model_calls.contains(&call.id) {
                    // Counted already: its answer was lost and the agent sent it again.
                    let usage = a.task.usage.clone().unwrap_or_default();
                    return Ok((Vec::new(), (usage, None)));
                }
                if a.model_calls.len() == REMEMBERED_CALLS {
                    a.model_calls.pop_front();
                }
                a.model_calls.push_back(call.id.clone());
            }
            let usage = a.task.usage.get_or_insert_with(ModelUsage::default);
            usage.add(&call);
            let usage = usage.clone();
            a.task.updated_us = now;
            a.watch.activity(now);
            let mut writes = vec![Write::Task(Box::new(a.task.clone()))];
            let body = EventBody::ModelCall {
                task_id: task_id.to_string(),
                call: call.clone(),
                usage: usage.clone(),
            };
            if a.keeps_report(stored_len(&body), cap, disk_low) {
                writes.push(Write::Event { time_us: now, body });
            }
            let burning =
                print.and_then(|p| a.watch.burned(usage.total_tokens, p, burn, now, every));
            let burning = a.watch.may_say(burning, max_flags);
            // Over its budget: said once, as drift with its evidence, and the task cancelled.
            let over = budget > 0 && usage.total_tokens > budget && !a.task.cancel_requested;
            let over = over.then(|| {
                let evidence = format!(
                    "{} tokens in {} model calls, more than tasks.max_model_tokens ({budget})",
                    usage.total_tokens, usage.calls
                );
                writes.push(Write::Event {
                    time_us: now,
                    body: EventBody::TaskDrift {
                        task_id: task_id.to_string(),
                        drift: Kind::OverBudget.name().to_string(),
                        evidence: evidence.clone(),
                        action: "cancelled".to_string(),
                    },
                });
                writes.push(Write::audit(
                    now,
                    "manager",
                    "task.drift",
                    Some(task_id),
                    serde_json::json!({
                        "drift": Kind::OverBudget.name(), "evidence": evidence, "action": "cancelled",
                    }),
                ));
                format!("it spent its model budget ({evidence})")
            });
            let over = over.or_else(|| {
                let d = burning?;
                self.drifted(task_id, &d, now, &mut writes)
            });
            Ok((writes, (usage, over)))
        })
        .await?;
        if let Some(why) = over {
            self.cancel_drifting(vec![(task_id.to_string(), why)]);
        }
        Ok(usage)
    }
}
