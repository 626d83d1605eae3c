import type { Progress, TaskState } from '../ipc';
import { formatTime, percent, stateTone, taskStateLabel } from '../lib/format';
import { Untrusted } from './Untrusted';

/**
 * A task's state; `cancelRequested` (the task's `cancel_requested`) tells a person's cancel apart,
 * and `checksSkipped` a completed task some of whose checks did not run (not shown as plain success).
 */
export function StateBadge({
  state,
  cancelRequested = false,
  checksSkipped = false,
}: {
  state: TaskState;
  cancelRequested?: boolean;
  checksSkipped?: boolean;
}) {
  const skipped = checksSkipped && state === 'TASK_STATE_COMPLETED';
  return (
    <span
      className={`badge ${skipped ? 'warn' : stateTone(state, cancelRequested)}`}
      data-testid="task-state"
      data-state={state}
      data-outcome={skipped ? 'checks-skipped' : undefined}
    >
      {skipped ? 'completed, checks skipped' : taskStateLabel({ state, cancel_requested: cancelRequested })}
    </span>
  );
}

export function ProgressBar({ progress, label }: { progress: Progress | null | undefined; label: string }) {
  if (!progress) return null;
  const known = progress.fraction >= 0;
  return (
    <span className="progress" data-testid="task-progress">
      <progress
        aria-label={label}
        max={1}
        value={known ? Math.min(progress.fraction, 1) : undefined}
      />
      <span className="progress-text">
        {percent(progress.fraction)} <Untrusted text={progress.step} />
      </span>
    </span>
  );
}

/** What the manager said about a running task that seemed to have stopped getting anywhere. */
export interface Drift {
  /** "silent", "repeating", "handoff_loop" or "over_budget". */
  drift: string;
  /** What showed it, in the manager's words. */
  evidence: string;
  /** "warned" or "cancelled". */
  action: string;
  /** When it was said (RFC 3339), when known. */
  time?: string;
}

/**
 * A running task the manager found drifting: what showed it, and what the person can do. The
 * evidence comes from the task's own output (a repeated log line), so it is shown as untrusted text.
 */
export function DriftNote({ drift }: { drift: Drift }) {
  const what =
    drift.drift === 'over_budget'
      ? 'It spent more of a language model than its budget allows'
      : drift.drift === 'handoff_loop'
        ? 'Its work is going round in circles between agents'
        : drift.drift === 'repeating'
          ? 'It may be stuck in a loop'
          : 'It may be stuck';
  return (
    <div className="panel result warn" role="status" data-testid="drift-note" data-drift={drift.drift}>
      <strong>{what}.</strong>{' '}
      <span>
        HyperAgent saw <Untrusted text={drift.evidence} />
        {drift.time ? ` (${formatTime(drift.time)})` : ''}.
      </span>{' '}
      {drift.action === 'cancelled' ? (
        <span>It cancelled the task, as its drift setting says.</span>
      ) : (
        <span>It is still running: cancel it if it is not getting anywhere, or wait.</span>
      )}
    </div>
  );
}
