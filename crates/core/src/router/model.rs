//! The language-model router's two pure halves: what the model task is asked (the request and
//! the live catalogue), and what its answer is worth (checked against that catalogue before the
//! manager takes it). The call itself is an agent's task (see `Manager::route_request`): the
//! manager never speaks to the model.
use serde_json::{json, Map, Value};

use super::{Catalog, Routed, Step, OPEN};
use crate::config;

/// How sure the router says it is of a model's step: the model gives no score, and its answer
/// passed every check.
const MODEL_CONFIDENCE: f32 = 0.9;

/// The payload of the model task (the `llm` agent's `llm.route` schema).
pub fn payload(text: &str, catalog: &Catalog, cfg: &config::RouterModel) -> Value {
    let intents: Vec<Value> = catalog
        .intents
        .iter()
        .filter(|i| i.task_type != cfg.task_type)
        .map(|i| {
            json!({
                "task_type": i.task_type,
                "description": i.description,
                "schema": if i.schema.is_object() { i.schema.clone() } else { json!({}) },
                "examples": i.examples,
            })
        })
        .collect();
    let templates: Vec<Value> = catalog
        .templates
        .iter()
        .map(|(name, schema)| json!({"name": name, "answers_schema": schema}))
        .collect();
    json!({
        "request": text,
        "endpoint": cfg.endpoint,
        "model": cfg.name,
        "api_key_secret": cfg.key_secret,
        "timeout_secs": cfg.timeout.as_secs_f64(),
        "max_steps": cfg.max_steps,
        "catalog": {"intents": intents, "templates": templates},
        "context": context(&catalog.context),
    })
}

/// What came before the request, as the model task takes it (empty outside a conversation).
fn context(c: &super::Context) -> Value {
    let mut v = serde_json::Map::new();
    if let Some(f) = &c.folder {
        v.insert("folder".into(), json!(f));
    }
    if !c.earlier.is_empty() {
        v.insert("earlier".into(), json!(c.earlier));
    }
    Value::Object(v)
}

/// The model task's output (`{"answer": {...}, "model": ...}`) as a plan, question or refusal,
/// or what is wrong with it. Every task type must be in the catalogue, every payload must pass its
/// schema, and every step may wait only for steps before it.
pub fn parse(output: &Value, catalog: &Catalog, max_steps: u32) -> Result<Routed, String> {
    let answer = output
        .get("answer")
        .and_then(Value::as_object)
        .ok_or("its output has no `answer` object")?;
    let text = |k: &str| answer.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let known = |t: &str| catalog.intents.iter().find(|i| i.task_type == t);
    let choices = |k: &str| -> Result<Vec<String>, String> {
        let list = answer
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.iter()
            .map(|c| match c.as_str() {
                Some(t) if known(t).is_some() => Ok(t.to_string()),
                _ => Err(format!("its {k} name {c}, which is no task type here")),
            })
            .collect()
    };
    match text("kind") {
        "question" => {
            let question = text("question");
            if question.is_empty() {
                return Err("it asked an empty question".into());
            }
            Ok(Routed::Clarify {
                question: question.into(),
                choices: choices("choices")?,
            })
        }
        "refusal" => {
            let reason = text("reason");
            if reason.is_empty() {
                return Err("it refused without a reason".into());
            }
            Ok(Routed::Refuse {
                reason: reason.into(),
                can_do: catalog
                    .intents
                    .iter()
                    .map(|i| i.task_type.clone())
                    .collect(),
            })
        }
        "plan" => {
            let steps = answer
                .get("steps")
                .and_then(Value::as_array)
                .ok_or("its plan has no `steps` list")?;
            if steps.is_empty() || steps.len() > max_steps as usize {
                return Err(format!(
                    "its plan has {} steps; from 1 to {max_steps} (router.model.max_steps) are taken",
                    steps.len()
                ));
            }
            let steps = steps
                .iter()
                .enumerate()
                .map(|(i, s)| step(i as u32 + 1, s, catalog))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Routed::Plan(steps))
        }
        other => Err(format!(
            "its answer is of kind {other:?}; \"plan\", \"question\" or \"refusal\" is taken"
        )),
    }
}

/// What a model task's call cost, from the usage its output reports and the configured prices
/// per million tokens (0 when it reports none).
pub fn cost(output: &Value, cfg: &config::RouterModel) -> f64 {
    let tokens = |k: &str| output["usage"][k].as_f64().unwrap_or(0.0).max(0.0);
    (tokens("prompt_tokens") * cfg.prompt_price
        + tokens("completion_tokens") * cfg.completion_price)
        / 1_000_000.0
}

/// Longest summary taken from the model, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4000;

/// The payload of the summary task (the `llm` agent's `llm.summarize` schema): the request, each
/// step's outcome, and the manager's own stitched summary as material.
pub fn summary_payload(plan: &crate::plan::Plan, cfg: &config::RouterModel) -> Value {
    let cut = |t: &str, n: usize| t.chars().take(n).collect::<String>();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let what = if s.summary.is_empty() {
                &s.reason
            } else {
                &s.summary
            };
            json!({
                "number": s.number(),
                "task_type": s.step.task_type,
                "state": s.state,
                "summary": cut(what, MAX_SUMMARY_CHARS),
                "task_ids": s.task_ids.iter().rev().take(16).rev().collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "endpoint": cfg.endpoint,
        "model": cfg.name,
        "api_key_secret": cfg.key_secret,
        "timeout_secs": cfg.timeout.as_secs_f64(),
        "request": cut(&plan.text, 4096),
        "steps": steps,
        "offline_summary": cut(&plan.summary, 16000),
    })
}

/// The summary task's output (`{"summary": "..."}`) as the text to show, or what is wrong with it.
pub fn parse_summary(output: &Value) -> Result<String, String> {
    let text = output
        .get("summary")
        .and_then(Value::as_str)
        .map(str::trim)
        .ok_or("its output has no `summary` text")?;
    if text.is_empty() {
        return Err("its summary is empty".into());
    }
    let n = text.chars().count();
    if n > MAX_SUMMARY_CHARS {
        return Err(format!(
            "its summary has {n} characters; at most {MAX_SUMMARY_CHARS} are taken"
        ));
    }
    Ok(text.to_string())
}

/// Step `number` of a model's plan, checked.
fn step(number: u32, s: &Value, catalog: &Catalog) -> Result<Step, String> {
    let at = format!("step {number}");
    let task_type = s
        .get("task_type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("its {at} names no task type"))?;
    let intent = catalog
        .intents
        .iter()
        .find(|i| i.task_type == task_type)
        .ok_or_else(|| format!("its {at} is of task type `{task_type}`, which no agent offers"))?;
    let raw = s.get("payload_json").and_then(Value::as_str).unwrap_or("");
    let payload: Map<String, Value> = if raw.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(raw) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(format!("its {at} payload is not a JSON object")),
            Err(e) => return Err(format!("its {at} payload is not JSON: {e}")),
        }
    };
    if intent.task_type != OPEN && intent.schema.is_object() {
        let compiled = crate::schema::Compiled::new(&intent.schema.to_string())
            .map_err(|e| format!("{task_type}'s schema: {e}"))?;
        compiled
            .validate(task_type, &Value::Object(payload.clone()))
            .map_err(|e| format!("its {at}: {e}"))?;
    }
    let mut after = Vec::new();
    for a in s
        .get("after")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match a.as_u64() {
            Some(n) if n >= 1 && n < u64::from(number) => after.push(n as u32),
            _ => {
                return Err(format!(
                    "its {at} waits for step {a}; only earlier steps can be waited for"
                ))
            }
        }
    }
    let folder = s.get("folder").and_then(Value::as_str).unwrap_or("").trim();
    Ok(Step {
        number,
        task_type: task_type.to_string(),
        payload,
        workspace: (!folder.is_empty()).then(|| folder.to_string()),
        after,
        confidence: MODEL_CONFIDENCE,
        why: "the language model chose it; its payload passed the task type's schema".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{open_intent, Intent};

    fn catalog() -> Catalog {
        Catalog {
            intents: vec![
                Intent {
                    task_type: "tests.run".into(),
                    description: "Runs a project's tests".into(),
                    schema: json!({"type": "object", "properties": {"python": {"type": "string"}}, "additionalProperties": false}),
                    examples: vec!["run the tests".into()],
                    folder: Default::default(),
                },
                Intent {
                    task_type: "llm.route".into(),
                    description: "asks the model".into(),
                    schema: json!({}),
                    examples: vec![],
                    folder: Default::default(),
                },
                open_intent(),
            ],
            templates: vec![("fastapi".into(), json!({"type": "object"}))],
            folders: Vec::new(),
            context: Default::default(),
        }
    }

    #[test]
    fn the_payload_carries_the_catalogue_but_never_the_model_task_itself() {
        let cfg = config::RouterModel {
            endpoint: "http://127.0.0.1:8080/v1".into(),
            name: "tiny".into(),
            ..Default::default()
        };
        let p = payload("run the tests", &catalog(), &cfg);
        let types: Vec<&str> = p["catalog"]["intents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["task_type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["tests.run", "open"]);
        assert_eq!(p["catalog"]["templates"][0]["name"], "fastapi");
        assert_eq!(p["endpoint"], "http://127.0.0.1:8080/v1");
        assert_eq!(p["max_steps"], 8);
    }

    #[test]
    fn a_checked_plan_becomes_steps() {
        let out = json!({"answer": {"kind": "plan", "steps": [
            {"task_type": "tests.run", "payload_json": "{\"python\": \"3.11\"}", "folder": "shop", "after": []},
            {"task_type": "open", "payload_json": "", "folder": "$1.path", "after": [1]},
        ]}});
        let Routed::Plan(steps) = parse(&out, &catalog(), 8).unwrap() else {
            panic!("not a plan")
        };
        assert_eq!(steps[0].payload["python"], "3.11");
        assert_eq!(steps[0].workspace.as_deref(), Some("shop"));
        assert_eq!(steps[1].after, [1]);
        assert_eq!(steps[1].workspace.as_deref(), Some("$1.path"));
    }

    #[test]
    fn wrong_answers_are_named() {
        let c = catalog();
        let cases = [
            (json!({}), "no `answer`"),
            (
                json!({"answer": {"kind": "maybe"}}),
                "\"plan\", \"question\" or \"refusal\"",
            ),
            (json!({"answer": {"kind": "plan", "steps": []}}), "0 steps"),
            (
                json!({"answer": {"kind": "plan", "steps": [{"task_type": "rm.rf", "payload_json": "", "folder": "", "after": []}]}}),
                "`rm.rf`, which no agent offers",
            ),
            (
                json!({"answer": {"kind": "plan", "steps": [{"task_type": "tests.run", "payload_json": "{\"nope\": 1}", "folder": "", "after": []}]}}),
                "does not match its schema",
            ),
            (
                json!({"answer": {"kind": "plan", "steps": [{"task_type": "tests.run", "payload_json": "[1]", "folder": "", "after": []}]}}),
                "not a JSON object",
            ),
            (
                json!({"answer": {"kind": "plan", "steps": [{"task_type": "tests.run", "payload_json": "", "folder": "", "after": [1]}]}}),
                "only earlier steps",
            ),
            (
                json!({"answer": {"kind": "question", "question": " ", "choices": []}}),
                "empty question",
            ),
            (
                json!({"answer": {"kind": "question", "question": "which?", "choices": ["x.y"]}}),
                "no task type here",
            ),
            (
                json!({"answer": {"kind": "refusal", "reason": ""}}),
                "without a reason",
            ),
        ];
        for (out, want) in cases {
            let err = parse(&out, &c, 8).unwrap_err();
            assert!(err.contains(want), "{out}: {err}");
        }
        let two = json!({"answer": {"kind": "plan", "steps": [
            {"task_type": "open", "payload_json": "", "folder": "", "after": []},
            {"task_type": "open", "payload_json": "", "folder": "", "after": []},
        ]}});
        assert!(parse(&two, &c, 1).unwrap_err().contains("from 1 to 1"));
    }

    #[test]
    fn a_call_costs_its_tokens_at_the_configured_prices() {
        let cfg = config::RouterModel {
            prompt_price: 2.0,
            completion_price: 8.0,
            ..Default::default()
        };
        let out = json!({"usage": {"prompt_tokens": 1_500_000, "completion_tokens": 250_000}});
        assert!((cost(&out, &cfg) - 5.0).abs() < 1e-9);
        assert_eq!(cost(&json!({"usage": {}}), &cfg), 0.0);
        assert_eq!(
            cost(&out, &config::RouterModel::default()),
            0.0,
            "a local model is free"
        );
    }

    #[test]
    fn a_summary_is_taken_when_it_is_text_of_a_bounded_length() {
        assert_eq!(
            parse_summary(&json!({"summary": "  Made shop; its tests passed.\n"})).unwrap(),
            "Made shop; its tests passed."
        );
        for (out, want) in [
            (json!({}), "no `summary`"),
            (json!({"summary": 3}), "no `summary`"),
            (json!({"summary": "   "}), "empty"),
            (json!({"summary": "x".repeat(4001)}), "4001 characters"),
        ] {
            let err = parse_summary(&out).unwrap_err();
            assert!(err.contains(want), "{out}: {err}");
        }
    }

    #[test]
    fn questions_and_refusals_are_taken_as_they_are() {
        let q = json!({"answer": {"kind": "question", "question": "Run the tests or open it?", "choices": ["tests.run", "open"]}});
        assert_eq!(
            parse(&q, &catalog(), 8).unwrap(),
            Routed::Clarify {
                question: "Run the tests or open it?".into(),
                choices: vec!["tests.run".into(), "open".into()],
            }
        );
        let r = json!({"answer": {"kind": "refusal", "reason": "that would delete your files"}});
        let Routed::Refuse { reason, can_do } = parse(&r, &catalog(), 8).unwrap() else {
            panic!("not a refusal")
        };
        assert_eq!(reason, "that would delete your files");
        assert!(can_do.contains(&"tests.run".to_string()));
    }
}
