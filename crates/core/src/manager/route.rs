//! Plain words into a plan: the live catalogue handed to the router (see [`crate::router`]).
use super::*;
use crate::router::{self, Catalog, Context, Intent, Routed, Router};

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
    /// What asking the model cost (its usage at `router.model`'s prices).
    pub model_cost: f64,
}

impl Manager {
    /// The catalogue the router works from, as it is now: every registered task type (its
    /// description, schema and declared phrasings), the manager's "open" action, and the
    /// templates' answers schemas.
    pub fn router_catalog(&self) -> Catalog {
        // The model's task types serve the manager; they are never a request's answer.
        let model = &self.inner.cfg.router.model;
        let mut intents: Vec<Intent> = self
            .list_task_types()
            .into_iter()
            .filter(|t| t.task_type.name != model.task_type)
            .filter(|t| t.task_type.name != model.summary_task_type)
            .map(|t| {
                let schema = serde_json::from_str(&t.task_type.payload_schema_json)
                    .unwrap_or(serde_json::Value::Null);
                // One that takes its folder in its payload works on a project that is there (a
                // coding worker's repository), whatever it does with the folder of its own.
                let folder = if crate::schema::folder_property(&schema).is_some() {
                    crate::model::FolderUse::Existing
                } else {
                    t.task_type.folder
                };
                Intent {
                    task_type: t.task_type.name,
                    description: t.task_type.description,
                    schema,
                    examples: t.task_type.examples,
                    folder,
                }
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
            context: Default::default(),
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
        self.route_in_context(text, Context::default()).await
    }

    /// [`Manager::route_request`] for a request that follows others in a conversation.
    pub(super) async fn route_in_context(
        &self,
        text: &str,
        context: Context,
    ) -> Result<RouteAnswer> {
        self.check_request(text)?;
        let model = &self.inner.cfg.router.model;
        let catalog = Catalog {
            context,
            ..self.router_catalog()
        };
        if model.endpoint.is_empty() || router::never_refusal(text).is_some() {
            return Ok(self.route_offline(text, &catalog));
        }
        let started = Instant::now();
        let (asked, task_id, cost) = self.ask_model(text, &catalog).await;
        let fallback = match asked {
            Ok(routed) => {
                self.audit_model_outcome("route.model", &task_id, "taken", "", None)
                    .await;
                return Ok(RouteAnswer {
                    routed,
                    router: "model",
                    took: started.elapsed(),
                    fallback: String::new(),
                    model_task_id: task_id,
                    model_cost: cost,
                });
            }
            Err(why) => why,
        };
        tracing::warn!(reason = %fallback, "the model's answer was not taken; the offline router answers");
        self.audit_model_outcome("route.model", &task_id, "fallback", &fallback, None)
            .await;
        // Over the catalogue the model was given: read once.
        let mut a = self.route_offline(text, &catalog);
        a.took = started.elapsed();
        a.fallback = format!("the language model's answer was not taken: {fallback}");
        a.model_task_id = task_id;
        a.model_cost = cost;
        Ok(a)
    }

    /// Runs the model task for `text` and checks its answer; the task's id, when one was
    /// submitted, what was wrong otherwise, and what the call cost.
    async fn ask_model(
        &self,
        text: &str,
        catalog: &Catalog,
    ) -> (std::result::Result<Routed, String>, Option<String>, f64) {
        let cfg = &self.inner.cfg.router.model;
        let payload = router::model::payload(text, catalog, cfg);
        let (output, id) = self.run_model_task(&cfg.task_type, payload).await;
        let cost = output.as_ref().map_or(0.0, |o| router::model::cost(o, cfg));
        let routed = output.and_then(|o| {
            router::model::parse(&o, catalog, cfg.max_steps).map_err(|e| match &id {
                Some(id) => format!("task {id}: {e}"),
                None => e,
            })
        });
        (routed, id, cost)
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
        Ok(self.route_offline(text, &self.router_catalog()))
    }

    /// The offline router's answer for a checked request, over a catalogue already read.
    fn route_offline(&self, text: &str, catalog: &Catalog) -> RouteAnswer {
        let r = &self.inner.router;
        let started = Instant::now();
        let routed = r.route(text, catalog);
        RouteAnswer {
            routed,
            router: r.name(),
            took: started.elapsed(),
            fallback: String::new(),
            model_task_id: None,
            model_cost: 0.0,
        }
    }
}
