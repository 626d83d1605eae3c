//! Plain words into a plan: the live catalogue handed to the router (see [`crate::router`]).
use super::*;
use crate::router::{self, Catalog, Intent, Routed, Router};

/// What the router made of a request, and what it took.
#[derive(Clone, Debug)]
pub struct RouteAnswer {
    /// The plan, question or refusal.
    pub routed: Routed,
    /// Which router answered.
    pub router: &'static str,
    /// How long routing took.
    pub took: Duration,
    /// Why the language model's answer was not taken, when one is configured and the offline
    /// router answered instead; "" otherwise.
    pub fallback: String,
    /// The task that asked the model, when one ran.
    pub model_task_id: Option<String>,
}

impl Manager {
    /// The catalogue the router works from, as it is now: every registered task type (its
    /// description, schema and declared phrasings), the manager's "open" action, and the
    /// templates' answers schemas.
    pub fn router_catalog(&self) -> Catalog {
        // The task type that asks the model serves the router; it is never a request's answer.
        let model_task = &self.inner.cfg.router.model.task_type;
        let mut intents: Vec<Intent> = self
            .list_task_types()
            .into_iter()
            .filter(|t| &t.task_type.name != model_task)
            .map(|t| Intent {
                task_type: t.task_type.name,
                description: t.task_type.description,
                schema: serde_json::from_str(&t.task_type.payload_schema_json)
                    .unwrap_or(serde_json::Value::Null),
                examples: t.task_type.examples,
                folder: t.task_type.folder,
            })
            .collect();
        intents.push(router::open_intent());
        let templates = self
            .list_templates()
            .into_iter()
            .filter_map(|t| {
                let schema = serde_json::from_str(&t.answers_schema_json).ok()?;
                Some((t.name, schema))
            })
            .collect();
        Catalog {
            intents,
            templates,
            folders: self.project_folders(),
        }
    }

    /// The folders directly beneath the workspace root, by name (hidden ones left out), at most
    /// `router.max_folders` of them: the projects a request may name. Unreadable: none.
    fn project_folders(&self) -> Vec<String> {
        let max = self.inner.cfg.router.max_folders;
        let Ok(entries) = std::fs::read_dir(self.workspace_root()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .take(max)
            .collect();
        names.sort();
        names
    }

    /// Routes `text`: by the language model when one is configured (through its task; see
    /// [`Manager::ask_model`]), by the offline router when there is none or its answer cannot be
    /// taken (the answer says why). Runs nothing of the plan.
    pub async fn route_request(&self, text: &str) -> Result<RouteAnswer> {
        self.check_request(text)?;
        let model = &self.inner.cfg.router.model;
        if model.endpoint.is_empty() || router::never_refusal(text).is_some() {
            return self.route(text);
        }
        let started = Instant::now();
        let catalog = self.router_catalog();
        let (asked, task_id) = self.ask_model(text, &catalog).await;
        let fallback = match asked {
            Ok(routed) => {
                self.audit_model(&task_id, "taken", "").await;
                return Ok(RouteAnswer {
                    routed,
                    router: "model",
                    took: started.elapsed(),
                    fallback: String::new(),
                    model_task_id: task_id,
                });
            }
            Err(why) => why,
        };
        tracing::warn!(reason = %fallback, "the model's answer was not taken; the offline router answers");
        self.audit_model(&task_id, "fallback", &fallback).await;
        let mut a = self.route(text)?;
        a.took = started.elapsed();
        a.fallback = format!("the language model's answer was not taken: {fallback}");
        a.model_task_id = task_id;
        Ok(a)
    }

    /// Runs the model task for `text` and checks its answer; the task's id, when one was
    /// submitted, and what was wrong otherwise.
    async fn ask_model(
        &self,
        text: &str,
        catalog: &Catalog,
    ) -> (std::result::Result<Routed, String>, Option<String>) {
        let cfg = &self.inner.cfg.router.model;
        let offered = self
            .list_task_types()
            .into_iter()
            .any(|t| t.task_type.name == cfg.task_type && t.available);
        if !offered {
            return (
                Err(format!("no agent online offers `{}`", cfg.task_type)),
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
            task_type: cfg.task_type.clone(),
            payload_json: router::model::payload(text, catalog, cfg).to_string(),
            timeout_secs: cfg.timeout.as_secs().max(1) as u32,
            max_attempts: 1,
            ..Submission::default()
        };
        let task = match self.submit(sub).await {
            Ok((t, _)) => t,
            Err(e) => return (Err(format!("its task could not be submitted: {e}")), None),
        };
        let id = task.id.clone();
        let ended = tokio::time::timeout(cfg.timeout, async {
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
                humantime::format_duration(cfg.timeout)
            );
            if let Err(e) = self.cancel(&id, &why).await {
                tracing::warn!(task = %id, error = %e, "cancelling the model task failed");
            }
            return (Err(why), Some(id));
        }
        let task = match self.get_task(&id).await {
            Ok(t) => t,
            Err(e) => {
                return (
                    Err(format!("its task {id} could not be read: {e}")),
                    Some(id),
                )
            }
        };
        let result = task.result.as_ref();
        if task.state != TaskState::Completed {
            let error = result.map(|r| r.error.as_str()).unwrap_or("");
            let error = if error.is_empty() {
                &task.status_reason
            } else {
                error
            };
            return (
                Err(format!(
                    "its task {id} ended {}: {error}",
                    task.state.as_str()
                )),
                Some(id),
            );
        }
        let output: serde_json::Value = match result.map(|r| serde_json::from_str(&r.output_json)) {
            Some(Ok(v)) => v,
            _ => return (Err(format!("its task {id} gave no JSON output")), Some(id)),
        };
        let max_steps = cfg.max_steps;
        (
            router::model::parse(&output, catalog, max_steps)
                .map_err(|e| format!("task {id}: {e}")),
            Some(id),
        )
    }

    /// Records whether the model's answer was taken.
    async fn audit_model(&self, task_id: &Option<String>, outcome: &str, why: &str) {
        let now = self.now_us();
        let detail = serde_json::json!({ "outcome": outcome, "why": why });
        if let Err(e) = self
            .record(vec![Write::audit(
                now,
                "manager",
                "route.model",
                task_id.as_deref(),
                detail,
            )])
            .await
        {
            tracing::error!(error = %e, "recording the model router's outcome failed");
        }
    }

    /// Refuses an empty or too long request.
    fn check_request(&self, text: &str) -> Result<()> {
        let max = self.inner.cfg.router.max_request_bytes;
        if text.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the request is empty: say what you want done, e.g. \"run the tests in shop\""
                    .into(),
            ));
        }
        if text.len() > max {
            return Err(Error::InvalidInput(format!(
                "the request is {} bytes; at most {max} (router.max_request_bytes) are read",
                text.len()
            )));
        }
        Ok(())
    }

    /// Routes `text` with the offline router; runs nothing.
    pub fn route(&self, text: &str) -> Result<RouteAnswer> {
        self.check_request(text)?;
        let catalog = self.router_catalog();
        let r = &self.inner.router;
        let started = Instant::now();
        let routed = r.route(text, &catalog);
        Ok(RouteAnswer {
            routed,
            router: r.name(),
            took: started.elapsed(),
            fallback: String::new(),
            model_task_id: None,
        })
    }
}
