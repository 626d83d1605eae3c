//! `hyperagent ask` and `hyperagent plans`: a request in plain words proposed as a plan, shown,
//! confirmed (or edited, or rejected), then followed step by step to its one summary.
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use hyperagent_proto::v1 as pb;
use hyperagent_proto::v1::client_service_client::ClientServiceClient;
use tonic::transport::Channel;

use crate::client::Failure;
use crate::output::time;
use crate::term::line;
use crate::{AskArgs, EditArgs, PlansCommand};

type Client = ClientServiceClient<Channel>;

/// Exit code of a request answered with a question (see `--help`).
const ASKED_BACK: u8 = 10;
/// Exit code of a plan that ended without succeeding (as `--wait`'s).
const NOT_DONE: u8 = 6;

/// `hyperagent ask`: propose, show, confirm, run, follow, summarise.
pub async fn ask(c: &mut Client, a: AskArgs, json: bool) -> Result<ExitCode, Failure> {
    let r = c
        .ask(pb::AskRequest {
            text: a.text.join(" "),
            budget_secs: a.budget.unwrap_or(0),
            money_budget: a.money_budget.unwrap_or(0.0),
            conversation_id: String::new(),
        })
        .await?
        .into_inner();
    if !r.fallback.is_empty() {
        eprintln!("note: {} (the offline router answered)", line(&r.fallback));
    }
    let Some(plan) = r.plan.clone() else {
        if json {
            print_json(&to_json(&r));
        } else if !r.refusal.is_empty() {
            println!("I can't do that here: {}", line(&r.refusal));
            println!("What I can do: {}", line(&r.can_do.join(", ")));
        } else {
            println!("{}", line(&r.question));
            println!(
                "It could be: {}. Ask again saying which.",
                line(&r.choices.join(", "))
            );
        }
        return Ok(ExitCode::from(if r.refusal.is_empty() {
            ASKED_BACK
        } else {
            5
        }));
    };
    if !json {
        print!("{}", preview_text(&plan));
    }
    let go = if a.yes {
        true
    } else if std::io::stdin().is_terminal() && !json {
        confirm(&plan)?
    } else {
        if json {
            print_json(&to_json(&plan));
        }
        eprintln!(
            "plan {} is proposed; nothing runs until it is accepted: `hyperagent plans accept {}` (or pass --yes)",
            plan.id, plan.id
        );
        return Ok(ExitCode::SUCCESS);
    };
    if !go {
        c.reject_plan(pb::RejectPlanRequest {
            plan_id: plan.id.clone(),
            reason: "declined at the prompt".into(),
        })
        .await?;
        println!("rejected; nothing ran");
        return Ok(ExitCode::SUCCESS);
    }
    let accepted = c
        .accept_plan(pb::AcceptPlanRequest {
            plan_id: plan.id.clone(),
            edits: edits(&a.edit)?,
        })
        .await?
        .into_inner();
    follow(c, accepted, json).await
}

/// `hyperagent plans ...`.
pub async fn plans(
    c: &mut Client,
    cmd: Option<PlansCommand>,
    json: bool,
) -> Result<ExitCode, Failure> {
    match cmd.unwrap_or(PlansCommand::List { limit: 20 }) {
        PlansCommand::List { limit } => {
            let r = c
                .list_plans(pb::ListPlansRequest {
                    limit,
                    page_token: String::new(),
                })
                .await?
                .into_inner();
            if json {
                print_json(&to_json(&r));
            } else if r.plans.is_empty() {
                println!("no plans yet: `hyperagent ask \"...\"` makes one");
            }
            if !json {
                for p in &r.plans {
                    println!(
                        "{}  {:<9}  {}  {}",
                        p.id,
                        plan_state(p.state),
                        time(p.created_at.as_ref()),
                        line(&p.text)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlansCommand::Show { id } => {
            let p = get(c, &id).await?;
            if json {
                print_json(&to_json(&p));
            } else {
                print!("{}", preview_text(&p));
                if !p.summary.is_empty() {
                    println!("\n{}", line_block(&p.summary));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PlansCommand::Accept { id, edit } => {
            let p = c
                .accept_plan(pb::AcceptPlanRequest {
                    plan_id: id,
                    edits: edits(&edit)?,
                })
                .await?
                .into_inner();
            follow(c, p, json).await
        }
        PlansCommand::Reject { id, reason } => {
            let p = c
                .reject_plan(pb::RejectPlanRequest {
                    plan_id: id,
                    reason,
                })
                .await?
                .into_inner();
            show_end(&p, json);
            Ok(ExitCode::SUCCESS)
        }
        PlansCommand::Cancel { id, reason } => {
            let p = c
                .cancel_plan(pb::CancelPlanRequest {
                    plan_id: id,
                    reason,
                })
                .await?
                .into_inner();
            follow(c, p, json).await
        }
        PlansCommand::Watch { id } => {
            let p = get(c, &id).await?;
            follow(c, p, json).await
        }
    }
}

async fn get(c: &mut Client, id: &str) -> Result<pb::Plan, Failure> {
    Ok(c.get_plan(pb::GetPlanRequest {
        plan_id: id.to_string(),
    })
    .await?
    .into_inner())
}

/// Asks on the terminal whether to run the plan.
fn confirm(plan: &pb::Plan) -> Result<bool, Failure> {
    let blocked = plan.steps.iter().any(|s| !s.problem.is_empty());
    if blocked {
        return Err(Failure::new(
            5,
            format!(
                "the plan cannot run as it stands (see the problems above); change it with --edit, e.g. `hyperagent plans accept {} --edit 1:folder=shop`, or ask again in other words",
                plan.id
            ),
        ));
    }
    eprint!("Run this plan? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(1, format!("reading the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// `--edit N:remove`, `--edit N:folder=DIR`, `--edit N:payload=JSON`.
fn edits(given: &[EditArgs]) -> Result<Vec<pb::StepEdit>, Failure> {
    given
        .iter()
        .map(|e| {
            let bad = || {
                Failure::new(
                    2,
                    format!(
                        "--edit {:?}: use N:remove, N:folder=DIR or N:payload=JSON (N is the step's number)",
                        e.0
                    ),
                )
            };
            let (n, what) = e.0.split_once(':').ok_or_else(bad)?;
            let number: u32 = n.trim().parse().map_err(|_| bad())?;
            let mut edit = pb::StepEdit {
                number,
                ..Default::default()
            };
            match what.split_once('=') {
                None if what == "remove" => edit.remove = true,
                Some(("folder", dir)) => edit.workspace = dir.to_string(),
                Some(("payload", json)) => edit.payload_json = json.to_string(),
                _ => return Err(bad()),
            }
            Ok(edit)
        })
        .collect()
}

/// Follows a plan on the feed until it ends, a line per step change; then its summary.
pub async fn follow(c: &mut Client, mut plan: pb::Plan, json: bool) -> Result<ExitCode, Failure> {
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: None,
            task_id: String::new(),
            exclude_logs: true,
        })
        .await?
        .into_inner();
    // Read once more after subscribing: a change between the call and the subscription is not
    // missed.
    let mut shown: Vec<(u32, i32, String)> = Vec::new();
    plan = get(c, &plan.id).await?;
    loop {
        if !json {
            for s in &plan.steps {
                let step = s.step.clone().unwrap_or_default();
                let key = (step.number, s.state, s.reason.clone());
                if shown.contains(&key) {
                    continue;
                }
                shown.retain(|k| k.0 != step.number);
                shown.push(key);
                if s.state == pb::StepState::Waiting as i32 && s.task_ids.is_empty() {
                    continue;
                }
                let task = s
                    .task_ids
                    .last()
                    .map(|t| format!(" [task {t}]"))
                    .unwrap_or_default();
                eprintln!(
                    "step {} {:<17} {:<9} {}{}",
                    step.number,
                    line(&step.task_type),
                    step_state(s.state),
                    line(&s.reason),
                    task
                );
            }
        }
        if plan_done(plan.state) {
            break;
        }
        let next = loop {
            match feed.message().await? {
                Some(ev) => {
                    if let Some(pb::event::Body::Plan(pc)) = ev.body {
                        if let Some(p) = pc.plan.filter(|p| p.id == plan.id) {
                            break Some(p);
                        }
                    }
                }
                None => break None,
            }
        };
        match next {
            Some(p) => plan = p,
            None => {
                return Err(Failure::new(
                    3,
                    format!(
                        "the manager closed the event feed before plan {} ended; it goes on: `hyperagent plans watch {}`",
                        plan.id, plan.id
                    ),
                ))
            }
        }
    }
    show_end(&plan, json);
    Ok(if plan.state == pb::PlanState::Succeeded as i32 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_DONE)
    })
}

fn show_end(plan: &pb::Plan, json: bool) {
    if json {
        print_json(&to_json(plan));
    } else {
        println!("{}", line_block(&plan.summary));
    }
}

/// A plan's preview: each step with its agent, folder, what it may ask and what keeps it from
/// running.
pub fn preview_text(p: &pb::Plan) -> String {
    let money = if p.money_budget > 0.0 || p.money_spent > 0.0 {
        let of = if p.money_budget > 0.0 {
            format!(" of {}", p.money_budget)
        } else {
            String::new()
        };
        format!(", model calls {:.4}{of}", p.money_spent)
    } else {
        String::new()
    };
    let mut s = format!(
        "plan {} ({}, budget {} s{money}): {}\n",
        p.id,
        plan_state(p.state),
        p.budget_secs,
        line(&p.text)
    );
    for ps in &p.steps {
        let st = ps.step.clone().unwrap_or_default();
        let after = if st.after.is_empty() {
            String::new()
        } else {
            let a: Vec<String> = st.after.iter().map(u32::to_string).collect();
            format!(", after step {}", a.join(", "))
        };
        s.push_str(&format!(
            "{}. {} {}{} ({:.0}% sure)\n",
            st.number,
            line(&st.task_type),
            line(&st.payload_json),
            after,
            st.confidence * 100.0
        ));
        s.push_str(&format!("   folder: {}\n", line(&ps.touches)));
        if let Some(best) = ps.candidates.first() {
            s.push_str(&format!(
                "   agent:  {} (score {:.3}: reputation {:.3}, price {:.3}, load {:.3}{}){}\n",
                line(&best.agent_id),
                best.score,
                best.reputation,
                best.price,
                best.load,
                if best.online { "" } else { ", offline" },
                match ps.candidates.len() {
                    1 => String::new(),
                    n => format!(" of {n} candidates"),
                }
            ));
        }
        for a in &ps.asks {
            s.push_str(&format!("   asks first: {}\n", line(a)));
        }
        if !ps.problem.is_empty() {
            s.push_str(&format!("   PROBLEM: {}\n", line(&ps.problem)));
        }
    }
    s
}

fn line_block(text: &str) -> String {
    text.lines()
        .map(|l| line(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn plan_done(state: i32) -> bool {
    use pb::PlanState as P;
    [P::Succeeded, P::Failed, P::Canceled, P::Rejected]
        .iter()
        .any(|s| *s as i32 == state)
}

pub fn plan_state(v: i32) -> &'static str {
    use pb::PlanState as P;
    match P::try_from(v) {
        Ok(P::Proposed) => "proposed",
        Ok(P::Running) => "running",
        Ok(P::Succeeded) => "succeeded",
        Ok(P::Failed) => "failed",
        Ok(P::Canceled) => "canceled",
        Ok(P::Rejected) => "rejected",
        _ => "unknown",
    }
}

fn step_state(v: i32) -> &'static str {
    use pb::StepState as S;
    match S::try_from(v) {
        Ok(S::Waiting) => "waiting",
        Ok(S::Running) => "running",
        Ok(S::Succeeded) => "succeeded",
        Ok(S::Failed) => "failed",
        Ok(S::Skipped) => "skipped",
        Ok(S::Canceled) => "canceled",
        _ => "unknown",
    }
}

/// A message in the proto3 JSON mapping (as the web API speaks it).
fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_read_and_bad_ones_say_what_is_allowed() {
        let got = edits(&[
            EditArgs("2:remove".into()),
            EditArgs("1:folder=shop2".into()),
            EditArgs("3:payload={\"python\":\"3.11\"}".into()),
        ])
        .unwrap();
        assert!(got[0].remove && got[0].number == 2);
        assert_eq!(got[1].workspace, "shop2");
        assert_eq!(got[2].payload_json, "{\"python\":\"3.11\"}");
        for bad in ["remove", "x:remove", "1:drop", "1:color=red"] {
            let f = edits(&[EditArgs(bad.into())]).unwrap_err();
            assert_eq!(f.code, 2);
            assert!(
                f.message
                    .contains("N:remove, N:folder=DIR or N:payload=JSON"),
                "{}",
                f.message
            );
        }
    }
}
