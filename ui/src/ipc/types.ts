// The client API's messages as the web API sends them: the proto3 JSON mapping of
// proto/hyperagent/v1/{common,client}.proto with the proto's field names. Every field is present;
// 64-bit integers are strings; enums are their full names; timestamps are RFC 3339 strings; an
// unset message or timestamp is left out (or null), so those fields are optional here. Only the
// messages the UI uses are here, named as in the proto; tests/test_ui_types.py checks each against
// the proto (fields, enum values, the method table), so a proto change fails CI until this follows.

/** A 64-bit integer (uint64) as the JSON mapping writes it. */
export type U64 = string;
/** An RFC 3339 time (left out or null when unset). */
export type Timestamp = string | null | undefined;

export type TaskState =
  | 'TASK_STATE_UNSPECIFIED'
  | 'TASK_STATE_QUEUED'
  | 'TASK_STATE_ASSIGNED'
  | 'TASK_STATE_RUNNING'
  | 'TASK_STATE_AWAITING_CONSENT'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_CANCELED'
  | 'TASK_STATE_INTERRUPTED'
  | 'TASK_STATE_DEAD_LETTERED';

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_DEAD_LETTERED',
]);

export type LogLevel =
  | 'LOG_LEVEL_UNSPECIFIED'
  | 'LOG_LEVEL_TRACE'
  | 'LOG_LEVEL_DEBUG'
  | 'LOG_LEVEL_INFO'
  | 'LOG_LEVEL_WARN'
  | 'LOG_LEVEL_ERROR';

export type AgentStatus = 'AGENT_STATUS_UNSPECIFIED' | 'AGENT_STATUS_ONLINE' | 'AGENT_STATUS_OFFLINE';

export type ResultStatus =
  | 'RESULT_STATUS_UNSPECIFIED'
  | 'RESULT_STATUS_SUCCEEDED'
  | 'RESULT_STATUS_FAILED'
  | 'RESULT_STATUS_CANCELED';

export type ConsentStatus =
  | 'CONSENT_STATUS_UNSPECIFIED'
  | 'CONSENT_STATUS_PENDING'
  | 'CONSENT_STATUS_GRANTED'
  | 'CONSENT_STATUS_DENIED';

export type ConsentAnswer =
  | 'CONSENT_ANSWER_UNSPECIFIED'
  | 'CONSENT_ANSWER_ONCE'
  | 'CONSENT_ANSWER_TASK'
  | 'CONSENT_ANSWER_AGENT'
  | 'CONSENT_ANSWER_ALWAYS'
  | 'CONSENT_ANSWER_DENY';

export type TemplateStatus = 'TEMPLATE_STATUS_UNSPECIFIED' | 'TEMPLATE_STATUS_OK' | 'TEMPLATE_STATUS_BROKEN';

export interface TaskType {
  name: string;
  description: string;
  payload_schema_json: string;
}

export interface LogLine {
  /** The line's number within the task, from 1 across all its attempts (the resume cursor). */
  seq: U64;
  time?: Timestamp;
  level: LogLevel;
  message: string;
  fields: Record<string, string>;
  /** The attempt that wrote it (0 for lines stored before attempts were recorded). */
  attempt: number;
  /** Its number within that attempt, from 1. */
  attempt_seq: U64;
}

export interface Progress {
  /** 0.0 ..= 1.0; negative means "unknown amount of work". */
  fraction: number;
  step: string;
}

export interface Artifact {
  name: string;
  kind: string;
  location: string;
  description: string;
}

export interface TaskResult {
  status: ResultStatus;
  exit_code: number;
  summary: string;
  artifacts: Artifact[];
  /** The handler's structured output as JSON ("" when none). */
  output_json: string;
  error: string;
}

export interface Attempt {
  number: number;
  agent_id: string;
  started_at?: Timestamp;
  ended_at?: Timestamp;
  error: string;
}

export interface Task {
  id: string;
  task_type: string;
  payload_json: string;
  state: TaskState;
  agent_id: string;
  pin_agent: string;
  idempotency_key: string;
  attempts: Attempt[];
  max_attempts: number;
  timeout_secs: number;
  progress?: Progress | null;
  result?: TaskResult | null;
  status_reason: string;
  workspace: string;
  created_at?: Timestamp;
  updated_at?: Timestamp;
  not_before?: Timestamp;
  cancel_requested: boolean;
}

export interface Agent {
  id: string;
  version: string;
  status: AgentStatus;
  capabilities: TaskType[];
  max_concurrency: number;
  running_task_ids: string[];
  load: number;
  last_heartbeat?: Timestamp;
  registered_at?: Timestamp;
  restarts: number;
  tasks_succeeded: U64;
  tasks_failed: U64;
  cost: number;
  pid: number;
  supervised: boolean;
  status_reason: string;
  confined: boolean;
}

export interface AgentStatusChanged {
  agent_id: string;
  status: AgentStatus;
  reason: string;
}

export interface TaskStateChanged {
  task_id: string;
  from: TaskState;
  to: TaskState;
  reason: string;
  agent_id: string;
  attempt: number;
  task_type: string;
}

export interface TaskProgress {
  task_id: string;
  progress?: Progress | null;
}

export interface TaskLog {
  task_id: string;
  line?: LogLine | null;
}

export interface AgentOutput {
  agent_id: string;
  stream: string;
  line: string;
}

export interface TemplatesChanged {
  names: string[];
}

export interface Consent {
  id: string;
  task_id: string;
  agent_id: string;
  /** read, write, connect, open, secret or destructive. */
  kind: string;
  target: string;
  reason: string;
  created_at?: Timestamp;
  /** Unanswered by then, it is denied. */
  expires_at?: Timestamp;
  status: ConsentStatus;
  answer: ConsentAnswer;
  answered_by: string;
  answer_reason: string;
}

/** One entry of the event feed; exactly one body field is set. */
export interface Event {
  seq: U64;
  time?: Timestamp;
  agent_status?: AgentStatusChanged | null;
  task_state?: TaskStateChanged | null;
  task_progress?: TaskProgress | null;
  task_log?: TaskLog | null;
  agent_output?: AgentOutput | null;
  consent?: Consent | null;
  templates_changed?: TemplatesChanged | null;
  scheduling?: SchedulingChanged | null;
}

export interface SchedulingChanged {
  paused: boolean;
  actor: string;
}

export interface AuditEntry {
  id: U64;
  time?: Timestamp;
  actor: string;
  action: string;
  task_id: string;
  detail_json: string;
  prev_hash: string;
  hash: string;
}

export interface Template {
  name: string;
  dir: string;
  description: string;
  status: TemplateStatus;
  error: string;
  warnings: string[];
  /** JSON Schema (draft 2020-12) of the answers; `x-order` lists the questions in order. */
  answers_schema_json: string;
}

// Requests and responses, by method.

export interface SubmitTaskRequest {
  task_type: string;
  payload_json: string;
  idempotency_key?: string;
  pin_agent?: string;
  timeout_secs?: number;
  max_attempts?: number;
  /** The folder the task works in, relative to the workspace root. */
  workspace?: string;
}
export interface SubmitTaskResponse {
  task?: Task | null;
  created: boolean;
}
export interface GetTaskRequest {
  task_id: string;
}
export interface ListTasksRequest {
  states?: TaskState[];
  task_type?: string;
  limit?: number;
  page_token?: string;
}
export interface ListTasksResponse {
  tasks: Task[];
  next_page_token: string;
}
export interface CancelTaskRequest {
  task_id: string;
  reason: string;
}
export type ListAgentsRequest = Record<string, never>;
export interface ListAgentsResponse {
  agents: Agent[];
}
export interface GetLogsRequest {
  task_id: string;
  after_seq?: U64;
  limit?: number;
}
export interface GetLogsResponse {
  lines: LogLine[];
  /** The task has ended and every line after `after_seq` is in this page. */
  complete: boolean;
}
/** `Subscribe`'s request: the query of the event feed. */
export interface SubscribeRequest {
  /** Resume after this event; unset = only events from now on; "0" = from the oldest stored. */
  after_seq?: U64;
  task_id?: string;
  exclude_logs?: boolean;
}
export interface ListAuditRequest {
  task_id?: string;
  after_id?: U64;
  limit?: number;
}
export interface ListAuditResponse {
  entries: AuditEntry[];
}
export type VerifyAuditRequest = Record<string, never>;
export interface VerifyAuditResponse {
  intact: boolean;
  entries_checked: U64;
  problems: string[];
}
export type ListConsentsRequest = Record<string, never>;
export interface ListConsentsResponse {
  consents: Consent[];
}
export interface AnswerConsentRequest {
  id: string;
  answer: ConsentAnswer;
}
export type ListTemplatesRequest = Record<string, never>;
export interface ListTemplatesResponse {
  templates: Template[];
}
export interface OpenPathRequest {
  task_id?: string;
  path?: string;
}
export interface OpenPathResponse {
  path: string;
  opener: string;
  warnings: string[];
}

export type GetStatusRequest = Record<string, never>;
/** The manager at a glance (GetStatus, SetPaused). */
export interface ManagerStatus {
  version: string;
  pid: number;
  started_at?: string;
  /** New work is not handed out while paused. */
  paused: boolean;
  agents_online: number;
  agents_known: number;
  tasks_queued: number;
  tasks_running: number;
  tasks_awaiting_consent: number;
  /** Where new tasks' workspaces go (absolute). */
  workspace_root: string;
  /** Who chose it: 'app' (SetWorkspaceRoot), 'config' (paths.workspace_root) or 'default'. */
  workspace_root_source: string;
}
export interface SetWorkspaceRootRequest {
  /** An absolute folder (made if missing); empty = the config's, or the default. */
  path: string;
}
export interface SetPausedRequest {
  paused: boolean;
}

export type PolicyDecision = 'POLICY_DECISION_UNSPECIFIED' | 'POLICY_DECISION_ALLOW' | 'POLICY_DECISION_DENY';

/** What agents' task processes may touch beyond their workspace. Deny wins. */
export interface PolicyRule {
  id: string;
  /** The agent it applies to; empty: every agent. */
  agent: string;
  /** read or write (beneath a path), connect (HOST:PORT), open. */
  kind: string;
  target: string;
  decision: PolicyDecision;
  /** Who made it ("cli", or the consent request it answered). */
  origin: string;
  created_at?: Timestamp;
  /** Set once revoked; a revoked rule grants and denies nothing. */
  revoked_at?: Timestamp;
}
export interface AddPolicyRuleRequest {
  /** Empty: every agent. */
  agent: string;
  kind: string;
  /** An absolute path for read/write; HOST:PORT for connect. */
  target: string;
  decision: PolicyDecision;
}
export interface ListPolicyRulesRequest {
  include_revoked?: boolean;
}
export interface ListPolicyRulesResponse {
  rules: PolicyRule[];
}
export interface RevokePolicyRuleRequest {
  id: string;
}

/** A secret's name; its value never leaves the keychain towards a client. */
export interface SecretInfo {
  name: string;
  updated_at?: Timestamp;
}
export interface SetSecretRequest {
  /** 1-128 letters, digits, `_`, `-`, `.`. */
  name: string;
  value: string;
}
export type SetSecretResponse = Record<string, never>;
export type ListSecretsRequest = Record<string, never>;
export interface ListSecretsResponse {
  secrets: SecretInfo[];
  /** "secret-service" (the desktop keychain) or "keyutils" (the kernel's, forgotten on reboot). */
  store: string;
}
export interface DeleteSecretRequest {
  name: string;
}
export type DeleteSecretResponse = Record<string, never>;

/** Every unary method the UI calls: its request and response types. */
export interface Methods {
  SubmitTask: [SubmitTaskRequest, SubmitTaskResponse];
  GetTask: [GetTaskRequest, Task];
  ListTasks: [ListTasksRequest, ListTasksResponse];
  CancelTask: [CancelTaskRequest, Task];
  ListAgents: [ListAgentsRequest, ListAgentsResponse];
  GetLogs: [GetLogsRequest, GetLogsResponse];
  ListAudit: [ListAuditRequest, ListAuditResponse];
  VerifyAudit: [VerifyAuditRequest, VerifyAuditResponse];
  ListConsents: [ListConsentsRequest, ListConsentsResponse];
  AnswerConsent: [AnswerConsentRequest, Consent];
  ListTemplates: [ListTemplatesRequest, ListTemplatesResponse];
  OpenPath: [OpenPathRequest, OpenPathResponse];
  GetStatus: [GetStatusRequest, ManagerStatus];
  SetPaused: [SetPausedRequest, ManagerStatus];
  SetWorkspaceRoot: [SetWorkspaceRootRequest, ManagerStatus];
  AddPolicyRule: [AddPolicyRuleRequest, PolicyRule];
  ListPolicyRules: [ListPolicyRulesRequest, ListPolicyRulesResponse];
  RevokePolicyRule: [RevokePolicyRuleRequest, PolicyRule];
  SetSecret: [SetSecretRequest, SetSecretResponse];
  ListSecrets: [ListSecretsRequest, ListSecretsResponse];
  DeleteSecret: [DeleteSecretRequest, DeleteSecretResponse];
}
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
