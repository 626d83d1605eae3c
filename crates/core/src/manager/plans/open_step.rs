//! A plan's "open" step: the manager's own action, run outside the plan engine's lock (an
//! editor may take up to `editor.launch_timeout` to answer), ending the step when it has.
use std::path::Path;

use super::super::*;
use super::push_plan;
use crate::plan::StepState;

impl Manager {
    /// Opens `folder` (beneath the workspace root when relative) for "open" step `n` of plan `id`
    /// in the background, then ends the step with how it went.
    pub(super) fn open_later(&self, id: &str, n: u32, folder: &str) {
        let target = if Path::new(folder).is_absolute() {
            folder.to_string()
        } else {
            self.workspace_root().join(folder).display().to_string()
        };
        let (m, id) = (self.clone(), id.to_string());
        tokio::spawn(async move {
            let opened = m.open_path(OpenTarget::Path(target), None, "manager").await;
            if let Err(e) = m.end_open_step(&id, n, opened).await {
                tracing::error!(plan = %id, step = n, error = %e, "ending an open step failed");
            }
        });
    }

    /// Ends "open" step `n` with how opening went (unless the step was ended meanwhile), then
    /// moves the plan on.
    pub(super) async fn end_open_step(
        &self,
        id: &str,
        n: u32,
        opened: Result<Opened>,
    ) -> Result<()> {
        {
            let _one_at_a_time = self.inner.plan_engine.lock().await;
            let Some(mut p) = self.state().plans.get(id).cloned() else {
                return Ok(());
            };
            let Some(s) = p.step_mut(n).filter(|s| s.state == StepState::Running) else {
                return Ok(());
            };
            match opened {
                Ok(o) => {
                    s.state = StepState::Succeeded;
                    s.reason = "done".into();
                    s.summary = format!("opened {} with {}", o.path.display(), o.opener);
                }
                Err(e) => {
                    s.state = StepState::Failed;
                    s.reason = e.to_string();
                }
            }
            let detail = serde_json::json!({ "plan_id": id, "step": n, "state": s.state, "reason": s.reason });
            let now = self.now_us();
            p.updated_us = now;
            self.commit(|st| {
                let mut writes = vec![Write::audit(
                    now,
                    "manager",
                    "plan.step.ended",
                    None,
                    detail,
                )];
                push_plan(&mut writes, &p, now);
                st.plans.insert(p.id.clone(), p);
                Ok((writes, ()))
            })
            .await?;
        }
        self.advance(id).await
    }
}
