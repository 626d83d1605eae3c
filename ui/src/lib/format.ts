import type { AgentStatus, LogLevel, ModelUsage, TaskState } from '../ipc';

/**
 * "TASK_STATE_AWAITING_CONSENT" -> "awaiting consent". The protos spell it CANCELED; the UI's
 * words spell it one way everywhere: "cancelled".
 */
export function enumLabel(value: string, prefix: string): string {
  return value.startsWith(prefix)
    ? value.slice(prefix.length).toLowerCase().replace(/_/g, ' ').replace(/\bcanceled\b/, 'cancelled')
    : value;
}

export const stateLabel = (s: TaskState) => enumLabel(s, 'TASK_STATE_');

/**
 * A task's state in words: a task cancelled on a person's request (the client API's CancelTask,
 * which sets `cancel_requested`; the manager's own stops end tasks in other states) reads
 * "cancelled by you", whatever the agent said when it stopped.
 */
export function taskStateLabel(task: { state: TaskState; cancel_requested?: boolean }): string {
  return task.state === 'TASK_STATE_CANCELED' && task.cancel_requested ? 'cancelled by you' : stateLabel(task.state);
}
export const levelLabel = (l: LogLevel) => enumLabel(l, 'LOG_LEVEL_');
export const agentStatusLabel = (s: AgentStatus) => enumLabel(s, 'AGENT_STATUS_');

/**
 * A CSS class per state family, for colour (the text says the state too). Each way a task ends
 * has its own: completed, failed, dead-lettered (every attempt failed), cancelled; a person's
 * cancel (`cancel_requested`) is told apart from the manager's stop.
 */
export function stateTone(s: TaskState, cancelRequested = false): 'ok' | 'bad' | 'dead' | 'cancelled' | 'busy' | 'idle' | 'warn' {
  switch (s) {
    case 'TASK_STATE_COMPLETED':
      return 'ok';
    case 'TASK_STATE_FAILED':
      return 'bad';
    case 'TASK_STATE_DEAD_LETTERED':
      return 'dead';
    case 'TASK_STATE_CANCELED':
      return cancelRequested ? 'cancelled' : 'idle';
    case 'TASK_STATE_RUNNING':
    case 'TASK_STATE_ASSIGNED':
      return 'busy';
    case 'TASK_STATE_AWAITING_CONSENT':
    case 'TASK_STATE_INTERRUPTED':
      return 'warn';
    default:
      return 'idle';
  }
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** "3 s ago", "5 min ago" from an RFC 3339 time, relative to `now` (ms). */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const secs = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(secs)) return iso;
  if (secs < 60) return `${Math.max(secs, 0)} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  return formatTime(iso);
}

/** How long from one RFC 3339 time to another (see `span`); "—" when either is missing or
 * unreadable, or the end is before the start. */
export function duration(from: string | null | undefined, to: string | null | undefined): string {
  if (!from || !to) return '—';
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (Number.isNaN(ms) || ms < 0) return '—';
  return span(ms);
}

/** A length of time in words: "0.4 s", "12 s", "3 min 5 s", "2 h 3 min". */
export function span(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const secs = Math.round(ms / 1000);
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min${secs % 60 ? ` ${secs % 60} s` : ''}`;
  const mins = Math.floor(secs / 60);
  return `${Math.floor(mins / 60)} h${mins % 60 ? ` ${mins % 60} min` : ''}`;
}

/** The last part of a slash-separated path ("/home/me/src/shop" -> "shop"); "" for none. */
export function baseName(path: string): string {
  return path.split('/').filter(Boolean).pop() ?? '';
}

export function percent(fraction: number | undefined): string {
  return fraction === undefined || fraction < 0 ? '' : `${Math.round(fraction * 100)}%`;
}

/** "1 line", "2 lines"; `plural` when it is not the singular plus "s". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

export const linesLabel = (n: number) => count(n, 'line');

/** A task's model calls added up, in words: "3 calls, 1,234 tokens (1,000 prompt + 234
 * completion), 2.1 s; first token 0.40 s on average". */
export function usageText(u: ModelUsage): string {
  const n = (x: string | number) => Number(x).toLocaleString('en-US');
  const calls = u.calls === 1 ? '1 call' : `${u.calls} calls`;
  let s = `${calls}, ${n(u.total_tokens)} tokens (${n(u.prompt_tokens)} prompt + ${n(u.completion_tokens)} completion), ${(u.elapsed_ms / 1000).toFixed(1)} s`;
  if (u.first_token_ms > 0 && u.calls > 0) s += `; first token ${(u.first_token_ms / 1000 / u.calls).toFixed(2)} s on average`;
  if (u.calls_without_usage > 0) s += `; ${u.calls_without_usage} without token counts from the server`;
  return s;
}

/** How many tasks are running and how many wait for the person: the manager's count, or what a listing saw. */
export interface Running {
  running: number;
  waiting: number;
  /** Counted from a listing that stopped at its page: at least this many. */
  atLeast: boolean;
}

/** "450 tasks running, 3 waiting for you"; "200+ tasks running or waiting for you" from a listing cut at its page. */
export function runningWords({ running, waiting, atLeast }: Running): string {
  if (atLeast) return `${running + waiting}+ tasks running or waiting for you`;
  const head = `${count(running, 'task')} running`;
  return waiting > 0 ? `${head}, ${waiting} waiting for you` : head;
}
