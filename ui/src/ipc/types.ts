// The client API's types, by the names the UI uses. The messages and enums are generated from
// proto/hyperagent/v1/{common,client}.proto into ./gen by scripts/gen-ui-types.sh (CI fails when
// they are stale), typed as the UI receives them from the web API and the desktop shell alike: the
// proto3 JSON mapping with the proto's field names, every scalar, list and map field present,
// 64-bit integers as strings, enums by their full names ('TASK_STATE_QUEUED'), timestamps as
// RFC 3339 strings, and an unset message or timestamp left out (so those fields are optional).
// Only the desktop shell's own commands, which are not proto messages, are written here.

import type * as pb from './gen/hyperagent/v1/client';
import type { TaskState } from './gen/hyperagent/v1/common';

export { AgentStatus, LogLevel, ResultStatus, TaskState } from './gen/hyperagent/v1/common';
export type { Artifact, LogLine, ModelCall, ModelUsage, Progress, TaskResult, TaskType } from './gen/hyperagent/v1/common';
export {
  ConsentAnswer,
  ConsentStatus,
  ConversationMode,
  PlanState,
  PolicyDecision,
  QuestionStatus,
  StepState,
  TemplateStatus,
} from './gen/hyperagent/v1/client';
export type {
  Action,
  ActionPath,
  Agent,
  AgentOutput,
  AgentMessageRecord,
  AgentStatusChanged,
  AskResponse,
  Attempt,
  AuditEntry,
  Candidate,
  Consent,
  Conversation,
  ConversationChanged,
  ConversationTotals,
  ConversationTurn,
  ConversationView,
  DeleteSecretResponse,
  Event,
  GetLogsResponse,
  ListActionsResponse,
  ListAgentsResponse,
  ListAuditResponse,
  ListConsentsResponse,
  ListPlansResponse,
  ListPolicyRulesResponse,
  ListQuestionsResponse,
  ListSecretsResponse,
  ListTaskTypesResponse,
  ListTasksResponse,
  ListTemplatesResponse,
  ManagerStatus,
  OpenPathResponse,
  Plan,
  PlanChanged,
  PlannedStep,
  PlanStep,
  PolicyRule,
  Question,
  SchedulingChanged,
  SecretInfo,
  SetSecretResponse,
  StepDecision,
  StepEdit,
  SubmitTaskResponse,
  Task,
  TaskLog,
  TaskProgress,
  TaskStateChanged,
  TaskTypeInfo,
  Template,
  TemplatesChanged,
  VerifyAuditResponse,
} from './gen/hyperagent/v1/client';

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_DEAD_LETTERED',
]);

/** A plan in one of these states changes no more. */
export const PLAN_ENDED_STATES: ReadonlySet<pb.PlanState> = new Set<pb.PlanState>([
  'PLAN_STATE_SUCCEEDED',
  'PLAN_STATE_FAILED',
  'PLAN_STATE_CANCELED',
  'PLAN_STATE_REJECTED',
]);

// ----- Requests: what the UI sends -----

/**
 * A request as the UI sends it. In the proto3 JSON mapping a field left out is its default ('', 0,
 * false, [] or unset), and the manager reads it so; a request without fields is `{}`.
 */
export type Sent<T> = [keyof T] extends [never] ? Record<string, never> : Partial<T>;

export type AcceptPlanRequest = Sent<pb.AcceptPlanRequest>;
export type AddPolicyRuleRequest = Sent<pb.AddPolicyRuleRequest>;
export type AnswerConsentRequest = Sent<pb.AnswerConsentRequest>;
export type AnswerQuestionRequest = Sent<pb.AnswerQuestionRequest>;
export type AskRequest = Sent<pb.AskRequest>;
export type CancelPlanRequest = Sent<pb.CancelPlanRequest>;
export type CancelTaskRequest = Sent<pb.CancelTaskRequest>;
export type DeleteSecretRequest = Sent<pb.DeleteSecretRequest>;
export type GetLogsRequest = Sent<pb.GetLogsRequest>;
export type GetPlanRequest = Sent<pb.GetPlanRequest>;
export type GetStatusRequest = Sent<pb.GetStatusRequest>;
export type GetTaskRequest = Sent<pb.GetTaskRequest>;
export type ListActionsRequest = Sent<pb.ListActionsRequest>;
export type ListAgentsRequest = Sent<pb.ListAgentsRequest>;
export type ListAuditRequest = Sent<pb.ListAuditRequest>;
export type ListConsentsRequest = Sent<pb.ListConsentsRequest>;
export type ListPlansRequest = Sent<pb.ListPlansRequest>;
export type ListMessagesRequest = Sent<pb.ListMessagesRequest>;
export type ListPolicyRulesRequest = Sent<pb.ListPolicyRulesRequest>;
export type ListQuestionsRequest = Sent<pb.ListQuestionsRequest>;
export type ListSecretsRequest = Sent<pb.ListSecretsRequest>;
export type ListTaskTypesRequest = Sent<pb.ListTaskTypesRequest>;
export type ListTasksRequest = Sent<pb.ListTasksRequest>;
export type ListTemplatesRequest = Sent<pb.ListTemplatesRequest>;
export type OpenPathRequest = Sent<pb.OpenPathRequest>;
export type RejectPlanRequest = Sent<pb.RejectPlanRequest>;
export type RevokePolicyRuleRequest = Sent<pb.RevokePolicyRuleRequest>;
export type RollbackActionRequest = Sent<pb.RollbackActionRequest>;
export type SetPausedRequest = Sent<pb.SetPausedRequest>;
export type SetSecretRequest = Sent<pb.SetSecretRequest>;
export type SetWorkspaceRootRequest = Sent<pb.SetWorkspaceRootRequest>;
export type SubmitTaskRequest = Sent<pb.SubmitTaskRequest>;
export type StartConversationRequest = Sent<pb.StartConversationRequest>;
export type ListConversationsRequest = Sent<pb.ListConversationsRequest>;
export type UpdateConversationRequest = Sent<pb.UpdateConversationRequest>;
/** `Subscribe`'s request: the query of the event feed. */
export type SubscribeRequest = Sent<pb.SubscribeRequest>;

// ----- The method table -----

/** The client API's unary methods (every one but the `Subscribe` feed): both transports carry all. */
type UnaryMethod = {
  [M in keyof pb.ClientService]: ReturnType<pb.ClientService[M]> extends Promise<unknown> ? M : never;
}[keyof pb.ClientService];

/** Every unary method: its request (as sent) and response types, from the generated service. */
export type Methods = {
  [M in UnaryMethod]: [Sent<Parameters<pb.ClientService[M]>[0]>, Awaited<ReturnType<pb.ClientService[M]>>];
};
export type Method = keyof Methods;
export type RequestOf<M extends Method> = Methods[M][0];
export type ResponseOf<M extends Method> = Methods[M][1];

// ----- The desktop shell's own commands (not the manager's client API) -----

/** What can be asked of the headless manager service. */
export type ServiceAction = 'status' | 'install' | 'start' | 'stop' | 'uninstall';

/** Where the headless manager service is (the manager core's `service::ServiceState`). */
export type ServiceState = 'unavailable' | 'not_installed' | 'stopped' | 'changing' | 'running' | 'failed';

export interface ServiceStatus {
  state: ServiceState;
  unit: string;
  unit_file: string | null;
  /** Starts with the person's session. */
  enabled: boolean;
  pid: number | null;
  /** In words: what the state means, or why the service is unavailable. */
  detail: string;
}

/** What the app talks to: the manager it runs itself, or a running one (the service). */
export interface AppInfo {
  mode: 'embedded' | 'connected';
  socket: string;
}

export interface ServiceReply {
  service: ServiceStatus;
  app: AppInfo;
}
