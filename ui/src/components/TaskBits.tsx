import type { Progress, TaskState } from '../ipc';
import { percent, stateTone, taskStateLabel } from '../lib/format';
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
