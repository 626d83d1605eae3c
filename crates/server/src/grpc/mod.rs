//! The gRPC services: thin handlers that convert proto <-> domain and call the manager. The only
//! module (with `convert`) that touches generated types. No decisions are made here.
pub mod convert;

use std::pin::Pin;
use std::task::{Context, Poll};

use hyperagent_proto::v1 as pb;
use pb::agent_service_server::AgentService;
use pb::client_service_server::ClientService;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use convert::status;
use hyperagent_core::manager::{
    ConversationChange, FileAt, HandOff, Manager, OpenTarget, Registration, Sender, Submission,
    WorkGuard,
};
use hyperagent_core::registry::Command;
use hyperagent_core::store::{AuditQuery, EventFilter, TaskQuery};
use hyperagent_core::Error as CoreError;

/// Implements both services over one manager.
#[derive(Clone)]
pub struct Services {
    manager: Manager,
}

/// The caller, as the kernel described it when its Unix-socket connection was accepted (none
/// over TCP).
pub fn peer<T>(req: &Request<T>) -> Option<hyperagent_core::peer::Peer> {
    req.extensions()
        .get::<Option<hyperagent_core::peer::Peer>>()
        .copied()
        .flatten()
}

impl Services {
    /// The manager they serve.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Services over `manager`.
    pub fn new(manager: Manager) -> Services {
        Services { manager }
    }
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The Work stream: commands for one agent and the answers to its beats; dropping it (the agent
/// hung up) takes the agent offline.
pub struct WorkStream {
    rx: mpsc::UnboundedReceiver<Command>,
    beats: mpsc::Receiver<pb::BeatAnswer>,
    /// Reads the agent's side; stopped with the stream, so an agent still beating on an ended
    /// stream holds nothing open.
    reader: tokio::task::JoinHandle<()>,
    _guard: WorkGuard,
}

impl Drop for WorkStream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Stream for WorkStream {
    type Item = Result<pb::WorkItem, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(c) = self.rx.poll_recv(cx) {
            return Poll::Ready(c.map(|c| Ok(convert::work_item(c))));
        }
        // Beat answers end with the agent's side of the stream; commands decide its end.
        match self.beats.poll_recv(cx) {
            Poll::Ready(Some(answer)) => Poll::Ready(Some(Ok(pb::WorkItem {
                item: Some(pb::work_item::Item::Beat(answer)),
            }))),
            _ => Poll::Pending,
        }
    }
}

/// Beat answers queued for an agent that has not read them (see `read_beats`): not a tunable,
/// a bound; an agent reading its stream has at most one waiting.
const UNREAD_BEAT_ANSWERS: usize = 4;

/// Reads an agent's beats from its Work stream until it ends, answering each on the stream.
async fn read_beats(
    manager: Manager,
    token: String,
    mut inbound: tonic::Streaming<pb::WorkRequest>,
    answers: mpsc::Sender<pb::BeatAnswer>,
) {
    let mut first = true;
    while let Ok(Some(req)) = inbound.message().await {
        let Some(beat) = req.beat else { continue };
        let stop = match manager.heartbeat(&token, beat.load, &beat.running_task_ids) {
            Ok(stop) => stop,
            // The session was replaced (the manager ends this stream itself), or the beat broke
            // its bounds: no more beats are read, and without them the agent goes offline.
            Err(_) => return,
        };
        // An idle agent's beats after the first need no answer (see `Beat`): answering them was
        // a third of what a thousand idle agents cost (BENCHMARKS.md, "The fast path, third slice").
        let answer = first || !stop.is_empty() || !beat.running_task_ids.is_empty();
        first = false;
        if !answer {
            continue;
        }
        let said = pb::BeatAnswer {
            seq: beat.seq,
            stop_task_ids: stop,
        };
        // An agent that does not read its stream gets no more answers queued: each beat's answer
        // is worked out afresh (what it must stop is said again on its next beat), so dropping
        // one loses nothing, and the manager's memory stays bounded.
        if let Err(mpsc::error::TrySendError::Closed(_)) = answers.try_send(said) {
            return;
        }
    }
}

/// The event feed stream of one subscriber.
pub struct EventStream {
    rx: mpsc::Receiver<
        hyperagent_core::error::Result<std::sync::Arc<hyperagent_core::model::Event>>,
    >,
}

impl Stream for EventStream {
    type Item = Result<pb::Event, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx
            .poll_recv(cx)
            .map(|e| e.map(|e| e.map(|e| convert::event(&e)).map_err(status)))
    }
}

#[tonic::async_trait]
impl AgentService for Services {
    async fn register(
        &self,
        req: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let peer = peer(&req);
        let r = req.into_inner();
        let reg = Registration {
            peer,
            name: r.name,
            version: r.version,
            capabilities: r
                .capabilities
                .into_iter()
                .map(convert::task_type_from)
                .collect(),
            max_concurrency: r.max_concurrency,
            running_task_ids: r.running_task_ids,
            cost: r.cost,
            // The kernel's word where there is one: a confined agent is pid 1 of its own pid
            // namespace, and its own report means nothing to the person.
            pid: peer.map_or(r.pid, |p| p.pid),
        };
        let out = self.manager.register(reg).await.map_err(status)?;
        let cfg = self.manager.config();
        Ok(Response::new(pb::RegisterResponse {
            agent_id: out.agent_id,
            session_token: out.session_token,
            heartbeat_interval_ms: cfg.agents.heartbeat_interval.as_millis() as u32,
            stop_task_ids: out.stop_task_ids,
            max_log_line_bytes: cfg.agents.max_log_line_bytes,
            max_message_bytes: cfg.server.max_message_bytes,
            max_log_batch_lines: cfg.agents.max_log_batch_lines,
            log_columns: true,
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let r = req.into_inner();
        let stop = self
            .manager
            .heartbeat(&r.session_token, r.load, &r.running_task_ids)
            .map_err(status)?;
        Ok(Response::new(pb::HeartbeatResponse {
            stop_task_ids: stop,
        }))
    }

    type WorkStream = WorkStream;

    async fn work(
        &self,
        req: Request<tonic::Streaming<pb::WorkRequest>>,
    ) -> Result<Response<WorkStream>, Status> {
        let mut inbound = req.into_inner();
        let first = inbound.message().await?.ok_or_else(|| {
            Status::invalid_argument(
                "the Work stream's first message must name the session (session_token from Register)",
            )
        })?;
        let (rx, guard) = self
            .manager
            .open_work(&first.session_token)
            .map_err(status)?;
        let (answers, beats) = mpsc::channel(UNREAD_BEAT_ANSWERS);
        let reader = tokio::spawn(read_beats(
            self.manager.clone(),
            first.session_token,
            inbound,
            answers,
        ));
        Ok(Response::new(WorkStream {
            rx,
            beats,
            reader,
            _guard: guard,
        }))
    }

    async fn answer_task(
        &self,
        req: Request<pb::AnswerTaskRequest>,
    ) -> Result<Response<pb::AnswerTaskResponse>, Status> {
        let r = req.into_inner();
        self.manager
            .answer(&r.task_id, &r.capability_token, r.accepted, &r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AnswerTaskResponse {}))
    }

    async fn push_logs(
        &self,
        req: Request<pb::PushLogsRequest>,
    ) -> Result<Response<pb::PushLogsResponse>, Status> {
        let r = req.into_inner();
        let lines = convert::pushed_lines(r.lines, r.columns)?;
        let stored = self
            .manager
            .push_logs(&r.task_id, &r.capability_token, lines)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PushLogsResponse { stored_seq: stored }))
    }

    async fn report_progress(
        &self,
        req: Request<pb::ReportProgressRequest>,
    ) -> Result<Response<pb::ReportProgressResponse>, Status> {
        let r = req.into_inner();
        self.manager
            .report_progress(
                &r.task_id,
                &r.capability_token,
                convert::progress_from(r.progress),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ReportProgressResponse {}))
    }

    async fn finish_task(
        &self,
        req: Request<pb::FinishTaskRequest>,
    ) -> Result<Response<pb::FinishTaskResponse>, Status> {
        let r = req.into_inner();
        let result = convert::result_from(r.result)?;
        let end = self
            .manager
            .finish(&r.task_id, &r.capability_token, result)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::FinishTaskResponse {
            state: convert::state(end) as i32,
        }))
    }

    async fn prepare_destructive(
        &self,
        req: Request<pb::PrepareDestructiveRequest>,
    ) -> Result<Response<pb::PrepareDestructiveResponse>, Status> {
        let r = req.into_inner();
        let a = self
            .manager
            .prepare_destructive(&r.task_id, &r.capability_token, &r.description, &r.paths)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PrepareDestructiveResponse {
            action_id: a.id,
            files: a.files,
            bytes: a.bytes,
        }))
    }

    async fn send_message(
        &self,
        req: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let (by, out) = convert::outgoing(req.into_inner())?;
        let from = match &by {
            convert::SentBy::Session(token) => Sender::Session(token),
            convert::SentBy::Task(task_id, token) => Sender::Task { task_id, token },
        };
        let (m, created) = self.manager.send_message(from, out).await.map_err(status)?;
        Ok(Response::new(pb::SendMessageResponse {
            message_id: m.id,
            to_agent: m.to_agent,
            created,
        }))
    }

    async fn ack_message(
        &self,
        req: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        let r = req.into_inner();
        self.manager
            .ack_message(&r.session_token, &r.message_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AckMessageResponse {}))
    }

    async fn hand_off(
        &self,
        req: Request<pb::HandOffRequest>,
    ) -> Result<Response<pb::HandOffResponse>, Status> {
        let r = req.into_inner();
        let h = HandOff {
            task_type: r.task_type,
            payload_json: r.payload_json,
            note: r.note,
        };
        let t = self
            .manager
            .hand_off(&r.task_id, &r.capability_token, h)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::HandOffResponse { task_id: t.id }))
    }

    async fn get_secret(
        &self,
        req: Request<pb::GetSecretRequest>,
    ) -> Result<Response<pb::GetSecretResponse>, Status> {
        let r = req.into_inner();
        let value = self
            .manager
            .secret_for_task(&r.task_id, &r.capability_token, &r.name)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetSecretResponse { value }))
    }

    async fn request_consent(
        &self,
        req: Request<pb::RequestConsentRequest>,
    ) -> Result<Response<pb::RequestConsentResponse>, Status> {
        let pb::RequestConsentRequest {
            task_id,
            capability_token,
            kind,
            target,
            reason,
        } = req.into_inner();
        // The request may wait for the person up to consent.timeout: it keeps only what it
        // shows, not the message it came in (up to server.max_message_bytes).
        let reason_kept = hyperagent_core::consent::kept_reason(&reason);
        drop(reason);
        let c = self
            .manager
            .request_consent(&task_id, &capability_token, &kind, &target, &reason_kept)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RequestConsentResponse {
            granted: c.status == hyperagent_core::consent::Status::Granted,
            consent_id: c.id,
            answered_by: c.answered_by,
            reason: c.answer_reason,
        }))
    }

    async fn report_model_call(
        &self,
        req: Request<pb::ReportModelCallRequest>,
    ) -> Result<Response<pb::ReportModelCallResponse>, Status> {
        let r = req.into_inner();
        let call = convert::model_call_from(r.call.unwrap_or_default());
        let usage = self
            .manager
            .report_model_call(&r.task_id, &r.capability_token, call)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ReportModelCallResponse {
            usage: Some(convert::model_usage(&usage)),
        }))
    }

    async fn ask_person(
        &self,
        req: Request<pb::AskPersonRequest>,
    ) -> Result<Response<pb::AskPersonResponse>, Status> {
        let r = req.into_inner();
        let q = self
            .manager
            .ask_person(&r.task_id, &r.capability_token, &r.question, r.choices)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AskPersonResponse {
            answered: q.status == hyperagent_core::question::Status::Answered,
            answer: q.answer,
            reason: q.answered_by,
        }))
    }
}

#[tonic::async_trait]
impl ClientService for Services {
    async fn submit_task(
        &self,
        req: Request<pb::SubmitTaskRequest>,
    ) -> Result<Response<pb::SubmitTaskResponse>, Status> {
        let r = req.into_inner();
        let (task, created) = self
            .manager
            .submit(Submission {
                task_type: r.task_type,
                payload_json: r.payload_json,
                idempotency_key: opt(r.idempotency_key),
                pin_agent: opt(r.pin_agent),
                timeout_secs: r.timeout_secs,
                max_attempts: r.max_attempts,
                workspace: opt(r.workspace),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SubmitTaskResponse {
            task: Some(convert::task(&task)),
            created,
        }))
    }

    async fn get_task(
        &self,
        req: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let t = self
            .manager
            .get_task(&req.into_inner().task_id)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::task(&t)))
    }

    async fn list_tasks(
        &self,
        req: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let r = req.into_inner();
        let mut states = Vec::new();
        for s in r.states {
            states.push(convert::state_from(s).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "states: {s} is not a task state; use 1 (QUEUED) to 9 (DEAD_LETTERED)"
                ))
            })?);
        }
        let (tasks, next) = self
            .manager
            .list_tasks(TaskQuery {
                states,
                task_type: opt(r.task_type),
                before_id: opt(r.page_token),
                limit: r.limit,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListTasksResponse {
            tasks: tasks.iter().map(convert::task).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn cancel_task(
        &self,
        req: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let r = req.into_inner();
        let t = self
            .manager
            .cancel(&r.task_id, &r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::task(&t)))
    }

    async fn list_agents(
        &self,
        _req: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        Ok(Response::new(pb::ListAgentsResponse {
            agents: self
                .manager
                .list_agents()
                .iter()
                .map(convert::agent)
                .collect(),
        }))
    }

    async fn list_task_types(
        &self,
        _req: Request<pb::ListTaskTypesRequest>,
    ) -> Result<Response<pb::ListTaskTypesResponse>, Status> {
        Ok(Response::new(pb::ListTaskTypesResponse {
            task_types: self
                .manager
                .list_task_types()
                .iter()
                .map(convert::task_type_info)
                .collect(),
        }))
    }

    async fn get_logs(
        &self,
        req: Request<pb::GetLogsRequest>,
    ) -> Result<Response<pb::GetLogsResponse>, Status> {
        let r = req.into_inner();
        let (lines, complete) = self
            .manager
            .get_logs(&r.task_id, r.after_seq, r.limit)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetLogsResponse {
            lines: lines.iter().map(convert::log_line).collect(),
            complete,
        }))
    }

    async fn list_audit(
        &self,
        req: Request<pb::ListAuditRequest>,
    ) -> Result<Response<pb::ListAuditResponse>, Status> {
        let r = req.into_inner();
        let query = AuditQuery {
            task_id: opt(r.task_id),
            actor: opt(r.actor),
            action: opt(r.action),
            after: r.after_id,
            before: r.before_id,
            newest_first: r.newest_first,
            limit: r.limit,
        };
        let (entries, more) = self.manager.audit_page(&query).await.map_err(status)?;
        Ok(Response::new(pb::ListAuditResponse {
            entries: entries.iter().map(convert::audit_entry).collect(),
            more,
        }))
    }

    async fn verify_audit(
        &self,
        _req: Request<pb::VerifyAuditRequest>,
    ) -> Result<Response<pb::VerifyAuditResponse>, Status> {
        let (checked, problems) = self.manager.verify_audit().await.map_err(status)?;
        Ok(Response::new(pb::VerifyAuditResponse {
            intact: problems.is_empty(),
            entries_checked: checked,
            problems,
        }))
    }

    async fn add_policy_rule(
        &self,
        req: Request<pb::AddPolicyRuleRequest>,
    ) -> Result<Response<pb::PolicyRule>, Status> {
        let r = req.into_inner();
        let decision = convert::decision_from(r.decision).map_err(status)?;
        let agent = (!r.agent.is_empty()).then_some(r.agent);
        let rule = self
            .manager
            .add_rule(agent, &r.kind, &r.target, decision, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::rule(&rule)))
    }

    async fn list_policy_rules(
        &self,
        req: Request<pb::ListPolicyRulesRequest>,
    ) -> Result<Response<pb::ListPolicyRulesResponse>, Status> {
        let rules = self.manager.list_rules(req.into_inner().include_revoked);
        Ok(Response::new(pb::ListPolicyRulesResponse {
            rules: rules.iter().map(convert::rule).collect(),
        }))
    }

    async fn revoke_policy_rule(
        &self,
        req: Request<pb::RevokePolicyRuleRequest>,
    ) -> Result<Response<pb::PolicyRule>, Status> {
        let rule = self
            .manager
            .revoke_rule(&req.into_inner().id, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::rule(&rule)))
    }

    async fn list_consents(
        &self,
        _req: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        Ok(Response::new(pb::ListConsentsResponse {
            consents: self
                .manager
                .list_consents()
                .iter()
                .map(convert::consent)
                .collect(),
        }))
    }

    async fn answer_consent(
        &self,
        req: Request<pb::AnswerConsentRequest>,
    ) -> Result<Response<pb::Consent>, Status> {
        let r = req.into_inner();
        let scope = convert::answer_from(r.answer).map_err(status)?;
        let c = self
            .manager
            .answer_consent(&r.id, scope, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::consent(&c)))
    }

    async fn list_questions(
        &self,
        _req: Request<pb::ListQuestionsRequest>,
    ) -> Result<Response<pb::ListQuestionsResponse>, Status> {
        Ok(Response::new(pb::ListQuestionsResponse {
            questions: self
                .manager
                .list_questions()
                .iter()
                .map(convert::question)
                .collect(),
        }))
    }

    async fn answer_question(
        &self,
        req: Request<pb::AnswerQuestionRequest>,
    ) -> Result<Response<pb::Question>, Status> {
        let r = req.into_inner();
        let q = self
            .manager
            .answer_question(&r.id, &r.answer, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::question(&q)))
    }

    async fn list_actions(
        &self,
        _req: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let list = self.manager.list_actions().await.map_err(status)?;
        Ok(Response::new(pb::ListActionsResponse {
            actions: list.iter().map(convert::action).collect(),
        }))
    }

    async fn rollback_action(
        &self,
        req: Request<pb::RollbackActionRequest>,
    ) -> Result<Response<pb::Action>, Status> {
        let a = self
            .manager
            .rollback(&req.into_inner().id, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::action(&a)))
    }

    async fn set_secret(
        &self,
        req: Request<pb::SetSecretRequest>,
    ) -> Result<Response<pb::SetSecretResponse>, Status> {
        let r = req.into_inner();
        self.manager
            .set_secret(&r.name, &r.value, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SetSecretResponse {}))
    }

    async fn list_secrets(
        &self,
        _req: Request<pb::ListSecretsRequest>,
    ) -> Result<Response<pb::ListSecretsResponse>, Status> {
        let list = self.manager.list_secrets().await.map_err(status)?;
        Ok(Response::new(pb::ListSecretsResponse {
            secrets: list
                .into_iter()
                .map(|(name, t)| pb::SecretInfo {
                    name,
                    updated_at: Some(convert::ts(t)),
                })
                .collect(),
            store: hyperagent_core::secrets::store_name().into(),
        }))
    }

    async fn delete_secret(
        &self,
        req: Request<pb::DeleteSecretRequest>,
    ) -> Result<Response<pb::DeleteSecretResponse>, Status> {
        self.manager
            .delete_secret(&req.into_inner().name, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteSecretResponse {}))
    }

    async fn list_templates(
        &self,
        _req: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        Ok(Response::new(pb::ListTemplatesResponse {
            templates: self
                .manager
                .list_templates()
                .iter()
                .map(convert::template)
                .collect(),
        }))
    }

    async fn route(
        &self,
        req: Request<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        let a = self
            .manager
            .route_request(&req.into_inner().text)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::routed(a)))
    }

    async fn ask(&self, req: Request<pb::AskRequest>) -> Result<Response<pb::AskResponse>, Status> {
        let r = req.into_inner();
        let budget = hyperagent_core::manager::Budget {
            secs: r.budget_secs,
            money: r.money_budget,
        };
        let (a, c) = match opt(r.conversation_id) {
            None => (
                self.manager.ask(&r.text, budget).await.map_err(status)?,
                None,
            ),
            Some(id) => {
                let (a, c) = self
                    .manager
                    .ask_in_conversation(&id, &r.text, budget)
                    .await
                    .map_err(status)?;
                (a, Some(c))
            }
        };
        Ok(Response::new(convert::asked(a, c.as_ref())))
    }

    async fn start_conversation(
        &self,
        req: Request<pb::StartConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        let r = req.into_inner();
        let change = ConversationChange {
            title: Some(r.title),
            mode: convert::conversation_mode(r.mode)?,
            money_budget: Some(r.money_budget),
            token_budget: Some(r.token_budget),
        };
        let c = self
            .manager
            .start_conversation(change)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::conversation(&c)))
    }

    async fn get_conversation(
        &self,
        req: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::ConversationView>, Status> {
        let v = self
            .manager
            .get_conversation(&req.into_inner().conversation_id)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::conversation_view(&v)))
    }

    async fn list_conversations(
        &self,
        req: Request<pb::ListConversationsRequest>,
    ) -> Result<Response<pb::ListConversationsResponse>, Status> {
        let r = req.into_inner();
        let (found, next) = self
            .manager
            .list_conversations(r.limit, opt(r.page_token).as_deref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListConversationsResponse {
            turn_counts: found.iter().map(|c| c.turns.len() as u32).collect(),
            conversations: found
                .iter()
                .map(|c| pb::Conversation {
                    turns: Vec::new(),
                    ..convert::conversation(c)
                })
                .collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn update_conversation(
        &self,
        req: Request<pb::UpdateConversationRequest>,
    ) -> Result<Response<pb::Conversation>, Status> {
        let r = req.into_inner();
        let change = ConversationChange {
            title: r.title,
            mode: convert::conversation_mode(r.mode)?,
            money_budget: r.money_budget,
            token_budget: r.token_budget,
        };
        let c = self
            .manager
            .update_conversation(&r.conversation_id, change)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::conversation(&c)))
    }

    async fn export_conversation(
        &self,
        req: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::ExportConversationResponse>, Status> {
        let markdown = self
            .manager
            .export_conversation(&req.into_inner().conversation_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ExportConversationResponse { markdown }))
    }

    async fn delete_conversation(
        &self,
        req: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::DeleteConversationResponse>, Status> {
        self.manager
            .delete_conversation(&req.into_inner().conversation_id, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteConversationResponse {}))
    }

    async fn accept_plan(
        &self,
        req: Request<pb::AcceptPlanRequest>,
    ) -> Result<Response<pb::Plan>, Status> {
        let r = req.into_inner();
        let edits = convert::edits(r.edits)?;
        let p = self
            .manager
            .accept_plan(&r.plan_id, &edits)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::plan(&p)))
    }

    async fn reject_plan(
        &self,
        req: Request<pb::RejectPlanRequest>,
    ) -> Result<Response<pb::Plan>, Status> {
        let r = req.into_inner();
        let p = self
            .manager
            .reject_plan(&r.plan_id, &r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::plan(&p)))
    }

    async fn cancel_plan(
        &self,
        req: Request<pb::CancelPlanRequest>,
    ) -> Result<Response<pb::Plan>, Status> {
        let r = req.into_inner();
        let p = self
            .manager
            .cancel_plan(&r.plan_id, &r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::plan(&p)))
    }

    async fn get_plan(
        &self,
        req: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::Plan>, Status> {
        let p = self
            .manager
            .get_plan(&req.into_inner().plan_id)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::plan(&p)))
    }

    async fn list_plans(
        &self,
        req: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        let r = req.into_inner();
        let (plans, next) = self
            .manager
            .list_plans(r.limit, opt(r.page_token).as_deref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListPlansResponse {
            plans: plans.iter().map(convert::plan).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn list_messages(
        &self,
        req: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::ListMessagesResponse>, Status> {
        let r = req.into_inner();
        let (found, next) = self
            .manager
            .list_messages(&r.state, &r.agent, r.limit, opt(r.page_token).as_deref())
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListMessagesResponse {
            messages: found.iter().map(convert::message_record).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn open_path(
        &self,
        req: Request<pb::OpenPathRequest>,
    ) -> Result<Response<pb::OpenPathResponse>, Status> {
        let r = req.into_inner();
        let target = match (opt(r.task_id), opt(r.path)) {
            (Some(t), None) => OpenTarget::Task(t),
            (None, Some(p)) => OpenTarget::Path(p),
            _ => {
                return Err(Status::invalid_argument(
                    "give exactly one of task_id (open the task's workspace) and path (an absolute path)",
                ))
            }
        };
        let at = opt(r.file).map(|file| FileAt {
            file,
            line: r.line,
            column: r.column,
        });
        if at.is_none() && (r.line != 0 || r.column != 0) {
            return Err(Status::invalid_argument(
                "line and column need a file (relative to the folder opened)",
            ));
        }
        let o = self
            .manager
            .open_path(target, at, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::opened(o)))
    }

    async fn check_open_path(
        &self,
        req: Request<pb::OpenPathRequest>,
    ) -> Result<Response<pb::OpenPathResponse>, Status> {
        let r = req.into_inner();
        let Some(task) = opt(r.task_id) else {
            return Err(Status::invalid_argument(
                "CheckOpenPath checks a task's folder: give task_id (and no path)",
            ));
        };
        if !r.path.is_empty() || !r.file.is_empty() || r.line != 0 || r.column != 0 {
            return Err(Status::invalid_argument(
                "CheckOpenPath checks a task's folder: give task_id only",
            ));
        }
        match self.manager.check_open(&task).await {
            Ok(o) => Ok(Response::new(convert::opened(o))),
            Err(
                e @ (CoreError::FailedPrecondition(_)
                | CoreError::PermissionDenied(_)
                | CoreError::TaskNotFound(_)),
            ) => Ok(Response::new(pb::OpenPathResponse {
                refused: matches!(e, CoreError::PermissionDenied(_)),
                cannot_open: e.to_string(),
                ..Default::default()
            })),
            Err(e) => Err(status(e)),
        }
    }

    async fn get_status(
        &self,
        _req: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::ManagerStatus>, Status> {
        Ok(Response::new(convert::manager_status(
            &self.manager.status(),
        )))
    }

    async fn set_paused(
        &self,
        req: Request<pb::SetPausedRequest>,
    ) -> Result<Response<pb::ManagerStatus>, Status> {
        let s = self
            .manager
            .set_paused(req.into_inner().paused, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::manager_status(&s)))
    }

    async fn set_workspace_root(
        &self,
        req: Request<pb::SetWorkspaceRootRequest>,
    ) -> Result<Response<pb::ManagerStatus>, Status> {
        let s = self
            .manager
            .set_workspace_root(&req.into_inner().path, "client")
            .await
            .map_err(status)?;
        Ok(Response::new(convert::manager_status(&s)))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let r = req.into_inner();
        let rx = self
            .manager
            .subscribe(
                r.after_seq,
                EventFilter {
                    task_id: opt(r.task_id),
                    exclude_logs: r.exclude_logs,
                },
            )
            .await
            .map_err(status)?;
        Ok(Response::new(EventStream { rx }))
    }
}
