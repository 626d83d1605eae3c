//! Conversations (`crate::conversation`): requests asked one after another in a saved session.
//! Each request is routed knowing what came before it (the project the conversation is about,
//! and for the language model the last requests and what became of them), proposed as a plan
//! like any `ask` (run at once in the "auto" mode when every step can run as it stands), and
//! recorded as a turn in the same session, which is stored at every change and can be listed,
//! resumed after a restart and exported as Markdown. A conversation's budget (money and tokens)
//! holds across all its plans.
use super::*;
use crate::conversation::{self, Conversation, Mode, Totals, Turn};
use crate::conversation::{cut_line as cut, plan_word};
use crate::plan::Plan;
use crate::router::{Context, Routed};

/// A conversation with the plans its turns became and what it has cost.
#[derive(Clone, Debug)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// Its plans as they stand now, in its turns' order.
    pub plans: Vec<Plan>,
    /// What it has cost so far.
    pub totals: Totals,
}

/// What changes in a conversation ([`Manager::update_conversation`]); `None` leaves it.
#[derive(Clone, Debug, Default)]
pub struct ConversationChange {
    /// A new title.
    pub title: Option<String>,
    /// A new mode.
    pub mode: Option<Mode>,
    /// A new money budget (0: no limit).
    pub money_budget: Option<f64>,
    /// A new token budget (0: no limit).
    pub token_budget: Option<u64>,
}

/// Conversations in a page when the client names no number.
const PAGE: u32 = 50;
/// Most conversations in one page.
const MOST_PER_PAGE: u32 = 500;
/// Most characters of an earlier request or of its outcome given to the language model.
const EARLIER_CHARS: usize = 1000;

impl Manager {
    /// Starts a conversation (stored at once, empty).
    pub async fn start_conversation(&self, change: ConversationChange) -> Result<Conversation> {
        let now = self.now_us();
        let mut c = Conversation {
            id: uuid::Uuid::now_v7().to_string(),
            title: String::new(),
            mode: Mode::Preview,
            turns: Vec::new(),
            folder: None,
            money_budget: 0.0,
            token_budget: 0,
            created_us: now,
            updated_us: now,
        };
        apply(&mut c, change)?;
        self.store_conversation(
            &c,
            "conversation.started",
            serde_json::json!({
                "conversation_id": c.id, "title": c.title, "mode": c.mode.name(),
                "money_budget": c.money_budget, "token_budget": c.token_budget,
            }),
        )
        .await?;
        Ok(c)
    }

    /// Asks `text` in a conversation: routed with what came before it, proposed as a plan (run
    /// at once in the auto mode when it can run as it stands), and recorded as its next turn.
    /// Refused when the conversation has spent its budget.
    /// Carried out to the end when the caller stops waiting (a plan run at once gets its turn).
    pub async fn ask_in_conversation(
        &self,
        id: &str,
        text: &str,
        budget: Budget,
    ) -> Result<(AskAnswer, Conversation)> {
        let (id, text) = (id.to_string(), text.to_string());
        self.to_the_end(move |m| async move { m.ask_in_conversation_now(&id, &text, budget).await })
            .await
    }

    async fn ask_in_conversation_now(
        &self,
        id: &str,
        text: &str,
        budget: Budget,
    ) -> Result<(AskAnswer, Conversation)> {
        let c = self.conversation(id).await?;
        let plans = self.plans_of(&c).await?;
        let totals = self.totals_of(&c, &plans).await;
        if let Some(spent) = conversation::over_budget(&c, &totals) {
            return Err(Error::Exhausted(format!(
                "{spent}: raise its budget (`/budget` in `hyperagent chat`, or the chat view) or \
                 start a new conversation"
            )));
        }
        let budget = Budget {
            money: match (c.money_budget, budget.money) {
                (0.0, m) => m,
                (left, 0.0) => left - totals.money,
                (left, m) => m.min(left - totals.money),
            },
            ..budget
        };
        let context = context(
            &c,
            &plans,
            self.inner.cfg.router.model.context_turns as usize,
        );
        // "2" or "code.review" after a question: the question's request with that choice.
        let routed_as = conversation::answering(&c, text);
        let request = routed_as.as_deref().unwrap_or(text);
        let mut answer = self.ask_in_context(request, budget, context).await?;
        let turn = Turn {
            time_us: self.now_us(),
            request: text.trim().to_string(),
            reply: reply(&answer),
            plan_id: answer.plan.as_ref().map(|p| p.id.clone()),
            router: answer.route.router.to_string(),
            model_task_id: answer.route.model_task_id.clone(),
            model_cost: answer.route.model_cost,
            choices: match &answer.route.routed {
                Routed::Clarify { choices, .. } if answer.plan.is_none() => choices.clone(),
                _ => Vec::new(),
            },
            routed_as,
        };
        let detail = serde_json::json!({
            "request": text, "plan_id": answer.plan.as_ref().map(|p| &p.id),
        });
        // The turn is stored before its plan runs at once: a plan that has started is on its
        // conversation (its budget, its session) whatever stops the manager next.
        let mut c = self
            .add_turn(
                id,
                turn,
                answer.plan.as_deref(),
                "conversation.asked",
                detail,
            )
            .await?;
        if let Some(p) = answer.plan.as_deref() {
            if c.mode == Mode::Auto && p.steps.iter().all(|s| s.problem.is_none()) {
                #[cfg(test)]
                self.pause_point("before an auto-run").await;
                match self.accept_plan(&p.id, &[]).await {
                    Ok(accepted) => {
                        #[cfg(test)]
                        self.pause_point("after an auto-run plan started").await;
                        answer.plan = Some(Box::new(accepted))
                    }
                    Err(e) => c = self.not_run_at_once(id, &p.id, &e).await?,
                }
            }
        }
        Ok((answer, c))
    }

    /// Adds `turn` to a conversation after whatever was added meanwhile (another client in the
    /// same session), and stores it.
    async fn add_turn(
        &self,
        id: &str,
        turn: Turn,
        plan: Option<&Plan>,
        action: &str,
        mut detail: serde_json::Value,
    ) -> Result<Conversation> {
        let _one_at_a_time = self.inner.conversations.lock().await;
        let mut c = self.conversation(id).await?;
        if c.title.is_empty() {
            c.title = conversation::title_from(&turn.request);
        }
        if let Some(folder) = plan.and_then(conversation::folder_after) {
            c.folder = Some(folder);
        }
        c.turns.push(turn);
        c.updated_us = self.now_us();
        detail["conversation_id"] = c.id.clone().into();
        detail["turn"] = c.turns.len().into();
        self.store_conversation(&c, action, detail).await?;
        Ok(c)
    }

    /// Says on the turn that proposed `plan_id` why it was not run at once.
    async fn not_run_at_once(&self, id: &str, plan_id: &str, why: &Error) -> Result<Conversation> {
        let _one_at_a_time = self.inner.conversations.lock().await;
        let mut c = self.conversation(id).await?;
        let Some((n, turn)) = c
            .turns
            .iter_mut()
            .enumerate()
            .rfind(|(_, t)| t.plan_id.as_deref() == Some(plan_id))
        else {
            return Ok(c);
        };
        turn.reply
            .push_str(&format!(" It was not run at once: {why}"));
        c.updated_us = self.now_us();
        let detail = serde_json::json!({
            "conversation_id": c.id, "turn": n + 1, "plan_id": plan_id,
            "not_run_at_once": why.to_string(),
        });
        self.store_conversation(&c, "conversation.changed", detail)
            .await?;
        Ok(c)
    }

    /// A conversation with its plans and what it has cost.
    pub async fn get_conversation(&self, id: &str) -> Result<ConversationView> {
        let conversation = self.conversation(id).await?;
        let plans = self.plans_of(&conversation).await?;
        let totals = self.totals_of(&conversation, &plans).await;
        Ok(ConversationView {
            conversation,
            plans,
            totals,
        })
    }

    /// Conversations, the last changed first, a page at a time: `limit` of them (0: a page of
    /// [`PAGE`], at most [`MOST_PER_PAGE`]), after the page `page_token` ended (the token the
    /// previous page gave; none: the first page); and the next page's token, when there may be
    /// one.
    pub async fn list_conversations(
        &self,
        limit: u32,
        page_token: Option<&str>,
    ) -> Result<(Vec<Conversation>, Option<String>)> {
        let before = match page_token {
            None => None,
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                Error::InvalidInput(format!(
                    "page_token `{t}` is not one ListConversations gave: pass its next_page_token"
                ))
            })?),
        };
        let limit = if limit == 0 {
            PAGE
        } else {
            limit.min(MOST_PER_PAGE)
        };
        let mut found = self.inner.store.list_conversations(before, limit).await?;
        let full = found.len() as u32 == limit;
        // Turns carry replies and plans' summaries: a page of long ones fits one message.
        let cut = self.page_cut(found.iter().map(super::wire_bytes));
        let more = full || cut < found.len();
        found.truncate(cut);
        let next = more
            .then(|| found.last().map(|c| c.updated_us.to_string()))
            .flatten();
        Ok((found, next))
    }

    /// Renames a conversation, changes its mode or its budget.
    pub async fn update_conversation(
        &self,
        id: &str,
        change: ConversationChange,
    ) -> Result<Conversation> {
        let _one_at_a_time = self.inner.conversations.lock().await;
        let mut c = self.conversation(id).await?;
        let detail = serde_json::json!({
            "conversation_id": id, "title": change.title, "mode": change.mode.map(Mode::name),
            "money_budget": change.money_budget, "token_budget": change.token_budget,
        });
        apply(&mut c, change)?;
        c.updated_us = self.now_us();
        self.store_conversation(&c, "conversation.changed", detail)
            .await?;
        Ok(c)
    }

    /// Deletes a conversation: its turns go; its plans and their tasks stay (on the Plans and
    /// Tasks pages, and in the audit log, as before). Audited.
    pub async fn delete_conversation(&self, id: &str, actor: &str) -> Result<()> {
        let _one_at_a_time = self.inner.conversations.lock().await;
        let c = self.conversation(id).await?;
        let now = self.now_us();
        self.commit(|_| {
            let writes = vec![
                Write::ForgetConversation(c.id.clone()),
                Write::Event {
                    time_us: now,
                    body: EventBody::ConversationChanged {
                        conversation_id: c.id.clone(),
                        title: c.title.clone(),
                        turns: 0,
                    },
                },
                Write::audit(
                    now,
                    actor,
                    "conversation.deleted",
                    None,
                    serde_json::json!({
                        "conversation_id": c.id, "title": c.title, "turns": c.turns.len(),
                        "plans": c.turns.iter().filter_map(|t| t.plan_id.as_deref()).collect::<Vec<_>>(),
                    }),
                ),
            ];
            Ok((writes, ()))
        })
        .await
    }

    /// A conversation as Markdown: each request, its answer, its plan's steps and summary.
    pub async fn export_conversation(&self, id: &str) -> Result<String> {
        let v = self.get_conversation(id).await?;
        Ok(conversation::markdown(&v.conversation, &v.plans, &v.totals))
    }

    pub(super) async fn conversation(&self, id: &str) -> Result<Conversation> {
        self.inner
            .store
            .get_conversation(id)
            .await?
            .ok_or_else(|| Error::ConversationNotFound(id.to_string()))
    }

    /// Stores a conversation with its event and audit entry.
    async fn store_conversation(
        &self,
        c: &Conversation,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let now = self.now_us();
        self.commit(|_| {
            let writes = vec![
                Write::Conversation(Box::new(c.clone())),
                Write::Event {
                    time_us: now,
                    body: EventBody::ConversationChanged {
                        conversation_id: c.id.clone(),
                        title: c.title.clone(),
                        turns: c.turns.len() as u32,
                    },
                },
                Write::audit(now, "client", action, None, detail),
            ];
            Ok((writes, ()))
        })
        .await
    }

    async fn plans_of(&self, c: &Conversation) -> Result<Vec<Plan>> {
        let mut plans = Vec::new();
        for id in c.turns.iter().filter_map(|t| t.plan_id.as_deref()) {
            match self.get_plan(id).await {
                Ok(p) => plans.push(p),
                // Deleted with its tasks after `store.task_retention`: the turn still says
                // what it was.
                Err(Error::PlanNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(plans)
    }

    /// What a conversation has cost: its plans' money (routing, summaries), its routing without
    /// a plan, and the tokens of every task it ran (its model tasks among them).
    async fn totals_of(&self, c: &Conversation, plans: &[Plan]) -> Totals {
        let mut t = Totals {
            plans: plans.len() as u32,
            ..Totals::default()
        };
        let mut tasks: Vec<&str> = Vec::new();
        for p in plans {
            t.money += p.money_spent;
            tasks.extend(
                p.steps
                    .iter()
                    .flat_map(|s| s.task_ids.iter().map(String::as_str)),
            );
        }
        for turn in &c.turns {
            if turn.plan_id.is_none() {
                t.money += turn.model_cost;
            }
            tasks.extend(turn.model_task_id.as_deref());
        }
        for id in tasks {
            let Ok(task) = self.get_task(id).await else {
                continue; // gone after `store.task_retention`
            };
            t.tasks += 1;
            t.tokens = t
                .tokens
                .saturating_add(task.usage.map_or(0, |u| u.total_tokens));
        }
        t
    }
}

/// What the router is told of the conversation: its folder, and its last `keep` turns (for the
/// language model) with what became of each, from its `plans`.
fn context(c: &Conversation, plans: &[Plan], keep: usize) -> Context {
    let from = c.turns.len().saturating_sub(keep);
    let earlier = c.turns[from..]
        .iter()
        .map(|t| {
            let plan = t
                .plan_id
                .as_ref()
                .and_then(|id| plans.iter().find(|p| &p.id == id));
            let outcome = match plan {
                Some(p) if !p.summary.is_empty() => {
                    format!("plan {}: {}", plan_word(p.state), p.summary)
                }
                Some(p) => format!("plan {}: {}", plan_word(p.state), t.reply),
                None => t.reply.clone(),
            };
            format!(
                "{} -> {}",
                cut(&t.request, EARLIER_CHARS),
                cut(&outcome, EARLIER_CHARS)
            )
        })
        .collect();
    Context {
        folder: c.folder.clone(),
        earlier,
    }
}

/// Applies a change, checking it.
fn apply(c: &mut Conversation, change: ConversationChange) -> Result<()> {
    if let Some(title) = change.title {
        c.title = conversation::check_title(&title)?;
    }
    if let Some(mode) = change.mode {
        c.mode = mode;
    }
    if let Some(money) = change.money_budget {
        conversation::check_budget(money)?;
        c.money_budget = money;
    }
    if let Some(tokens) = change.token_budget {
        c.token_budget = tokens;
    }
    Ok(())
}

/// The manager's first answer to a request, in a line.
fn reply(a: &AskAnswer) -> String {
    if let Some(p) = &a.plan {
        let steps: Vec<String> = p
            .steps
            .iter()
            .map(|s| {
                let folder = s
                    .step
                    .workspace
                    .as_deref()
                    .map(|w| format!(" in {w}"))
                    .unwrap_or_default();
                format!("{}. {}{folder}", s.number(), s.step.task_type)
            })
            .collect();
        let problems = p.steps.iter().filter(|s| s.problem.is_some()).count();
        let mut r = format!(
            "A plan of {} step{}: {}.",
            p.steps.len(),
            if p.steps.len() == 1 { "" } else { "s" },
            steps.join("; ")
        );
        if problems > 0 {
            r.push_str(&format!(
                " {problems} step{} cannot run as it stands: change it before accepting.",
                if problems == 1 { "" } else { "s" }
            ));
        }
        return r;
    }
    match &a.route.routed {
        Routed::Clarify { question, choices } => {
            format!("{question} It could be: {}.", choices.join(", "))
        }
        Routed::Refuse { reason, can_do } => format!(
            "I can't do that here: {reason} What I can do: {}.",
            can_do.join(", ")
        ),
        Routed::Plan(_) => "No steps.".to_string(),
    }
}
