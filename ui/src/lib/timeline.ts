import type { Attempt, Task, TaskState } from '../ipc';
import type { LogEntry } from './logStore';

/**
 * A task's steps as a timeline, read from what the task reported and nothing else: the lines its
 * agent logs as each step begins (the same words it reports as progress), the checks in its
 * output, its attempts and its state. A step the task did not report is not shown.
 */

/** How a step went: `passed`/`failed`/`skipped` are its check's words; the others are read from the log. */
export type StepStatus = 'passed' | 'done' | 'running' | 'failed' | 'skipped' | 'stopped';

export interface TimelineStep {
  key: string;
  label: string;
  status: StepStatus;
  /** When its line was logged; null when it never began (a check that was not run). */
  started: string | null;
  /** How long it took: its check's own time, else up to the next step (or the attempt's end). */
  seconds: number | null;
  /** Its check's detail (what passed, why it failed or was not run). */
  detail: string;
  /** The log line to show for it: the error line of a failed check, else the line it began with. */
  seq: number | null;
}

/** A step as its agent logs it when it begins (the exact words), and the check it is, if one. */
export interface KnownStep {
  message: string;
  key: string;
  label: string;
  check?: string;
}

/**
 * The steps of each task type whose agent logs them, in its order, in its words. The bootstrapper
 * (agents/bootstrapper: `Steps` in agent.py, the post-check's `progress` calls in postcheck.py)
 * logs each at INFO as it begins; a test holds this table to its source.
 */
export const KNOWN_STEPS: Record<string, KnownStep[]> = {
  'bootstrap.project': [
    { message: 'validating', key: 'validate', label: 'Validate' },
    { message: 'rendering', key: 'render', label: 'Render' },
    { message: 'moving into place', key: 'place', label: 'Move into place' },
    { message: 'committing', key: 'commit', label: 'Commit' },
    ...postCheckSteps(),
  ],
  'project.update': [...projectSteps(), { message: 'writing', key: 'write', label: 'Write' }],
  'project.check': [...projectSteps(), ...postCheckSteps()],
};

/** The post-check's steps, the same in a bootstrap and in a check run again (postcheck.py). */
function postCheckSteps(): KnownStep[] {
  return [
    { message: 'creating the environment', key: 'environment', label: 'Environment', check: 'environment' },
    { message: 'installing packages', key: 'install', label: 'Install', check: 'install' },
    { message: 'asking the dev server for its health URL', key: 'start', label: 'Start', check: 'serve' },
    { message: "running the project's tests", key: 'tests', label: 'Tests', check: 'tests' },
    { message: 'building the Docker image', key: 'docker', label: 'Docker image', check: 'docker' },
  ];
}

/** How an update and a check begin: the project's answers file read, its template checked out. */
function projectSteps(): KnownStep[] {
  return [
    { message: 'reading the project', key: 'read', label: 'Read the project' },
    { message: 'checking out the template', key: 'checkout', label: 'Check out the template' },
  ];
}

/** A check as the output holds it (`checks`: name, status, detail, seconds). */
export interface CheckLike {
  name: string;
  status: string;
  detail?: string;
  seconds?: number;
}

const RUNNING: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_STATE_QUEUED',
  'TASK_STATE_ASSIGNED',
  'TASK_STATE_RUNNING',
  'TASK_STATE_AWAITING_CONSENT',
]);

const ms = (iso: string | null | undefined): number => (iso ? new Date(iso).getTime() : Number.NaN);

/** The attempt the timeline is of: the last one (0 when the task records none). */
export function lastAttempt(task: Pick<Task, 'attempts'>): Attempt | null {
  return task.attempts.length > 0 ? (task.attempts[task.attempts.length - 1] ?? null) : null;
}

/**
 * The steps of a task's last attempt. `lines` are its log (in order); `checks` its output's;
 * `now` (ms) ends a step still running.
 */
export function timelineOf(
  task: Pick<Task, 'task_type' | 'state' | 'attempts' | 'updated_at'>,
  lines: readonly LogEntry[],
  checks: readonly CheckLike[] | null,
  now: number,
): TimelineStep[] {
  const known = KNOWN_STEPS[task.task_type] ?? [];
  const attempt = lastAttempt(task);
  const number = attempt?.number ?? 0;
  const byMessage = new Map(known.map((k) => [k.message, k]));
  const begun = new Map<string, { time: string | null; seq: number }>();
  const errorLine = new Map<string, number>();
  for (const line of lines) {
    // Lines of earlier attempts are theirs; lines stored before attempts were recorded have 0.
    if (number && line.attempt && line.attempt !== number) continue;
    if (line.level === 'LOG_LEVEL_INFO' && !line.stream && Object.keys(line.fields).length === 0) {
      const k = byMessage.get(line.message);
      if (k && !begun.has(k.key)) begun.set(k.key, { time: line.time ?? null, seq: line.seq });
    } else if (line.level === 'LOG_LEVEL_ERROR' && line.fields.check && !errorLine.has(line.fields.check)) {
      errorLine.set(line.fields.check, line.seq);
    }
  }
  const checkOf = new Map((checks ?? []).map((c) => [c.name, c]));
  const ended = !RUNNING.has(task.state);
  const end = ended ? (attempt?.ended_at ?? task.updated_at ?? null) : null;
  const lastBegun = known.filter((k) => begun.has(k.key)).pop()?.key;
  const steps: TimelineStep[] = [];
  const seenBegun = known.filter((k) => begun.has(k.key));
  for (const k of known) {
    const line = begun.get(k.key);
    const check = k.check ? checkOf.get(k.check) : undefined;
    if (!line && !check) continue;
    const next = seenBegun[seenBegun.findIndex((s) => s.key === k.key) + 1];
    const until = next ? (begun.get(next.key)?.time ?? null) : end;
    const span = line ? (until ? ms(until) : now) - ms(line.time) : Number.NaN;
    let status: StepStatus;
    if (check) status = check.status === 'passed' || check.status === 'failed' || check.status === 'skipped' ? check.status : 'done';
    else if (k.key !== lastBegun || task.state === 'TASK_STATE_COMPLETED') status = 'done';
    else if (!ended) status = 'running';
    else if (task.state === 'TASK_STATE_CANCELED') status = 'stopped';
    else status = 'failed';
    steps.push({
      key: k.key,
      label: k.label,
      status,
      started: line?.time ?? null,
      seconds: check?.seconds ?? (Number.isFinite(span) && span >= 0 ? span / 1000 : null),
      detail: check?.detail ?? '',
      seq: (k.check ? errorLine.get(k.check) : undefined) ?? line?.seq ?? null,
    });
  }
  // Checks the table does not know (a newer agent's): after the rest, as the output lists them.
  const listed = new Set(known.map((k) => k.check).filter(Boolean));
  if (known.length > 0) {
    for (const c of checks ?? []) {
      if (listed.has(c.name)) continue;
      steps.push({
        key: `check-${c.name}`,
        label: c.name,
        status: c.status === 'passed' || c.status === 'failed' || c.status === 'skipped' ? c.status : 'done',
        started: null,
        seconds: c.seconds ?? null,
        detail: c.detail ?? '',
        seq: errorLine.get(c.name) ?? null,
      });
    }
  }
  return steps;
}

/**
 * The first line at ERROR of the last attempt (the real error line), or null; `from` is where to
 * start looking (the log's first error: none comes before it).
 */
export function errorLineOf(task: Pick<Task, 'attempts'>, lines: readonly LogEntry[], from = 0): LogEntry | null {
  const number = lastAttempt(task)?.number ?? 0;
  if (from < 0) return null;
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    if (number && line.attempt && line.attempt !== number) continue;
    if (line.level === 'LOG_LEVEL_ERROR') return line;
  }
  return null;
}

/** "shop · FastAPI service": what was made, from the payload's answers and the template's own words. */
export function taskTitle(task: Pick<Task, 'task_type' | 'payload_json' | 'workspace'>, templateWords = ''): { name: string; kind: string } {
  let payload: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(task.payload_json || '{}');
    if (v && typeof v === 'object' && !Array.isArray(v)) payload = v as Record<string, unknown>;
  } catch {
    // A payload that is not an object names nothing.
  }
  const answers = payload.answers && typeof payload.answers === 'object' ? (payload.answers as Record<string, unknown>) : {};
  const folder = task.workspace.split('/').filter(Boolean).pop() ?? '';
  const name = typeof answers.project_name === 'string' && answers.project_name ? answers.project_name : folder;
  if (task.task_type === 'project.update') {
    return { name, kind: payload.preview === true ? 'update from template, previewed' : 'update from template' };
  }
  if (task.task_type === 'project.check') return { name, kind: 'checks run again' };
  const template = typeof payload.template === 'string' ? payload.template : '';
  const kind = templateWords || (template ? `${template.split('/').filter(Boolean).pop()} project` : task.task_type);
  return { name, kind };
}

/**
 * What a template calls itself, from its description ("A FastAPI service: settings, ..." ->
 * "FastAPI service"); '' when the description does not start that way.
 */
export function templateWords(description: string): string {
  const head = description.split(':')[0]?.trim() ?? '';
  if (!head || head === description.trim() || head.length > 40) return '';
  return head.replace(/^(an?|the)\s+/i, '');
}
