//! Conversations: a person's requests in plain words, one after another, kept as a session that
//! can be listed, resumed after a restart and exported. Each turn is one request and what the
//! manager answered at once (a proposed plan, a question, or a refusal); a plan's progress and
//! summary stay with the plan, which the turn names. A conversation remembers the project it is
//! about, so "now run its tests" after "make a FastAPI project called shop" works on `shop`, and
//! it may carry a budget for the language model's money and tokens across all its plans. Data
//! and pure functions only; the manager keeps them (`manager/conversations.rs`).
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::{Plan, PlanState, StepState};

/// Most characters of a title.
pub const MAX_TITLE_CHARS: usize = 120;
/// Characters of the first request a conversation without a title is called by.
const TITLE_FROM_REQUEST: usize = 60;

/// What happens to a plan proposed in a conversation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Shown first; nothing runs until the person accepts it.
    #[default]
    Preview,
    /// Run at once when every step can run as it stands (otherwise shown, as in preview).
    Auto,
}

impl Mode {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Preview => "preview",
            Mode::Auto => "auto",
        }
    }

    /// The mode of this name.
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "preview" => Ok(Mode::Preview),
            "auto" => Ok(Mode::Auto),
            other => Err(Error::InvalidInput(format!(
                "conversation mode `{other}` is not one: use `preview` (plans are shown and run \
                 once accepted) or `auto` (plans that can run as they stand run at once)"
            ))),
        }
    }
}

/// One request and the manager's first answer to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// When it was asked (µs).
    pub time_us: i64,
    /// What the person said.
    pub request: String,
    /// What the manager answered at once: the plan in a line, the question, or the refusal.
    pub reply: String,
    /// The plan it became, when it became one.
    pub plan_id: Option<String>,
    /// Which router answered ("offline" or "model").
    pub router: String,
    /// The task that asked the language model to route it, when one ran.
    pub model_task_id: Option<String>,
    /// What routing by the language model cost.
    pub model_cost: f64,
    /// When the manager answered with a question: the choices it offered (task types). The
    /// next request may be just one of them, or its number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The request as routed, when an answer to the question before it made it another ("run
    /// the tests" after "check shop"? -> "check shop (tests.run)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_as: Option<String>,
}

/// A conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id (time-ordered).
    pub id: String,
    /// What it is called: given, or the start of its first request.
    pub title: String,
    /// What happens to the plans proposed in it.
    pub mode: Mode,
    /// Its turns, oldest first.
    pub turns: Vec<Turn>,
    /// The project folder it is about now ("it" and "there" in a request), as the last plan
    /// named it.
    pub folder: Option<String>,
    /// Most money its language-model calls may cost in all, at `router.model`'s prices (0: no
    /// limit).
    pub money_budget: f64,
    /// Most language-model tokens its plans' tasks may use in all (0: no limit).
    pub token_budget: u64,
    /// When it was started (µs).
    pub created_us: i64,
    /// When it last changed (µs).
    pub updated_us: i64,
}

/// What a conversation has cost so far, over its plans and their tasks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Plans it proposed.
    pub plans: u32,
    /// Tasks its plans ran.
    pub tasks: u32,
    /// Money its language-model calls cost (routing, summaries, and its tasks' own calls).
    pub money: f64,
    /// Tokens its plans' tasks used.
    pub tokens: u64,
}

/// Checks a title: at most [`MAX_TITLE_CHARS`] characters on one line.
pub fn check_title(title: &str) -> Result<String> {
    let t = title.trim();
    if t.chars().count() > MAX_TITLE_CHARS || t.contains(['\n', '\r']) {
        return Err(Error::InvalidInput(format!(
            "a conversation's title is one line of at most {MAX_TITLE_CHARS} characters; this \
             one is {} characters{}",
            t.chars().count(),
            if t.contains(['\n', '\r']) {
                " on several lines"
            } else {
                ""
            }
        )));
    }
    Ok(t.to_string())
}

/// Checks a budget's figures: finite and not negative.
pub fn check_budget(money: f64) -> Result<()> {
    if !money.is_finite() || money < 0.0 {
        return Err(Error::InvalidInput(format!(
            "a conversation's money budget of {money} cannot be: give 0 (no limit) or more"
        )));
    }
    Ok(())
}

/// The title a conversation without one gets from its first request.
pub fn title_from(request: &str) -> String {
    cut_line(request, TITLE_FROM_REQUEST)
}

/// `s` on one line (its whitespace runs made single spaces), cut to at most `max` characters with
/// an ellipsis.
pub fn cut_line(s: &str, max: usize) -> String {
    let one = one_line(s);
    if one.chars().count() <= max {
        return one;
    }
    let cut: String = one.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The project a plan leaves a conversation about: the folder its last step with a folder of
/// its own works in (a step working in an earlier step's project names it through that step).
pub fn folder_after(plan: &Plan) -> Option<String> {
    let named = |n: u32| plan.step(n).and_then(|s| s.step.workspace.clone());
    plan.steps.iter().rev().find_map(|s| {
        let w = s.step.workspace.as_deref()?;
        match w.strip_prefix('$').and_then(|r| r.strip_suffix(".path")) {
            Some(n) => named(n.parse().ok()?).filter(|w| !w.starts_with('$')),
            None => Some(w.to_string()),
        }
    })
}

/// The request to route for `said`: when the turn before asked a question and `said` is one of
/// its choices (or the choice's number), that turn's request with the choice; else `said`.
pub fn answering(c: &Conversation, said: &str) -> Option<String> {
    let last = c.turns.last()?;
    let said = said.trim();
    let choice = last
        .choices
        .iter()
        .enumerate()
        .find(|(n, ch)| ch.eq_ignore_ascii_case(said) || said == (n + 1).to_string())?
        .1;
    let asked = last.routed_as.as_deref().unwrap_or(&last.request);
    Some(format!("{asked} ({choice})"))
}

/// Whether it is over one of its budgets; what it spent then, in words.
pub fn over_budget(c: &Conversation, t: &Totals) -> Option<String> {
    if c.money_budget > 0.0 && t.money >= c.money_budget {
        return Some(format!(
            "this conversation has spent {:.4} of its money budget of {:.4}",
            t.money, c.money_budget
        ));
    }
    if c.token_budget > 0 && t.tokens >= c.token_budget {
        return Some(format!(
            "this conversation's tasks have used {} tokens of its budget of {}",
            t.tokens, c.token_budget
        ));
    }
    None
}

/// A plan's state in a word.
pub fn plan_word(state: PlanState) -> &'static str {
    match state {
        PlanState::Proposed => "proposed",
        PlanState::Running => "running",
        PlanState::Succeeded => "done",
        PlanState::Failed => "failed",
        PlanState::Canceled => "cancelled",
        PlanState::Rejected => "rejected",
    }
}

/// The conversation as Markdown: its title, then each request, the answer, and for a plan its
/// steps and summary as they stand.
pub fn markdown(c: &Conversation, plans: &[Plan], totals: &Totals) -> String {
    let mut out = format!("# {}\n\n", one_line(&c.title));
    out.push_str(&format!(
        "Conversation `{}` · mode {} · {} turns · {} tasks · {} model tokens · cost {:.4}\n",
        c.id,
        c.mode.name(),
        c.turns.len(),
        totals.tasks,
        totals.tokens,
        totals.money
    ));
    for (n, t) in c.turns.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", n + 1, one_line(&t.request)));
        out.push_str(&quote(&t.reply));
        let Some(p) = t
            .plan_id
            .as_ref()
            .and_then(|id| plans.iter().find(|p| &p.id == id))
        else {
            continue;
        };
        out.push_str(&format!("\nPlan `{}` ({}):\n\n", p.id, plan_word(p.state)));
        for s in &p.steps {
            let state = match s.state {
                StepState::Waiting => "waiting",
                StepState::Running => "running",
                StepState::Succeeded => "succeeded",
                StepState::Failed => "failed",
                StepState::Skipped => "skipped",
                StepState::Canceled => "cancelled",
            };
            let folder = s
                .step
                .workspace
                .as_deref()
                .map(|w| format!(" in `{w}`"))
                .unwrap_or_default();
            out.push_str(&format!(
                "- step {} `{}`{folder}: {state}{}\n",
                s.number(),
                s.step.task_type,
                s.task_ids
                    .last()
                    .map(|t| format!(" (task `{t}`)"))
                    .unwrap_or_default()
            ));
        }
        if !p.summary.is_empty() {
            out.push('\n');
            out.push_str(&quote(&p.summary));
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` as a Markdown block quote.
fn quote(s: &str) -> String {
    s.lines().map(|l| format!("> {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlannedStep;
    use crate::router::Step;

    fn step(number: u32, task_type: &str, workspace: Option<&str>) -> PlannedStep {
        PlannedStep::new(Step {
            number,
            task_type: task_type.into(),
            payload: Default::default(),
            workspace: workspace.map(str::to_string),
            after: Vec::new(),
            confidence: 1.0,
            why: String::new(),
        })
    }

    fn plan(steps: Vec<PlannedStep>) -> Plan {
        Plan {
            id: "p1".into(),
            text: "make shop and test it".into(),
            state: PlanState::Succeeded,
            steps,
            summary: "Made shop.\nIts tests pass.".into(),
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

    #[test]
    fn the_folder_a_plan_leaves_is_its_last_steps_following_a_reference_back() {
        let p = plan(vec![
            step(1, "bootstrap.project", Some("shop")),
            step(2, "test.run", Some("$1.path")),
        ]);
        assert_eq!(folder_after(&p).as_deref(), Some("shop"));
        let p = plan(vec![
            step(1, "test.run", Some("~/src/api")),
            step(2, "echo.echo", None),
        ]);
        assert_eq!(folder_after(&p).as_deref(), Some("~/src/api"));
        assert_eq!(folder_after(&plan(vec![step(1, "echo.echo", None)])), None);
    }

    #[test]
    fn a_title_is_one_short_line_and_a_long_request_is_cut_to_make_one() {
        assert!(check_title("shop\nsecond line").is_err());
        let e = check_title(&"x".repeat(121)).unwrap_err().to_string();
        assert!(e.contains("at most 120 characters"), "{e}");
        assert_eq!(check_title("  Shop work ").unwrap(), "Shop work");
        assert_eq!(title_from("run   the\ntests"), "run the tests");
        let long = title_from(&"word ".repeat(30));
        assert_eq!(long.chars().count(), 60);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_choice_or_its_number_answers_the_question_before_it() {
        let asked = Turn {
            time_us: 1,
            request: "check shop".into(),
            reply: "Which one? It could be: tests.run, code.review.".into(),
            plan_id: None,
            router: "offline".into(),
            model_task_id: None,
            model_cost: 0.0,
            choices: vec!["tests.run".into(), "code.review".into()],
            routed_as: None,
        };
        let mut c = Conversation {
            id: "c".into(),
            title: "t".into(),
            mode: Mode::Preview,
            turns: vec![asked],
            folder: None,
            money_budget: 0.0,
            token_budget: 0,
            created_us: 0,
            updated_us: 0,
        };
        assert_eq!(
            answering(&c, " code.review ").as_deref(),
            Some("check shop (code.review)")
        );
        assert_eq!(
            answering(&c, "1").as_deref(),
            Some("check shop (tests.run)")
        );
        assert_eq!(answering(&c, "3"), None);
        assert_eq!(answering(&c, "run the tests in shop"), None);
        c.turns[0].choices.clear();
        assert_eq!(answering(&c, "1"), None, "no question, no answer");
    }

    #[test]
    fn a_budget_is_spent_at_its_figure_and_says_what_was_spent() {
        let mut c = Conversation {
            id: "c".into(),
            title: "t".into(),
            mode: Mode::Preview,
            turns: Vec::new(),
            folder: None,
            money_budget: 0.5,
            token_budget: 0,
            created_us: 0,
            updated_us: 0,
        };
        let mut t = Totals {
            money: 0.49,
            tokens: 1_000_000,
            ..Totals::default()
        };
        assert_eq!(over_budget(&c, &t), None);
        t.money = 0.5;
        assert!(over_budget(&c, &t)
            .unwrap()
            .contains("0.5000 of its money budget"));
        c.money_budget = 0.0;
        c.token_budget = 1000;
        assert!(over_budget(&c, &t).unwrap().contains("1000000 tokens"));
        assert!(check_budget(f64::NAN).is_err());
        assert!(check_budget(-1.0).is_err());
        assert!(Mode::parse("yolo")
            .unwrap_err()
            .to_string()
            .contains("`preview`"));
    }

    #[test]
    fn the_export_has_each_request_its_answer_its_plans_steps_and_summary() {
        let c = Conversation {
            id: "c1".into(),
            title: "Shop".into(),
            mode: Mode::Auto,
            turns: vec![
                Turn {
                    time_us: 1,
                    request: "make shop and test it".into(),
                    reply: "a plan of 2 steps".into(),
                    plan_id: Some("p1".into()),
                    router: "offline".into(),
                    model_task_id: None,
                    model_cost: 0.0,
                    choices: Vec::new(),
                    routed_as: None,
                },
                Turn {
                    time_us: 2,
                    request: "delete ~".into(),
                    reply: "I can't do that here".into(),
                    plan_id: None,
                    router: "offline".into(),
                    model_task_id: None,
                    model_cost: 0.0,
                    choices: Vec::new(),
                    routed_as: None,
                },
            ],
            folder: Some("shop".into()),
            money_budget: 0.0,
            token_budget: 0,
            created_us: 0,
            updated_us: 0,
        };
        let mut s1 = step(1, "bootstrap.project", Some("shop"));
        s1.state = StepState::Succeeded;
        s1.task_ids.push("t1".into());
        let p = plan(vec![s1, step(2, "test.run", Some("$1.path"))]);
        let md = markdown(&c, &[p], &Totals::default());
        assert!(md.starts_with("# Shop\n"), "{md}");
        assert!(
            md.contains("## 1. make shop and test it\n\n> a plan of 2 steps\n"),
            "{md}"
        );
        assert!(
            md.contains("- step 1 `bootstrap.project` in `shop`: succeeded (task `t1`)"),
            "{md}"
        );
        assert!(
            md.contains("- step 2 `test.run` in `$1.path`: waiting\n"),
            "{md}"
        );
        assert!(md.contains("> Made shop.\n> Its tests pass.\n"), "{md}");
        assert!(
            md.contains("## 2. delete ~\n\n> I can't do that here\n"),
            "{md}"
        );
    }
}
