import type { ApiError } from './errors';
import type { Transport, Unsubscribe } from './transport';
import type * as T from './types';
import { TERMINAL_STATES } from './types';

/**
 * The one typed client of the manager. Components and views use this (through `useClient`), never
 * `fetch`, `WebSocket` or Tauri directly; which transport carries the calls is decided at start.
 */
export class Client {
  readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** The headless manager service's controls, or null where there are none (a browser). */
  get service(): ((action: T.ServiceAction) => Promise<T.ServiceReply>) | null {
    return this.transport.service ? this.serviceControl : null;
  }

  private readonly serviceControl = (action: T.ServiceAction): Promise<T.ServiceReply> => {
    if (!this.transport.service) throw new Error('this transport has no service control');
    return this.transport.service(action);
  };

  /** The proto marks every field but the task type and its payload optional. */
  submitTask(req: T.SubmitTaskRequest & Required<Pick<T.SubmitTaskRequest, 'task_type' | 'payload_json'>>) {
    return this.transport.call('SubmitTask', req);
  }
  getTask(taskId: string) {
    return this.transport.call('GetTask', { task_id: taskId });
  }
  listTasks(req: T.ListTasksRequest = {}) {
    return this.transport.call('ListTasks', req);
  }
  cancelTask(taskId: string, reason: string) {
    return this.transport.call('CancelTask', { task_id: taskId, reason });
  }
  listAgents() {
    return this.transport.call('ListAgents', {});
  }
  /** Every task type an agent offers, with its payload schema. */
  listTaskTypes() {
    return this.transport.call('ListTaskTypes', {});
  }
  getLogs(req: T.GetLogsRequest) {
    return this.transport.call('GetLogs', req);
  }
  listAudit(req: T.ListAuditRequest = {}) {
    return this.transport.call('ListAudit', req);
  }
  verifyAudit() {
    return this.transport.call('VerifyAudit', {});
  }
  listConsents() {
    return this.transport.call('ListConsents', {});
  }
  answerConsent(id: string, answer: T.ConsentAnswer) {
    return this.transport.call('AnswerConsent', { id, answer });
  }
  /** Messages between agents, newest first. */
  listMessages(req: T.ListMessagesRequest = {}) {
    return this.transport.call('ListMessages', req);
  }
  /** Questions tasks asked the person, waiting for an answer, oldest first. */
  listQuestions() {
    return this.transport.call('ListQuestions', {});
  }
  answerQuestion(id: string, answer: string) {
    return this.transport.call('AnswerQuestion', { id, answer });
  }
  /** Destructive actions with a snapshot of what they changed, newest first. */
  listActions() {
    return this.transport.call('ListActions', {});
  }
  /** Puts an action's files back exactly as they were before it. */
  rollbackAction(id: string) {
    return this.transport.call('RollbackAction', { id });
  }
  listTemplates() {
    return this.transport.call('ListTemplates', {});
  }
  openPath(req: T.OpenPathRequest) {
    return this.transport.call('OpenPath', req);
  }
  /** What OpenPath would answer for a task's folder; opens and audits nothing. */
  checkOpenPath(taskId: string) {
    return this.transport.call('CheckOpenPath', { task_id: taskId });
  }

  /** Plain words into a proposed plan, one question or a refusal; nothing runs yet. */
  ask(text: string, budgetSecs = 0, conversationId = '') {
    const req: T.AskRequest = { text, budget_secs: budgetSecs };
    if (conversationId) req.conversation_id = conversationId;
    return this.transport.call('Ask', req);
  }
  /** Starts a conversation (saved as it goes; Ask with its id adds turns). */
  startConversation(req: T.StartConversationRequest) {
    return this.transport.call('StartConversation', req);
  }
  /** A conversation with its plans and what it has cost. */
  getConversation(conversationId: string) {
    return this.transport.call('GetConversation', { conversation_id: conversationId });
  }
  /** The last changed first; without their turns (with how many there are). */
  listConversations(req: T.ListConversationsRequest = {}) {
    return this.transport.call('ListConversations', req);
  }
  updateConversation(req: T.UpdateConversationRequest) {
    return this.transport.call('UpdateConversation', req);
  }
  /** Deletes a conversation (its plans and tasks stay). */
  deleteConversation(conversationId: string) {
    return this.transport.call('DeleteConversation', { conversation_id: conversationId });
  }
  /** A conversation as Markdown. */
  exportConversation(conversationId: string) {
    return this.transport.call('ExportConversation', { conversation_id: conversationId });
  }
  /** Runs a proposed plan with the person's edits (only the steps they changed or removed). */
  acceptPlan(planId: string, edits: T.StepEdit[]) {
    return this.transport.call('AcceptPlan', { plan_id: planId, edits });
  }
  rejectPlan(planId: string, reason: string) {
    return this.transport.call('RejectPlan', { plan_id: planId, reason });
  }
  cancelPlan(planId: string, reason: string) {
    return this.transport.call('CancelPlan', { plan_id: planId, reason });
  }
  getPlan(planId: string) {
    return this.transport.call('GetPlan', { plan_id: planId });
  }
  /** Newest first. */
  listPlans(req: T.ListPlansRequest = {}) {
    return this.transport.call('ListPlans', req);
  }

  getStatus() {
    return this.transport.call('GetStatus', {});
  }
  setPaused(paused: boolean) {
    return this.transport.call('SetPaused', { paused });
  }
  /** Chooses where new tasks' workspaces go; '' goes back to the config's (or the default). */
  setWorkspaceRoot(path: string) {
    return this.transport.call('SetWorkspaceRoot', { path });
  }
  addPolicyRule(req: T.AddPolicyRuleRequest) {
    return this.transport.call('AddPolicyRule', req);
  }
  listPolicyRules(includeRevoked = false) {
    return this.transport.call('ListPolicyRules', { include_revoked: includeRevoked });
  }
  revokePolicyRule(id: string) {
    return this.transport.call('RevokePolicyRule', { id });
  }
  /** Stores a secret in the manager's keychain; the value is never sent back. */
  setSecret(name: string, value: string) {
    return this.transport.call('SetSecret', { name, value });
  }
  listSecrets() {
    return this.transport.call('ListSecrets', {});
  }
  deleteSecret(name: string) {
    return this.transport.call('DeleteSecret', { name });
  }

  /** Follows the event feed (see `Transport.subscribe`). */
  /**
   * The task once it has ended, from its feed (replayed from its first event, so an end that came
   * before this call counts too). Rejects with the feed's error only if the task cannot be read.
   */
  taskEnded(taskId: string): Promise<T.Task> {
    return new Promise((resolve, reject) => {
      let done = false;
      const stop = this.subscribe(
        { task_id: taskId, after_seq: '0', exclude_logs: true },
        (event) => {
          const to = event.task_state?.to;
          if (done || !to || !TERMINAL_STATES.has(to)) return;
          done = true;
          queueMicrotask(() => stop());
          this.getTask(taskId).then(resolve, reject);
        },
        (err) => {
          // The transport resubscribes by itself; a task that cannot be found will never end.
          if (err.code === 'not_found' && !done) {
            done = true;
            stop();
            reject(err);
          }
        },
      );
    });
  }

  subscribe(
    query: T.SubscribeRequest,
    onEvent: (event: T.Event) => void,
    onError: (error: ApiError) => void,
    onOpen?: () => void,
    onRetry?: (inMs: number, now: () => void) => void,
  ): Unsubscribe {
    return this.transport.subscribe(query, onEvent, onError, onOpen, onRetry);
  }
}
