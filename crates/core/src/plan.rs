//! Plans: a request's steps as a DAG, what the person changed, which agent each step goes to and
//! why, and the one summary at the end. Pure: no I/O, no clock, no lock; the manager
//! (`manager/plans.rs`) keeps plans, runs their steps as tasks and calls these.
//!
//! A plan is *proposed* (nothing runs) until the person accepts it, with edits, or rejects it.
//! Once running, a step starts when every step it waits for has succeeded; a step whose
//! dependency failed, was cancelled or was skipped is *skipped* with the reason; the plan ends
//! when no step can move any more.
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::router::{Step, OPEN};

/// Where a plan is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Waiting for the person.
    Proposed,
    /// Accepted; steps run as their dependencies succeed.
    Running,
    /// Every step succeeded.
    Succeeded,
    /// A step failed, or the budget was spent.
    Failed,
    /// Cancelled by the person.
    Canceled,
    /// The person said no; nothing ran.
    Rejected,
}

impl PlanState {
    /// Nothing about it changes any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, PlanState::Proposed | PlanState::Running)
    }
}

/// Where a step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Waiting,
    /// Its task is queued or running.
    Running,
    /// Its task completed.
    Succeeded,
    /// Its task failed on every attempt the planner made.
    Failed,
    /// Never ran (a dependency did not succeed, or the budget was spent).
    Skipped,
    /// Its task was cancelled.
    Canceled,
}

impl StepState {
    /// Ended, one way or another.
    pub fn is_terminal(self) -> bool {
        !matches!(self, StepState::Waiting | StepState::Running)
    }
}

/// An agent considered for a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The agent.
    pub agent_id: String,
    /// Observed success, 0 to 1 (Laplace: (successes + 1) / (tasks + 2)).
    pub reputation: f64,
    /// Declared cost scaled to 0 to 1 among the candidates (the cheapest 0, the dearest 1).
    pub price: f64,
    /// Held tasks / slots, 0 to 1.
    pub load: f64,
    /// The score; highest wins.
    pub score: f64,
    /// Online when scored.
    pub online: bool,
}

/// What the planner knows of one capable agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentFacts {
    /// The agent.
    pub agent_id: String,
    /// Tasks it completed.
    pub successes: u64,
    /// Tasks it failed or lost.
    pub failures: u64,
    /// Its declared cost.
    pub cost: f64,
    /// Tasks it holds now.
    pub holding: u32,
    /// Its slots.
    pub max_concurrency: u32,
    /// Online now.
    pub online: bool,
}

/// The score's weights (`planner.*_weight`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Of reputation.
    pub reputation: f64,
    /// Of price (subtracted).
    pub price: f64,
    /// Of load (subtracted).
    pub load: f64,
}

/// Scores the capable agents, best first: online before offline, then by score, then by id
/// (so equal agents are chosen the same way every time).
pub fn rank(agents: &[AgentFacts], w: Weights) -> Vec<Candidate> {
    // Min-max among the candidates: the cheapest costs 0, the dearest 1; equal costs cost 0.
    let max_cost = agents.iter().map(|a| a.cost).fold(f64::MIN, f64::max);
    let min_cost = agents.iter().map(|a| a.cost).fold(f64::MAX, f64::min);
    let mut out: Vec<Candidate> = agents
        .iter()
        .map(|a| {
            let tasks = (a.successes + a.failures) as f64;
            let reputation = (a.successes as f64 + 1.0) / (tasks + 2.0);
            let price = if max_cost > min_cost {
                ((a.cost - min_cost) / (max_cost - min_cost)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let load = if a.max_concurrency == 0 {
                1.0
            } else {
                (f64::from(a.holding) / f64::from(a.max_concurrency)).min(1.0)
            };
            let score = reputation * w.reputation - price * w.price - load * w.load;
            Candidate {
                agent_id: a.agent_id.clone(),
                reputation: round3(reputation),
                price: round3(price),
                load: round3(load),
                score: round3(score),
                online: a.online,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.online
            .cmp(&a.online)
            .then(b.score.total_cmp(&a.score))
            .then(a.agent_id.cmp(&b.agent_id))
    });
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Why a step went where it went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Best first.
    pub candidates: Vec<Candidate>,
    /// The agent chosen (`None`: none online; the task waits for the first capable one).
    pub chosen: Option<String>,
    /// In words.
    pub why: String,
    /// When (µs).
    pub time_us: i64,
}

/// The agent for attempt `attempt` of a step. The first goes to the best online candidate (or,
/// with none online, to whichever capable agent comes first: `chosen` is `None`); a later one to
/// the best online candidate not tried yet, and when there is none `chosen` is `None` and the
/// step has no one left to try.
pub fn choose(candidates: &[Candidate], tried: &[String], attempt: u32, now: i64) -> Decision {
    let online: Vec<&Candidate> = candidates.iter().filter(|c| c.online).collect();
    let fresh = online.iter().find(|c| !tried.contains(&c.agent_id));
    let (chosen, why) = match fresh {
        Some(c) if tried.is_empty() => (
            Some(c.agent_id.clone()),
            format!(
                "highest score {:.3} of {} online candidate(s) (reputation {:.3}, price {:.3}, load {:.3})",
                c.score,
                online.len(),
                c.reputation,
                c.price,
                c.load
            ),
        ),
        Some(c) => (
            Some(c.agent_id.clone()),
            format!(
                "the next candidate after {} (score {:.3})",
                tried.join(", "),
                c.score
            ),
        ),
        None if tried.is_empty() => (
            None,
            "no capable agent is online: the task waits for the first one that comes".to_string(),
        ),
        None => (
            None,
            format!(
                "no other capable agent is online to try after {}",
                tried.join(", ")
            ),
        ),
    };
    Decision {
        attempt,
        candidates: candidates.to_vec(),
        chosen,
        why,
        time_us: now,
    }
}

/// One step of a plan, as routed and as it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// As routed (or edited).
    pub step: Step,
    /// Where it is.
    pub state: StepState,
    /// Why, in words.
    pub reason: String,
    /// The task of each attempt, oldest first.
    pub task_ids: Vec<String>,
    /// The latest attempt's agent.
    pub agent_id: Option<String>,
    /// One per attempt.
    pub decisions: Vec<Decision>,
    /// The folder in words.
    pub touches: String,
    /// What it may ask the person first.
    pub asks: Vec<String>,
    /// The preview's ranking.
    pub candidates: Vec<Candidate>,
    /// Its task's result summary, once ended.
    pub summary: String,
    /// Why it cannot run as it stands (blocks acceptance).
    pub problem: Option<String>,
    /// The folder it worked in, once started (absolute).
    pub workspace_path: Option<String>,
}

impl PlannedStep {
    /// A step not started, with nothing previewed yet.
    pub fn new(step: Step) -> PlannedStep {
        PlannedStep {
            step,
            state: StepState::Waiting,
            reason: "waiting for the plan to be accepted".into(),
            task_ids: Vec::new(),
            agent_id: None,
            decisions: Vec::new(),
            touches: String::new(),
            asks: Vec::new(),
            candidates: Vec::new(),
            summary: String::new(),
            problem: None,
            workspace_path: None,
        }
    }

    /// Its number.
    pub fn number(&self) -> u32 {
        self.step.number
    }
}

/// A plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Its id (a UUIDv7: ordered by time).
    pub id: String,
    /// The request.
    pub text: String,
    /// Where it is.
    pub state: PlanState,
    /// Its steps, by number.
    pub steps: Vec<PlannedStep>,
    /// Once ended: what was done.
    pub summary: String,
    /// Who wrote the summary: "" (the manager, stitched from the steps) or "model" (the
    /// language model's words first, the stitched summary after them).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary_by: String,
    /// What its language-model calls may cost (0: no limit).
    #[serde(default)]
    pub money_budget: f64,
    /// What they have cost so far (its routing, its summary).
    #[serde(default)]
    pub money_spent: f64,
    /// Why it is in its state.
    pub reason: String,
    /// Wall time it may take once accepted (s).
    pub budget_secs: u32,
    /// When made (µs).
    pub created_us: i64,
    /// Last change (µs).
    pub updated_us: i64,
    /// Running: when the budget is spent (µs).
    pub deadline_us: Option<i64>,
    /// Which router made it.
    pub router: String,
    /// The person asked to cancel it.
    pub cancel_requested: bool,
}

impl Plan {
    /// Step `n`.
    pub fn step(&self, n: u32) -> Option<&PlannedStep> {
        self.steps.iter().find(|s| s.number() == n)
    }

    /// Step `n`, to change.
    pub fn step_mut(&mut self, n: u32) -> Option<&mut PlannedStep> {
        self.steps.iter_mut().find(|s| s.number() == n)
    }

    /// The step a running task belongs to.
    pub fn step_of_task(&self, task_id: &str) -> Option<u32> {
        self.steps
            .iter()
            .find(|s| s.task_ids.last().map(String::as_str) == Some(task_id))
            .map(PlannedStep::number)
    }
}

/// The step an earlier step's folder reference (`$N.path`) names.
pub fn reference(workspace: &str) -> Option<u32> {
    workspace
        .strip_prefix('$')?
        .strip_suffix(".path")?
        .parse()
        .ok()
}

/// Makes the steps a DAG the engine can run: every `after` names an earlier step, a `$N.path`
/// folder waits for step N, and a step working in the same folder as an earlier one waits for it
/// (two tasks never share a folder at once). Refuses a step that waits for itself or a later or
/// unknown step.
pub fn normalise(steps: &mut [Step]) -> Result<()> {
    let numbers: BTreeSet<u32> = steps.iter().map(|s| s.number).collect();
    for i in 0..steps.len() {
        let (before, rest) = steps.split_at_mut(i);
        let s = &mut rest[0];
        if let Some(n) = s.workspace.as_deref().and_then(reference) {
            if !s.after.contains(&n) {
                s.after.push(n);
            }
        }
        if let Some(w) = s.workspace.as_deref() {
            if let Some(prev) = before
                .iter()
                .rev()
                .find(|p| p.workspace.as_deref() == Some(w) || references(p, w))
            {
                if !s.after.contains(&prev.number) {
                    s.after.push(prev.number);
                }
            }
        }
        for &a in &s.after {
            if a >= s.number || !numbers.contains(&a) {
                return Err(Error::InvalidInput(format!(
                    "step {} waits for step {a}, which is not an earlier step of the plan",
                    s.number
                )));
            }
        }
        s.after.sort_unstable();
        s.after.dedup();
    }
    Ok(())
}

/// The folder a step that makes a project and names no folder works in: the one its answers
/// name (`project_slug`, `project_name`, `name`, or another `*_slug` / `*_name` answer), when
/// that is a plain folder name.
pub fn project_folder(payload: &Map<String, Value>) -> Option<String> {
    let answers = payload.get("answers")?.as_object()?;
    let preferred = ["project_slug", "project_name", "name"];
    let key = preferred
        .iter()
        .find(|k| answers.contains_key(**k))
        .map(|k| k.to_string())
        .or_else(|| {
            answers
                .keys()
                .find(|k| k.ends_with("_slug") || k.ends_with("_name"))
                .cloned()
        })?;
    let name = answers.get(&key)?.as_str()?;
    let plain = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    plain.then(|| name.to_string())
}

/// `prev` makes the folder `w` names (it is `$prev.path`).
fn references(prev: &Step, w: &str) -> bool {
    reference(w) == Some(prev.number)
}

/// A change the person makes to a proposed step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edit {
    /// The step.
    pub number: u32,
    /// Leave it out.
    pub remove: bool,
    /// A new payload (a JSON object); `None` keeps it.
    pub payload: Option<Map<String, Value>>,
    /// A new folder; `None` keeps it.
    pub workspace: Option<String>,
}

/// Applies the person's edits to a proposed plan's steps. Refuses an edit of a step the plan
/// does not have, and removing a step another (kept) step waits for.
pub fn apply_edits(steps: &mut Vec<PlannedStep>, edits: &[Edit]) -> Result<()> {
    let mut removed = BTreeSet::new();
    for e in edits {
        let Some(s) = steps.iter_mut().find(|s| s.number() == e.number) else {
            return Err(Error::InvalidInput(format!(
                "the edit names step {}, but the plan's steps are {}",
                e.number,
                numbers(steps)
            )));
        };
        if e.remove {
            removed.insert(e.number);
            continue;
        }
        if let Some(p) = &e.payload {
            if s.step.task_type == OPEN && !p.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "step {} opens a folder in the editor and takes no payload",
                    e.number
                )));
            }
            s.step.payload = p.clone();
        }
        if let Some(w) = &e.workspace {
            s.step.workspace = (!w.trim().is_empty()).then(|| w.trim().to_string());
        }
    }
    for s in steps.iter() {
        if removed.contains(&s.number()) {
            continue;
        }
        let waits_on_removed = s.step.after.iter().find(|a| removed.contains(a)).copied();
        let uses_removed = s
            .step
            .workspace
            .as_deref()
            .and_then(reference)
            .filter(|n| removed.contains(n));
        if let Some(n) = uses_removed.or(waits_on_removed) {
            return Err(Error::InvalidInput(format!(
                "step {n} cannot be removed while step {} waits for it; remove step {} too, or give it a folder of its own",
                s.number(),
                s.number()
            )));
        }
    }
    steps.retain(|s| !removed.contains(&s.number()));
    if steps.is_empty() {
        return Err(Error::InvalidInput(
            "every step was removed; reject the plan instead".into(),
        ));
    }
    Ok(())
}

fn numbers(steps: &[PlannedStep]) -> String {
    steps
        .iter()
        .map(|s| s.number().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Steps that may start now: waiting, with every dependency succeeded.
pub fn ready(plan: &Plan) -> Vec<u32> {
    plan.steps
        .iter()
        .filter(|s| s.state == StepState::Waiting)
        .filter(|s| {
            s.step
                .after
                .iter()
                .all(|a| plan.step(*a).map(|d| d.state) == Some(StepState::Succeeded))
        })
        .map(PlannedStep::number)
        .collect()
}

/// Skips every waiting step a failed, cancelled or skipped step stands in the way of (to the
/// end of the chain); returns whether any moved.
pub fn skip_blocked(plan: &mut Plan) -> bool {
    let mut moved = false;
    loop {
        let mut blocked = Vec::new();
        for s in plan.steps.iter().filter(|s| s.state == StepState::Waiting) {
            let dead = s.step.after.iter().find_map(|a| {
                let d = plan.step(*a)?;
                matches!(
                    d.state,
                    StepState::Failed | StepState::Canceled | StepState::Skipped
                )
                .then(|| (d.number(), d.state, d.reason.clone()))
            });
            if let Some((n, state, why)) = dead {
                let how = match state {
                    StepState::Failed => "failed",
                    StepState::Canceled => "was cancelled",
                    _ => "did not run",
                };
                blocked.push((s.number(), format!("step {n} {how}: {why}")));
            }
        }
        if blocked.is_empty() {
            return moved;
        }
        for (n, why) in blocked {
            let s = plan.step_mut(n).expect("listed above");
            s.state = StepState::Skipped;
            s.reason = why;
        }
        moved = true;
    }
}

/// How a running plan ends, once no step is waiting or running: `None` while one is.
pub fn outcome(plan: &Plan) -> Option<(PlanState, String)> {
    if plan.steps.iter().any(|s| !s.state.is_terminal()) {
        return None;
    }
    let count = |st: StepState| plan.steps.iter().filter(|s| s.state == st).count();
    let total = plan.steps.len();
    let ok = count(StepState::Succeeded);
    if ok == total {
        return Some((
            PlanState::Succeeded,
            format!("all {total} step(s) succeeded"),
        ));
    }
    let first_bad = plan
        .steps
        .iter()
        .find(|s| matches!(s.state, StepState::Failed | StepState::Canceled))
        .or_else(|| plan.steps.iter().find(|s| s.state == StepState::Skipped));
    let why = first_bad
        .map(|s| format!("step {} ({}): {}", s.number(), s.step.task_type, s.reason))
        .unwrap_or_default();
    let state = if plan.cancel_requested {
        PlanState::Canceled
    } else {
        PlanState::Failed
    };
    Some((state, format!("{ok} of {total} step(s) succeeded; {why}")))
}

/// The one summary of an ended plan, stitched from its steps: what each did (its task's summary),
/// what did not run and why, and where each task is.
pub fn summary(plan: &Plan) -> String {
    let mut out = String::new();
    let head = match plan.state {
        PlanState::Succeeded => "Done",
        PlanState::Canceled => "Cancelled",
        PlanState::Rejected => "Rejected",
        _ => "Not done",
    };
    out.push_str(&format!("{head}: {}\n", plan.reason));
    for s in &plan.steps {
        let mark = match s.state {
            StepState::Succeeded => "✓",
            StepState::Failed => "✗",
            StepState::Canceled => "⊘",
            StepState::Skipped => "–",
            StepState::Waiting | StepState::Running => "…",
        };
        let what = if s.summary.is_empty() {
            s.reason.as_str()
        } else {
            s.summary.as_str()
        };
        out.push_str(&format!(
            "{mark} {}. {}: {}",
            s.number(),
            s.step.task_type,
            what
        ));
        if let Some(t) = s.task_ids.last() {
            out.push_str(&format!(" (task {t}"));
            if let Some(a) = &s.agent_id {
                out.push_str(&format!(", on {a}"));
            }
            out.push(')');
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(n: u32, task_type: &str, workspace: Option<&str>, after: &[u32]) -> Step {
        Step {
            number: n,
            task_type: task_type.into(),
            payload: Map::new(),
            workspace: workspace.map(str::to_string),
            after: after.to_vec(),
            confidence: 1.0,
            why: String::new(),
        }
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan {
            id: "p".into(),
            text: "t".into(),
            state: PlanState::Running,
            steps: steps.into_iter().map(PlannedStep::new).collect(),
            summary: String::new(),
            summary_by: String::new(),
            money_budget: 0.0,
            money_spent: 0.0,
            reason: String::new(),
            budget_secs: 60,
            created_us: 0,
            updated_us: 0,
            deadline_us: None,
            router: "offline".into(),
            cancel_requested: false,
        }
    }

    fn facts(id: &str, ok: u64, bad: u64, cost: f64, holding: u32, online: bool) -> AgentFacts {
        AgentFacts {
            agent_id: id.into(),
            successes: ok,
            failures: bad,
            cost,
            holding,
            max_concurrency: 2,
            online,
        }
    }

    const W: Weights = Weights {
        reputation: 0.7,
        price: 0.3,
        load: 0.2,
    };

    #[test]
    fn the_score_weighs_reputation_against_price_and_load() {
        let ranked = rank(
            &[
                facts("cheap-flaky", 1, 9, 0.0, 0, true),
                facts("dear-sure", 99, 1, 1.0, 0, true),
                facts("sure-free", 99, 1, 0.0, 0, true),
                facts("sure-busy", 99, 1, 0.0, 2, true),
                facts("offline-best", 1000, 0, 0.0, 0, false),
            ],
            W,
        );
        let order: Vec<&str> = ranked.iter().map(|c| c.agent_id.as_str()).collect();
        assert_eq!(
            order,
            [
                "sure-free",
                "sure-busy",
                "dear-sure",
                "cheap-flaky",
                "offline-best"
            ]
        );
        // (99 + 1) / (100 + 2) = 0.980; x 0.7 = 0.686
        assert_eq!(ranked[0].reputation, 0.98);
        assert_eq!(ranked[0].score, 0.686);
        assert_eq!(ranked[2].price, 1.0);
        assert_eq!(ranked[1].load, 1.0);
    }

    #[test]
    fn a_later_attempt_goes_to_the_next_candidate_and_none_online_waits() {
        let ranked = rank(
            &[
                facts("a", 9, 0, 0.0, 0, true),
                facts("b", 5, 5, 0.0, 0, true),
            ],
            W,
        );
        let first = choose(&ranked, &[], 1, 0);
        assert_eq!(first.chosen.as_deref(), Some("a"));
        assert!(first.why.contains("highest score"), "{}", first.why);
        let second = choose(&ranked, &["a".into()], 2, 0);
        assert_eq!(second.chosen.as_deref(), Some("b"));
        let third = choose(&ranked, &["a".into(), "b".into()], 3, 0);
        assert_eq!(third.chosen, None);
        assert!(
            third.why.contains("no other capable agent"),
            "{}",
            third.why
        );
        let none = choose(&rank(&[facts("c", 1, 0, 0.0, 0, false)], W), &[], 1, 0);
        assert_eq!(none.chosen, None);
    }

    #[test]
    fn normalising_orders_steps_that_share_a_folder_and_refuses_forward_links() {
        let mut steps = vec![
            step(1, "bootstrap.project", Some("shop"), &[]),
            step(2, "tests.run", Some("shop"), &[]),
            step(3, "open", Some("$1.path"), &[]),
        ];
        normalise(&mut steps).unwrap();
        assert_eq!(steps[1].after, [1]);
        assert_eq!(steps[2].after, [1]);
        let mut bad = vec![step(1, "a", None, &[2]), step(2, "b", None, &[])];
        let err = normalise(&mut bad).unwrap_err().to_string();
        assert!(err.contains("step 1 waits for step 2"), "{err}");
    }

    #[test]
    fn a_failed_step_skips_its_whole_chain_and_the_plan_says_which() {
        let mut p = plan(vec![
            step(1, "bootstrap.project", None, &[]),
            step(2, "tests.run", Some("$1.path"), &[1]),
            step(3, "open", Some("$1.path"), &[2]),
            step(4, "security.audit", Some("other"), &[]),
        ]);
        assert_eq!(ready(&p), [1, 4]);
        p.steps[0].state = StepState::Failed;
        p.steps[0].reason = "the template is broken".into();
        p.steps[3].state = StepState::Succeeded;
        assert!(skip_blocked(&mut p));
        assert_eq!(p.steps[1].state, StepState::Skipped);
        assert_eq!(p.steps[1].reason, "step 1 failed: the template is broken");
        assert_eq!(p.steps[2].state, StepState::Skipped);
        assert!(p.steps[2].reason.starts_with("step 2 did not run"));
        let (state, why) = outcome(&p).unwrap();
        assert_eq!(state, PlanState::Failed);
        assert!(
            why.starts_with("1 of 4 step(s) succeeded; step 1 (bootstrap.project)"),
            "{why}"
        );
        p.state = state;
        p.reason = why;
        let text = summary(&p);
        assert!(
            text.contains("✗ 1. bootstrap.project: the template is broken"),
            "{text}"
        );
        assert!(text.contains("– 3. open: step 2 did not run"), "{text}");
    }

    #[test]
    fn a_project_goes_in_the_folder_its_answers_name_when_that_is_a_plain_name() {
        let answers = |v: Value| {
            let mut m = Map::new();
            m.insert("answers".into(), v);
            m
        };
        assert_eq!(
            project_folder(&answers(json!({"project_name": "shop", "database": "x"}))).as_deref(),
            Some("shop")
        );
        assert_eq!(
            project_folder(&answers(
                json!({"project_name": "Shop", "project_slug": "shop-2"})
            ))
            .as_deref(),
            Some("shop-2")
        );
        assert_eq!(
            project_folder(&answers(json!({"app_name": "crm"}))).as_deref(),
            Some("crm")
        );
        for bad in ["../etc", "a/b", "..", "", "x y"] {
            assert_eq!(
                project_folder(&answers(json!({ "name": bad }))),
                None,
                "{bad}"
            );
        }
        assert_eq!(project_folder(&Map::new()), None);
    }

    #[test]
    fn edits_change_payload_and_folder_and_never_orphan_a_step() {
        let mut steps: Vec<PlannedStep> = vec![
            step(1, "bootstrap.project", Some("shop"), &[]),
            step(2, "tests.run", Some("$1.path"), &[1]),
            step(3, "code.review", Some("elsewhere"), &[]),
        ]
        .into_iter()
        .map(PlannedStep::new)
        .collect();
        let err = apply_edits(
            &mut steps.clone(),
            &[Edit {
                number: 1,
                remove: true,
                ..Edit::default()
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("step 1 cannot be removed while step 2 waits for it"),
            "{err}"
        );
        let err = apply_edits(
            &mut steps.clone(),
            &[Edit {
                number: 9,
                ..Edit::default()
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("the plan's steps are 1, 2, 3"), "{err}");
        let mut payload = Map::new();
        payload.insert("fail_fast".into(), Value::Bool(true));
        apply_edits(
            &mut steps,
            &[
                Edit {
                    number: 3,
                    remove: true,
                    ..Edit::default()
                },
                Edit {
                    number: 2,
                    payload: Some(payload.clone()),
                    ..Edit::default()
                },
                Edit {
                    number: 1,
                    workspace: Some(" shop2 ".into()),
                    ..Edit::default()
                },
            ],
        )
        .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].step.workspace.as_deref(), Some("shop2"));
        assert_eq!(steps[1].step.payload, payload);
    }
}
