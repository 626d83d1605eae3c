import type { Task } from '../ipc';

/** A task as the manager sends it: an echo task running on `echo` unless `over` says otherwise. */
export function task(id: string, over: Partial<Task> = {}): Task {
  return {
    id,
    task_type: 'echo.sleep',
    payload_json: '{"seconds":60}',
    state: 'TASK_STATE_RUNNING',
    agent_id: 'echo',
    pin_agent: '',
    idempotency_key: '',
    attempts: [],
    max_attempts: 3,
    timeout_secs: 0,
    progress: { fraction: 0.5, step: 'sleep 5/10' },
    status_reason: '',
    workspace: '',
    created_at: '2026-11-26T10:00:00Z',
    updated_at: '2026-11-26T10:00:00Z',
    cancel_requested: false,
    ...over,
  };
}
