//! `hyperagent chat`: a conversation with the manager, one request per line. Each request is
//! routed knowing what came before it (the project the conversation is about), shown as a plan,
//! run once confirmed (at once in the auto mode), and followed to its summary. The session is
//! saved as it goes; `/sessions`, `/load`, `/save`, `/export`, `/mode` and `/budget` manage it.
//! Reads standard input line by line, so it can be scripted as well as typed.
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use hyperagent_proto::v1 as pb;
use hyperagent_proto::v1::client_service_client::ClientServiceClient;
use tonic::transport::Channel;

use crate::client::Failure;
use crate::plans::{follow, preview_text};
use crate::term::{line, text};
use crate::ChatArgs;

type Client = ClientServiceClient<Channel>;

const HELP: &str = "\
Type a request in plain words (\"make a fastapi project called shop\", then \"run its tests\").
/sessions              the saved conversations, the last changed first
/load ID               go on with a saved conversation (shows what was said)
/save [TITLE]          name this conversation (it is saved as it goes)
/export [FILE]         this conversation as Markdown, to FILE or here
/mode auto|preview     run plans at once, or show each first (the default: the line after a
                       plan answers it, y runs it; anything else leaves it, and a request
                       or command typed there is taken next)
/budget MONEY [TOKENS] most its model calls may cost, and tokens its tasks may use (0: no limit)
/delete ID             delete a saved conversation (its plans and tasks stay)
/new                   start another conversation
/quit                  leave (or end the input)";

/// The conversation being talked in: made at the first request (or `/save`), so running
/// `chat` and leaving at once leaves nothing behind.
struct Session {
    id: Option<String>,
    start: pb::StartConversationRequest,
}

/// `hyperagent chat`.
pub async fn chat(c: &mut Client, a: ChatArgs) -> Result<ExitCode, Failure> {
    let mode = match a.mode.as_deref() {
        None | Some("preview") => pb::ConversationMode::Preview,
        Some("auto") => pb::ConversationMode::Auto,
        Some(other) => {
            return Err(Failure::new(
                2,
                format!("--mode {other:?}: use `preview` (show each plan first) or `auto`"),
            ))
        }
    };
    let mut s = Session {
        id: None,
        start: pb::StartConversationRequest {
            title: a.title.unwrap_or_default(),
            mode: mode as i32,
            money_budget: a.money_budget.unwrap_or(0.0),
            token_budget: a.token_budget.unwrap_or(0),
        },
    };
    let typed = std::io::stdin().is_terminal();
    match a.resume {
        Some(id) => load(c, &mut s, &id).await?,
        None => eprintln!(
            "A new conversation ({}). /help lists the commands.",
            mode_name(mode as i32)
        ),
    }
    let mut input = std::io::stdin().lock();
    // A line read where a yes or no was asked, when it was neither: the next request.
    let mut next: Option<String> = None;
    loop {
        let said = match next.take() {
            Some(line) => line,
            None => {
                if typed {
                    eprint!("you> ");
                    std::io::stderr().flush().ok();
                }
                let mut line = String::new();
                if input
                    .read_line(&mut line)
                    .map_err(|e| Failure::new(1, format!("reading the input: {e}")))?
                    == 0
                {
                    break;
                }
                line
            }
        };
        let said = said.trim();
        if said.is_empty() {
            continue;
        }
        let done = match said.strip_prefix('/') {
            Some(command) => run_command(c, &mut s, command).await,
            None => request(c, &mut s, said, &mut input, typed)
                .await
                .map(|line| {
                    next = line;
                    false
                }),
        };
        match done {
            Ok(true) => break,
            Ok(false) => {}
            // A refused request or command is said, and the conversation goes on.
            Err(f) => eprintln!("error: {}", line(&f.message)),
        }
    }
    if let Some(id) = &s.id {
        eprintln!("Saved: `hyperagent chat --resume {id}` goes on with it.");
    }
    Ok(ExitCode::SUCCESS)
}

/// A slash command; true to leave.
async fn run_command(c: &mut Client, s: &mut Session, command: &str) -> Result<bool, Failure> {
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(n, r)| (n, r.trim()));
    match name {
        "quit" | "exit" | "q" => return Ok(true),
        "help" | "?" => println!("{HELP}"),
        "sessions" => sessions(c).await?,
        "load" if !rest.is_empty() => load(c, s, rest).await?,
        "save" => save(c, s, rest).await?,
        "export" => export(c, s, rest).await?,
        "mode" if matches!(rest, "auto" | "preview") => {
            let mode = if rest == "auto" {
                pb::ConversationMode::Auto
            } else {
                pb::ConversationMode::Preview
            } as i32;
            s.start.mode = mode;
            let change = pb::UpdateConversationRequest {
                mode,
                ..Default::default()
            };
            changed(c, s, change).await?;
            println!("Mode: {rest}.");
        }
        "budget" if !rest.is_empty() => budget(c, s, rest).await?,
        "delete" if !rest.is_empty() => {
            c.delete_conversation(pb::GetConversationRequest {
                conversation_id: rest.to_string(),
            })
            .await?;
            if s.id.as_deref() == Some(rest) {
                s.id = None;
            }
            println!("Deleted {rest} (its plans and tasks stay).");
        }
        "new" => {
            s.id = None;
            s.start.title.clear();
            println!("A new conversation: ask away.");
        }
        _ => {
            return Err(Failure::new(
                2,
                format!("/{command} is not a command here; /help lists them"),
            ))
        }
    }
    Ok(false)
}

/// `/save [TITLE]`: starts the conversation if it has not started, names it when a title is
/// given, and says how to go on with it.
async fn save(c: &mut Client, s: &mut Session, title: &str) -> Result<(), Failure> {
    let id = ensure(c, s).await?;
    let conv = c
        .update_conversation(pb::UpdateConversationRequest {
            conversation_id: id.clone(),
            title: (!title.is_empty()).then(|| title.to_string()),
            ..Default::default()
        })
        .await?
        .into_inner();
    println!(
        "Saved as \"{}\" ({id}): `hyperagent chat --resume {id}` goes on with it.",
        line(&conv.title)
    );
    Ok(())
}

/// `/export [FILE]`: the conversation as Markdown, to FILE or here.
async fn export(c: &mut Client, s: &Session, file: &str) -> Result<(), Failure> {
    let Some(id) = s.id.clone() else {
        return Err(Failure::new(
            2,
            "nothing to export yet: ask something first",
        ));
    };
    let md = c
        .export_conversation(pb::GetConversationRequest {
            conversation_id: id,
        })
        .await?
        .into_inner()
        .markdown;
    if file.is_empty() {
        println!("{}", text(&md));
    } else {
        std::fs::write(file, md).map_err(|e| Failure::new(1, format!("writing {file}: {e}")))?;
        println!("Written to {file}.");
    }
    Ok(())
}

/// `/budget MONEY [TOKENS]`.
async fn budget(c: &mut Client, s: &mut Session, said: &str) -> Result<(), Failure> {
    let mut parts = said.split_whitespace();
    let money: f64 = parts
        .next()
        .unwrap_or("")
        .parse()
        .map_err(|_| Failure::new(2, "/budget MONEY [TOKENS]: MONEY is a number, e.g. 0.50"))?;
    let tokens: Option<u64> = match parts.next() {
        None => None,
        Some(t) => Some(
            t.parse()
                .map_err(|_| Failure::new(2, "/budget MONEY [TOKENS]: TOKENS is a whole number"))?,
        ),
    };
    s.start.money_budget = money;
    s.start.token_budget = tokens.unwrap_or(s.start.token_budget);
    let change = pb::UpdateConversationRequest {
        money_budget: Some(money),
        token_budget: tokens,
        ..Default::default()
    };
    changed(c, s, change).await?;
    println!(
        "Budget: {money} for model calls, {} tokens (0: no limit).",
        s.start.token_budget
    );
    Ok(())
}

/// Applies `change` to the conversation when it has started (before, it starts with it).
async fn changed(
    c: &mut Client,
    s: &Session,
    change: pb::UpdateConversationRequest,
) -> Result<(), Failure> {
    if let Some(id) = s.id.clone() {
        c.update_conversation(pb::UpdateConversationRequest {
            conversation_id: id,
            ..change
        })
        .await?;
    }
    Ok(())
}

/// The conversation's id, starting it when it has none yet.
async fn ensure(c: &mut Client, s: &mut Session) -> Result<String, Failure> {
    if let Some(id) = &s.id {
        return Ok(id.clone());
    }
    let conv = c.start_conversation(s.start.clone()).await?.into_inner();
    s.id = Some(conv.id.clone());
    Ok(conv.id)
}

/// One request: asked in the conversation, its answer shown, its plan confirmed and followed.
/// Returns the line read where a yes or no was asked when it was neither (the next request).
async fn request(
    c: &mut Client,
    s: &mut Session,
    said: &str,
    input: &mut impl BufRead,
    typed: bool,
) -> Result<Option<String>, Failure> {
    let id = ensure(c, s).await?;
    let r = c
        .ask(pb::AskRequest {
            text: said.to_string(),
            conversation_id: id,
            ..Default::default()
        })
        .await?
        .into_inner();
    if !r.fallback.is_empty() {
        eprintln!("note: {} (the offline router answered)", line(&r.fallback));
    }
    let turn = r
        .conversation
        .as_ref()
        .and_then(|c| c.turns.last())
        .cloned()
        .unwrap_or_default();
    if !turn.routed_as.is_empty() {
        println!("(asked as: {})", line(&turn.routed_as));
    }
    println!("hyperagent> {}", line(&turn.reply));
    if !turn.choices.is_empty() {
        let numbered: Vec<String> = turn
            .choices
            .iter()
            .enumerate()
            .map(|(n, c)| format!("{}. {}", n + 1, line(c)))
            .collect();
        println!("Answer with one: {}", numbered.join("  "));
    }
    let Some(plan) = r.plan else {
        return Ok(None);
    };
    print!("{}", preview_text(&plan));
    if plan.state == pb::PlanState::Proposed as i32 {
        if plan.steps.iter().any(|st| !st.problem.is_empty()) {
            println!(
                "It cannot run as it stands: say it another way, or change it with `hyperagent plans accept {} --edit ...`.",
                plan.id
            );
            return Ok(None);
        }
        if typed {
            eprint!("Run this plan? [y/N] ");
            std::io::stderr().flush().ok();
        }
        let mut answer = String::new();
        input
            .read_line(&mut answer)
            .map_err(|e| Failure::new(1, format!("reading the answer: {e}")))?;
        let answer = answer.trim();
        if !matches!(answer.to_lowercase().as_str(), "y" | "yes") {
            c.reject_plan(pb::RejectPlanRequest {
                plan_id: plan.id.clone(),
                reason: "declined in the conversation".into(),
            })
            .await?;
            println!("Not run.");
            // Neither yes nor no: the next request, typed instead of an answer.
            let no = matches!(answer.to_lowercase().as_str(), "" | "n" | "no");
            return Ok((!no).then(|| answer.to_string()));
        }
        let accepted = c
            .accept_plan(pb::AcceptPlanRequest {
                plan_id: plan.id.clone(),
                edits: Vec::new(),
            })
            .await?
            .into_inner();
        follow(c, accepted, false).await?;
    } else {
        follow(c, plan, false).await?;
    }
    Ok(None)
}

/// `/sessions`.
async fn sessions(c: &mut Client) -> Result<(), Failure> {
    let r = c
        .list_conversations(pb::ListConversationsRequest {
            limit: 20,
            page_token: String::new(),
        })
        .await?
        .into_inner();
    if r.conversations.is_empty() {
        println!("No saved conversations yet.");
    }
    for (conv, turns) in r.conversations.iter().zip(&r.turn_counts) {
        println!(
            "{}  {}  {:>3} turns  {:<7}  {}",
            conv.id,
            crate::output::time(conv.updated_at.as_ref()),
            turns,
            mode_name(conv.mode),
            line(&conv.title)
        );
    }
    Ok(())
}

/// `/load ID` (and `--resume`): what was said, then on from there.
async fn load(c: &mut Client, s: &mut Session, id: &str) -> Result<(), Failure> {
    let v = c
        .get_conversation(pb::GetConversationRequest {
            conversation_id: id.to_string(),
        })
        .await?
        .into_inner();
    let conv = v.conversation.unwrap_or_default();
    println!(
        "Conversation \"{}\" ({}, {} turns, mode {}{}):",
        line(&conv.title),
        conv.id,
        conv.turns.len(),
        mode_name(conv.mode),
        if conv.folder.is_empty() {
            String::new()
        } else {
            format!(", about {}", line(&conv.folder))
        }
    );
    for t in &conv.turns {
        println!("you> {}", line(&t.request));
        println!("hyperagent> {}", line(&t.reply));
        if let Some(p) = v.plans.iter().find(|p| p.id == t.plan_id) {
            if !p.summary.is_empty() {
                println!("{}", text(&p.summary));
            }
        }
    }
    if let Some(t) = v.totals {
        println!(
            "So far: {} plans, {} tasks, {} model tokens, cost {:.4}.",
            t.plans, t.tasks, t.tokens, t.money
        );
    }
    s.start.mode = conv.mode;
    s.id = Some(conv.id);
    Ok(())
}

fn mode_name(mode: i32) -> &'static str {
    if mode == pb::ConversationMode::Auto as i32 {
        "auto"
    } else {
        "preview"
    }
}
