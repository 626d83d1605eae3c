//! The offline router run in-process over a prompt set, against a catalogue saved from a live
//! manager (`scripts/router_predict.py --dump-catalog FILE`): the router's predictions in the
//! format `scripts/router_eval.py` scores, without starting a manager. For tuning the router's
//! own code quickly; the figures of record come from the real manager (`router_predict.py`).
//!
//!     cargo run -q -p hyperagent-core --example route_prompts -- CATALOG.json PROMPTS.jsonl [SETTINGS] > out.jsonl
use std::time::Instant;

use hyperagent_core::config;
use hyperagent_core::router::{self, Catalog, Intent, Routed, Router};
use serde_json::{json, Map, Value};

fn flatten(prefix: &str, v: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (k, v) in v {
        match v {
            Value::Object(inner) => flatten(&format!("{prefix}{k}."), inner, out),
            _ => {
                out.insert(format!("{prefix}{k}"), v.clone());
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (catalog, prompts) = (&args[1], &args[2]);
    let raw: Value = serde_json::from_str(&std::fs::read_to_string(catalog).unwrap()).unwrap();
    // As the manager's catalogue: the model's own task types are never an answer.
    let model = config::Router::default().model;
    let mut intents: Vec<Intent> = raw["intents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["task_type"] != model.task_type.as_str())
        .filter(|i| i["task_type"] != model.summary_task_type.as_str())
        .map(|i| Intent {
            task_type: i["task_type"].as_str().unwrap().into(),
            description: i["description"].as_str().unwrap_or("").into(),
            schema: i["schema"].clone(),
            examples: i["examples"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            folder: serde_json::from_value(i["folder"].clone()).unwrap_or_default(),
        })
        .collect();
    intents.push(router::open_intent());
    let templates = raw["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t[0].as_str().unwrap().to_string(), t[1].clone()))
        .collect();
    let folders = raw["folders"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let catalog = Catalog {
        intents,
        templates,
        folders,
        context: Default::default(),
    };
    // Optional third argument: the [router] settings as JSON, for sweeping them.
    let cfg: config::Router = args
        .get(3)
        .map(|j| serde_json::from_str(j).unwrap())
        .unwrap_or_default();
    let r = router::Offline::new(cfg);
    for line in std::fs::read_to_string(prompts).unwrap().lines() {
        let p: Value = serde_json::from_str(line).unwrap();
        let started = Instant::now();
        let routed = r.route(p["prompt"].as_str().unwrap(), &catalog);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let scores = r.scores(p["prompt"].as_str().unwrap(), &catalog, 3);
        let result = match routed {
            Routed::Refuse { reason, .. } => json!({"refuse": true, "reason": reason}),
            Routed::Clarify { choices, .. } => json!({ "clarify": choices }),
            Routed::Plan(steps) => {
                let steps: Vec<Value> = steps
                    .iter()
                    .map(|s| {
                        let mut slots = Map::new();
                        flatten("", &s.payload, &mut slots);
                        if let Some(w) = &s.workspace {
                            slots.insert("workspace".into(), w.clone().into());
                        }
                        json!({"step": s.number, "task_type": s.task_type, "slots": slots, "after": s.after})
                    })
                    .collect();
                json!({ "route": steps })
            }
        };
        println!(
            "{}",
            json!({"id": p["id"], "result": result, "ms": ms, "scores": scores})
        );
    }
}
