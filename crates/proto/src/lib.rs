//! Generated types of the HyperAgent gRPC contracts. Nothing here is written by hand: edit
//! `proto/hyperagent/v1/*.proto` and rebuild. Only the manager's `grpc` module and clients use these.
#![allow(missing_docs, clippy::all)]

/// The protobuf codec every generated service and client uses: prost's, with a small initial
/// encode buffer. The manager holds one long-lived response stream per agent (its Work stream);
/// prost's default 8 KiB encode buffer per stream would cost 8 MB for 1,000 idle agents. Buffers
/// still grow on demand; decoding keeps the default (requests are short-lived, log batches large).
pub mod codec {
    use std::marker::PhantomData;

    use tonic::codec::{BufferSettings, Codec};
    use tonic_prost::ProstCodec;

    /// Initial encode buffer of a stream.
    const ENCODE_BUFFER: usize = 1024;
    /// Initial decode buffer (tonic's default).
    const DECODE_BUFFER: usize = 8 * 1024;
    /// Bytes encoded before a stream yields to others (tonic's default).
    const YIELD_THRESHOLD: usize = 32 * 1024;

    /// Prost's codec with a small initial encode buffer.
    #[derive(Debug, Clone, Copy)]
    pub struct LeanCodec<T, U>(PhantomData<(T, U)>);

    impl<T, U> Default for LeanCodec<T, U> {
        fn default() -> Self {
            LeanCodec(PhantomData)
        }
    }

    impl<T, U> Codec for LeanCodec<T, U>
    where
        T: prost::Message + Send + 'static,
        U: prost::Message + Default + Send + 'static,
    {
        type Encode = T;
        type Decode = U;
        type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
        type Decoder = <ProstCodec<T, U> as Codec>::Decoder;

        fn encoder(&mut self) -> Self::Encoder {
            ProstCodec::<T, U>::raw_encoder(BufferSettings::new(ENCODE_BUFFER, YIELD_THRESHOLD))
        }

        fn decoder(&mut self) -> Self::Decoder {
            ProstCodec::<T, U>::raw_decoder(BufferSettings::new(DECODE_BUFFER, YIELD_THRESHOLD))
        }
    }
}

/// `hyperagent.v1`: messages and services.
pub mod v1 {
    tonic::include_proto!("hyperagent.v1");
    include!(concat!(env!("OUT_DIR"), "/hyperagent.v1.serde.rs"));

    /// The encoded descriptor set of every file, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("hyperagent_descriptor");
}

/// Calls `$callback! { "Method" snake_fn Request; ... }` with every unary method of
/// `ClientService` (all but `Subscribe`), so each adapter of the client API (the web API, the
/// desktop app's commands) is made from one list. A method missing here is missing everywhere,
/// and the web API's OpenAPI test names it.
#[macro_export]
macro_rules! for_each_unary_client_method {
    ($callback:ident) => {
        $callback! {
            "SubmitTask" submit_task SubmitTaskRequest;
            "GetTask" get_task GetTaskRequest;
            "ListTasks" list_tasks ListTasksRequest;
            "CancelTask" cancel_task CancelTaskRequest;
            "ListAgents" list_agents ListAgentsRequest;
            "ListTaskTypes" list_task_types ListTaskTypesRequest;
            "GetLogs" get_logs GetLogsRequest;
            "ListAudit" list_audit ListAuditRequest;
            "VerifyAudit" verify_audit VerifyAuditRequest;
            "AddPolicyRule" add_policy_rule AddPolicyRuleRequest;
            "ListPolicyRules" list_policy_rules ListPolicyRulesRequest;
            "RevokePolicyRule" revoke_policy_rule RevokePolicyRuleRequest;
            "ListConsents" list_consents ListConsentsRequest;
            "AnswerConsent" answer_consent AnswerConsentRequest;
            "ListQuestions" list_questions ListQuestionsRequest;
            "AnswerQuestion" answer_question AnswerQuestionRequest;
            "ListActions" list_actions ListActionsRequest;
            "RollbackAction" rollback_action RollbackActionRequest;
            "SetSecret" set_secret SetSecretRequest;
            "ListSecrets" list_secrets ListSecretsRequest;
            "DeleteSecret" delete_secret DeleteSecretRequest;
            "ListTemplates" list_templates ListTemplatesRequest;
            "OpenPath" open_path OpenPathRequest;
            "CheckOpenPath" check_open_path OpenPathRequest;
            "Route" route RouteRequest;
            "Ask" ask AskRequest;
            "AcceptPlan" accept_plan AcceptPlanRequest;
            "RejectPlan" reject_plan RejectPlanRequest;
            "CancelPlan" cancel_plan CancelPlanRequest;
            "GetPlan" get_plan GetPlanRequest;
            "ListPlans" list_plans ListPlansRequest;
            "ListMessages" list_messages ListMessagesRequest;
            "GetStatus" get_status GetStatusRequest;
            "SetPaused" set_paused SetPausedRequest;
            "SetWorkspaceRoot" set_workspace_root SetWorkspaceRootRequest;
            "StartConversation" start_conversation StartConversationRequest;
            "GetConversation" get_conversation GetConversationRequest;
            "ListConversations" list_conversations ListConversationsRequest;
            "UpdateConversation" update_conversation UpdateConversationRequest;
            "ExportConversation" export_conversation GetConversationRequest;
            "DeleteConversation" delete_conversation GetConversationRequest;
        }
    };
}

/// OpenTelemetry's OTLP trace types and the client of its export service (vendored from
/// opentelemetry-proto v1.9.0 in `proto/opentelemetry`, Apache-2.0).
pub mod opentelemetry {
    /// `opentelemetry.proto`.
    pub mod proto {
        /// `opentelemetry.proto.common`.
        pub mod common {
            /// `opentelemetry.proto.common.v1`.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.common.v1");
            }
        }
        /// `opentelemetry.proto.resource`.
        pub mod resource {
            /// `opentelemetry.proto.resource.v1`.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.resource.v1");
            }
        }
        /// `opentelemetry.proto.trace`.
        pub mod trace {
            /// `opentelemetry.proto.trace.v1`.
            pub mod v1 {
                tonic::include_proto!("opentelemetry.proto.trace.v1");
            }
        }
        /// `opentelemetry.proto.collector`.
        pub mod collector {
            /// `opentelemetry.proto.collector.trace`.
            pub mod trace {
                /// `opentelemetry.proto.collector.trace.v1`.
                pub mod v1 {
                    tonic::include_proto!("opentelemetry.proto.collector.trace.v1");
                }
            }
        }
    }
}
