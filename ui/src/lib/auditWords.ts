import type { AuditEntry } from '../ipc';
import { count } from './format';

/**
 * An audit entry as a sentence, built only from its actor, action and details ("You allowed
 * bootstrapper to connect to pypi.org:443, for this task"). An action it does not know, or details
 * without what its sentence needs, give null: the entry is then shown by its raw action.
 */

type Json = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** Who did it: the person is "You", the manager "HyperAgent", an agent its id. */
export function actorWords(actor: string): string {
  if (actor === 'client') return 'You';
  if (actor === 'manager') return 'HyperAgent';
  if (actor === 'policy') return 'A permission rule';
  return actor;
}

/** What a permission lets an agent do, completing "to ...": "connect to pypi.org:443". */
function permissionWords(p: Json): string {
  const kind = str(p.kind);
  const target = str(p.target);
  if (!kind || !target) return '';
  switch (kind) {
    case 'connect':
      return `connect to ${target}`;
    case 'read':
      return `read ${target}`;
    case 'write':
      return `write to ${target}`;
    case 'open':
      return `open ${target}`;
    case 'secret':
      return `use the secret ${target}`;
    case 'destructive':
      return target;
    default:
      return `${kind} ${target}`;
  }
}

const SCOPE_WORDS: Record<string, string> = {
  once: 'once',
  task: 'for this task',
  agent: 'from now on',
  always: 'from now on, and every other agent too',
};

const a = (taskType: string) => (taskType ? `the ${taskType} task` : 'the task');
const The = (taskType: string) => (taskType ? `The ${taskType} task` : 'The task');

type Builder = (d: Json, who: string) => string | null;

const BUILDERS: Record<string, Builder> = {
  'task.submitted': (d, who) => `${who} submitted ${a(str(d.task_type))}`,
  'task.started': (d, who) => `${who} started ${a(str(d.task_type))}${Number(d.attempt) > 1 ? ` (attempt ${str(d.attempt)})` : ''}`,
  'task.completed': (d, who) => `${who} completed ${a(str(d.task_type))}`,
  'task.failed': (d) => `${The(str(d.task_type))} failed${str(d.agent_id) ? ` on ${str(d.agent_id)}` : ''}`,
  'task.canceled': (d, who) => `${who} cancelled ${a(str(d.task_type))}`,
  'task.cancel_requested': (_d, who) => `${who} asked to cancel the task`,
  'task.interrupted': (d) => `${The(str(d.task_type))} was interrupted`,
  'message.sent': (d, who) => `${who} sent ${str(d.to)} a message (${str(d.kind)})`,
  'message.acked': (d, who) => `${who} handled a message from ${str(d.from)}${Number(d.deliveries) > 1 ? ` (delivery ${str(d.deliveries)})` : ''}`,
  'message.dead_lettered': (d) => `A message from ${str(d.from)} to ${str(d.to)} was given up: ${str(d.reason)}`,
  'task.drift': (d, who) =>
    `${who} found the task ${str(d.drift) === 'repeating' ? 'repeating itself' : 'silent'}${str(d.action) === 'cancelled' ? ' and cancelled it' : ''}: ${str(d.evidence)}`,
  'task.dead_lettered': (d) => `${The(str(d.task_type))} was given up: every attempt failed`,
  'task.confined': (d, who) =>
    str(d.agent) && str(d.workspace) ? `${who} confined ${str(d.agent)} to ${str(d.workspace)}` : null,
  'consent.requested': (d, who) => {
    const what = permissionWords(obj(d.permission));
    return what ? `${who} asked to ${what}` : null;
  },
  'consent.answered': (d, who) => answered(d, who),
  'consent.decided': (d, who) => answered(d, who),
  'action.snapshotted': (d, who) => {
    const what = str(d.description);
    const files = typeof d.files === 'number' ? d.files : null;
    if (!what || files === null) return null;
    return `${who} kept a copy of ${count(files, 'file')} first, then could ${what}`;
  },
  'action.rolled_back': (d, who) => (str(d.description) ? `${who} put back what was there before: ${str(d.description)}` : null),
  'action.rollback_started': (d, who) => (str(d.description) ? `${who} began to put back what was there before: ${str(d.description)}` : null),
  'action.rollback_failed': (d, who) =>
    str(d.description) ? `${who} could not put back what was there before (${str(d.description)}): ${str(d.error)}` : null,
  'workspace.remove_started': (d, who) => (str(d.folder) ? `${who} began to remove the folder ${str(d.folder)}` : null),
  'workspace.remove_failed': (d, who) => (str(d.folder) ? `${who} could not remove the folder ${str(d.folder)}: ${str(d.error)}` : null),
  'workspace.removed': (d, who) => (str(d.folder) ? `${who} removed the folder ${str(d.folder)}` : null),
  'editor.opened': (d, who) => {
    const path = str(d.file) || str(d.path);
    const opener = str(d.opener).split(' ')[0] ?? '';
    return path ? `${who} opened ${path}${str(d.line) ? ` at line ${str(d.line)}` : ''}${opener ? ` with ${opener}` : ''}` : null;
  },
  'editor.refused': (d) => (str(d.path) ? `HyperAgent refused to open ${str(d.path)}` : null),
  'net.connected': (d) => (str(d.agent) && str(d.host) ? `${str(d.agent)} connected to ${str(d.host)}:${str(d.port)}` : null),
  'net.refused': (d) =>
    str(d.host) ? `HyperAgent refused ${str(d.agent) ? `${str(d.agent)}'s` : 'a'} connection to ${str(d.host)}:${str(d.port)}` : null,
  'net.closed': (d) => {
    if (!str(d.agent) || !str(d.host)) return null;
    const sent = typeof d.bytes_sent === 'number' ? d.bytes_sent : null;
    const got = typeof d.bytes_received === 'number' ? d.bytes_received : null;
    const bytes = sent !== null && got !== null ? ` (${count(sent, 'byte')} sent, ${count(got, 'byte')} received)` : '';
    return `${str(d.agent)}'s connection to ${str(d.host)}:${str(d.port)} closed${bytes}`;
  },
  'policy.rule_added': (d, who) => rule(d, who, 'added'),
  'policy.rule_revoked': (d, who) => rule(d, who, 'revoked'),
  'secret.set_started': (d, who) => (str(d.name) ? `${who} began to store the secret ${str(d.name)}` : null),
  'secret.set_failed': (d, who) => (str(d.name) ? `${who} could not store the secret ${str(d.name)}: ${str(d.error)}` : null),
  'secret.set': (d, who) => (str(d.name) ? `${who} stored the secret ${str(d.name)}` : null),
  'secret.delete_started': (d, who) => (str(d.name) ? `${who} began to delete the secret ${str(d.name)}` : null),
  'secret.delete_failed': (d, who) => (str(d.name) ? `${who} could not delete the secret ${str(d.name)}: ${str(d.error)}` : null),
  'secret.deleted': (d, who) => (str(d.name) ? `${who} deleted the secret ${str(d.name)}` : null),
  'secret.read': (d, who) => (str(d.name) ? `${who} was given the secret ${str(d.name)}` : null),
  'scheduling.paused': (_d, who) => `${who} paused handing out work`,
  'scheduling.resumed': (_d, who) => `${who} resumed handing out work`,
  'plan.proposed': (d, who) => (Array.isArray(d.steps) ? `${who} asked for a plan; it proposed ${count(d.steps.length, 'step')}` : null),
  'plan.accepted': (_d, who) => `${who} ran the plan`,
  'plan.rejected': (_d, who) => `${who} rejected the plan; nothing ran`,
  'plan.cancel_requested': (_d, who) => `${who} cancelled the plan`,
  'plan.ended': (d) => (str(d.state) ? `The plan ended: ${str(d.state)}` : null),
  'plan.step.started': (d) =>
    str(d.step) && str(d.chosen) ? `Step ${str(d.step)} of the plan started on ${str(d.chosen)}` : null,
  'plan.step.ended': (d) => (str(d.step) && str(d.state) ? `Step ${str(d.step)} of the plan ended: ${str(d.state)}` : null),
  'plan.step.retried': (d) => (str(d.step) ? `Step ${str(d.step)} of the plan was tried again` : null),
  'agent.refused': (d) => (str(d.agent) ? `HyperAgent refused the agent ${str(d.agent)}` : null),
};

function answered(d: Json, who: string): string | null {
  const what = permissionWords(obj(d.permission));
  const agent = str(d.agent_id);
  const status = str(d.status);
  if (!what || !agent) return null;
  if (str(d.answered_by) === 'timeout') return `Nobody answered in time: ${agent} was not allowed to ${what}`;
  if (status === 'granted') {
    const scope = SCOPE_WORDS[str(d.scope)];
    return `${who} allowed ${agent} to ${what}${scope ? `, ${scope}` : ''}`;
  }
  if (status === 'denied') return `${who} did not allow ${agent} to ${what}`;
  return null;
}

function rule(d: Json, who: string, verb: string): string | null {
  const what = permissionWords(obj(d.permission));
  const decision = str(d.decision);
  if (!what || !decision) return null;
  const agent = str(d.agent) || 'every agent';
  return `${who} ${verb} a rule: ${decision === 'allow' ? 'allow' : 'do not allow'} ${agent} to ${what}`;
}

export function auditSentence(entry: Pick<AuditEntry, 'actor' | 'action' | 'detail_json'>): string | null {
  const build = Object.hasOwn(BUILDERS, entry.action) ? BUILDERS[entry.action] : undefined;
  if (!build) return null;
  let detail: Json = {};
  try {
    detail = obj(JSON.parse(entry.detail_json || '{}'));
  } catch {
    return null;
  }
  return build(detail, actorWords(entry.actor));
}

/** The action families, for the filter (matched by prefix on the manager). */
export const ACTION_FAMILIES: { prefix: string; label: string }[] = [
  { prefix: 'task.', label: 'Tasks' },
  { prefix: 'consent.', label: 'Permission requests' },
  { prefix: 'policy.', label: 'Permission rules' },
  { prefix: 'net.', label: 'Network connections' },
  { prefix: 'action.', label: 'File changes and rollbacks' },
  { prefix: 'workspace.', label: 'Folders' },
  { prefix: 'secret.', label: 'Secrets' },
  { prefix: 'editor.', label: 'Opening in the editor' },
  { prefix: 'plan.', label: 'Plans' },
  { prefix: 'message.', label: 'Messages between agents' },
  { prefix: 'scheduling.', label: 'Pausing and resuming' },
  { prefix: 'agent.', label: 'Agents' },
];
