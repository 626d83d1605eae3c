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
}

impl Manager {
    /// The catalogue the router works from, as it is now: every registered task type (its
    /// description, schema and declared phrasings), the manager's "open" action, and the
    /// templates' answers schemas.
    pub fn router_catalog(&self) -> Catalog {
        let mut intents: Vec<Intent> = self
            .list_task_types()
            .into_iter()
            .map(|t| Intent {
                task_type: t.task_type.name,
                description: t.task_type.description,
                schema: serde_json::from_str(&t.task_type.payload_schema_json)
                    .unwrap_or(serde_json::Value::Null),
                examples: t.task_type.examples,
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
        Catalog { intents, templates }
    }

    /// Routes `text` with the offline router; runs nothing.
    pub fn route(&self, text: &str) -> Result<RouteAnswer> {
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
        let catalog = self.router_catalog();
        let r = &self.inner.router;
        let started = Instant::now();
        let routed = r.route(text, &catalog);
        Ok(RouteAnswer {
            routed,
            router: r.name(),
            took: started.elapsed(),
        })
    }
}
